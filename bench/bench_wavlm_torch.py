#!/usr/bin/python3
"""PyTorch side of bench/bench_wavlm.c: the float32 WavLM reference
(tools/wavlm_ref.py) on one S-second mono clip, full-size weights.

    /usr/bin/python3 bench/bench_wavlm_torch.py --seconds 6 --threads 2 [--weights F] [--repeat 3]

Weights from F (a safetensors file as tools/convert_wavlm.py writes it) or,
without --weights, the seeded generator (seed 20261202, the full-size golden
seed). The input is the seeded test wave "input.<n>" (220 Hz sine plus
noise). One warm-up run, then --repeat timed runs of the whole forward
(all 13 hidden states) under torch.no_grad in eval mode; prints one JSON line
(peak_rss_mb is the process's peak: with --weights it includes the loader's
copies of the file)
{"impl":"torch","seconds":S,"threads":N,"ms":median,...,"peak_rss_mb":...}.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

import torch  # noqa: E402

import wavlm_ref as W  # noqa: E402

SEED = 20261202


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", help="safetensors weights (default: seeded full-size weights)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    n = int(round(a.seconds * 16000))
    if a.weights:
        weights, _, cfg = W.load_weights(a.weights)
        model = W.build_model(weights, cfg)
        del weights
    else:
        # Tensor by tensor into the parameters, so that peak RSS holds one copy.
        cfg = W.FULL
        model = W.WavLM(cfg).eval()
        with torch.no_grad():
            for k, p in model.state_dict().items():
                p.copy_(torch.from_numpy(W.seeded_tensor(k, tuple(p.shape), SEED)))
    if cfg.frames(n) < 1:
        sys.exit(f"bench_wavlm_torch: {n} samples give no frame")
    wave = torch.from_numpy(W.seeded_input(n, SEED)).unsqueeze(0)
    times = []
    with torch.no_grad():
        model(wave)                                     # warm-up
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            out = model(wave)
            times.append((time.perf_counter() - t0) * 1e3)
    T = out["hidden_states"][0].shape[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "torch", "seconds": a.seconds, "threads": a.threads, "ms": round(statistics.median(times), 1),
                      "ms_min": round(min(times), 1), "repeat": a.repeat, "frames": T,
                      "weights": os.path.basename(a.weights) if a.weights else f"seeded:{SEED}",
                      "torch": torch.__version__, "peak_rss_mb": round(rss, 1)}))


if __name__ == "__main__":
    main()
