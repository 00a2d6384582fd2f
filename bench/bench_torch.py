#!/usr/bin/python3
"""PyTorch side of the benchmark: the reference MRNet (tools/mrnet_ref.py) in
float32 on the CPU at the paper configuration (D 768, S 2, L 13, C 512, E 128,
K 8), T frames.

    /usr/bin/python3 bench/bench_torch.py [--threads 2] [--batches 8,48] [--T 300]
                                          [--repeats 3] [--what forward,train_step]

Per measurement: one warm-up iteration, then the median of --repeats timed
iterations; prints one JSON line
{"impl":"pytorch","what":"forward"|"train_step","B":..,"T":..,"ms":..,"samples_per_s":..,"threads":..}.
  forward     model.eval(), torch.no_grad(): network + head, logits
  train_step  model.train(), dropout 0.5: zero_grad, forward, weighted CE,
              backward, AdamW(amsgrad) step over network + head
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))

import torch  # noqa: E402

from mrnet_ref import MRNet, MRNetConfig, Head, weighted_cross_entropy, make_optimizer  # noqa: E402

PAPER = dict(in_dim=768, in_channels=2, n_layers=13, channels=512, embed=128, classes=8)


def median_ms(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="8,48")
    ap.add_argument("--T", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--what", default="forward,train_step")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--in-dim", type=int, default=PAPER["in_dim"])
    ap.add_argument("--in-channels", type=int, default=PAPER["in_channels"])
    ap.add_argument("--layers", type=int, default=PAPER["n_layers"])
    a = ap.parse_args()
    whats = [w.strip() for w in a.what.split(",") if w.strip()]
    for w in whats:
        if w not in ("forward", "train_step"):
            ap.error(f"--what: unknown measurement {w!r} (forward, train_step)")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = MRNetConfig(**dict(PAPER, in_dim=a.in_dim, in_channels=a.in_channels, n_layers=a.layers))
    model, head = MRNet(cfg, dropout=0.5), Head(cfg.embed, cfg.classes)
    params = list(model.parameters()) + list(head.parameters())
    opt = make_optimizer(params)
    cw = torch.linspace(1.0, 3.0, cfg.classes)

    for B in [int(b) for b in a.batches.split(",")]:
        X = torch.randn(B, cfg.in_channels, cfg.n_layers, a.T, cfg.in_dim)
        labels = torch.arange(B) % cfg.classes

        def forward():
            model.eval(), head.eval()
            with torch.no_grad():
                head(model(X))

        def train_step():
            model.train(), head.train()
            opt.zero_grad(set_to_none=True)
            loss = weighted_cross_entropy(head(model(X)), labels, cw)
            loss.backward()
            opt.step()

        for w in whats:
            ms = median_ms(forward if w == "forward" else train_step, a.repeats)
            print(json.dumps({"impl": "pytorch", "what": w, "B": B, "T": a.T, "ms": round(ms, 2),
                              "samples_per_s": round(B / (ms / 1e3), 3), "threads": a.threads}),
                  flush=True)
        del X


if __name__ == "__main__":
    main()
