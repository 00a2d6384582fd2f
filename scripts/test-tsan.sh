#!/usr/bin/env bash
# The ThreadSanitizer job (issue 11): builds build-tsan/ with clang and
# -fsanitize=thread, checks that TSan reports a planted race
# (tests/tsan_canary.c), then runs the tests of every threaded path (the
# conv/SE/ASP workspace on several threads, extraction workers, evaluation,
# training batches, WavLM attention) with 2 OpenMP threads. OpenMP is LLVM's
# libomp with its Archer tool, which tells TSan about OpenMP's barriers and
# locks; OpenBLAS is the pthread build on one thread (not instrumented).
# usage: scripts/test-tsan.sh [ctest -R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
archer=$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | sort -V | tail -n 1 || true)
if ! command -v clang >/dev/null || [ -z "$archer" ]; then
    echo "test-tsan: skipped: needs clang and libomp-14-dev (Archer); scripts/install-deps.sh installs them"
    exit 0
fi
tests=${1:-'test_workspace_threads|test_featstore$|test_train$|test_wavlm$|test_ops$|test_eval_routes|test_locks|test_api_infer|test_cli_errors|test_parallel'}
# Built without MPI (ThreadSanitizer and Open MPI's runtime do not mix), which
# is also where test_cli_errors checks that mpirun use is refused.
CC=clang cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DMRNET_TSAN=ON -DMRNET_WERROR=ON -DMRNET_MPI=OFF >/dev/null
cmake --build build-tsan -j"$(nproc)"
export OMP_TOOL_LIBRARIES=$archer OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
export TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=1 exitcode=66"
if build-tsan/tsan_canary >/dev/null 2>build-tsan/canary.log; then
    echo "test-tsan: ThreadSanitizer did not report the planted race (build-tsan/canary.log)" >&2
    exit 1
fi
grep -q "WARNING: ThreadSanitizer: data race" build-tsan/canary.log ||
    { echo "test-tsan: the canary failed without a race report:" >&2; cat build-tsan/canary.log >&2; exit 1; }
echo "test-tsan: the planted race is reported; now the threaded tests"
(cd build-tsan && ctest --output-on-failure -j"$(nproc)" -R "$tests")
