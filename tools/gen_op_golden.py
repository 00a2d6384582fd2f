#!/usr/bin/python3
"""Writes tests/golden/ops.safetensors: PyTorch 1.13 outputs and gradients of
the single ops of src/nn/nn.h, read by tests/test_ops_golden.c.

    /usr/bin/python3 tools/gen_op_golden.py [--out tests/golden/ops.safetensors]

Inputs, parameters and upstream gradients are drawn in float32 (fixed seed)
and stored; every op then runs in float64 on those values through torch.nn
modules (the release's building blocks: Conv1d, BatchNorm1d, InstanceNorm1d,
AdaptiveAvgPool1d, Softmax, Linear, F.cross_entropy) and autograd, and the
results are rounded to float32. The C side therefore compares against values
exact up to one float32 rounding. Names are "<op>.<tensor>".
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import st  # noqa: E402


def f32(shape, lo=-1.0, hi=1.0):
    """A float32 random tensor (from the seeded torch generator)."""
    return (torch.rand(*shape, dtype=torch.float32) * (hi - lo) + lo)


def leaf(t):
    """float64 copy of a float32 tensor that collects a gradient."""
    return t.double().clone().requires_grad_(True)


def out32(t):
    return t.detach().to(torch.float32).contiguous().numpy()


def set_params(module, **tensors):
    with torch.no_grad():
        for name, value in tensors.items():
            getattr(module, name).copy_(value.double())


def conv1d(g):
    B, IN, OUT, K, D, T = 2, 3, 4, 5, 3, 16
    x, w, b, dy = f32((B, IN, T)), f32((OUT, IN, K), -0.5, 0.5), f32((OUT,)), f32((B, OUT, T))
    conv = nn.Conv1d(IN, OUT, K, dilation=D, padding=D * (K - 1) // 2).double()
    set_params(conv, weight=w, bias=b)
    xd = leaf(x)
    y = conv(xd)
    y.backward(dy.double())
    g.update({"conv1d.x": x, "conv1d.weight": w, "conv1d.bias": b, "conv1d.dy": dy,
              "conv1d.y": out32(y), "conv1d.dx": out32(xd.grad),
              "conv1d.dweight": out32(conv.weight.grad), "conv1d.dbias": out32(conv.bias.grad)})


def batchnorm(g):
    B, C, T = 3, 4, 10
    x, w, b, dy = f32((B, C, T), -1, 3), f32((C,), 0.5, 1.5), f32((C,)), f32((B, C, T))
    rm, rv = f32((C,), -0.5, 0.5), f32((C,), 0.5, 2.0)
    bn = nn.BatchNorm1d(C).double()
    set_params(bn, weight=w, bias=b, running_mean=rm, running_var=rv)
    bn.train()
    xd = leaf(x)
    y = bn(xd)
    y.backward(dy.double())
    bn.eval()
    y_eval = bn(x.double())  # with the running statistics just updated
    g.update({"bn.x": x, "bn.weight": w, "bn.bias": b, "bn.dy": dy,
              "bn.running_mean_in": rm, "bn.running_var_in": rv,
              "bn.y": out32(y), "bn.dx": out32(xd.grad), "bn.dweight": out32(bn.weight.grad),
              "bn.dbias": out32(bn.bias.grad), "bn.running_mean": out32(bn.running_mean),
              "bn.running_var": out32(bn.running_var), "bn.y_eval": out32(y_eval)})


def instnorm(g):
    B, C, T = 2, 3, 12
    x, dy = f32((B, C, T), -2, 5), f32((B, C, T))
    xd = leaf(x)
    y = nn.InstanceNorm1d(C)(xd)  # eps 1e-5, no affine, no running statistics
    y.backward(dy.double())
    g.update({"instnorm.x": x, "instnorm.dy": dy, "instnorm.y": out32(y),
              "instnorm.dx": out32(xd.grad)})


def se(g):
    """The release's grouped SE: per group pool -> conv -> ReLU -> conv -> sigmoid."""
    G, C, CB, B, T = 3, 4, 2, 2, 7
    x, dy = f32((B, G * C, T), -1, 2), f32((B, G * C, T))
    wa, ba = f32((G, CB, C)), f32((G, CB), -0.5, 0.5)
    wb, bb = f32((G, C, CB)), f32((G, C), -0.5, 0.5)
    mods = []
    for k in range(G):
        m = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Conv1d(C, CB, 1), nn.ReLU(),
                          nn.Conv1d(CB, C, 1), nn.Sigmoid()).double()
        set_params(m[1], weight=wa[k].unsqueeze(-1), bias=ba[k])
        set_params(m[3], weight=wb[k].unsqueeze(-1), bias=bb[k])
        mods.append(m)
    xd = leaf(x)
    xg = xd.reshape(B, G, C, T)
    s = torch.stack([mods[k](xg[:, k]) for k in range(G)], dim=1).reshape(B, G * C, 1)
    y = xd * s
    y.backward(dy.double())
    g.update({"se.x": x, "se.dy": dy, "se.wa": wa, "se.ba": ba, "se.wb": wb, "se.bb": bb,
              "se.y": out32(y), "se.dx": out32(xd.grad),
              "se.dwa": np.stack([out32(m[1].weight.grad).squeeze(-1) for m in mods]),
              "se.dba": np.stack([out32(m[1].bias.grad) for m in mods]),
              "se.dwb": np.stack([out32(m[3].weight.grad).squeeze(-1) for m in mods]),
              "se.dbb": np.stack([out32(m[3].bias.grad) for m in mods])})


def asp(g):
    """The release's ASPLayer, training mode then evaluation mode."""
    C, H, B, T = 8, 3, 3, 9
    x, dout = f32((B, C, T), -2, 2), f32((B, 2 * C))
    x[1, 2, :] = 0.5 + 0.004 * x[1, 2, :]  # variance ~5e-6: sigma is clamped
    wa, ba = f32((H, C), -0.5, 0.5), f32((H,), -0.3, 0.3)
    bnw, bnb = f32((H,), 0.5, 1.5), f32((H,), -0.5, 0.5)
    rm, rv = f32((H,), -0.2, 0.2), f32((H,), 0.5, 1.5)
    wb, bb = f32((C, H)), f32((C,), -0.5, 0.5)
    att = nn.Sequential(nn.Conv1d(C, H, 1), nn.ReLU(), nn.BatchNorm1d(H), nn.Tanh(),
                        nn.Conv1d(H, C, 1), nn.Softmax(dim=2)).double()
    set_params(att[0], weight=wa.unsqueeze(-1), bias=ba)
    set_params(att[2], weight=bnw, bias=bnb, running_mean=rm, running_var=rv)
    set_params(att[4], weight=wb.unsqueeze(-1), bias=bb)

    def pool(xin):
        w = att(xin)
        mu = torch.sum(xin * w, dim=2)
        sg = torch.sqrt((torch.sum((xin ** 2) * w, dim=2) - mu ** 2).clamp(min=1e-4))
        return torch.cat((mu, sg), 1)

    att.train()
    xd = leaf(x)
    out = pool(xd)
    out.backward(dout.double())
    att.eval()
    out_eval = pool(x.double())
    g.update({"asp.x": x, "asp.dout": dout, "asp.wa": wa, "asp.ba": ba, "asp.bn_weight": bnw,
              "asp.bn_bias": bnb, "asp.running_mean_in": rm, "asp.running_var_in": rv,
              "asp.wb": wb, "asp.bb": bb, "asp.out": out32(out), "asp.dx": out32(xd.grad),
              "asp.dwa": out32(att[0].weight.grad).squeeze(-1),
              "asp.dba": out32(att[0].bias.grad), "asp.dbn_weight": out32(att[2].weight.grad),
              "asp.dbn_bias": out32(att[2].bias.grad),
              "asp.dwb": out32(att[4].weight.grad).squeeze(-1),
              "asp.dbb": out32(att[4].bias.grad),
              "asp.running_mean": out32(att[2].running_mean),
              "asp.running_var": out32(att[2].running_var), "asp.out_eval": out32(out_eval)})


def linear(g):
    B, IN, OUT = 3, 5, 4
    x, w, b, dy = f32((B, IN)), f32((OUT, IN)), f32((OUT,)), f32((B, OUT))
    lin = nn.Linear(IN, OUT).double()
    set_params(lin, weight=w, bias=b)
    xd = leaf(x)
    y = lin(xd)
    y.backward(dy.double())
    g.update({"linear.x": x, "linear.weight": w, "linear.bias": b, "linear.dy": dy,
              "linear.y": out32(y), "linear.dx": out32(xd.grad),
              "linear.dweight": out32(lin.weight.grad), "linear.dbias": out32(lin.bias.grad)})


def cross_entropy(g):
    B, K = 6, 4
    z, wt = f32((B, K), -3, 3), f32((K,), 0.5, 4.0)
    labels = torch.tensor([0, 3, 1, 1, 2, 3], dtype=torch.int32)
    zd = leaf(z)
    loss = F.cross_entropy(zd, labels.long(), weight=wt.double())
    loss.backward()
    g.update({"ce.logits": z, "ce.weight": wt, "ce.labels": labels.numpy(),
              "ce.loss": np.array([loss.item()], dtype=np.float64),
              "ce.dlogits": out32(zd.grad)})


def layermix(g):
    """The release's (x * w).sum(2).permute(0, 1, 3, 2).reshape(B, S*D, T)."""
    B, S, L, T, D = 2, 2, 3, 5, 4
    X, w, dy = f32((B, S, L, T, D)), f32((L,), 0.5, 1.5), f32((B, S * D, T))
    wd = leaf(w)
    y = (X.double() * wd.view(1, 1, L, 1, 1)).sum(2).permute(0, 1, 3, 2).reshape(B, S * D, T)
    y.backward(dy.double())
    g.update({"layermix.X": X, "layermix.w": w, "layermix.dy": dy, "layermix.y": out32(y),
              "layermix.dw": out32(wd.grad)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "golden",
                                                  "ops.safetensors"))
    args = ap.parse_args()
    torch.manual_seed(20240607)
    torch.set_num_threads(1)
    g = {}
    for op in (conv1d, batchnorm, instnorm, se, asp, linear, cross_entropy, layermix):
        op(g)
    tensors = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in g.items()}
    st.save(args.out, tensors, {"generator": "tools/gen_op_golden.py",
                                "torch": torch.__version__})
    print(f"{args.out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
