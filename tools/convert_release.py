#!/usr/bin/python3
"""Convert a checkpoint of the authors' PyTorch release (MLFANet + CCE head) to
the safetensors file `mrnet` reads.

usage: convert_release.py IN.pt OUT.safetensors [--head HEAD.pt]
                          [--labels a,b,c] [--in-channels S] [--dilations 2,3,4]

The release (Jungwoo4021/MRNet) has no checkpoint-saving code of its own; its
framework's `copy_state_dict()` returns {module key: state_dict} for every module
with a state (e.g. {'ssl': WavLM, 'model': MLFANet, 'criterion': CCE}), and the
authors' sibling projects save that dict one file per key
(`<name>_model.pt`, `<name>_criterion.pt`), with keys prefixed `module.` when the
modules were wrapped in DistributedDataParallel. This tool accepts:

  * IN.pt holding a dict of state dicts (the copy_state_dict() layout, or
    {'state_dict': ...}-style wrappers), with or without `module.` prefixes;
  * IN.pt holding one flat state dict with the network's keys, possibly also the
    head's keys under some prefix (e.g. `criterion.fc1.weight`);
  * IN.pt holding the network only, and --head HEAD.pt holding the head;
  * pickled nn.Module objects in place of state dicts.
Unrelated entries (WavLM weights, optimizer state, epoch numbers) are ignored.

Output: the network's tensors unprefixed, in the release's key order, then the
head's under `head.` (head.fc1.*, head.bn1.*, and head.softmax_loss.weight, the
CE class weights, when the checkpoint has it); floats as F32,
num_batches_tracked as I64 scalars. With --labels the file also gets the mrnet
metadata: format, mrnet.format, mrnet.labels and the inferred mrnet.config. The input
channel count S and the dilations cannot be read from tensor shapes: S defaults
to 2 and the dilations to 2,3,4 as hard-coded in the release (a mono log-mel
model with D = 48 needs --in-channels 1, see the spec).
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import st  # noqa: E402
from mrnet_ref import MRNet, MRNetConfig  # noqa: E402

WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP, torch.compile
HEAD_KEYS = ("fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
             "bn1.running_var", "bn1.num_batches_tracked", "softmax_loss.weight")


class ConvertError(Exception):
    pass


def strip_wrappers(key):
    changed = True
    while changed:
        changed = False
        for p in WRAPPER_PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p):], True
        # DDP wrapping a submodule leaves `module.` inside the key too
        for p in WRAPPER_PREFIXES:
            if "." + p in key:
                key, changed = key.replace("." + p, "."), True
    return key


def state_dicts(obj, where, out):
    """Collects (where, {key: tensor}) for every state dict found in obj."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        tensors = {k: v for k, v in obj.items() if isinstance(k, str) and torch.is_tensor(v)}
        if tensors:
            out.append((where, OrderedDict((strip_wrappers(k), v) for k, v in tensors.items())))
        for k, v in obj.items():
            if isinstance(v, (dict, nn.Module)):
                state_dicts(v, f"{where}[{k!r}]", out)
    return out


def find_prefix(sd, suffix):
    """Prefixes p ('' or ending in '.') such that p + suffix is a key."""
    return [k[:len(k) - len(suffix)] for k in sd
            if k.endswith(suffix) and (k == suffix or k[len(k) - len(suffix) - 1] == ".")]


def find_model(sources):
    """(description, prefix, state dict) of the one network among sources."""
    found = [(f"{where} (prefix {p!r})", p, sd) for where, sd in sources
             for p in find_prefix(sd, "fst_conv.weight")]
    if not found:
        raise ConvertError("no MRNet network found: no key ending in 'fst_conv.weight'")
    if len(found) > 1:
        raise ConvertError("several networks found (" + ", ".join(f[0] for f in found) +
                           "); extract one state dict first")
    return found[0]


def find_head(sources):
    """(description, prefix, state dict) of the one CCE head among sources, or None.
    The network has no fc1, so `fc1.weight` next to `bn1.weight` marks the head."""
    found = [(f"{where} (prefix {p!r})", p, sd) for where, sd in sources
             for p in find_prefix(sd, "fc1.weight") if p + "bn1.weight" in sd]
    if len(found) > 1:
        raise ConvertError("several classifier heads found (" + ", ".join(f[0] for f in found) + ")")
    return found[0] if found else None


def extract(model, head):
    """Returns (model_sd, head_sd or None, notes) with the prefixes removed."""
    notes = []
    head_sd, taken = None, set()
    if head is not None:
        _, q, hsd = head
        head_sd = OrderedDict()
        for k in HEAD_KEYS:
            if q + k in hsd:
                head_sd[k] = hsd[q + k]
                taken.add((id(hsd), q + k))
        notes.append(f"head from {head[0]}")
    _, p, sd = model
    model_sd = OrderedDict((k[len(p):], v) for k, v in sd.items()
                           if k.startswith(p) and (id(sd), k) not in taken)
    notes.insert(0, f"network from {model[0]}")
    return model_sd, head_sd, notes


def count_indexed(sd, prefix, suffix):
    n = 0
    while f"{prefix}{n}{suffix}" in sd:
        n += 1
    return n


def infer_config(model_sd, head_sd, in_channels, dilations):
    def need(k):
        if k not in model_sd:
            raise ConvertError(f"network tensor {k} is missing")
        return model_sd[k]
    L = need("w").shape[2]
    C, SD = need("fst_conv.weight").shape[:2]
    if SD % in_channels:
        raise ConvertError(f"fst_conv.weight has {SD} input channels, not divisible by --in-channels {in_channels}")
    E = need("fc6.weight").shape[0]
    K = head_sd["fc1.weight"].shape[0]
    scale = count_indexed(model_sd, "conv_blocks.0.convs.", ".weight") + 1
    groups = count_indexed(model_sd, "conv_blocks.0.se.se_modules.", ".1.weight")
    try:
        return MRNetConfig(in_dim=SD // in_channels, in_channels=in_channels, n_layers=L, channels=C,
                           embed=E, classes=K, dilations=dilations, scale=scale, se_groups=groups)
    except ValueError as e:
        raise ConvertError(f"inferred configuration is invalid: {e}")


def check_against(cfg, model_sd, head_sd):
    """Every tensor the configuration needs, with its shape; nothing extra."""
    expected = MRNet(cfg).state_dict()
    ours = {k.split(".")[0] for k in expected}
    missing = [k for k in expected if k not in model_sd]
    extra = [k for k in model_sd if k not in expected and k.split(".")[0] in ours]
    if missing or extra:
        raise ConvertError("network tensors do not match the release layout: "
                           f"missing {missing[:8]}{'...' if len(missing) > 8 else ''}, "
                           f"unexpected {extra[:8]}{'...' if len(extra) > 8 else ''}")
    for k, v in expected.items():
        if tuple(model_sd[k].shape) != tuple(v.shape):
            raise ConvertError(f"tensor {k}: shape {list(model_sd[k].shape)}, expected {list(v.shape)} "
                               f"for {cfg.to_json()}")
    K, E = cfg.classes, cfg.embed
    shapes = {"fc1.weight": (K, E), "fc1.bias": (K,), "bn1.weight": (K,), "bn1.bias": (K,),
              "bn1.running_mean": (K,), "bn1.running_var": (K,), "bn1.num_batches_tracked": (),
              "softmax_loss.weight": (K,)}
    for k, shape in shapes.items():
        if k not in head_sd:
            if k in ("softmax_loss.weight",):
                continue
            raise ConvertError(f"head tensor {k} is missing")
        if tuple(head_sd[k].shape) != shape:
            raise ConvertError(f"head tensor {k}: shape {list(head_sd[k].shape)}, expected {list(shape)}")
    return expected


def to_numpy(name, t):
    if name.endswith("num_batches_tracked"):
        return np.array(int(t.reshape(-1)[0].item()) if t.numel() else 0, dtype=np.int64)
    if not t.is_floating_point():
        raise ConvertError(f"tensor {name}: dtype {t.dtype}, expected floating point")
    return t.detach().to(torch.float32).cpu().numpy()


def convert(in_path, out_path, head_path=None, labels=None, in_channels=2, dilations=(2, 3, 4), log=print):
    try:
        obj = torch.load(in_path, map_location="cpu")
    except Exception as e:
        raise ConvertError(f"{in_path}: cannot load with torch.load: {e}")
    sources = state_dicts(obj, os.path.basename(in_path), [])
    model = find_model(sources)
    if head_path is not None:
        try:
            hobj = torch.load(head_path, map_location="cpu")
        except Exception as e:
            raise ConvertError(f"{head_path}: cannot load with torch.load: {e}")
        head = find_head(state_dicts(hobj, os.path.basename(head_path), []))
        if head is None:
            raise ConvertError(f"{head_path}: no classifier head (fc1.weight with bn1.weight) found")
    else:
        head = find_head(sources)
    model_sd, head_sd, notes = extract(model, head)
    if head_sd is None:
        raise ConvertError(f"{in_path}: no classifier head (fc1.weight with bn1.weight) found; "
                           "give the CCE criterion's state dict with --head HEAD.pt")
    for n in notes:
        log(n)
    if "bn1.num_batches_tracked" not in head_sd:
        head_sd["bn1.num_batches_tracked"] = torch.tensor(0)
        log("head has no bn1.num_batches_tracked: writing 0")
    cfg = infer_config(model_sd, head_sd, in_channels, dilations)
    expected = check_against(cfg, model_sd, head_sd)
    tensors = OrderedDict()
    for k in expected:
        tensors[k] = to_numpy(k, model_sd[k])
    for k in HEAD_KEYS:
        if k in head_sd:
            tensors["head." + k] = to_numpy(k, head_sd[k])
    meta = None
    if labels is not None:
        if len(labels) != cfg.classes:
            raise ConvertError(f"--labels gives {len(labels)} names but the head has {cfg.classes} classes")
        # mrnet.format 1: the paper's model (format 2 is global input norm or
        # after-norm route weights, which the release does not have)
        meta = {"format": "mrnet", "mrnet.format": "1", "mrnet.config": cfg.to_json(),
                "mrnet.labels": json.dumps(labels)}
    st.save(out_path, tensors, meta)
    log(f"wrote {out_path}: {len(tensors)} tensors, config {cfg.to_json()}")
    return cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="release checkpoint (torch.save file)")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--head", help="separate checkpoint of the CCE head (fc1, bn1)")
    ap.add_argument("--labels", help="comma-separated class names; adds the mrnet metadata")
    ap.add_argument("--in-channels", type=int, default=2, help="S (default 2, as in the release)")
    ap.add_argument("--dilations", default="2,3,4", help="MRBlock dilations (default 2,3,4)")
    a = ap.parse_args(argv)
    labels = [s.strip() for s in a.labels.split(",")] if a.labels is not None else None
    try:
        dil = [int(x) for x in a.dilations.split(",")]
        convert(a.input, a.output, a.head, labels, a.in_channels, dil,
                log=lambda m: print(m, file=sys.stderr))
    except (ConvertError, ValueError) as e:
        print(f"convert_release: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
