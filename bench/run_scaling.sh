#!/usr/bin/env bash
# Training over processes against threads, on this machine, in one run
# (docs/SCALING.md): the same training on the log-mel store of the demo's
# generated music (C 128, E 64, batch 48) as
#   1 process x 1 thread, 1 process x 2 threads, 2 ranks x 1 thread (mpirun,
#   per-rank and synchronised batch norm),
# each 3 epochs, the last 2 timed; then the gradient sum alone at the
# paper's size (22.7 M floats, bench_allreduce) and one rank's share of a
# paper training step (B 24 of 48, 1 thread) for its share of a step.
#
#   bash bench/run_scaling.sh [--clips N] [--epochs N]
# Needs a built tree with MPI (bash scripts/build.sh) and mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
clips=60
epochs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --clips) clips=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    *) echo "run_scaling: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
m=$PWD/build/mrnet
command -v mpirun >/dev/null || { echo "run_scaling: mpirun not found (Debian: openmpi-bin)" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(date -u +%F)"
OMP_NUM_THREADS=2 "$m" demo -o "$work/demo" --clips "$clips" --epochs 1 --channels 16 --embed 8 --quiet > /dev/null
store=$work/demo/store
args="--epochs $epochs --batch 48 --channels 128 --embed 64 --seed 1 --quiet"

# samples/s over epochs 2.. of run folder $1 (log.jsonl seconds: the training part of an epoch)
rate() {
  /usr/bin/python3 - "$1" "$store" <<'PY'
import json, sys
log = [json.loads(l) for l in open(sys.argv[1] + "/log.jsonl")]
n = sum(1 for l in open(sys.argv[2] + "/index.jsonl") if '"split":"train"' in l)
batches = n // 48
rows = log[1:] if len(log) > 1 else log
secs = sum(r["seconds"] for r in rows)
comm = sum(r.get("comm_seconds", 0) for r in rows)
steps = batches * len(rows)
print(f"{batches * 48 * len(rows) / secs:8.1f} samples/s  {1e3 * secs / steps:8.1f} ms/step  "
      f"{1e3 * comm / steps:7.2f} ms/step in sums ({100 * comm / secs:.1f} %)")
PY
}
printf '%-34s ' "1 process x 1 thread:"
OMP_NUM_THREADS=1 "$m" train "$store" -o "$work/t11" $args > /dev/null && rate "$work/t11"
printf '%-34s ' "1 process x 2 threads:"
OMP_NUM_THREADS=2 "$m" train "$store" -o "$work/t12" $args > /dev/null && rate "$work/t12"
printf '%-34s ' "2 ranks x 1 thread:"
OMP_NUM_THREADS=1 mpirun -np 2 "$m" train "$store" -o "$work/t21" $args > /dev/null && rate "$work/t21"
printf '%-34s ' "2 ranks x 1 thread, --sync-bn:"
OMP_NUM_THREADS=1 mpirun -np 2 "$m" train "$store" -o "$work/t21s" $args --sync-bn > /dev/null && rate "$work/t21s"

echo "== the paper's model (22.7 M parameters): one gradient sum over 2 ranks, and a rank's step (B 24, 1 thread)"
OMP_NUM_THREADS=1 mpirun -np 2 build/bench_allreduce 22.7
OMP_NUM_THREADS=1 "$m" bench --config paper --mode train --batch 24 --threads 1 --repeats 1 --json
