#!/usr/bin/python3
"""torchaudio side of bench/bench_melspec.c: the same presets and signal, one
thread. Prints one JSON line per preset, like bench_melspec.

    /usr/bin/python3 bench/bench_melspec_torch.py [--seconds 60] [--repeats 5]
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torchaudio


def melon_window(n, **kw):
    w = torch.hann_window(n, periodic=True)
    return w * (2.0 / w.sum())


PRESETS = {
    "torchaudio": (16000, dict()),
    "librosa": (22050, dict(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128, pad_mode="constant",
                            norm="slaney", mel_scale="slaney")),
    "melon": (16000, dict(sample_rate=16000, n_fft=512, hop_length=256, n_mels=48, f_max=8000.0, pad_mode="constant",
                          norm="slaney", mel_scale="slaney", window_fn=melon_window)),
}


def signal(n, rate):
    # the same LCG noise + chirp as bench_melspec.c
    t = np.arange(n) / rate
    s = 12345
    noise = np.empty(n)
    a, c, mask = 6364136223846793005, 1442695040888963407, (1 << 64) - 1
    for i in range(n):
        s = (s * a + c) & mask
        noise[i] = (s >> 40) / 16777216.0 - 0.5
    return (0.3 * np.sin(2 * math.pi * (100 * t + 20 * t * t)) + 0.05 * noise).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for name, (rate, kw) in PRESETS.items():
        x = torch.from_numpy(signal(int(args.seconds * rate), rate))
        mel = torchaudio.transforms.MelSpectrogram(**kw)
        post = (lambda m: torch.log10(1 + 10000 * m)) if name == "melon" else (lambda m: m)
        with torch.inference_mode():
            post(mel(x))
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                post(mel(x))
                times.append((time.perf_counter() - t0) * 1e3)
        med = sorted(times)[len(times) // 2]
        print(json.dumps({"impl": "torchaudio " + torchaudio.__version__, "preset": name, "seconds": args.seconds,
                          "ms": round(med, 3), "xrt": round(args.seconds / (med / 1e3)), "threads": 1}))


if __name__ == "__main__":
    main()
