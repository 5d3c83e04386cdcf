#!/usr/bin/env bash
# The fault run (tests/faults): 3 etcd members, 2 managers and 2 workers on loopback under
# load (runc container starts on both workers, secret creates, rotates and service updates
# on both managers, secret ps), faults injected one at a time and then in a seeded random
# schedule, six invariants checked after each fault and at the end, a report.
# Usage: packaging/faults.sh [--quick] [--seed N] [--break INVARIANT | --prove]  (as root)
#   --quick            each fault kind once (CI: a few minutes; packaging/test.sh runs it)
#   --seed N           replay the schedule of a report's seed (default: a random one)
#   --break INVARIANT  build build-faults with -DOCI_SECRETS_FAULT_POINTS=ON, arm the fault
#                      point that breaks INVARIANT and run --quick: success means the run
#                      failed on exactly that invariant
#   --prove            --break for all six invariants in turn, a line each: caught|missed
# The report goes to stdout and to BUILD_DIR/fault-report.txt. Environment: BUILD_DIR
# (default build), FAULTS_BUILD_DIR (default build-faults), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

# invariant -> the fault point that must make it fail (shared/fault_point.h)
declare -A POINT=(
  [acknowledged-writes]=ack-create-before-durable
  [no-lease-after-node-rm]=skip-revocation-check
  [whole-reads]=partial-file
  [convergence]=skip-live-updates
  [no-payload-at-rest]=payload-to-log
  [starts-fail-closed]=hook-hang
)
ORDER=(acknowledged-writes no-lease-after-node-rm whole-reads convergence no-payload-at-rest
       starts-fail-closed)

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
QUICK=()
SEED=()
BREAK=""
PROVE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=(--quick) ;;
    --seed)
      [ $# -ge 2 ] && [[ "$2" =~ ^[0-9]+$ ]] || { echo "faults.sh: --seed wants a number" >&2; exit 2; }
      SEED=(--seed "$2"); shift ;;
    --break)
      [ $# -ge 2 ] && [ -n "${POINT[$2]:-}" ] ||
        { echo "faults.sh: --break wants one of: ${ORDER[*]}" >&2; exit 2; }
      BREAK=$2; shift ;;
    --prove) PROVE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "faults.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$BREAK" ] && [ "$PROVE" = 1 ]; then
  echo "faults.sh: --break and --prove exclude each other" >&2; exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "faults.sh: run as root: the run starts daemons, etcd and runc containers" >&2
  exit 2
fi

JOBS=${JOBS:-$(nproc)}
TARGETS=(fault_run oci-secretsd oci-secrets oci-secrets-hook)

# configure DIR [cmake args...]: once, with the main tree's generator and launcher.
configure() {
  local dir=$1; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    local launcher=${CMAKE_CXX_COMPILER_LAUNCHER:-}
    if [ -z "$launcher" ] && [ -f "${BUILD_DIR:-build}/CMakeCache.txt" ]; then
      launcher=$(sed -n 's/^CMAKE_CXX_COMPILER_LAUNCHER:[A-Z]*=//p' "${BUILD_DIR:-build}/CMakeCache.txt")
    fi
    echo "==> faults: configure ($dir)" >&2
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} "$@" >/dev/null
  fi
  echo "==> faults: build ($dir)" >&2
  cmake --build "$dir" -j "$JOBS" --target "${TARGETS[@]}" >&2
}

# break_one INVARIANT: 0 when the broken build's quick run failed first on INVARIANT.
break_one() {
  local inv=$1 dir=${FAULTS_BUILD_DIR:-build-faults}
  echo "==> faults: --break $inv (fault point ${POINT[$inv]})" >&2
  OCI_SECRETS_FAULT_POINTS=${POINT[$inv]} "$dir/bin/fault_run" --quick "${SEED[@]}" \
    --expect-violation "$inv" --report "$dir/fault-report-$inv.txt"
}

if [ -n "$BREAK" ] || [ "$PROVE" = 1 ]; then
  configure "${FAULTS_BUILD_DIR:-build-faults}" -DOCI_SECRETS_FAULT_POINTS=ON
  if [ -n "$BREAK" ]; then
    break_one "$BREAK"
    exit $?
  fi
  status=0
  lines=()
  for inv in "${ORDER[@]}"; do
    if break_one "$inv" >&2; then
      lines+=("caught $inv (fault point ${POINT[$inv]})")
    else
      lines+=("missed $inv (fault point ${POINT[$inv]})")
      status=1
    fi
  done
  printf '%s\n' "${lines[@]}"
  exit $status
fi

BUILD_DIR=${BUILD_DIR:-build}
configure "$BUILD_DIR"
exec "$BUILD_DIR/bin/fault_run" "${QUICK[@]}" "${SEED[@]}" --report "$BUILD_DIR/fault-report.txt"
