#!/bin/bash
# A local 3-member etcd on 127.0.0.1 for trying the etcd store out (not for production:
# plain HTTP, every member on this machine).
#   packaging/etcd-local.sh [DATA_DIR]     start (default /tmp/oci-secrets-etcd), print the
#                                          oci-secretsd line to use
#   packaging/etcd-local.sh stop [DATA_DIR]
# Ports: clients 23791-23793, peers 23801-23803 (ETCD_LOCAL_CLIENT_BASE / _PEER_BASE move
# them). Installs etcd-server and etcd-client with apt when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

cmd=start
if [ "${1:-}" = stop ] || [ "${1:-}" = start ]; then
  cmd=$1
  shift
fi
dir="${1:-/tmp/oci-secrets-etcd}"
client_base="${ETCD_LOCAL_CLIENT_BASE:-23791}"
peer_base="${ETCD_LOCAL_PEER_BASE:-23801}"

stop() {
  local n pid pids=()
  for n in 1 2 3; do
    if [ -f "$dir/m$n.pid" ]; then
      pid="$(cat "$dir/m$n.pid")"
      kill "$pid" 2>/dev/null && pids+=("$pid")
      rm -f "$dir/m$n.pid"
    fi
  done
  # The last member standing may wait for peers that are gone: SIGKILL after 5 s.
  for _ in $(seq 1 25); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  echo "stopped the members of $dir (data kept; remove $dir to start afresh)"
}

if [ "$cmd" = stop ]; then
  stop
  exit 0
fi

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
  # shellcheck source=deps.sh
  . "$here/deps.sh"
  oci_install_packages etcd-server etcd-client
fi

mkdir -p "$dir"
cluster=""
endpoints=""
for n in 1 2 3; do
  cluster+="${cluster:+,}m$n=http://127.0.0.1:$((peer_base + n - 1))"
  endpoints+="${endpoints:+,}http://127.0.0.1:$((client_base + n - 1))"
done
state=new
[ -d "$dir/m1.etcd" ] && state=existing
for n in 1 2 3; do
  if [ -f "$dir/m$n.pid" ] && kill -0 "$(cat "$dir/m$n.pid")" 2>/dev/null; then
    echo "m$n already runs (pid $(cat "$dir/m$n.pid"))"
    continue
  fi
  client="http://127.0.0.1:$((client_base + n - 1))"
  peer="http://127.0.0.1:$((peer_base + n - 1))"
  # 2 MiB requests: a txn of the store's largest size (1.5 MiB of keys and values) fits
  # with its encoding.
  nohup etcd --name "m$n" --data-dir "$dir/m$n.etcd" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-state "$state" \
    --initial-cluster-token oci-secrets-local --max-request-bytes 2097152 \
    --logger zap --log-level warn >"$dir/m$n.log" 2>&1 &
  echo $! >"$dir/m$n.pid"
done

for _ in $(seq 1 100); do
  if ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint health >/dev/null 2>&1; then
    echo "etcd: 3 members healthy at $endpoints (logs in $dir)"
    echo "start a manager with:"
    echo "  oci-secretsd --store etcd --etcd-endpoints $endpoints"
    echo "stop them with: $0 stop $dir"
    exit 0
  fi
  sleep 0.2
done
echo "etcd did not become healthy within 20 s; see $dir/m*.log" >&2
exit 1
