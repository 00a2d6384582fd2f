#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test,
# checks the installed library from a user's side (scripts/test-install.sh),
# then runs the whole suite again under AddressSanitizer + UBSan, the threaded
# tests under ThreadSanitizer (scripts/test-tsan.sh; clang), and last every
# libFuzzer target for 10 s (tools/fuzz_smoke.sh; clang).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

echo "== build (Release, -Werror)"
bash scripts/build.sh
echo "== tests"
(cd build && ctest --output-on-failure -j"$jobs")
echo "== install into a temporary prefix, build and run examples/ against it"
bash scripts/test-install.sh build

echo "== build (AddressSanitizer + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMRNET_SANITIZE=ON -DMRNET_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs"
echo "== tests under sanitizers"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs")

echo "== threaded tests under ThreadSanitizer"
bash scripts/test-tsan.sh

echo "== fuzz smoke (libFuzzer, 10 s per target)"
bash tools/fuzz_smoke.sh 10
