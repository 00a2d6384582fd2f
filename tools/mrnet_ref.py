#!/usr/bin/python3
"""PyTorch reference of the MRNet network, written from /work/shared/spec/mrnet.md.

It exists to produce golden vectors for the C library (tools/gen_golden.py) and
a PyTorch baseline for benchmarks (bench/bench_torch.py). Module and parameter
names are the authors' release names (spec, "Parameter names"), so
`MRNet.state_dict()` has exactly the keys a release checkpoint has; the
classifier head is a separate module whose keys `mrnet` stores under `head.`.

Any configuration is supported: in_dim D, in_channels S, n_layers L, channels C,
embed E, classes K, the three dilations, the Res2Net scale and the SE group
count. Shapes are written (B, channels, T) as in the spec.
"""
import json
import math
from dataclasses import dataclass, field, asdict
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# Route order of the pooled vectors (spec step 10): index j of w_all.
ROUTES = ("L1", "L2", "L3", "H", "M1", "M2", "M3")

# Placements of w_all (mrnet_config.route_weights).
ROUTE_WEIGHTS_PAPER = 0
ROUTE_WEIGHTS_AFTER_NORM = 1
# Input normalisation (mrnet_config.input_norm).
INPUT_NORM_INSTANCE = 0   # the paper: InstanceNorm1d over time
INPUT_NORM_GLOBAL = 1     # fixed per-feature mean and std (buffers input_norm.mean/.std)

BN_EPS = 1e-5
IN_EPS = 1e-5          # instance norm over time
ASP_VAR_FLOOR = 1e-4   # sigma = sqrt(max(var, 1e-4))


@dataclass
class MRNetConfig:
    in_dim: int            # D, feature size per input channel
    in_channels: int       # S
    n_layers: int          # L, stacked feature layers mixed by w
    channels: int          # C
    embed: int             # E
    classes: int           # K
    dilations: Sequence[int] = field(default_factory=lambda: [2, 3, 4])
    scale: int = 8
    se_groups: int = 3
    # Where w_all acts (mrnet_config.route_weights): ROUTE_WEIGHTS_PAPER before
    # bn5, or ROUTE_WEIGHTS_AFTER_NORM, a gate R softmax(w_all) after it.
    route_weights: int = 0
    # INPUT_NORM_INSTANCE, or INPUT_NORM_GLOBAL: (X - mean) / std per feature
    # (s, l, d) before the layer mix, with no instance norm after it.
    input_norm: int = 0

    def __post_init__(self):
        if self.input_norm not in (INPUT_NORM_INSTANCE, INPUT_NORM_GLOBAL):
            raise ValueError(f"input_norm {self.input_norm!r} must be 0 (instance) or 1 (global)")
        if self.route_weights not in (ROUTE_WEIGHTS_PAPER, ROUTE_WEIGHTS_AFTER_NORM):
            raise ValueError(f"route_weights {self.route_weights!r} must be 0 (paper) or 1 (after-norm)")
        self.dilations = [int(d) for d in self.dilations]
        if len(self.dilations) != 3:
            raise ValueError("MRNet has exactly three MRBlocks: give three dilations")
        if (3 * self.channels) % self.se_groups:
            raise ValueError(f"3C = {3 * self.channels} is not divisible by se_groups {self.se_groups}")
        if self.channels // 16 < 1:
            raise ValueError("channels must be at least 16 (ASP hidden width C//16)")

    @property
    def width(self):
        """Res2Net width W = floor(3C / scale); conv1 has 8W outputs, which can
        differ from 3C (C = 36: W = 13, 8W = 104)."""
        return (3 * self.channels) // self.scale

    @property
    def se_channels(self):
        return (3 * self.channels) // self.se_groups

    @property
    def se_bottleneck(self):
        return ((3 * self.channels) // 16) // self.se_groups

    @property
    def asp_hidden(self):
        return self.channels // 16

    def to_json(self):
        d = asdict(self)
        if d["route_weights"] == ROUTE_WEIGHTS_PAPER:   # as mrnet writes it: absent for the paper
            del d["route_weights"]
        if d["input_norm"] == INPUT_NORM_INSTANCE:
            del d["input_norm"]
        return json.dumps(d, separators=(",", ":"))

    @staticmethod
    def from_json(text):
        return MRNetConfig(**json.loads(text))


def conv_relu_bn(cin, cout):
    """Conv1d(k=1) -> ReLU -> BN as one Sequential: keys `.0.*` (conv) and `.2.*` (BN)."""
    return nn.Sequential(nn.Conv1d(cin, cout, kernel_size=1), nn.ReLU(), nn.BatchNorm1d(cout))


class TimeMean(nn.Module):
    """(B, C, T) -> (B, C, 1): mean over time. Parameterless placeholder that
    keeps the SE convs at indices 1 and 3 as in the release's key names."""

    def forward(self, x):
        return x.mean(dim=2, keepdim=True)


class GroupedSE(nn.Module):
    """Squeeze-excitation applied separately to `groups` equal channel groups.
    in (B, 3C, T) -> out (B, 3C, T). Keys: se_modules.{g}.1 (C->Cb), .3 (Cb->C)."""

    def __init__(self, channels, bottleneck, groups):
        super().__init__()
        self.groups = groups
        self.se_modules = nn.ModuleList([
            nn.Sequential(TimeMean(),
                          nn.Conv1d(channels, bottleneck, kernel_size=1),
                          nn.ReLU(),
                          nn.Conv1d(bottleneck, channels, kernel_size=1),
                          nn.Sigmoid())
            for _ in range(groups)])

    def forward(self, x):
        parts = torch.chunk(x, self.groups, dim=1)
        return torch.cat([p * se(p) for p, se in zip(parts, self.se_modules)], dim=1)


class MRBlock(nn.Module):
    """Res2Net bottleneck with grouped SE (release name Bottle2neck).
    in (B, C, T) -> out (B, 3C, T)."""

    def __init__(self, cfg: MRNetConfig, dilation):
        super().__init__()
        C, W, s = cfg.channels, cfg.width, cfg.scale
        self.width = W
        self.conv1 = nn.Conv1d(C, W * s, kernel_size=1)
        self.bn1 = nn.BatchNorm1d(W * s)
        self.convs = nn.ModuleList([nn.Conv1d(W, W, kernel_size=3, dilation=dilation, padding=dilation)
                                    for _ in range(s - 1)])
        self.bns = nn.ModuleList([nn.BatchNorm1d(W) for _ in range(s - 1)])
        self.conv3 = nn.Conv1d(W * s, 3 * C, kernel_size=1)
        self.bn3 = nn.BatchNorm1d(3 * C)
        self.se = GroupedSE(cfg.se_channels, cfg.se_bottleneck, cfg.se_groups)
        # Present because C != 3C (always, for C > 0).
        self.residual_conv = nn.Conv1d(C, 3 * C, kernel_size=1)

    def forward(self, x):
        h = self.bn1(F.relu(self.conv1(x)))
        chunks = torch.split(h, self.width, dim=1)
        outs = []
        sp = None
        for j, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = chunks[0] if j == 0 else sp + chunks[j]
            sp = bn(F.relu(conv(sp)))
            outs.append(sp)
        outs.append(chunks[len(self.convs)])      # the last chunk passes untouched
        h = self.bn3(F.relu(self.conv3(torch.cat(outs, dim=1))))
        return self.se(h) + self.residual_conv(x)


class ASP(nn.Module):
    """Attentive statistics pooling. in (B, C, T) -> out (B, 2C) = [mu, sigma].
    Keys: attention.0 (C -> C/16), .2 (BN), .4 (C/16 -> C)."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(channels, hidden, kernel_size=1), nn.ReLU(), nn.BatchNorm1d(hidden),
            nn.Tanh(), nn.Conv1d(hidden, channels, kernel_size=1))

    def forward(self, x):
        a = torch.softmax(self.attention(x), dim=2)
        mu = (x * a).sum(dim=2)
        var = (x * x * a).sum(dim=2) - mu * mu
        return torch.cat([mu, torch.sqrt(var.clamp(min=ASP_VAR_FLOOR))], dim=1)

    def raw_variance(self, x):
        """sum_t x^2 a - mu^2 before the floor (to check golden data is not near it)."""
        a = torch.softmax(self.attention(x), dim=2)
        mu = (x * a).sum(dim=2)
        return (x * x * a).sum(dim=2) - mu * mu


class InputNorm(nn.Module):
    """Fixed standardisation of every input feature: buffers mean, std (S, L, D)."""

    def __init__(self, S, L, D):
        super().__init__()
        self.register_buffer("mean", torch.zeros(S, L, D))
        self.register_buffer("std", torch.ones(S, L, D))

    def forward(self, X):  # X (B, S, L, T, D)
        return (X - self.mean[None, :, :, None, :]) / self.std[None, :, :, None, :]


class MRNet(nn.Module):
    """The network without the classifier head.
    in X (B, S, L, T, D) -> embedding (B, E).

    `dropped_routes`: indices (0..6, order ROUTES) whose pooled vectors are zeroed
    (route ablation, spec "Route ablation"). They are still computed, so their
    ASP batch norms update running statistics in training mode and their
    parameters get zero (not missing) gradients."""

    def __init__(self, cfg: MRNetConfig, dropout=0.5):
        super().__init__()
        self.cfg = cfg
        C, E = cfg.channels, cfg.embed
        # Registration order follows the release so that state_dict order matches.
        self.w = nn.Parameter(torch.ones(1, 1, cfg.n_layers, 1, 1))
        self.dropout = nn.Dropout(dropout)
        if cfg.input_norm == INPUT_NORM_GLOBAL:  # registered here: its buffers follow w_all
            self.input_norm = InputNorm(cfg.in_channels, cfg.n_layers, cfg.in_dim)
        self.fst_conv = nn.Conv1d(cfg.in_channels * cfg.in_dim, C, kernel_size=5, padding=2)
        self.fst_conv_bn = nn.BatchNorm1d(C)
        self.conv_blocks = nn.ModuleList([MRBlock(cfg, d) for d in cfg.dilations])
        self.reprocessing_convs = nn.ModuleList([conv_relu_bn(2 * C, C) for _ in range(3)])
        self.r_global_conv = conv_relu_bn(3 * C, C)
        self.l_conv = conv_relu_bn(3 * C, C)
        # paper: route weights 1; after-norm: gate logits 0, the uniform gate 1
        after_norm = cfg.route_weights == ROUTE_WEIGHTS_AFTER_NORM
        self.w_all = nn.Parameter((torch.zeros if after_norm else torch.ones)(1, len(ROUTES), 1))
        self.att = nn.ModuleList([ASP(C, cfg.asp_hidden) for _ in ROUTES])
        self.bn5 = nn.BatchNorm1d(2 * C * len(ROUTES))
        self.fc6 = nn.Linear(2 * C * len(ROUTES), E)
        self.bn6 = nn.BatchNorm1d(E)
        self.dropped_routes = set()

    def set_dropout(self, p):
        self.dropout.p = p

    def frontend(self, X):
        """X (B, S, L, T, D) -> (B, S*D, T), layer-mixed and instance-normalised."""
        B, S, L, T, D = X.shape
        if self.cfg.input_norm == INPUT_NORM_GLOBAL:
            X = self.input_norm(X)
        x = (X * self.w).sum(dim=2)                        # (B, S, T, D)
        x = x.transpose(2, 3).reshape(B, S * D, T)         # channel = s*D + d
        if self.cfg.input_norm == INPUT_NORM_GLOBAL:
            return x
        mean = x.mean(dim=2, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=2, keepdim=True)  # biased
        return (x - mean) / torch.sqrt(var + IN_EPS)

    def routes(self, X):
        """The seven route feature maps, each (B, C, T), in ROUTES order."""
        C = self.cfg.channels
        x = self.fst_conv_bn(F.relu(self.fst_conv(self.dropout(self.frontend(X)))))
        low, long_, rest = [], [], []
        for block in self.conv_blocks:
            y = block(self.dropout(x))
            low.append(y[:, :C])
            long_.append(y[:, C:2 * C])
            rest.append(y[:, 2 * C:])
            x = x + y[:, C:2 * C]            # the residual skips the dropout
        l_cat = torch.cat(long_, dim=1)
        g = self.r_global_conv(l_cat)
        h = self.l_conv(l_cat)
        mid = [conv(torch.cat([r, g], dim=1)) for conv, r in zip(self.reprocessing_convs, rest)]
        return low + [h] + mid

    def route_mask(self, dtype, device):
        m = torch.ones(1, len(ROUTES), 1, dtype=dtype, device=device)
        for j in self.dropped_routes:
            m[0, j, 0] = 0
        return m

    def route_gate(self):
        """After-norm gate (1, 7, 1): R softmax(w_all) over the R live routes,
        0 for a dropped route (left out of the softmax; no gradient to its logit)."""
        live = self.route_mask(self.w_all.dtype, self.w_all.device) > 0
        logits = torch.where(live, self.w_all, torch.full_like(self.w_all, -math.inf))
        return int(live.sum()) * torch.softmax(logits, dim=1)

    def forward(self, X):
        pooled = torch.stack([asp(r) for asp, r in zip(self.att, self.routes(X))], dim=1)  # (B, 7, 2C)
        if self.dropped_routes:
            pooled = pooled * self.route_mask(pooled.dtype, pooled.device)
        if self.cfg.route_weights == ROUTE_WEIGHTS_AFTER_NORM:
            # bn5 normalises the pooled vectors as they are; the gate scales its output
            y = self.bn5(pooled.flatten(1)).view(pooled.shape)
            return self.bn6(self.fc6((y * self.route_gate()).flatten(1)))
        z = (pooled * self.w_all).flatten(1)   # (B, 14C), index j*2C + c
        return self.bn6(self.fc6(self.bn5(z)))


class Head(nn.Module):
    """Classifier head (release CCE): fc1 Linear(E -> K) -> bn1 BatchNorm1d(K).
    in (B, E) -> logits (B, K)."""

    def __init__(self, embed, classes):
        super().__init__()
        self.fc1 = nn.Linear(embed, classes)
        self.bn1 = nn.BatchNorm1d(classes)

    def forward(self, e):
        return self.bn1(self.fc1(e))


def weighted_cross_entropy(logits, labels, class_weight):
    """sum_b wt[y_b] * (-log softmax(z_b)[y_b]) / sum_b wt[y_b]  (spec step 14;
    the same as nn.CrossEntropyLoss(weight=class_weight))."""
    nll = -torch.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
    wt = class_weight[labels]
    return (wt * nll).sum() / wt.sum()


def class_weights(counts):
    """Class weight k = (largest class count) / (count of k)."""
    m = max(counts)
    return [m / c for c in counts]


def parse_routes(text):
    """'L2,M1' -> [1, 4]."""
    if not text:
        return []
    out = []
    for name in text.split(","):
        name = name.strip().upper()
        if name not in ROUTES:
            raise ValueError(f"unknown route {name!r}; routes are {','.join(ROUTES)}")
        out.append(ROUTES.index(name))
    return out


# ---- training recipe -----------------------------------------------------

def make_optimizer(params, lr=1e-3, weight_decay=1e-4):
    """AdamW with amsgrad, decay on every parameter (BN and biases included).
    `params` may also be parameter groups (decay_groups)."""
    return torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.999), eps=1e-8,
                             weight_decay=weight_decay, amsgrad=True)


def decay_groups(named, cfg: MRNetConfig):
    """Parameter groups for make_optimizer from (name, parameter) pairs: every
    parameter decayed, except the after-norm gate logits w_all (a group with
    weight_decay 0, as mrnet's no_decay mask)."""
    if cfg.route_weights != ROUTE_WEIGHTS_AFTER_NORM:
        return [p for _, p in named]
    return [{"params": [p for k, p in named if k != "w_all"]},
            {"params": [p for k, p in named if k == "w_all"], "weight_decay": 0.0}]


def make_scheduler(optimizer, T_0=1000, T_mult=2, eta_min=5e-4):
    """The release steps it once per epoch, before the epoch, as step(epoch)."""
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=T_0, T_mult=T_mult, eta_min=eta_min)


def lr_at_epoch(e, base=1e-3, eta_min=5e-4, T_0=1000, T_mult=2):
    """Closed form of the lr used in epoch e (1-based): cosine with warm restarts,
    the cycle position counted in whole epochs. For e < T_0 this is
    eta_min + (base - eta_min) (1 + cos(pi e / T_0)) / 2; at e = T_0 the first
    restart already happened (lr = base), then cycles of 2000, 4000, ... epochs."""
    t, T = e, T_0
    while t >= T:
        t -= T
        T *= T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


# ---- parameter counts ----------------------------------------------------

def count_params(cfg: MRNetConfig):
    """Trainable parameters of MRNet without head, counted from the formulas."""
    C, W, s = cfg.channels, cfg.width, cfg.scale
    conv = lambda cin, cout, k: cout * cin * k + cout
    bn = lambda c: 2 * c
    n = cfg.n_layers + len(ROUTES)                             # w, w_all
    n += conv(cfg.in_channels * cfg.in_dim, C, 5) + bn(C)      # fst_conv(+bn)
    block = conv(C, W * s, 1) + bn(W * s)
    block += (s - 1) * (conv(W, W, 3) + bn(W))
    block += conv(W * s, 3 * C, 1) + bn(3 * C)
    block += cfg.se_groups * (conv(cfg.se_channels, cfg.se_bottleneck, 1)
                              + conv(cfg.se_bottleneck, cfg.se_channels, 1))
    block += conv(C, 3 * C, 1)
    n += 3 * block
    n += 3 * (conv(2 * C, C, 1) + bn(C)) + 2 * (conv(3 * C, C, 1) + bn(C))
    H = cfg.asp_hidden
    n += len(ROUTES) * (conv(C, H, 1) + bn(H) + conv(H, C, 1))
    Z = 2 * C * len(ROUTES)
    n += bn(Z) + Z * cfg.embed + cfg.embed + bn(cfg.embed)
    return n


def count_head_params(cfg: MRNetConfig):
    return cfg.embed * cfg.classes + cfg.classes + 2 * cfg.classes


def trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
