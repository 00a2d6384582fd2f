#!/usr/bin/python3
"""Writes the golden vectors in tests/golden/ from the PyTorch reference.

    /usr/bin/python3 tools/gen_golden.py [--out tests/golden] [--only tiny_a_gate,...]

Deterministic (fixed seeds, single thread): rerunning gives identical files
(up to float64 noise, ~1e-16, in gradients that vanish analytically); --only
writes just the named configurations' files.
Models are built and perturbed in float32 (the checkpoint holds these values),
then every computation runs in float64 from those float32 values and the
results are rounded to float32 when stored, so the golden values are exact up
to float32 rounding. See tools/README.md for the file layout.
"""
import argparse
import copy
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import st  # noqa: E402
from mrnet_ref import (MRNet, MRNetConfig, Head, ROUTES, weighted_cross_entropy, class_weights,  # noqa: E402
                       parse_routes, make_optimizer, decay_groups, make_scheduler, lr_at_epoch,
                       count_params, count_head_params, trainable, ROUTE_WEIGHTS_AFTER_NORM,
                       INPUT_NORM_GLOBAL)

CONFIGS = OrderedDict([
    ("tiny_a", dict(cfg=MRNetConfig(in_dim=6, in_channels=2, n_layers=3, channels=32, embed=8, classes=4,
                                    dilations=[2, 3, 4]),
                    B=4, T=24, seed=101, lr=1e-3, weight_decay=1e-4,
                    labels=[2, 0, 3, 2], counts=[30, 12, 5, 20])),
    ("tiny_b", dict(cfg=MRNetConfig(in_dim=10, in_channels=1, n_layers=1, channels=48, embed=12, classes=5,
                                    dilations=[2, 3, 4]),
                    B=3, T=19, seed=202, lr=3e-3, weight_decay=1e-2,
                    labels=[4, 1, 4], counts=[7, 40, 13, 21, 9])),
    ("tiny_c", dict(cfg=MRNetConfig(in_dim=7, in_channels=2, n_layers=2, channels=36, embed=16, classes=3,
                                    dilations=[1, 2, 5]),
                    B=5, T=31, seed=306, lr=2e-3, weight_decay=5e-2,
                    labels=[0, 2, 1, 2, 2], counts=[50, 8, 23])),
    # tiny_a with the after-norm gate: w_all, perturbed like every config's, is
    # then a non-uniform set of gate logits
    ("tiny_a_gate", dict(cfg=MRNetConfig(in_dim=6, in_channels=2, n_layers=3, channels=32, embed=8, classes=4,
                                         dilations=[2, 3, 4], route_weights=ROUTE_WEIGHTS_AFTER_NORM),
                         B=4, T=24, seed=101, lr=1e-3, weight_decay=1e-4,
                         labels=[2, 0, 3, 2], counts=[30, 12, 5, 20])),
    # tiny_c with global input standardisation: non-trivial fixed mean and std
    ("tiny_c_global", dict(cfg=MRNetConfig(in_dim=7, in_channels=2, n_layers=2, channels=36, embed=16, classes=3,
                                           dilations=[1, 2, 5], input_norm=INPUT_NORM_GLOBAL),
                           B=5, T=31, seed=306, lr=2e-3, weight_decay=5e-2,
                           labels=[0, 2, 1, 2, 2], counts=[50, 8, 23])),
])
# io_drop files: configuration -> routes dropped
DROPS = OrderedDict([("tiny_a", "L2,M1"), ("tiny_a_gate", "L3,M2")])
RELEASE_CONFIG = "tiny_a"
SCHEDULE_EPOCHS = [1, 2, 3, 250, 500, 999, 1000, 1001, 1002, 2000, 2999, 3000, 3001, 5000, 6999, 7000, 7001]


def f32(t):
    if t.dtype == torch.int64:
        return t.detach().cpu().numpy().astype(np.int64)
    return t.detach().to(torch.float32).cpu().numpy().copy()  # never a view of a live tensor


def bn_modules(module, prefix=""):
    return [(prefix + n, m) for n, m in module.named_modules() if isinstance(m, nn.BatchNorm1d)]


def perturb(model, head, gen):
    """Non-trivial BN parameters and statistics, w and w_all, so that identity
    values (BN weight 1, mean 0, var 1, route weight 1) cannot hide a bug."""
    with torch.no_grad():
        for _, m in bn_modules(model) + bn_modules(head):
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
            m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.4 - 0.2)
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.num_batches_tracked.fill_(3)
        model.w.copy_(torch.rand(model.w.shape, generator=gen) + 0.5)
        model.w_all.copy_(torch.rand(model.w_all.shape, generator=gen) + 0.5)
        if model.cfg.input_norm == INPUT_NORM_GLOBAL:
            model.input_norm.mean.copy_(torch.randn(model.input_norm.mean.shape, generator=gen) * 0.5)
            model.input_norm.std.copy_(torch.rand(model.input_norm.std.shape, generator=gen) + 0.5)


def build(name, spec):
    """float32 model and head, initialised and perturbed, plus the inputs."""
    cfg = spec["cfg"]
    torch.manual_seed(spec["seed"])
    model, head = MRNet(cfg), Head(cfg.embed, cfg.classes)
    gen = torch.Generator().manual_seed(spec["seed"] + 7)
    perturb(model, head, gen)
    X = torch.randn(spec["B"], cfg.in_channels, cfg.n_layers, spec["T"], cfg.in_dim, generator=gen)
    labels = torch.tensor(spec["labels"], dtype=torch.int64)
    assert len(labels) == spec["B"] and len(spec["counts"]) == cfg.classes
    cw = torch.tensor(class_weights(spec["counts"]), dtype=torch.float32)
    return model, head, X, labels, cw


def checkpoint_tensors(model, head):
    out = OrderedDict((k, f32(v)) for k, v in model.state_dict().items())
    for k, v in head.state_dict().items():
        out["head." + k] = f32(v)
    return out


def config_metadata(cfg):
    meta = {"format": "mrnet", "mrnet.config": cfg.to_json(),
            "mrnet.labels": json.dumps([f"c{k}" for k in range(cfg.classes)])}
    if cfg.route_weights == ROUTE_WEIGHTS_AFTER_NORM or cfg.input_norm == INPUT_NORM_GLOBAL:
        meta["mrnet.format"] = "2"   # as mrnet writes an after-norm or globally normalised model
    return meta


def named_params(model, head):
    return [(k, p) for k, p in model.named_parameters()] + [("head." + k, p) for k, p in head.named_parameters()]


def asp_variances(model, X):
    """All ASP variances before the 1e-4 floor (every route, sample, channel)."""
    with torch.no_grad():
        return torch.cat([asp.raw_variance(r).flatten() for asp, r in zip(model.att, model.routes(X))])


def floor_report(v, mode):
    """sigma = sqrt(max(v, 1e-4)) is continuous, but its gradient jumps at the
    floor: training-step data must keep every variance clear of it."""
    near = ((v > 0.5e-4) & (v < 2e-4)).sum().item()
    clamped = (v < 1e-4).sum().item()
    if mode == "train":
        assert near == 0, f"{near} ASP variances within a factor 2 of the 1e-4 floor in training mode"
    return f"{mode}: {clamped}/{v.numel()} ASP variances floored, {near} near the floor"


def expected_zero_grads(cfg, model, head, dropped):
    """Trainable tensors whose gradient is mathematically zero: a bias right
    before a training-mode batch norm (fc6, head fc1; bn5's bias shifts fc6's
    output by a per-feature constant that bn6 removes, bn6's likewise through
    fc1 and bn1), the ASP's second conv bias (softmax over time ignores a shift
    constant in time), and with routes dropped everything that only feeds them."""
    zero = {"bn5.bias", "fc6.bias", "bn6.bias", "head.fc1.bias"}
    zero |= {f"att.{j}.attention.4.bias" for j in range(len(ROUTES))}
    only = {j: [f"att.{j}."] for j in range(len(ROUTES))}
    only[3].append("l_conv.")
    for i in range(3):
        only[4 + i].append(f"reprocessing_convs.{i}.")
    # an SE group lying wholly in block i's first third feeds only s_i (route i);
    # one in its last third only r_i (route 4 + i)
    C, n = cfg.channels, cfg.se_channels
    for i in range(3):
        for g in range(cfg.se_groups):
            lo, hi = g * n, (g + 1) * n
            if hi <= C:
                only[i].append(f"conv_blocks.{i}.se.se_modules.{g}.")
            elif lo >= 2 * C:
                only[4 + i].append(f"conv_blocks.{i}.se.se_modules.{g}.")
    for j in dropped:
        zero |= {k for k, _ in named_params(model, head) if any(k.startswith(p) for p in only[j])}
    return zero


def compute_io(model32, head32, X, labels, cw, lr, wd, dropped=()):
    """Eval outputs, then one training step (dropout 0), all in float64."""
    model, head = copy.deepcopy(model32).double(), copy.deepcopy(head32).double()
    model.dropped_routes = set(dropped)
    X64, cw64 = X.double(), cw.double()
    out = OrderedDict()
    out["input"] = f32(X)
    out["labels"] = f32(labels)
    out["class_weight"] = f32(cw)

    model.eval(), head.eval()
    with torch.no_grad():
        e = model(X64)
        out["eval.embedding"], out["eval.logits"] = f32(e), f32(head(e))
    report = [floor_report(asp_variances(model, X64), "eval")]

    model.train(), head.train()
    model.set_dropout(0.0)
    # on a copy: the real forward below must be the only one to update running stats
    report.append(floor_report(asp_variances(copy.deepcopy(model), X64), "train"))
    e = model(X64)
    z = head(e)
    loss = weighted_cross_entropy(z, labels, cw64)
    ref = F.cross_entropy(z, labels, weight=cw64)
    assert abs(float(loss) - float(ref)) < 1e-12, (float(loss), float(ref))
    loss.backward()
    out["embedding"], out["logits"], out["loss"] = f32(e), f32(z), f32(loss.detach().reshape(()))
    params = named_params(model, head)
    for k, p in params:
        assert p.grad is not None, k
        out["grad." + k] = f32(p.grad)
    for k, m in bn_modules(model) + bn_modules(head, "head."):
        out[f"running.{k}.running_mean"] = f32(m.running_mean)
        out[f"running.{k}.running_var"] = f32(m.running_var)
    if model.cfg.input_norm == INPUT_NORM_GLOBAL:  # fixed statistics: a training step leaves them
        out["running.input_norm.mean"] = f32(model.input_norm.mean)
        out["running.input_norm.std"] = f32(model.input_norm.std)
    opt = make_optimizer(decay_groups(params, model.cfg), lr=lr, weight_decay=wd)
    opt.step()
    for k, p in params:
        out["param_after_step." + k] = f32(p)
    for j in dropped:
        assert out["grad.w_all"][0, j, 0] == 0.0
    zero = {k for k, _ in params if np.abs(out["grad." + k]).max() < 1e-12}
    expected = expected_zero_grads(model.cfg, model, head, dropped)
    assert zero == expected, f"unexpected all-zero gradients {zero ^ expected} (dead units? change the seed)"
    out_zero = ",".join(k for k, _ in params if k in zero)
    return out, "; ".join(report), out_zero


def float32_drift(model32, head32, X, labels, cw):
    """Max |float32 - float64| of the eval logits and the loss, as a hint for
    the C tests' tolerances."""
    m, h = copy.deepcopy(model32).eval(), copy.deepcopy(head32).eval()
    m64, h64 = copy.deepcopy(model32).double().eval(), copy.deepcopy(head32).double().eval()
    with torch.no_grad():
        d = (h(m(X)).double() - h64(m64(X.double()))).abs().max()
    return float(d)


def write_release(cfg_name, model32, head32, cw, out_dir, tmp):
    """A tiny_a checkpoint saved the way the release's framework holds it,
    converted by tools/convert_release.py. Two layouts are converted and must
    give identical files: copy_state_dict()'s {'model', 'criterion'} dict, and
    one file per module with DistributedDataParallel's `module.` prefix."""
    model_sd = OrderedDict((k, v.clone()) for k, v in model32.state_dict().items())
    # The CCE head registers the CrossEntropyLoss (with its class-weight buffer) before fc1, bn1.
    crit_sd = OrderedDict([("softmax_loss.weight", cw.clone())])
    crit_sd.update((k, v.clone()) for k, v in head32.state_dict().items())
    ssl_sd = OrderedDict([("encoder.layers.0.attention.k_proj.weight", torch.zeros(2, 2))])  # ignored

    combined = os.path.join(tmp, "best_state.pt")
    torch.save({"ssl": ssl_sd, "model": model_sd, "criterion": crit_sd}, combined)
    per_model = os.path.join(tmp, "checkpoint[1]_model.pt")
    per_crit = os.path.join(tmp, "checkpoint[1]_criterion.pt")
    torch.save(OrderedDict(("module." + k, v) for k, v in model_sd.items()), per_model)
    torch.save(OrderedDict(("module." + k, v) for k, v in crit_sd.items()), per_crit)

    tool = os.path.join(HERE, "convert_release.py")
    out = os.path.join(out_dir, f"{cfg_name}.release.safetensors")
    alt = os.path.join(tmp, "alt.safetensors")
    subprocess.run([sys.executable, tool, combined, out], check=True)
    subprocess.run([sys.executable, tool, per_model, alt, "--head", per_crit], check=True)
    with open(out, "rb") as f1, open(alt, "rb") as f2:
        assert f1.read() == f2.read(), "converter: the two release layouts gave different files"
    t, meta = st.load(out)
    assert not meta, meta
    assert "head.softmax_loss.weight" in t and t["head.bn1.num_batches_tracked"].dtype == np.int64
    ck = checkpoint_tensors(model32, head32)
    for k, v in ck.items():
        assert np.array_equal(t[k], v), k
    # --labels adds the metadata, with the configuration inferred from shapes
    labeled = os.path.join(tmp, "labeled.safetensors")
    subprocess.run([sys.executable, tool, combined, labeled, "--labels", "c0,c1,c2,c3"], check=True)
    _, meta = st.load(labeled)
    assert meta == config_metadata(model32.cfg), meta


def adamw_golden(path):
    """torch AdamW(amsgrad) in float32 on three tensors for four steps."""
    lr, wd, betas, eps = 1e-2, 1e-1, (0.9, 0.999), 1e-8
    gen = torch.Generator().manual_seed(404)
    shapes = [(7,), (3, 4), (2, 1, 5)]
    params = [torch.randn(s, generator=gen) for s in shapes]
    out = OrderedDict()
    for i, p in enumerate(params):
        out[f"param0.{i}"] = f32(p)
    params = [nn.Parameter(p.clone()) for p in params]
    opt = torch.optim.AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=wd, amsgrad=True)
    for s in range(1, 5):
        for i, p in enumerate(params):
            g = torch.randn(p.shape, generator=gen)
            if s >= 3:
                g = g * (0.01 if s == 3 else 0.02)   # shrinking: max_exp_avg_sq > exp_avg_sq afterwards
            g.view(-1)[0] = 0.0       # an element that never gets a gradient (weight decay only)
            if s == 2:
                g.view(-1)[1] = 0.0   # a zero gradient in one step
            p.grad = g
            out[f"grad{s}.{i}"] = f32(g)
        opt.step()
        for i, p in enumerate(params):
            out[f"param{s}.{i}"] = f32(p)
    for i, p in enumerate(params):
        state = opt.state[p]
        out[f"exp_avg.{i}"] = f32(state["exp_avg"])
        out[f"exp_avg_sq.{i}"] = f32(state["exp_avg_sq"])
        out[f"max_exp_avg_sq.{i}"] = f32(state["max_exp_avg_sq"])
        assert (state["max_exp_avg_sq"] > state["exp_avg_sq"]).sum() > p.numel() // 2
    st.save(path, out, {"lr": repr(lr), "weight_decay": repr(wd), "betas": json.dumps(list(betas)),
                        "eps": repr(eps), "amsgrad": "true", "steps": "4"})


def schedule_golden(path):
    """lr used in epoch e: the lr after e calls of scheduler.step() (the release
    calls step(epoch) before each epoch; both are checked to agree)."""
    def scheduler():
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1e-3)
        return opt, make_scheduler(opt)
    opt, sch = scheduler()
    by_calls = {}
    for e in range(1, max(SCHEDULE_EPOCHS) + 1):
        sch.step()
        by_calls[e] = opt.param_groups[0]["lr"]
    opt2, sch2 = scheduler()
    lrs, spec_formula_mismatch = [], []
    for e in SCHEDULE_EPOCHS:
        sch2.step(e)      # the release: lr_scheduler.step(epoch) at the top of epoch e
        release = opt2.param_groups[0]["lr"]
        assert abs(release - by_calls[e]) < 1e-15, (e, release, by_calls[e])
        assert abs(lr_at_epoch(e) - by_calls[e]) < 1e-15, (e, lr_at_epoch(e), by_calls[e])
        spec = 5e-4 + (1e-3 - 5e-4) * (1 + math.cos(math.pi * e / 1000)) / 2
        if abs(spec - by_calls[e]) > 1e-15:
            spec_formula_mismatch.append(e)
        lrs.append(by_calls[e])
    st.save(path, OrderedDict([("epoch", np.array(SCHEDULE_EPOCHS, dtype=np.int64)),
                               ("lr", np.array(lrs, dtype=np.float64))]),
            {"T_0": "1000", "T_mult": "2", "eta_min": "0.0005", "lr": "0.001"})
    return lrs, spec_formula_mismatch


def check_paper_counts():
    paper = MRNetConfig(in_dim=768, in_channels=2, n_layers=13, channels=512, embed=128, classes=8)
    mel = MRNetConfig(in_dim=48, in_channels=1, n_layers=1, channels=512, embed=128, classes=8)
    assert count_params(paper) == 22716052, count_params(paper)
    assert count_params(mel) == 18906760, count_params(mel)
    assert count_head_params(paper) == 1048
    built = trainable(MRNet(paper))
    assert built == 22716052, built
    print(f"paper config (D 768, S 2, L 13, C 512, E 128): {built:,} trainable without head "
          f"(+{count_head_params(paper):,} head, K 8); mel (D 48, S 1, L 1): {count_params(mel):,}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "tests", "golden"))
    ap.add_argument("--only", help="comma-separated configurations (%s): only their files" % ",".join(CONFIGS))
    a = ap.parse_args()
    only = a.only.split(",") if a.only else None
    for name in only or []:
        if name not in CONFIGS:
            ap.error(f"--only: unknown configuration {name!r} ({', '.join(CONFIGS)})")
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    check_paper_counts()
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in CONFIGS.items():
            if only and name not in only:
                continue
            cfg = spec["cfg"]
            model, head, X, labels, cw = build(name, spec)
            n = trainable(model)
            assert n == count_params(cfg), (n, count_params(cfg))
            st.save(os.path.join(a.out, f"{name}.ckpt.safetensors"), checkpoint_tensors(model, head),
                    config_metadata(cfg))
            meta = {"lr": repr(spec["lr"]), "weight_decay": repr(spec["weight_decay"])}
            io, report, zero = compute_io(model, head, X, labels, cw, spec["lr"], spec["weight_decay"])
            st.save(os.path.join(a.out, f"{name}.io.safetensors"), io, dict(meta, zero_grads=zero))
            drift = float32_drift(model, head, X, labels, cw)
            print(f"{name}: {n:,} trainable without head + {trainable(head)} head; W {cfg.width} "
                  f"(8W {8 * cfg.width}, 3C {3 * cfg.channels}); loss {float(io['loss']):.6f}; "
                  f"float32 eval-logit drift {drift:.2e}\n    {report}")
            if name in DROPS:
                dropped = parse_routes(DROPS[name])
                io, report, zero = compute_io(model, head, X, labels, cw, spec["lr"], spec["weight_decay"], dropped)
                st.save(os.path.join(a.out, f"{name}.io_drop.safetensors"), io,
                        dict(meta, drop_routes=DROPS[name], zero_grads=zero))
                print(f"{name} with routes {DROPS[name]} dropped: loss {float(io['loss']):.6f}\n    {report}")
            if name == RELEASE_CONFIG:
                write_release(name, model, head, cw, a.out, tmp)
    if only:
        return
    adamw_golden(os.path.join(a.out, "adamw.safetensors"))
    lrs, mismatch = schedule_golden(os.path.join(a.out, "schedule.safetensors"))
    for e, lr in zip(SCHEDULE_EPOCHS, lrs):
        print(f"  epoch {e:5d}: lr {lr:.12g}")
    print("spec formula 5e-4 + 5e-4 (1 + cos(pi e / 1000)) / 2 differs from torch at epochs", mismatch)
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out) if f.endswith(".safetensors"))
    print(f"total size of the safetensors files in {a.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
