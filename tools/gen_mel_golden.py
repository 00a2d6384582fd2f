#!/usr/bin/python3
"""Golden log-mel vectors for tests/test_melspec.c, from torchaudio 0.13.

Run with Debian's python3 (python3-torch, python3-torchaudio, numpy):

    /usr/bin/python3 tools/gen_mel_golden.py [tests/golden]

Writes mel_input.npy (float32 signal, 8000 samples) and mel_<case>.npy, the
expected (n_mels, T) output of each case below. The C test holds the same
settings; keep the two lists in step.

librosa is not packaged in Debian 12, so the librosa case is made with
torchaudio set to librosa's defaults (Slaney scale and norm, zero padding of
librosa >= 0.10) and cross-checked here against a numpy transcription of
librosa's own formulas (filters.mel, stft with centre zero padding) in float64.
"""
import math
import os
import sys

import numpy as np
import torch
import torchaudio

N = 8000


def make_input():
    rng = np.random.RandomState(1234)
    t = np.arange(N) / 16000.0
    x = 0.3 * np.sin(2 * np.pi * 440.0 * t)
    x += 0.2 * np.sin(2 * np.pi * (100.0 * t + 0.5 * 3000.0 * t * t))  # chirp 100 Hz -> 3.1 kHz
    x += 0.05 * rng.standard_normal(N)
    x[N // 2: N // 2 + 200] += 0.5  # a click
    return x.astype(np.float32)


def melon_window(n, **kw):
    w = torch.hann_window(n, periodic=True, dtype=torch.float64)
    return (w * (2.0 / w.sum())).to(torch.float32)


def case_specs():
    """name -> (MelSpectrogram kwargs, post-processing)."""
    return {
        "torchaudio": (dict(), None),
        "slaney_mag": (dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, f_min=20.0,
                            f_max=7600.0, n_mels=80, power=1.0, norm="slaney", mel_scale="slaney"), None),
        "librosa": (dict(sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128, pad_mode="constant",
                         norm="slaney", mel_scale="slaney"), None),
        "db_nocenter": (dict(sample_rate=16000, n_fft=256, hop_length=128, n_mels=40, center=False),
                        "db"),
        "melon": (dict(sample_rate=16000, n_fft=512, hop_length=256, n_mels=48, f_max=8000.0,
                       pad_mode="constant", norm="slaney", mel_scale="slaney", window_fn=melon_window),
                  "log10_1e4"),
        "ln_odd": (dict(sample_rate=16000, n_fft=401, win_length=300, hop_length=100, n_mels=64,
                        f_min=50.0), "ln_1e-6"),
    }


def run_case(x, kwargs, post):
    mel = torchaudio.transforms.MelSpectrogram(**kwargs)(torch.from_numpy(x))
    if post == "db":
        mel = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80.0)(mel)
    elif post == "log10_1e4":
        mel = torch.log10(1.0 + 10000.0 * mel)
    elif post == "ln_1e-6":
        mel = torch.log(mel + 1e-6)
    return mel.numpy().astype(np.float32)


# ---- numpy transcription of librosa 0.10 defaults (float64) -----------------

def librosa_hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def librosa_mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def librosa_melspectrogram(y, sr=22050, n_fft=2048, hop=512, n_mels=128):
    fftfreqs = np.linspace(0, sr / 2.0, 1 + n_fft // 2)
    mel_f = librosa_mel_to_hz(np.linspace(librosa_hz_to_mel(0.0), librosa_hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    weights = weights.astype(np.float32)  # librosa's dtype default
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # scipy hann, fftbins=True
    yp = np.pad(y.astype(np.float64), n_fft // 2, mode="constant")
    frames = 1 + (len(yp) - n_fft) // hop
    S = np.empty((1 + n_fft // 2, frames))
    for t in range(frames):
        S[:, t] = np.abs(np.fft.rfft(yp[t * hop: t * hop + n_fft] * window)) ** 2
    return weights.astype(np.float64) @ S


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "golden")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    x = make_input()
    np.save(os.path.join(out, "mel_input.npy"), x)
    for name, (kwargs, post) in case_specs().items():
        mel = run_case(x, kwargs, post)
        np.save(os.path.join(out, "mel_%s.npy" % name), mel)
        print("%-12s %s  max %.4g" % (name, mel.shape, float(np.abs(mel).max())))
    ref = librosa_melspectrogram(x)
    ta = np.load(os.path.join(out, "mel_librosa.npy"))
    rel = np.abs(ref - ta).max() / np.abs(ref).max()
    print("librosa formulas vs torchaudio librosa case: max rel diff %.3g" % rel)
    assert rel < 1e-5, "torchaudio does not reproduce the librosa formulas"
    assert torchaudio.__version__.startswith("0.13"), torchaudio.__version__


if __name__ == "__main__":
    main()
