#!/usr/bin/env bash
# Quick start on Debian 12, as root: installs what is missing, builds, starts the manager
# on the embedded store, creates a demo secret and service, and runs a runc container that
# prints its secret from /run/secrets. Then it registers the hook with every engine it
# finds (Podman, CRI-O, Docker, containerd: "oci-secrets install ENGINE"), restarting none,
# and shows a Podman container reading the secret. Safe to run again: what exists is
# reused and a second run changes nothing.
# Usage: packaging/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. packaging/deps.sh

if [ "$(id -u)" -ne 0 ]; then
  echo "quickstart: run as root (the manager's socket and runc need it)" >&2
  exit 1
fi

STATE_DIR=${OCI_SECRETS_STATE_DIR:-/var/lib/oci-secrets}
SOCKET=${OCI_SECRETS_SOCKET:-/run/oci-secrets/manager.sock}
WORK_DIR=${OCI_SECRETS_QUICKSTART_DIR:-/var/lib/oci-secrets-quickstart}
LOG_DIR=${OCI_SECRETS_LOG_DIR:-/var/log/oci-secrets}
PID_FILE=$(dirname "$SOCKET")/quickstart-manager.pid
BUILD_DIR=${BUILD_DIR:-build}

echo "==> packages"
oci_install_packages "${OCI_BUILD_PACKAGES[@]}" runc busybox-static

echo "==> build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target oci-secretsd oci-secrets oci-secrets-hook oci-secrets-runtime
BIN=$(cd "$BUILD_DIR/bin" && pwd)
CLI=("$BIN/oci-secrets" --host "unix://$SOCKET")

echo "==> manager"
mkdir -p "$LOG_DIR" && chmod 0700 "$LOG_DIR"
if "${CLI[@]}" secret ls >/dev/null 2>&1; then
  echo "a manager already answers on $SOCKET: using it"
else
  mkdir -p "$(dirname "$SOCKET")"
  nohup "$BIN/oci-secretsd" --state-dir "$STATE_DIR" --socket "$SOCKET" \
    >>"$LOG_DIR/manager.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  for _ in $(seq 100); do
    "${CLI[@]}" secret ls >/dev/null 2>&1 && break
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      echo "quickstart: the manager exited; see $LOG_DIR/manager.log:" >&2
      tail -n 5 "$LOG_DIR/manager.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  "${CLI[@]}" secret ls >/dev/null
  echo "oci-secretsd started (pid $(cat "$PID_FILE")), state in $STATE_DIR, log $LOG_DIR/manager.log"
fi

echo "==> demo secret and service"
if ! "${CLI[@]}" secret inspect demo_password >/dev/null 2>&1; then
  # A random demo password, straight from the generator into the manager's stdin.
  head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' | "${CLI[@]}" secret create demo_password -
fi
if ! "${CLI[@]}" service inspect demo >/dev/null 2>&1; then
  "${CLI[@]}" service create --name demo --secret demo_password >/dev/null
fi
"${CLI[@]}" secret ls
echo
"${CLI[@]}" service ls

echo "==> a runc container with the annotation org.oci-secrets.service=demo"
BUNDLE="$WORK_DIR/bundle"
mkdir -p "$BUNDLE/rootfs/bin"
cp -f "$(command -v busybox)" "$BUNDLE/rootfs/bin/busybox"
for applet in sh cat ls grep; do ln -sf busybox "$BUNDLE/rootfs/bin/$applet"; done
HOOK="$BIN/oci-secrets-hook"
HOOK_CONFIG="$WORK_DIR/hook.json"
cat >"$HOOK_CONFIG" <<JSON
{"manager": "unix://$SOCKET", "log_file": "$LOG_DIR/hook.log"}
JSON
# The runc spec defaults, with the annotation and the hook at prestart and poststop (each
# with an explicit env and timeout: a hook never inherits the container's environment).
hook_entry() {
  printf '{"path": "%s", "args": ["oci-secrets-hook", "--config", "%s", "%s"], ' \
    "$HOOK" "$HOOK_CONFIG" "$1"
  printf '"env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "timeout": 10}'
}
CAPS='["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]'
cat >"$BUNDLE/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh", "-c", "echo \\"in the container: /run/secrets/demo_password = \$(cat /run/secrets/demo_password)\\"; grep ' /run/secrets ' /proc/mounts"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {"bounding": $CAPS, "effective": $CAPS, "permitted": $CAPS},
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "demo",
  "annotations": {"org.oci-secrets.service": "demo"},
  "hooks": {"prestart": [$(hook_entry prestart)], "poststop": [$(hook_entry poststop)]},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
    "maskedPaths": ["/proc/kcore", "/proc/keys"],
    "readonlyPaths": ["/proc/sys"]
  }
}
JSON
runc delete --force oci-secrets-demo >/dev/null 2>&1 || true
runc run --bundle "$BUNDLE" oci-secrets-demo

echo
echo "==> engines: registering the hook with the engines installed here"
# The engines run the binaries just built, with the demo's hook.json. Podman and CRI-O
# read hooks.d at every container start; Docker and containerd run the shim
# oci-secrets-runtime, which reads its settings from SHIM_CONFIG.
SHIM="$BIN/oci-secrets-runtime"
SHIM_CONFIG=/etc/oci-secrets/runtime.json
INSTALL=("$BIN/oci-secrets" install --hook "$HOOK" --shim "$SHIM" --hook-config "$HOOK_CONFIG")
ENGINES=()
command -v podman >/dev/null 2>&1 && ENGINES+=(podman)
command -v crio >/dev/null 2>&1 && ENGINES+=(crio)
command -v dockerd >/dev/null 2>&1 && ENGINES+=(docker)
command -v containerd >/dev/null 2>&1 && ENGINES+=(containerd)
[ ${#ENGINES[@]} -eq 0 ] && echo "no engine found (podman, crio, dockerd, containerd): runc only"
SHIM_JSON="{\"hook_path\": \"$HOOK\", \"hook_config\": \"$HOOK_CONFIG\"}"
for engine in "${ENGINES[@]}"; do
  echo "-- $engine"
  if [ "$engine" = docker ] || [ "$engine" = containerd ]; then
    if [ ! -e "$SHIM_CONFIG" ]; then
      mkdir -p "$(dirname "$SHIM_CONFIG")"
      echo "$SHIM_JSON" >"$SHIM_CONFIG"
      echo "   wrote $SHIM_CONFIG (the shim runs $HOOK with $HOOK_CONFIG)"
    elif [ "$(cat "$SHIM_CONFIG")" != "$SHIM_JSON" ]; then
      echo "   kept $SHIM_CONFIG as it is (not the quickstart's): the shim follows it"
    fi
  fi
  extra=()
  # Docker before 24.0 passes no --annotation to the runtime: a runtime bound to the
  # service ("oci-secrets-demo") opts a container in instead.
  [ "$engine" = docker ] && extra=(--service demo)
  if ! out=$("${INSTALL[@]}" "$engine" "${extra[@]}" 2>&1); then
    echo "$out" | sed 's/^/   /'
    echo "   not registered with $engine (see above); the other engines go on"
    continue
  fi
  echo "$out" | sed 's/^/   /'
  daemon=""
  [ "$engine" = docker ] && daemon=dockerd
  [ "$engine" = containerd ] && daemon=containerd
  [ "$engine" = crio ] && daemon=crio
  if [ -n "$daemon" ] && grep -q '^next:' <<<"$out"; then
    if pgrep -x "$daemon" >/dev/null 2>&1; then
      echo "   $daemon is running: it uses the new configuration only after the command above;"
      echo "   this script restarts nothing"
    else
      echo "   $daemon is not running: it reads the new configuration when it starts"
    fi
  fi
done

if command -v podman >/dev/null 2>&1; then
  echo
  echo "==> a Podman container with --annotation org.oci-secrets.service=demo (hooks.d, no daemon)"
  IMAGE=localhost/oci-secrets-demo
  if ! podman image exists "$IMAGE"; then
    tar -C "$BUNDLE/rootfs" -cf "$WORK_DIR/rootfs.tar" .
    podman import --quiet "$WORK_DIR/rootfs.tar" oci-secrets-demo >/dev/null
    echo "imported the busybox rootfs as $IMAGE"
  fi
  PODMAN_RUN=(podman run --rm --network none --annotation org.oci-secrets.service=demo
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
  # crun refuses hybrid cgroup hierarchies with controllers on cgroup2; runc does not.
  if [ -s /sys/fs/cgroup/unified/cgroup.controllers ]; then
    PODMAN_RUN+=(--runtime runc)
    echo "(cgroup v1 with controllers on cgroup2: crun refuses that, so this demo runs runc)"
  fi
  "${PODMAN_RUN[@]}" "$IMAGE" sh -c 'echo "in the container: /run/secrets/demo_password = $(cat /run/secrets/demo_password)"'
fi

cat <<EOT

==> done. The secret lived only in the container's tmpfs; nothing of it is left on disk.
  CLI:          $BIN/oci-secrets --host unix://$SOCKET secret ls   (or export OCI_SECRETS_HOST=unix://$SOCKET)
  Add secrets:  $BIN/oci-secrets --host unix://$SOCKET secret create db_password ./password.txt
  Grant them:   $BIN/oci-secrets --host unix://$SOCKET service update --secret-add db_password demo
  Run again:    runc run --bundle $BUNDLE oci-secrets-demo
  Hook log:     $LOG_DIR/hook.log
  Engines:      runtime-config/ (hooks.d for Podman/CRI-O, Docker and containerd through oci-secrets-runtime)
EOT
for engine in "${ENGINES[@]}"; do
  case $engine in
    podman) echo "  Podman:       podman run --annotation org.oci-secrets.service=demo IMAGE ..." ;;
    crio) echo "  CRI-O:        the pod or container annotation org.oci-secrets.service=demo" ;;
    docker)
      echo "  Docker:       docker run --runtime oci-secrets-demo IMAGE ...   (any version)"
      echo "                docker run --runtime oci-secrets --annotation org.oci-secrets.service=demo IMAGE ...   (24.0+)" ;;
    containerd) echo "  containerd:   the CRI runtime \"oci-secrets\" (RuntimeClass), or ctr run --runc-binary $SHIM --annotation org.oci-secrets.service=demo ..." ;;
  esac
done
if [ ${#ENGINES[@]} -gt 0 ]; then
  echo "  Unregister:   $BIN/oci-secrets uninstall ENGINE   (one of: ${ENGINES[*]}); rm $SHIM_CONFIG if this script wrote it"
fi
if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  echo "  Stop the manager:  kill \$(cat $PID_FILE)"
fi
