#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each one
# for SECONDS on its committed seed corpus (tests/fuzz/corpus/NAME). New inputs found go
# to build-fuzz/fuzz-work/NAME, never into the repo; a crash stops the run with the
# reproducer's path: copy it into tests/fuzz/regressions/NAME/ and fix the cause.
# Usage: packaging/fuzz.sh [SECONDS] [TARGET...]    (default 20 s each, every target)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
shift || true
case "$SECONDS_EACH" in
  ''|*[!0-9]*) echo "usage: packaging/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

FUZZ_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-$(nproc)}
echo "==> fuzz: configure ($FUZZ_DIR, clang)"
CC=clang CXX=clang++ cmake -S . -B "$FUZZ_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOCI_SECRETS_FUZZ=ON >/dev/null
echo "==> fuzz: build"
cmake --build "$FUZZ_DIR" -j "$JOBS" --target oci_fuzz_all

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for d in tests/fuzz/corpus/*/; do
    t=$(basename "$d")
    [ -x "$FUZZ_DIR/bin/$t" ] && targets+=("$t")
  done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=()
for t in "${targets[@]}"; do
  work="$FUZZ_DIR/fuzz-work/$t"
  artifacts="$FUZZ_DIR/fuzz-artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  echo "==> fuzz: $t for ${SECONDS_EACH}s"
  if "$FUZZ_DIR/bin/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$work" "tests/fuzz/corpus/$t" >"$FUZZ_DIR/fuzz-work/$t.log" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$FUZZ_DIR/fuzz-work/$t.log" | sed "s/^/    $t /" || true
  else
    echo "!!! fuzz: $t found a crash; reproducer(s):" >&2
    ls -1 "$artifacts" >&2
    tail -n 40 "$FUZZ_DIR/fuzz-work/$t.log" >&2
    failed+=("$t")
  fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (copy the reproducer into tests/fuzz/regressions/NAME/, fix, rerun)" >&2
  exit 1
fi
echo "==> fuzz: ${#targets[@]} targets clean"
