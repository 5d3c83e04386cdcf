#!/usr/bin/env bash
# Runs the benchmarks side by side and prints one Markdown table, with the machine it ran
# on. Every comparison runs its variants interleaved and reports median and tail.
# Usage: packaging/bench.sh [--quick]     (as root: it starts real containers)
#   --quick   fewer rounds and smaller data sets; every row still printed (a few minutes)
# Environment: BUILD_DIR (default build), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=()
for arg in "$@"; do
  case "$arg" in
    --quick) QUICK=(--quick) ;;
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench.sh: run as root: the container benchmarks start runc and crun" >&2
  exit 1
fi

. packaging/deps.sh
oci_install_packages "${OCI_BUILD_PACKAGES[@]}" "${OCI_TEST_PACKAGES[@]}"
# manager_bench's etcd rows start a 3-member etcd on loopback (tests/testing/etcd_cluster.h).
oci_install_packages etcd-server etcd-client

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
echo "==> configure ($BUILD_DIR)" >&2
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "==> build" >&2
cmake --build "$BUILD_DIR" -j "$JOBS" >&2

BIN="$BUILD_DIR/bin"
first_line() { "$@" 2>/dev/null | head -n1 || true; }
started=$(date +%s)

echo "## oci-secrets benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- command: packaging/bench.sh ${QUICK[*]}"
echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "- cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) cores"
echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "- kernel: $(uname -r); os: $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "- runc: $(first_line runc --version); crun: $(first_line crun --version)"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- build: $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt"), $(c++ --version | head -n1)"
echo
echo "| benchmark | variant | n | median | tail | throughput | compared with |"
echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"

status=0
# live_update_bench: rotate -> visible in N = 1, 10, 100 running runc containers, and the
# CPU of one refresh; scale_live_bench: 1,000 simulated mTLS nodes long-polling one
# manager (--quick: 50 nodes x 10 containers) and a rotate's fan-out; docker_run_bench:
# `docker run` with runtime runc against runtime oci-secrets (no opt-in; 1 secret by env) on
# a dockerd 20.10 and containerd of its own.
for bench in container_start_bench manager_bench scale_bench live_update_bench scale_live_bench \
             docker_run_bench; do
  if [ ! -x "$BIN/$bench" ]; then
    echo "| $bench | all | - | - | - | - | n/a: not built |"
    continue
  fi
  echo "==> $bench ${QUICK[*]}" >&2
  if ! "$BIN/$bench" "${QUICK[@]}" --rows-only; then
    echo "| $bench | all | - | - | - | - | failed: see its messages above |"
    status=1
  fi
done

echo
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg); wall time: $(( $(date +%s) - started )) s"
exit $status
