#!/usr/bin/python3
"""Converts a WavLM checkpoint to the safetensors file mrnet's WavLM front end reads.

    /usr/bin/python3 tools/convert_wavlm.py IN OUT.safetensors [--dtype f32|f16|bf16]

IN is one of:
- Hugging Face `pytorch_model.bin` (a zip pickle, or an older non-zip pickle)
  of `WavLMModel` or a `WavLMFor...` head (keys prefixed `wavlm.`; the head's
  own tensors are dropped);
- Microsoft's `WavLM-Base+.pt`: {"cfg": ..., "model": state_dict} with the
  original key names (mapped as in spec 11.4; pre-training heads such as
  final_proj and label_embs_concat are dropped);
- a safetensors file with HF names (e.g. the hub's refs/pr/1 model.safetensors).

OUT has the HF key names without prefix (weight_g / weight_v; the
parametrizations.weight.original0/1 spelling is renamed to them), in the
order of spec 11.2, in the chosen dtype (BF16 as raw bits, round to nearest
even), and metadata: format "mrnet.wavlm.1", source (IN's file name), dtype
and the configuration (hidden, layers, heads, ...). The configuration comes
from the tensor shapes: a Base-size checkpoint (hidden 768) must match the
248-tensor table of spec 11.2 exactly; other sizes must be consistent with
themselves. A missing, mis-shaped or unexpected tensor is named in the
error (exit status 1). OUT is written atomically and never over IN.
"""
import argparse
import os
import re
import sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import st  # noqa: E402
import wavlm_ref as W  # noqa: E402


class ConvertError(Exception):
    pass


# Original (Microsoft / s3prl) names -> HF names (spec 11.4). Full matches.
ORIGINAL_TO_HF = [
    (r"feature_extractor\.conv_layers\.(\d+)\.0\.weight", r"feature_extractor.conv_layers.\1.conv.weight"),
    (r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)", r"feature_extractor.conv_layers.0.layer_norm.\1"),
    (r"layer_norm\.(weight|bias)", r"feature_projection.layer_norm.\1"),
    (r"post_extract_proj\.(weight|bias)", r"feature_projection.projection.\1"),
    (r"encoder\.pos_conv\.0\.(weight_g|weight_v|bias|parametrizations\.weight\.original[01])",
     r"encoder.pos_conv_embed.conv.\1"),
    (r"encoder\.layer_norm\.(weight|bias)", r"encoder.layer_norm.\1"),
    (r"encoder\.layers\.(\d+)\.self_attn\.(q|k|v|out)_proj\.(weight|bias)", r"encoder.layers.\1.attention.\2_proj.\3"),
    (r"encoder\.layers\.(\d+)\.self_attn\.grep_linear\.(weight|bias)",
     r"encoder.layers.\1.attention.gru_rel_pos_linear.\2"),
    (r"encoder\.layers\.(\d+)\.self_attn\.grep_a", r"encoder.layers.\1.attention.gru_rel_pos_const"),
    (r"encoder\.layers\.(\d+)\.self_attn\.relative_attention_bias\.weight",
     r"encoder.layers.\1.attention.rel_attn_embed.weight"),
    (r"encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)", r"encoder.layers.\1.layer_norm.\2"),
    (r"encoder\.layers\.(\d+)\.fc1\.(weight|bias)", r"encoder.layers.\1.feed_forward.intermediate_dense.\2"),
    (r"encoder\.layers\.(\d+)\.fc2\.(weight|bias)", r"encoder.layers.\1.feed_forward.output_dense.\2"),
    (r"encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)", r"encoder.layers.\1.final_layer_norm.\2"),
    (r"mask_emb", r"masked_spec_embed"),
]
# Prefixes of the encoder proper: an unknown key under one of them is an error
# (another layout, e.g. Large's per-layer conv LayerNorms or conv biases),
# anything else is a head and is dropped.
MODEL_PREFIXES = ("feature_extractor.", "feature_projection.", "encoder.", "masked_spec_embed")


def map_original(sd):
    out, dropped = OrderedDict(), []
    for k, v in sd.items():
        for pat, rep in ORIGINAL_TO_HF:
            if re.fullmatch(pat, k):
                out[re.sub(pat, rep, k)] = v
                break
        else:
            if k.startswith(("feature_extractor.", "encoder.")):
                raise ConvertError(f"unexpected tensor {k} in the original checkpoint (not a WavLM Base layout)")
            dropped.append(k)
    return out, dropped


def is_tensor_dict(d):
    return isinstance(d, dict) and d and all(isinstance(k, str) for k in d) and \
        any(isinstance(v, torch.Tensor) for v in d.values())


def read_checkpoint(path):
    """-> (state dict of torch tensors or numpy arrays, layout name, cfg dict or None)."""
    with open(path, "rb") as f:
        magic = f.read(9)
    if path.endswith(".safetensors") or (len(magic) == 9 and magic[8:9] == b"{"):
        try:
            t, _ = st.load(path)
        except (ValueError, UnicodeDecodeError) as e:
            raise ConvertError(f"cannot read as safetensors: {e}")
        return t, "safetensors", None
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise ConvertError(f"cannot read as a PyTorch checkpoint ({type(e).__name__}: {e})")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict) and "model" in obj and is_tensor_dict(obj["model"]):
        cfg = obj.get("cfg")
        if cfg is not None and not isinstance(cfg, dict):
            cfg = getattr(cfg, "__dict__", None)
        return obj["model"], "original", cfg
    for key in ("state_dict", "model_state_dict"):
        if isinstance(obj, dict) and key in obj and is_tensor_dict(obj[key]):
            obj = obj[key]
            break
    if not is_tensor_dict(obj):
        raise ConvertError("no state dict found (expected an OrderedDict of tensors or {'cfg', 'model'})")
    if any(k.startswith("post_extract_proj.") or ".self_attn." in k for k in obj):
        return obj, "original", None
    return obj, "hf", None


def to_f32(name, t):
    if isinstance(t, torch.Tensor):
        if not t.is_floating_point():
            raise ConvertError(f"tensor {name} has dtype {t.dtype}, expected a float type")
        return t.detach().to(torch.float32).contiguous().numpy()
    a = np.asarray(t)
    if a.dtype.kind != "f":
        raise ConvertError(f"tensor {name} has dtype {a.dtype}, expected a float type")
    return a.astype(np.float32)


def convert(in_path, out_path, dtype="f32", log=print):
    if os.path.exists(out_path) and os.path.samefile(in_path, out_path):
        raise ConvertError(f"refusing to overwrite the input {in_path}")
    sd, layout, cfg_src = read_checkpoint(in_path)
    if layout == "original":
        if cfg_src and cfg_src.get("layer_norm_first"):
            raise ConvertError("the original cfg has layer_norm_first = True (pre-LN, the Large layout); "
                               "mrnet implements the post-LN Base layout only")
        if cfg_src and cfg_src.get("normalize"):
            log("convert_wavlm: warning: the original cfg has normalize = True: this model expects "
                "normalised waveforms, which mrnet does not do (Base+ is not normalised)")
        sd, dropped = map_original(sd)
    else:
        dropped = []
    sd, dropped_prefix = W.normalise_keys(sd)
    dropped += dropped_prefix
    kept = OrderedDict()
    for k, v in sd.items():
        if k.startswith(MODEL_PREFIXES):
            kept[k] = v
        else:
            dropped.append(k)
    shapes = {k: tuple(v.shape) for k, v in kept.items()}
    try:
        cfg = W.config_from_shapes(shapes)
        expected = W.expected_keys(W.FULL if cfg.hidden == W.FULL.hidden else cfg)
        W.check_shapes(shapes, W.FULL if cfg.hidden == W.FULL.hidden else cfg, require_masked_spec_embed=True)
    except W.WeightError as e:
        raise ConvertError(str(e))
    if cfg.hidden == W.FULL.hidden:
        cfg = W.FULL
    extra = [k for k in kept if k not in expected]
    if extra:
        raise ConvertError("unexpected tensor" + ("s " if len(extra) > 1 else " ") + ", ".join(extra) +
                           " (not part of the WavLM Base layout)")
    if dropped:
        log(f"convert_wavlm: dropped {len(dropped)} tensors that are not the encoder: " +
            ", ".join(dropped[:8]) + (" ..." if len(dropped) > 8 else ""))

    tensors, dtypes = OrderedDict(), {}
    for k in expected:
        a = to_f32(k, kept[k])
        if not np.isfinite(a).all():
            raise ConvertError(f"tensor {k} has non-finite values")
        if dtype == "f16":
            a = a.astype(np.float16)
        elif dtype == "bf16":
            a = st.bf16_bits(a)
            dtypes[k] = "BF16"
        tensors[k] = a
    meta = OrderedDict(format=W.FORMAT, source=os.path.basename(in_path), layout=layout,
                       dtype={"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype])
    meta.update(cfg.metadata())
    st.save(out_path, tensors, meta, dtypes=dtypes)
    return cfg, len(tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    a = ap.parse_args()
    try:
        cfg, n = convert(a.input, a.output, a.dtype, log=lambda m: print(m, file=sys.stderr))
    except ConvertError as e:
        print(f"convert_wavlm: {a.input}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"convert_wavlm: {e}", file=sys.stderr)
        return 1
    base = " (WavLM Base+ configuration)" if cfg == W.FULL else ""
    print(f"convert_wavlm: wrote {a.output}: {n} tensors, {a.dtype}, hidden {cfg.hidden}, "
          f"{cfg.layers} layers, {cfg.heads} heads{base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
