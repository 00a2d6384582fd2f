#!/usr/bin/python3
"""PyTorch reference of WavLM Base+ inference, written from /work/shared/spec/wavlm.md.

It computes what Hugging Face's `WavLMModel` (microsoft/wavlm-base-plus,
evaluation mode) computes for one unpadded mono input: conv0's output (after
GroupNorm and GELU), the feature projection P, and hidden_states[0..L]. It
loads the same safetensors file the C code reads (HF key names, an optional
`wavlm.` prefix, `weight_g`/`weight_v` or `parametrizations.weight.original0/1`,
F32/F16/BF16) and takes every size from the tensor shapes, so reduced
configurations work too (the conv strides are the standard 5,2,2,2,2,2,2 and
max_distance is 800; neither is visible in a shape).

Parts that torchaudio 0.13 implements exactly as the spec says are taken from
`torchaudio.models.wav2vec2.components` (the conv feature extractor with
GroupNorm on layer 0, the feature projection, the weight-normalised
positional convolution); their module names give the HF state_dict keys
directly. WavLM's gated relative-position attention and the post-LN layer are
written here by hand (torchaudio 0.13 has no WavLM). `check_components`
compares each torchaudio part with a hand-written version of the same
formula, and the attention with HF's route through
F.multi_head_attention_forward.

The seeded weight/input generator shared with the C tests (splitmix64 keyed
by the tensor name; see tools/README.md) lives here too.

    wavlm_ref.py WEIGHTS WAV.npy -o OUT.safetensors [--double]
    wavlm_ref.py seed:20261202 WAV.npy -o OUT.safetensors   (seeded full-size weights)
    wavlm_ref.py --self-test
"""
import argparse
import math
import os
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field, asdict
from typing import Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torchaudio.models.wav2vec2 import components as tac  # noqa: E402

import st  # noqa: E402

STRIDES = (5, 2, 2, 2, 2, 2, 2)
MAX_DISTANCE = 800
EPS = 1e-5          # every LayerNorm and the GroupNorm (spec 1)
FORMAT = "mrnet.wavlm.1"


# ---------------------------------------------------------------------------
# Configuration and the key table (spec 11.2)

@dataclass(frozen=True)
class WavLMConfig:
    conv_dim: int = 512
    conv_kernel: Tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: Tuple[int, ...] = STRIDES
    hidden: int = 768
    heads: int = 12
    ffn: int = 3072
    layers: int = 12
    pos_kernel: int = 128
    pos_groups: int = 16
    buckets: int = 320
    max_distance: int = MAX_DISTANCE

    @property
    def head_dim(self):
        return self.hidden // self.heads

    def metadata(self):
        """The configuration as safetensors metadata (str -> str)."""
        d = asdict(self)
        out = OrderedDict()
        for k, v in d.items():
            out[k] = ",".join(str(x) for x in v) if isinstance(v, (tuple, list)) else str(v)
        out["layer_norm_eps"] = repr(EPS)
        return out

    def frames(self, n):
        """Output length after the conv stack, layer by layer (spec 4)."""
        for k, s in zip(self.conv_kernel, self.conv_stride):
            n = (n - k) // s + 1 if n >= k else 0
        return n


FULL = WavLMConfig()
TINY = WavLMConfig(conv_dim=32, hidden=64, heads=4, ffn=128, layers=3, pos_kernel=16, pos_groups=4)


def expected_keys(cfg):
    """OrderedDict HF key -> shape, in the order of spec 11.2 (248 keys at full size)."""
    D, C, H = cfg.hidden, cfg.conv_dim, cfg.heads
    k = OrderedDict()
    fe = "feature_extractor.conv_layers"
    for i, ker in enumerate(cfg.conv_kernel):
        k[f"{fe}.{i}.conv.weight"] = (C, 1 if i == 0 else C, ker)
        if i == 0:
            k[f"{fe}.0.layer_norm.weight"] = (C,)
            k[f"{fe}.0.layer_norm.bias"] = (C,)
    k["feature_projection.layer_norm.weight"] = (C,)
    k["feature_projection.layer_norm.bias"] = (C,)
    k["feature_projection.projection.weight"] = (D, C)
    k["feature_projection.projection.bias"] = (D,)
    k["masked_spec_embed"] = (D,)
    k["encoder.pos_conv_embed.conv.weight_g"] = (1, 1, cfg.pos_kernel)
    k["encoder.pos_conv_embed.conv.weight_v"] = (D, D // cfg.pos_groups, cfg.pos_kernel)
    k["encoder.pos_conv_embed.conv.bias"] = (D,)
    k["encoder.layer_norm.weight"] = (D,)
    k["encoder.layer_norm.bias"] = (D,)
    for l in range(cfg.layers):
        p = f"encoder.layers.{l}."
        for w in ("q", "k", "v", "out"):
            k[p + f"attention.{w}_proj.weight"] = (D, D)
        for w in ("q", "k", "v", "out"):
            k[p + f"attention.{w}_proj.bias"] = (D,)
        k[p + "attention.gru_rel_pos_const"] = (1, H, 1, 1)
        k[p + "attention.gru_rel_pos_linear.weight"] = (8, cfg.head_dim)
        k[p + "attention.gru_rel_pos_linear.bias"] = (8,)
        if l == 0:
            k[p + "attention.rel_attn_embed.weight"] = (cfg.buckets, H)
        k[p + "layer_norm.weight"] = (D,)
        k[p + "layer_norm.bias"] = (D,)
        k[p + "feed_forward.intermediate_dense.weight"] = (cfg.ffn, D)
        k[p + "feed_forward.intermediate_dense.bias"] = (cfg.ffn,)
        k[p + "feed_forward.output_dense.weight"] = (D, cfg.ffn)
        k[p + "feed_forward.output_dense.bias"] = (D,)
        k[p + "final_layer_norm.weight"] = (D,)
        k[p + "final_layer_norm.bias"] = (D,)
    return k


class WeightError(ValueError):
    """A missing, mis-shaped or unexpected tensor; the message names it."""


def normalise_keys(tensors):
    """HF spellings -> the canonical ones: strips a leading `wavlm.` (when any key
    has it, keys without it are a task head and are dropped) and renames
    `parametrizations.weight.original0/1` to `weight_g/weight_v`. Returns
    (OrderedDict, dropped key list)."""
    prefixed = any(k.startswith("wavlm.") for k in tensors)
    out, dropped = OrderedDict(), []
    for k, v in tensors.items():
        if prefixed:
            if not k.startswith("wavlm."):
                dropped.append(k)
                continue
            k = k[len("wavlm."):]
        k = k.replace("parametrizations.weight.original0", "weight_g")
        k = k.replace("parametrizations.weight.original1", "weight_v")
        if k in out:
            raise WeightError(f"tensor {k} appears twice (two spellings of the same weight)")
        out[k] = v
    return out, dropped


def _count_indexed(keys, pattern):
    idx = set()
    for k in keys:
        m = re.match(pattern, k)
        if m:
            idx.add(int(m.group(1)))
    n = len(idx)
    if idx != set(range(n)):
        raise WeightError(f"indices of {pattern!r} are not 0..{n - 1}: {sorted(idx)}")
    return n


def config_from_shapes(shapes):
    """Infers the configuration from {HF key: shape} (canonical keys). Each size
    comes from one tensor; `check_shapes` then checks every other tensor."""
    def need(key, ndim):
        if key not in shapes:
            raise WeightError(f"missing tensor {key}")
        s = tuple(shapes[key])
        if len(s) != ndim:
            raise WeightError(f"tensor {key} has shape {list(s)}, expected {ndim} dimensions")
        return s

    n_conv = _count_indexed(shapes, r"feature_extractor\.conv_layers\.(\d+)\.")
    if n_conv != len(STRIDES):
        raise WeightError(f"{n_conv} conv layers in feature_extractor, expected {len(STRIDES)} "
                          f"(the strides {STRIDES} are fixed)")
    kernels = tuple(need(f"feature_extractor.conv_layers.{i}.conv.weight", 3)[2] for i in range(n_conv))
    conv_dim = need("feature_extractor.conv_layers.0.conv.weight", 3)[0]
    hidden = need("feature_projection.projection.weight", 2)[0]
    heads = need("encoder.layers.0.attention.gru_rel_pos_const", 4)[1]
    ffn = need("encoder.layers.0.feed_forward.intermediate_dense.weight", 2)[0]
    v = need("encoder.pos_conv_embed.conv.weight_v", 3)
    buckets = need("encoder.layers.0.attention.rel_attn_embed.weight", 2)[0]
    layers = _count_indexed(shapes, r"encoder\.layers\.(\d+)\.")
    if heads < 1 or hidden % heads:
        raise WeightError(f"encoder.layers.0.attention.gru_rel_pos_const: {heads} heads do not divide hidden {hidden}")
    if v[1] < 1 or hidden % v[1]:
        raise WeightError(f"encoder.pos_conv_embed.conv.weight_v: {v[1]} channels per group do not divide hidden {hidden}")
    if buckets % 4:
        raise WeightError(f"encoder.layers.0.attention.rel_attn_embed.weight: {buckets} buckets, expected a multiple of 4")
    return WavLMConfig(conv_dim=conv_dim, conv_kernel=kernels, hidden=hidden, heads=heads, ffn=ffn,
                       layers=layers, pos_kernel=v[2], pos_groups=hidden // v[1], buckets=buckets)


def check_shapes(shapes, cfg, require_masked_spec_embed=False):
    """Every expected tensor present with its shape; raises WeightError listing
    every missing or mis-shaped key. Extra keys are the caller's business."""
    errors = []
    for k, s in expected_keys(cfg).items():
        if k not in shapes:
            if k == "masked_spec_embed" and not require_masked_spec_embed:
                continue
            errors.append(f"missing tensor {k} (expected shape {list(s)})")
        elif tuple(shapes[k]) != s:
            errors.append(f"tensor {k} has shape {list(shapes[k])}, expected {list(s)}")
    if errors:
        raise WeightError("; ".join(errors))


def load_weights(path):
    """safetensors file -> (OrderedDict canonical key -> float32 array, metadata, cfg)."""
    raw, meta = st.load(path)
    w, _ = normalise_keys(raw)
    for k, a in w.items():
        if a.dtype.kind != "f":
            raise WeightError(f"{path}: tensor {k} has dtype {a.dtype}, expected a float type")
        w[k] = a.astype(np.float32)
    shapes = {k: a.shape for k, a in w.items()}
    cfg = config_from_shapes(shapes)
    check_shapes(shapes, cfg)
    return w, meta, cfg


# ---------------------------------------------------------------------------
# Seeded generator (bit-exact with the C tests' generator)

GOLDEN_GAMMA = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for b in text.encode("utf-8"):
        h ^= b
        h = (h * 0x100000001b3) & M64
    return h


def splitmix64(state0, n):
    """The first n outputs of splitmix64 from state0, vectorised: output i uses
    state0 + (i + 1) * golden, which is what n calls of `state += golden` give."""
    i = np.arange(1, n + 1, dtype=np.uint64)
    z = np.uint64(state0 & M64) + i * np.uint64(GOLDEN_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def splitmix64_scalar(state0, n):
    """Plain-integer version of `splitmix64`, for the self-test."""
    out, s = [], state0
    for _ in range(n):
        s = (s + GOLDEN_GAMMA) & M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        out.append(z ^ (z >> 31))
    return out


def seeded_uniform(name, n, seed):
    """n values u in [0, 1) on the 2^-24 grid, seeded with seed ^ fnv1a64(name)."""
    return (splitmix64((seed & M64) ^ fnv1a64(name), n) >> np.uint64(40)).astype(np.float64) * 2.0 ** -24


def seed_params(name, shape):
    """(center, scale) of the seeded value center + scale * (2u - 1) for a tensor."""
    numel = int(np.prod(shape))
    if name.endswith("pos_conv_embed.conv.weight_v"):
        return 0.0, math.sqrt(3.0 / (shape[1] * shape[2]))
    if name.endswith("pos_conv_embed.conv.weight_g"):
        return 2.0, 0.5
    if name.endswith("rel_attn_embed.weight") or name == "masked_spec_embed":
        return 0.0, 1.0
    if name.endswith("gru_rel_pos_const"):
        return 1.0, 0.5
    if name.endswith("layer_norm.weight"):        # every norm gain, conv0's GroupNorm included
        return 1.0, 0.2
    if name.endswith("gru_rel_pos_linear.bias"):
        return 0.0, 0.5
    if name.endswith(".bias"):
        return 0.0, 0.1
    if name.endswith("conv.weight") or re.search(
            r"(_proj|intermediate_dense|output_dense|projection|gru_rel_pos_linear)\.weight$", name):
        return 0.0, math.sqrt(3.0 / (numel // shape[0]))
    raise KeyError(f"no seeded distribution for tensor {name}")


def seeded_tensor(name, shape, seed):
    center, scale = seed_params(name, shape)
    u = seeded_uniform(name, int(np.prod(shape)), seed)
    return (center + scale * (2.0 * u - 1.0)).astype(np.float32).reshape(shape)


def seeded_weights(cfg, seed):
    """Every tensor of expected_keys(cfg), masked_spec_embed included."""
    return OrderedDict((k, seeded_tensor(k, s, seed)) for k, s in expected_keys(cfg).items())


def seeded_input(n, seed, name=None):
    """Tensor "input.<n>": 0.25 sin(2 pi 220 i / 16000) + 0.1 (2u - 1) in double,
    then float32. math.sin (the C library's sin), evaluated left to right as
    0.25 * sin(2.0 * pi * 220.0 * i / 16000.0), as the C side does."""
    name = name or f"input.{n}"
    u = seeded_uniform(name, n, seed)
    s = np.array([math.sin(2.0 * math.pi * 220.0 * i / 16000.0) for i in range(n)], dtype=np.float64)
    return (0.25 * s + 0.1 * (2.0 * u - 1.0)).astype(np.float32)


# ---------------------------------------------------------------------------
# The model

def relative_position_bucket(rel, buckets=320, max_distance=MAX_DISTANCE):
    """HF's _relative_positions_bucket (spec 8.1): rel = key - query index (int64
    tensor). The large-distance branch is evaluated in float32 as HF does."""
    nb = buckets // 2
    max_exact = nb // 2
    out = (rel > 0).to(torch.long) * nb
    a = rel.abs()
    large = torch.log(a.float() / max_exact) / math.log(max_distance / max_exact) * (nb - max_exact)
    large = torch.clamp((max_exact + large).to(torch.long), max=nb - 1)
    return out + torch.where(a < max_exact, a, large)


def relative_position_bucket_double(r, buckets=320, max_distance=MAX_DISTANCE):
    """The same in Python doubles (spec 8.1 as written), for the self-test."""
    nb, max_exact = buckets // 2, buckets // 4
    base = nb if r > 0 else 0
    a = abs(r)
    if a < max_exact:
        return base + a
    return base + min(nb - 1, max_exact + int(math.log(a / max_exact) / math.log(max_distance / max_exact)
                                              * (nb - max_exact)))


class GatedRelativeAttention(nn.Module):
    """WavLM self-attention with the gated relative position bias (spec 7-8)."""

    def __init__(self, cfg, has_bias_table):
        super().__init__()
        D, H = cfg.hidden, cfg.heads
        self.heads, self.head_dim = H, cfg.head_dim
        self.buckets, self.max_distance = cfg.buckets, cfg.max_distance
        self.q_proj = nn.Linear(D, D)
        self.k_proj = nn.Linear(D, D)
        self.v_proj = nn.Linear(D, D)
        self.out_proj = nn.Linear(D, D)
        self.gru_rel_pos_const = nn.Parameter(torch.ones(1, H, 1, 1))
        self.gru_rel_pos_linear = nn.Linear(cfg.head_dim, 8)
        if has_bias_table:
            self.rel_attn_embed = nn.Embedding(cfg.buckets, H)

    def raw_bias(self, T):
        """R (H, T, T): R[h, i, j] = E[bucket(j - i), h]; layer 0 only."""
        pos = torch.arange(T, dtype=torch.long)
        bucket = relative_position_bucket(pos[None, :] - pos[:, None], self.buckets, self.max_distance)
        return self.rel_attn_embed(bucket).permute(2, 0, 1)

    def gate(self, x):
        """x (B, T, D), the layer input -> gate (B, H, T, 1)."""
        B, T, _ = x.shape
        xh = x.view(B, T, self.heads, self.head_dim).permute(0, 2, 1, 3)
        z = self.gru_rel_pos_linear(xh).view(B, self.heads, T, 2, 4).sum(-1)
        ga, gb = torch.sigmoid(z).chunk(2, dim=-1)
        return ga * (gb * self.gru_rel_pos_const - 1.0) + 2.0

    def forward(self, x, raw):
        """x (B, T, D), raw (H, T, T) or None -> (out (B, T, D), raw)."""
        B, T, D = x.shape
        if raw is None:
            raw = self.raw_bias(T)
        bias = self.gate(x) * raw.unsqueeze(0)                      # (B, H, T, T)

        def heads(t):
            return t.view(B, T, self.heads, self.head_dim).transpose(1, 2)
        q = heads(self.q_proj(x)) / math.sqrt(self.head_dim)       # scale before the bias (spec 7.3)
        s = q @ heads(self.k_proj(x)).transpose(-1, -2) + bias
        a = torch.softmax(s, dim=-1) @ heads(self.v_proj(x))
        return self.out_proj(a.transpose(1, 2).reshape(B, T, D)), raw


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.intermediate_dense = nn.Linear(cfg.hidden, cfg.ffn)
        self.output_dense = nn.Linear(cfg.ffn, cfg.hidden)

    def forward(self, x):
        return self.output_dense(F.gelu(self.intermediate_dense(x)))


class EncoderLayer(nn.Module):
    """Post-LN layer (spec 7): X = LN(X + attn(X)); X = LN(X + FFN(X))."""

    def __init__(self, cfg, index):
        super().__init__()
        self.attention = GatedRelativeAttention(cfg, has_bias_table=(index == 0))
        self.layer_norm = nn.LayerNorm(cfg.hidden, eps=EPS)
        self.feed_forward = FeedForward(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden, eps=EPS)

    def forward(self, x, raw):
        a, raw = self.attention(x, raw)
        x = self.layer_norm(x + a)
        x = self.final_layer_norm(x + self.feed_forward(x))
        return x, raw


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pos_conv_embed = tac.ConvolutionalPositionalEmbedding(cfg.hidden, cfg.pos_kernel, cfg.pos_groups)
        self.layer_norm = nn.LayerNorm(cfg.hidden, eps=EPS)
        self.layers = nn.ModuleList([EncoderLayer(cfg, i) for i in range(cfg.layers)])

    def forward(self, p):
        x = self.layer_norm(p + self.pos_conv_embed(p))
        states, raw = [x], None
        for layer in self.layers:
            x, raw = layer(x, raw)
            states.append(x)
        return states


class WavLM(nn.Module):
    """WavLMModel's inference path; state_dict keys are HF's (weight_g/weight_v)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.masked_spec_embed = nn.Parameter(torch.zeros(cfg.hidden))   # unused at inference
        shapes = [(cfg.conv_dim, k, s) for k, s in zip(cfg.conv_kernel, cfg.conv_stride)]
        self.feature_extractor = tac._get_feature_extractor("group_norm", shapes, bias=False)
        self.feature_projection = tac.FeatureProjection(cfg.conv_dim, cfg.hidden, 0.0)
        self.encoder = Encoder(cfg)

    def forward(self, wave):
        """wave (B, N) -> {"conv0": (B, C, T0), "proj": (B, T, D), "hidden_states": [(B, T, D)] * (L+1)}."""
        x = wave.unsqueeze(1)
        conv0 = None
        for i, block in enumerate(self.feature_extractor.conv_layers):
            x, _ = block(x, None)
            if i == 0:
                conv0 = x
        p = self.feature_projection(x.transpose(1, 2))
        return {"conv0": conv0, "proj": p, "hidden_states": self.encoder(p)}


def build_model(weights, cfg=None, double=False):
    """weights: {canonical key: array} -> WavLM in eval mode (float64 if double)."""
    if cfg is None:
        cfg = config_from_shapes({k: a.shape for k, a in weights.items()})
    model = WavLM(cfg)
    sd = OrderedDict()
    for k in model.state_dict():
        if k == "masked_spec_embed" and k not in weights:
            sd[k] = torch.zeros(cfg.hidden)
        else:
            sd[k] = torch.from_numpy(np.ascontiguousarray(weights[k], dtype=np.float32))
    model.load_state_dict(sd, strict=True)
    model.eval()
    return model.double() if double else model


def run(model, wave, double=False):
    """numpy wave (N) -> dict of numpy float64/float32 arrays without the batch
    dimension: conv0 (C, T0), proj (T, D), hs (L+1, T, D)."""
    dt = torch.float64 if double else torch.float32
    with torch.no_grad():
        out = model(torch.from_numpy(np.asarray(wave)).to(dt).unsqueeze(0))
    return {"conv0": out["conv0"][0].numpy(), "proj": out["proj"][0].numpy(),
            "hs": torch.stack([h[0] for h in out["hidden_states"]]).numpy()}


# ---------------------------------------------------------------------------
# Hand-written versions of the torchaudio parts, for cross-checks

def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def fold_weight_norm(g, v):
    """W[o, c, j] = g[j] v[o, c, j] / ||v[:, :, j]|| over all o, c (spec 6)."""
    norm = torch.sqrt((v * v).sum(dim=(0, 1), keepdim=True))
    return g * v / norm


def manual_conv_stack(model, wave):
    """wave (B, N) -> (conv0 (B, C, T0), features (B, C, T))."""
    x = wave.unsqueeze(1)
    conv0 = None
    for i, block in enumerate(model.feature_extractor.conv_layers):
        x = F.conv1d(x, block.conv.weight, stride=block.conv.stride[0])
        if i == 0:
            mean = x.mean(dim=2, keepdim=True)
            var = ((x - mean) ** 2).mean(dim=2, keepdim=True)
            gn = block.layer_norm
            x = (x - mean) / torch.sqrt(var + EPS) * gn.weight[None, :, None] + gn.bias[None, :, None]
        x = gelu_erf(x)
        if i == 0:
            conv0 = x
    return conv0, x


def manual_layer_norm(x, ln):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + EPS) * ln.weight + ln.bias


def manual_projection(model, feats):
    """feats (B, C, T) -> P (B, T, D)."""
    fp = model.feature_projection
    x = manual_layer_norm(feats.transpose(1, 2), fp.layer_norm)
    return x @ fp.projection.weight.t() + fp.projection.bias


def manual_pos_conv(model, p):
    """P (B, T, D) -> GELU(posconv(P)) (B, T, D), weight norm folded by hand."""
    conv = model.encoder.pos_conv_embed.conv
    W = fold_weight_norm(conv.weight_g, conv.weight_v)
    K = W.shape[2]
    y = F.conv1d(F.pad(p.transpose(1, 2), (K // 2, K // 2)), W, conv.bias, groups=model.cfg.pos_groups)
    return gelu_erf(y[..., :p.shape[1]]).transpose(1, 2)


def hf_style_attention(att, x, raw):
    """HF's route: gated bias as a float attn_mask of F.multi_head_attention_forward."""
    B, T, D = x.shape
    bias = (att.gate(x) * raw.unsqueeze(0)).reshape(B * att.heads, T, T)
    q = x.transpose(0, 1)
    out, _ = F.multi_head_attention_forward(
        q, q, q, D, att.heads, torch.empty([0], dtype=x.dtype),
        torch.cat((att.q_proj.bias, att.k_proj.bias, att.v_proj.bias)), None, None, False, 0.0,
        att.out_proj.weight, att.out_proj.bias, False, None, False, bias,
        use_separate_proj_weight=True, q_proj_weight=att.q_proj.weight,
        k_proj_weight=att.k_proj.weight, v_proj_weight=att.v_proj.weight)
    return out.transpose(0, 1)


def check_components(model, wave):
    """Max abs differences between the torchaudio parts (and the hand-written
    attention) and independent versions of the same formulas: dict name -> float."""
    dt = next(model.parameters()).dtype
    w = torch.from_numpy(np.asarray(wave)).to(dt).unsqueeze(0)
    diffs = {}
    with torch.no_grad():
        out = model(w)
        conv0, feats = manual_conv_stack(model, w)
        diffs["conv0"] = (conv0 - out["conv0"]).abs().max().item()
        p = manual_projection(model, feats)
        diffs["proj"] = (p - out["proj"]).abs().max().item()
        pe_ta = model.encoder.pos_conv_embed(out["proj"])
        diffs["pos_conv"] = (manual_pos_conv(model, out["proj"]) - pe_ta).abs().max().item()
        conv = model.encoder.pos_conv_embed.conv
        diffs["weight_norm_fold"] = (fold_weight_norm(conv.weight_g, conv.weight_v) - conv.weight).abs().max().item()
        x = out["hidden_states"][0]
        h0 = manual_layer_norm(out["proj"] + manual_pos_conv(model, out["proj"]), model.encoder.layer_norm)
        diffs["hidden0"] = (h0 - x).abs().max().item()
        att = model.encoder.layers[0].attention
        raw = att.raw_bias(x.shape[1])
        worst = 0.0
        for l, layer in enumerate(model.encoder.layers):
            xin = out["hidden_states"][l]
            mine, _ = layer.attention(xin, raw)
            worst = max(worst, (mine - hf_style_attention(layer.attention, xin, raw)).abs().max().item())
        diffs["attention_vs_mha"] = worst
    return diffs


# ---------------------------------------------------------------------------
# Self-test: the spec's unit facts

BUCKET_BOUNDARIES = [80, 83, 85, 88, 90, 93, 96, 98, 101, 104, 107, 110, 114, 117, 120, 124, 127, 131, 135, 139,
                     143, 147, 151, 156, 160, 165, 170, 175, 180, 185, 190, 196, 201, 207, 213, 220, 226, 233, 239,
                     246, 253, 261, 268, 276, 284, 293, 301, 310, 319, 328, 338, 348, 358, 368, 379, 390, 401, 413,
                     425, 438, 450, 464, 477, 491, 505, 520, 535, 551, 567, 583, 600, 618, 636, 655, 674, 693, 714,
                     734, 756, 778]


def self_test():
    torch.manual_seed(0)
    # Bucket table (spec 8.1).
    R = 200_000
    r = torch.arange(-R, R + 1, dtype=torch.long)
    b = relative_position_bucket(r).numpy()
    at = {int(k): int(v) for k, v in zip(range(-R, R + 1), b) if abs(k) <= 1000}
    assert at[0] == 0 and at[-1] == 1 and at[1] == 161 and at[-79] == 79 and at[-80] == 80, "bucket facts"
    assert 160 not in set(b.tolist()), "bucket 160 is never used"
    assert b.min() == 0 and b.max() == 319
    a = np.abs(r.numpy())
    assert a[(b == 159) | (b == 319)].min() == 778 and at[-777] == 158 and at[777] == 318, "last bucket from 778"
    firsts = [int(a[(b == k) & (r.numpy() <= 0)].min()) for k in range(80, 160)]
    assert firsts == BUCKET_BOUNDARIES, "bucket boundaries"
    firsts_pos = [int(a[(b == 160 + k) & (r.numpy() > 0)].min()) for k in range(80, 160)]
    assert firsts_pos == BUCKET_BOUNDARIES, "bucket boundaries (r > 0)"
    # float32 (HF) vs double, every |r| up to 200 000 (both signs sampled densely)
    for rr in list(range(-2000, 2001)) + list(range(-R, R + 1, 997)) + [R, -R]:
        assert relative_position_bucket_double(rr) == b[rr + R], f"bucket float32 vs double at r = {rr}"
    # The float32 branch over every |r| with a vectorised double evaluation.
    ad = np.maximum(a, 1).astype(np.float64)
    big = np.minimum(159, 80 + np.trunc(np.log(ad / 80) / math.log(10.0) * 80).astype(np.int64))
    dbl = np.where(r.numpy() > 0, 160, 0) + np.where(a < 80, a, big)
    assert np.array_equal(dbl, b), "bucket float32 vs double, all |r| <= 200000"
    print("ok: bucket table (facts, boundaries, float32 == double up to |r| = 200000)")

    # Frame count (spec 10), layer by layer for every N.
    n = np.arange(0, 400_001, dtype=np.int64)
    m = n.copy()
    for k, s in zip(FULL.conv_kernel, FULL.conv_stride):
        m = np.where(m >= k, (m - k) // s + 1, 0)
    formula = np.where(n >= 400, (n - 400) // 320 + 1, 0)
    assert np.array_equal(m, formula), "frame count formula"
    for N, T in ((16000, 49), (96000, 299), (480000, 1499), (400, 1), (399, 0), (719, 1), (720, 2)):
        assert FULL.frames(N) == T, f"frames({N})"
    print("ok: frame count T = floor((N - 400) / 320) + 1 for N in 400..400000, 0 below")

    # Key table and generator.
    keys = expected_keys(FULL)
    assert len(keys) == 248, len(keys)
    assert sum(int(np.prod(s)) for s in keys.values()) == 94_381_936
    for k, s in keys.items():
        seed_params(k, s)
    assert fnv1a64("") == 0xcbf29ce484222325 and fnv1a64("a") == 0xaf63dc4c8601ec8c
    assert fnv1a64("foobar") == 0x85944171f73967e8
    assert splitmix64(0, 3).tolist() == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    for s0 in (0, 1, 12345, M64, 7 ^ fnv1a64("masked_spec_embed")):
        assert splitmix64(s0, 50).tolist() == splitmix64_scalar(s0, 50), "vectorised splitmix64"
    u = seeded_uniform("x", 100000, 1)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    g = seeded_tensor("encoder.pos_conv_embed.conv.weight_g", (1, 1, 128), 3)
    assert g.min() >= 1.5 and g.max() <= 2.5
    x = seeded_input(400, 5)
    assert x.dtype == np.float32 and np.abs(x).max() <= 0.35
    print("ok: 248 keys, 94,381,936 values; fnv1a64 and splitmix64 test vectors; vectorised == scalar")

    # Weight-norm fold (spec 6) on full-size seeded g, v: each folded tap has norm |g[j]|.
    gv = {k: torch.from_numpy(seeded_tensor(k, keys[k], 11)).double()
          for k in ("encoder.pos_conv_embed.conv.weight_g", "encoder.pos_conv_embed.conv.weight_v")}
    g, v = gv["encoder.pos_conv_embed.conv.weight_g"], gv["encoder.pos_conv_embed.conv.weight_v"]
    W = fold_weight_norm(g, v)
    tap_norm = torch.sqrt((W * W).sum(dim=(0, 1)))
    assert torch.allclose(tap_norm, g.abs().view(-1), rtol=1e-12, atol=0), "folded tap norm == |g|"
    assert (torch._weight_norm(v, g, 2) - W).abs().max() < 1e-14, "fold == torch weight_norm(dim=2)"
    pe = tac.ConvolutionalPositionalEmbedding(FULL.hidden, FULL.pos_kernel, FULL.pos_groups).double()
    assert tuple(pe.conv.weight_g.shape) == (1, 1, 128) and tuple(pe.conv.weight_v.shape) == (768, 48, 128)
    print("ok: weight-norm fold (norm over all 768 x 48 entries of each tap; == torch weight_norm dim 2)")

    # GroupNorm: zero mean, unit variance per channel over time with gamma 1, beta 0.
    fe = tac._get_feature_extractor("group_norm", [(512, 10, 5)], bias=False).double()
    blk = fe.conv_layers[0]
    with torch.no_grad():
        blk.layer_norm.weight.fill_(1.0)
        blk.layer_norm.bias.zero_()
        y = blk.layer_norm(blk.conv(torch.randn(1, 1, 16000, dtype=torch.float64)))
        var_raw = blk.conv(torch.randn(1, 1, 16000, dtype=torch.float64)).var(dim=2, unbiased=False)
    assert y.mean(dim=2).abs().max() < 1e-12
    assert (y.var(dim=2, unbiased=False) - 1).abs().max() < 1e-3 + EPS / var_raw.min().item()
    print("ok: GroupNorm of conv0 normalises each channel over the whole input")

    # Tiny model: components, attention route, float32 vs float64, loader spellings.
    w = seeded_weights(TINY, 7)
    model32, model64 = build_model(w), build_model(w, double=True)
    wave = seeded_input(16000, 7)
    for name, d in check_components(model64, wave).items():
        assert d < 1e-12, f"component {name}: {d}"
    for name, d in check_components(model32, wave).items():
        assert d < 1e-4, f"component {name} (float32): {d}"
    o32, o64 = run(model32, wave), run(model64, wave, double=True)
    assert o64["hs"].shape == (TINY.layers + 1, 49, TINY.hidden) and o64["conv0"].shape == (32, 3199)
    dmax = np.abs(o32["hs"] - o64["hs"]).max()
    assert dmax < 1e-4, f"float32 vs float64 {dmax}"
    print(f"ok: tiny model: torchaudio parts == hand-written, attention == F.multi_head_attention_forward, "
          f"float32 vs float64 max {dmax:.2e}")

    import tempfile
    with tempfile.TemporaryDirectory() as d:
        renamed = OrderedDict()
        for k, a in w.items():
            k = k.replace("conv.weight_g", "conv.parametrizations.weight.original0")
            k = k.replace("conv.weight_v", "conv.parametrizations.weight.original1")
            renamed["wavlm." + k] = a.astype(np.float16)
        renamed["classifier.weight"] = np.zeros((3, 4), np.float32)
        renamed["feature_extractor.weight"] = np.zeros((3, 4), np.float32)   # an XVector head's name
        p16 = os.path.join(d, "w16.safetensors")
        st.save(p16, renamed)
        w16, _, cfg16 = load_weights(p16)
        assert cfg16 == TINY and set(w16) == set(w)
        assert all(np.array_equal(w16[k], w[k].astype(np.float16).astype(np.float32)) for k in w)
        pb = os.path.join(d, "wbf.safetensors")
        st.save(pb, OrderedDict((k, st.bf16_bits(a)) for k, a in w.items()), dtypes={k: "BF16" for k in w})
        wb, _, _ = load_weights(pb)
        assert all(np.array_equal(wb[k], torch.from_numpy(w[k]).bfloat16().float().numpy()) for k in w)
        bad = OrderedDict(w)
        del bad["encoder.layers.1.final_layer_norm.bias"]
        pbad = os.path.join(d, "bad.safetensors")
        st.save(pbad, bad)
        try:
            load_weights(pbad)
            raise AssertionError("a missing tensor was accepted")
        except WeightError as e:
            assert "encoder.layers.1.final_layer_norm.bias" in str(e)
    print("ok: loader: wavlm. prefix, parametrizations names, F16 and BF16, a missing tensor named")
    print("self-test passed")


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", nargs="?", help="safetensors weights, or seed:N for seeded full-size weights")
    ap.add_argument("wave", nargs="?", help=".npy file with a 1-D float waveform (16 kHz)")
    ap.add_argument("-o", "--out", help="output safetensors: conv0 (C, T0), proj (T, D), hs (L+1, T, D)")
    ap.add_argument("--double", action="store_true", help="compute in float64 (outputs stored as float32)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.self_test:
        self_test()
        return 0
    if not (a.weights and a.wave and a.out):
        ap.error("give WEIGHTS WAV.npy -o OUT.safetensors, or --self-test")
    try:
        if a.weights.startswith("seed:"):
            seed = int(a.weights[5:])
            weights, cfg = seeded_weights(FULL, seed), FULL
            meta = {"seed": str(seed)}
        else:
            weights, meta, cfg = load_weights(a.weights)
    except (OSError, ValueError) as e:
        print(f"wavlm_ref: {a.weights}: {e}", file=sys.stderr)
        return 1
    wave = np.load(a.wave)
    if wave.ndim != 1 or wave.dtype.kind != "f":
        print(f"wavlm_ref: {a.wave}: expected a 1-D float array, got {wave.dtype} {list(wave.shape)}",
              file=sys.stderr)
        return 1
    if cfg.frames(len(wave)) < 1:
        print(f"wavlm_ref: {a.wave}: {len(wave)} samples give no frame (need at least 400)", file=sys.stderr)
        return 1
    out = run(build_model(weights, cfg, double=a.double), wave, double=a.double)
    st.save(a.out, OrderedDict((k, v.astype(np.float32)) for k, v in out.items()),
            dict(cfg.metadata(), precision="float64" if a.double else "float32",
                 weights=os.path.basename(a.weights)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
