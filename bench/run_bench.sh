#!/usr/bin/env bash
# Runs mrnet and the PyTorch reference on the same machine in the same run and
# prints the ratios. Needs a built tree (bash scripts/build.sh) and, for the
# PyTorch side, Debian's python3-torch and python3-torchaudio.
#
#   bash bench/run_bench.sh [--quick] [--threads N] [--wait-policy passive|active]
#
# Both sides use libgomp and get the same OMP_WAIT_POLICY (default passive,
# as the mrnet tool sets for itself).
#
# Sections: the network (paper WavLM configuration and the log-mel
# configuration; forward and training step), log-mel extraction (per core),
# and `mrnet extract` over a folder of generated clips.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
batches=8,48
repeats=3
extract_clips=300
policy=PASSIVE
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) batches=8; repeats=1; extract_clips=100 ;;
    --threads) threads=$2; shift ;;
    --wait-policy) policy=$(echo "$2" | tr a-z A-Z); shift ;;
    *) echo "run_bench: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=$policy
py=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
echo "# threads: $threads, OMP_WAIT_POLICY=$policy, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"

ratio() { # file_a file_b key -> lines "what B ms_a ms_b ratio"
  $py - "$1" "$2" <<'PY'
import json, sys
def load(p):
    return {(r.get("what"), r.get("B"), r.get("T"), r.get("preset")): r for r in map(json.loads, open(p)) if r}
a, b = load(sys.argv[1]), load(sys.argv[2])
for k, ra in a.items():
    rb = b.get(k)
    if not rb:
        continue
    what, B, T, preset = k
    label = f"{what} B {B} T {T}" if preset is None else f"log-mel {preset}"
    if "ms" in ra and "samples_per_s" in ra:
        print(f"{label:28s} mrnet {ra['ms']:9.1f} ms  pytorch {rb['ms']:9.1f} ms  "
              f"speed-up x{rb['ms'] / ra['ms']:.2f}")
    elif "xrt" in ra:
        print(f"{label:28s} mrnet {ra['xrt']:9.0f} x real time per core  torchaudio {rb['xrt']:9.0f}  "
              f"ratio x{ra['xrt'] / rb['xrt']:.2f}")
PY
}

for config in "paper WavLM (D 768, S 2, L 13)|--in-dim 768 --in-channels 2 --layers 13|" \
              "log-mel (D 48, S 1, L 1)|--in-dim 48 --in-channels 1 --layers 1|--in-dim 48 --in-channels 1 --layers 1"; do
  IFS='|' read -r name cargs pargs <<<"$config"
  echo "## network: $name, C 512, E 128, K 8, T 300"
  ./build/bench_step --batches "$batches" --T 300 --repeats "$repeats" $cargs > "$out/c.jsonl"
  if $py -c 'import torch' 2>/dev/null; then
    $py bench/bench_torch.py --threads "$threads" --batches "$batches" --T 300 --repeats "$repeats" $pargs > "$out/p.jsonl"
    cat "$out/c.jsonl" "$out/p.jsonl"
    ratio "$out/c.jsonl" "$out/p.jsonl"
  else
    cat "$out/c.jsonl"; echo "(python3-torch missing: no PyTorch figures)"
  fi
done

echo "## log-mel extraction, one core"
./build/bench_melspec > "$out/m.jsonl"
if $py -c 'import torchaudio' 2>/dev/null; then
  $py bench/bench_melspec_torch.py > "$out/t.jsonl"
  cat "$out/m.jsonl" "$out/t.jsonl"
  ratio "$out/m.jsonl" "$out/t.jsonl"
else
  cat "$out/m.jsonl"
fi

echo "## mrnet extract over $extract_clips generated clips"
./build/bench_melspec --extract "$out/extract" --clips "$extract_clips" -j "$threads"
