#!/usr/bin/env bash
# Installs what is missing, builds, runs every test. Its last lines are CTest's summary.
# Usage: packaging/test.sh   (as root: the integration tests start real runtimes)
set -euo pipefail
cd "$(dirname "$0")/.."
. packaging/deps.sh

# The payload scan (tests/integration/payload_scan_test.cc) reads only files written
# since this run began, so what other checkouts or earlier runs left on the machine
# cannot fail it, and what this run leaves behind still does.
export OCI_SECRETS_SCAN_SINCE=${OCI_SECRETS_SCAN_SINCE:-$(date +%s)}

oci_install_packages "${OCI_BUILD_PACKAGES[@]}" "${OCI_TEST_PACKAGES[@]}"

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
# Each stage's line says when it began, so that a slow run shows where its time went.
started=$(date +%s)
at() { local s=$(($(date +%s) - started)); printf 'at %dm%02ds' $((s / 60)) $((s % 60)); }
echo "==> configure ($BUILD_DIR, $(at))"
# Line tables only (-g1): the same code as -g (debug info never changes what GCC
# generates), with backtraces to the line, and a quarter less compile time.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
echo "==> build ($(at))"
cmake --build "$BUILD_DIR" -j "$JOBS"

# Security runs first, so that the last lines stay the main CTest summary. Each stops the
# script on failure. OCI_SKIP_SANITIZE=1 / OCI_SKIP_FUZZ=1 / OCI_SKIP_FAULTS=1 skip them
# (local iteration only).
if [ "${OCI_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "==> sanitizer run ($(at))"
  packaging/sanitize.sh
fi
if [ "${OCI_SKIP_FUZZ:-0}" != 1 ]; then
  # A smoke run, a few seconds per target; longer runs: packaging/fuzz.sh SECONDS.
  echo "==> fuzz smoke run ($(at))"
  packaging/fuzz.sh "${OCI_FUZZ_SECONDS:-6}"
fi
if [ "${OCI_SKIP_FAULTS:-0}" != 1 ]; then
  # The whole cluster under faults, each kind once (a few minutes); the full run and the
  # broken builds: packaging/faults.sh [--seed N] [--prove].
  echo "==> quick fault run ($(at))"
  BUILD_DIR="$BUILD_DIR" packaging/faults.sh --quick
fi

echo "==> test ($(at))"
cd "$BUILD_DIR"
ctest --output-on-failure -j 1 --timeout 600
