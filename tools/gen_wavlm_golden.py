#!/usr/bin/python3
"""Writes the WavLM golden files in tests/golden/ from tools/wavlm_ref.py.

    /usr/bin/python3 tools/gen_wavlm_golden.py [--out tests/golden] [--skip-full]

- wavlm_tiny.safetensors: seeded weights (seed 7) of a reduced configuration
  (conv_dim 32, hidden 64, 4 heads, ffn 128, 3 layers, pos kernel 16 / 4 groups,
  320 buckets), HF key names, F32, the configuration as metadata.
- wavlm_tiny_out.safetensors: inputs and outputs of that model for 400, 16000,
  96000 samples and a quiet 1 s input (input.16000 * 1e-3).
- wavlm_full_out.safetensors: the full-size model with seeded weights (seed
  20261202): hidden states at three frames and per-frame sums of |h|, plus
  generator checks (per-tensor weight sums, input.400).

Outputs are computed in float64 from the float32 weights and inputs and
rounded to float32 when stored (the exact result up to float32 rounding).
Before writing, the script checks the torchaudio parts against hand-written
versions, and reports float32-vs-float64 differences per hidden state.
Deterministic (one thread): rerunning gives byte-identical files.
"""
import argparse
import os
import sys
import time
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import st  # noqa: E402
import wavlm_ref as W  # noqa: E402

TINY_SEED = 7
FULL_SEED = 20261202
TINY_CASES = (400, 16000, 96000, "quiet")
FULL_CASES = (400, 16000, 96000)


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def report_diffs(label, o32, o64):
    d = np.abs(o32["hs"].astype(np.float64) - o64["hs"]).reshape(o64["hs"].shape[0], -1).max(axis=1)
    mag = np.abs(o64["hs"]).reshape(o64["hs"].shape[0], -1)
    print(f"  {label}: float32 vs float64 max |diff| per state: " + " ".join(f"{x:.1e}" for x in d))
    print(f"  {label}: conv0 {np.abs(o32['conv0'] - o64['conv0']).max():.1e}, "
          f"proj {np.abs(o32['proj'] - o64['proj']).max():.1e}; "
          f"|h| mean {mag.mean():.3f}, max {mag.max():.2f}")
    return d


def check_parts(label, model, wave, tol):
    diffs = W.check_components(model, wave)
    print(f"  {label}: torchaudio vs hand-written: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))
    bad = {k: v for k, v in diffs.items() if not v < tol}
    if bad:
        raise SystemExit(f"gen_wavlm_golden: component check failed ({label}): {bad}")


def tiny(out_dir):
    cfg = W.TINY
    weights = W.seeded_weights(cfg, TINY_SEED)
    meta = OrderedDict(format=W.FORMAT, generator="tools/gen_wavlm_golden.py (splitmix64, tools/README.md)",
                       seed=str(TINY_SEED))
    meta.update(cfg.metadata())
    wpath = os.path.join(out_dir, "wavlm_tiny.safetensors")
    st.save(wpath, weights, meta)
    loaded, _, lcfg = W.load_weights(wpath)         # what the C side reads
    assert lcfg == cfg and all(np.array_equal(loaded[k], weights[k]) for k in weights)
    m64, m32 = W.build_model(loaded, cfg, double=True), W.build_model(loaded, cfg)

    inputs = OrderedDict((n, W.seeded_input(n, TINY_SEED)) for n in TINY_CASES if n != "quiet")
    inputs["quiet"] = f32(inputs[16000].astype(np.float64) * 1e-3)
    out = OrderedDict()
    print("tiny (seed 7):")
    check_parts("16000", m64, inputs[16000], 1e-12)
    check_parts("16000 float32", m32, inputs[16000], 1e-4)
    for c, x in inputs.items():
        o64 = W.run(m64, x, double=True)
        report_diffs(str(c), W.run(m32, x), o64)
        out[f"input.{c}"] = x
        if c in (400, 16000):
            out[f"conv0.{c}"] = f32(o64["conv0"])
        out[f"proj.{c}"] = f32(o64["proj"])
        out[f"hs.{c}"] = f32(o64["hs"])
    st.save(os.path.join(out_dir, "wavlm_tiny_out.safetensors"), out,
            OrderedDict(weights="wavlm_tiny.safetensors", seed=str(TINY_SEED), precision="float64",
                        quiet="input.16000 * 1e-3 (in double, then float32)"))


def full(out_dir, check_f32):
    cfg = W.FULL
    t0 = time.time()
    weights = W.seeded_weights(cfg, FULL_SEED)
    n_values = sum(a.size for a in weights.values())
    assert len(weights) == 248 and n_values == 94_381_936, (len(weights), n_values)
    print(f"full (seed {FULL_SEED}): 248 tensors, {n_values} values generated in {time.time() - t0:.0f} s")
    m64 = W.build_model(weights, cfg, double=True)
    m32 = W.build_model(weights, cfg) if check_f32 else None
    out = OrderedDict()
    # Generator checks: per-tensor sums (float64, spec 11.2 key order) and one input.
    out["weights.sum"] = np.array([a.astype(np.float64).sum() for a in weights.values()], dtype=np.float64)
    out["input.400"] = W.seeded_input(400, FULL_SEED)
    for n in FULL_CASES:
        x = W.seeded_input(n, FULL_SEED)
        if n == 16000:
            check_parts("16000", m64, x, 1e-10)
        o64 = W.run(m64, x, double=True)
        if m32 is not None:
            report_diffs(str(n), W.run(m32, x), o64)
        hs = o64["hs"]                                   # (13, T, 768) float64
        T = hs.shape[1]
        assert T == cfg.frames(n)
        out[f"frames.{n}"] = f32(hs[:, [0, T // 2, T - 1], :])
        out[f"abs_sum.{n}"] = f32(np.abs(hs).sum(axis=2))
    st.save(os.path.join(out_dir, "wavlm_full_out.safetensors"), out,
            OrderedDict(seed=str(FULL_SEED), precision="float64",
                        frames="0, T // 2, T - 1",
                        abs_sum="sum over channels of |h| per state and frame, float64 accumulation"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "golden"))
    ap.add_argument("--skip-full", action="store_true", help="only the tiny configuration")
    ap.add_argument("--no-f32-check", action="store_true", help="skip the float32 run of the full model")
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    tiny(a.out)
    if not a.skip_full:
        full(a.out, not a.no_f32_check)
    for f in ("wavlm_tiny.safetensors", "wavlm_tiny_out.safetensors", "wavlm_full_out.safetensors"):
        p = os.path.join(a.out, f)
        if os.path.exists(p):
            print(f"{p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
