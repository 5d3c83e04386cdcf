#!/usr/bin/env bash
# Builds everything but the benchmark programs with AddressSanitizer + UndefinedBehavior-
# Sanitizer in build-asan/ and runs the unit and integration tests there (the integration
# tests drive the sanitized binaries in build-asan/bin). Any sanitizer report fails the
# test that triggered it. The Debian package's test runs in packaging/test.sh's main ctest only.
# Usage: packaging/sanitize.sh [CTEST_ARGS...]   (as root, like packaging/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ASAN_DIR=${ASAN_BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
echo "==> sanitizer: configure ($ASAN_DIR, ASan + UBSan)"
# Line tables only (-g1): what the sanitizers' reports need (function, file, line).
cmake -S . -B "$ASAN_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
  -DOCI_SECRETS_SANITIZE=ON >/dev/null
echo "==> sanitizer: build"
cmake --build "$ASAN_DIR" -j "$JOBS"
echo "==> sanitizer: test"
# halt_on_error makes every UBSan finding fatal, so a test cannot pass over one.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cd "$ASAN_DIR"
export OCI_SECRETS_SCAN_SINCE=$(date +%s)
# Left out here: the payload scan (run last, below) and the Debian package's test, which
# packages and installs this tree's sanitized binaries: what it checks is the packaging,
# which the main ctest run checks on the binaries that ship.
ctest --output-on-failure -j 1 --timeout 900 -E "PayloadScanTest|DebPackageTest" "$@"
echo "==> sanitizer: scan the host for test payloads left behind"
ctest --output-on-failure -j 1 -R PayloadScanTest
