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
# Line tables only (-g1): enough for a crash's stack, a quarter less compile time.
CC=clang CXX=clang++ cmake -S . -B "$FUZZ_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DOCI_SECRETS_FUZZ=ON >/dev/null
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
# One target a core at a time: each still gets SECONDS of one core, as when run alone.
# A target's lines are printed when it ends; a crash leaves the file NAME.crashed.
fuzz_one() {
  local t=$1 work="$FUZZ_DIR/fuzz-work/$1" artifacts="$FUZZ_DIR/fuzz-artifacts/$1/"
  mkdir -p "$work" "$artifacts"
  rm -f "$FUZZ_DIR/fuzz-work/$t.crashed"
  if "$FUZZ_DIR/bin/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" \
      "$work" "tests/fuzz/corpus/$t" >"$FUZZ_DIR/fuzz-work/$t.log" 2>&1; then
    { echo "==> fuzz: $t for ${SECONDS_EACH}s"
      grep -E '^stat::number_of_executed_units' "$FUZZ_DIR/fuzz-work/$t.log" | sed "s/^/    $t /"
    } || true
  else
    { echo "!!! fuzz: $t found a crash; reproducer(s):"
      ls -1 "$artifacts"
      tail -n 40 "$FUZZ_DIR/fuzz-work/$t.log"
    } >&2
    touch "$FUZZ_DIR/fuzz-work/$t.crashed"
  fi
}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  if [ -e "$FUZZ_DIR/fuzz-work/$t.crashed" ]; then failed+=("$t"); fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (copy the reproducer into tests/fuzz/regressions/NAME/, fix, rerun)" >&2
  exit 1
fi
echo "==> fuzz: ${#targets[@]} targets clean"
