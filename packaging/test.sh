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
echo "==> configure ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
echo "==> build"
cmake --build "$BUILD_DIR" -j "$JOBS"

# Security runs first, so that the last lines stay the main CTest summary. Each stops the
# script on failure. OCI_SKIP_SANITIZE=1 / OCI_SKIP_FUZZ=1 / OCI_SKIP_FAULTS=1 skip them
# (local iteration only).
if [ "${OCI_SKIP_SANITIZE:-0}" != 1 ]; then
  packaging/sanitize.sh
fi
if [ "${OCI_SKIP_FUZZ:-0}" != 1 ]; then
  # A smoke run, a few seconds per target; longer runs: packaging/fuzz.sh SECONDS.
  packaging/fuzz.sh "${OCI_FUZZ_SECONDS:-6}"
fi
if [ "${OCI_SKIP_FAULTS:-0}" != 1 ]; then
  # The whole cluster under faults, each kind once (a few minutes); the full run and the
  # broken builds: packaging/faults.sh [--seed N] [--prove].
  BUILD_DIR="$BUILD_DIR" packaging/faults.sh --quick
fi

echo "==> test"
cd "$BUILD_DIR"
ctest --output-on-failure -j 1 --timeout 600
