#!/usr/bin/env bash
# Runs mrnet and the PyTorch reference on the same machine in the same run and
# prints the ratios. Needs a built tree (bash scripts/build.sh) and, for the
# PyTorch side, Debian's python3-torch and python3-torchaudio.
#
#   bash bench/run_bench.sh [--quick] [--threads N] [--wait-policy passive|active]
#                           [--wavlm] [--wavlm-weights FILE]
#
# Both sides use libgomp and get the same OMP_WAIT_POLICY (default passive,
# as the mrnet tool sets for itself).
#
# Sections: the network (paper WavLM configuration and the log-mel
# configuration; forward and training step), `mrnet bench` (share of the
# sgemm rate), log-mel extraction (per core),
# and `mrnet extract` over a folder of generated clips. Optional (--wavlm):
# the WavLM Base+ front end on 6 s and 30 s mono clips (6 s only with
# --quick), bench/bench_wavlm against bench/bench_wavlm_torch.py, with the
# full-size seeded random weights or --wavlm-weights FILE (safetensors).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
batches=8,48
repeats=3
extract_clips=300
policy=PASSIVE
wavlm=0
wavlm_seconds="6 30"
wavlm_weights=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) batches=8; repeats=1; extract_clips=100; wavlm_seconds=6 ;;
    --wavlm) wavlm=1 ;;
    --wavlm-weights) wavlm=1; wavlm_weights=$2; shift ;;
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

echo "## mrnet bench: achieved GFLOP/s against the sgemm rate on the model's largest GEMM, same run"
for config in paper mel; do
  for b in ${batches//,/ }; do
    ./build/mrnet bench --config "$config" --batch "$b" --T 300 --repeats "$repeats" --threads "$threads"
  done
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

if [ "$wavlm" = 1 ]; then
  echo "## WavLM Base+ front end, mono clips: ${wavlm_weights:-full-size seeded random weights}"
  wargs=()
  [ -n "$wavlm_weights" ] && wargs=(--weights "$wavlm_weights")
  : > "$out/w.jsonl"
  : > "$out/wt.jsonl"
  for s in $wavlm_seconds; do
    ./build/bench_wavlm --json --seconds "$s" --threads "$threads" --repeats "$repeats" ${wargs[@]+"${wargs[@]}"} >> "$out/w.jsonl"
  done
  if [ -f bench/bench_wavlm_torch.py ] && $py -c 'import torch' 2>/dev/null; then
    for s in $wavlm_seconds; do
      $py bench/bench_wavlm_torch.py --seconds "$s" --threads "$threads" ${wargs[@]+"${wargs[@]}"} >> "$out/wt.jsonl"
    done
    cat "$out/w.jsonl" "$out/wt.jsonl"
    # lines pair up in order: one per clip length on each side
    $py - "$out/w.jsonl" "$out/wt.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p) if l.strip()] for p in sys.argv[1:3])
for ra, rb in zip(a, b):
    print(f"wavlm {ra['seconds']:>4} s mono          mrnet {ra['ms']:9.1f} ms {ra['peak_rss_mb']:6.0f} MB  "
          f"pytorch {rb['ms']:9.1f} ms {rb['peak_rss_mb']:6.0f} MB  speed-up x{rb['ms'] / ra['ms']:.2f}")
PY
  else
    cat "$out/w.jsonl"; echo "(python3-torch or bench/bench_wavlm_torch.py missing: no PyTorch figures)"
  fi
fi
