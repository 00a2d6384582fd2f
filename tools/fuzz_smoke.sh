#!/usr/bin/env bash
# tools/fuzz_smoke.sh [SECONDS]: builds every libFuzzer target in build-fuzz/
# (clang, ASan + UBSan) and runs each for SECONDS (default 10) from its seeds
# (tools/fuzz.sh); scripts/test.sh runs it last. Fails on the first target
# that finds something (the input is in fuzz/artifacts/TARGET/). Skips, with
# a message and status 0, only where clang cannot link libFuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
CC=${FUZZ_CC:-clang}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$d/t.c"
if ! command -v "$CC" >/dev/null || ! "$CC" -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1; then
  echo "fuzz smoke: SKIPPED: $CC cannot link libFuzzer (install clang and libclang-rt-14-dev: scripts/install-deps.sh)"
  exit 0
fi
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
      -DMRNET_FUZZ=ON -DMRNET_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all >"$d/build.log" 2>&1 || { cat "$d/build.log"; exit 1; }
fail=0
for t in $(bash tools/fuzz.sh list); do
  if MRNET_FUZZ_NO_BUILD=1 bash tools/fuzz.sh "$t" "$seconds" >"$d/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/$t.log")
    echo "fuzz smoke: $t: ${runs:-?} runs in ${seconds}s, nothing found"
  else
    echo "fuzz smoke: $t: FOUND a problem:"
    tail -40 "$d/$t.log"
    fail=1
  fi
done
exit $fail
