#!/bin/bash
# Tests tools/convert_wavlm.py on fake checkpoints of the tiny configuration
# built from tests/golden/wavlm_tiny.safetensors:
#   hf_prefixed.bin   HF-style OrderedDict, keys "wavlm.*" plus head tensors (zip pickle)
#   hf_param.bin      parametrizations.weight.original0/1 names (old non-zip pickle)
#   original.pt       {"cfg": ..., "model": original names + final_proj, label_embs_concat}
# Each converts to tensors equal to the golden file; --dtype f16 / bf16 round
# as numpy / torch do; bad inputs (truncated file, missing key, mis-shaped key,
# output == input) fail with a message naming the problem, and write nothing.
# Exit status 0 on success, 1 on failure, 77 (skip) without /usr/bin/python3 + torch.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
CONV="$ROOT/tools/convert_wavlm.py"
GOLD="$ROOT/tests/golden/wavlm_tiny.safetensors"
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
    echo "SKIP: $PY with torch not available"; exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# Build the fake checkpoints.
"$PY" - "$GOLD" "$TMP" <<'EOF' || { echo "FAIL: building fake checkpoints"; exit 1; }
import re, sys
from collections import OrderedDict
import torch
sys.path.insert(0, sys.argv[1].rsplit("/tests/", 1)[0] + "/tools")
import st
gold, tmp = sys.argv[1], sys.argv[2]
w, _ = st.load(gold)
t = OrderedDict((k, torch.from_numpy(v)) for k, v in w.items())

hf = OrderedDict(("wavlm." + k, v) for k, v in t.items())
hf["projector.weight"] = torch.zeros(5, 64)
hf["classifier.weight"] = torch.zeros(3, 5)
hf["feature_extractor.weight"] = torch.zeros(2, 3)     # WavLMForXVector's own unprefixed name
torch.save(hf, f"{tmp}/hf_prefixed.bin")

param = OrderedDict()
for k, v in t.items():
    k = k.replace("conv.weight_g", "conv.parametrizations.weight.original0")
    k = k.replace("conv.weight_v", "conv.parametrizations.weight.original1")
    param[k] = v.double() if k.endswith("final_layer_norm.bias") else v   # a mixed-dtype source
torch.save(param, f"{tmp}/hf_param.bin", _use_new_zipfile_serialization=False)

inv = [
    (r"feature_extractor\.conv_layers\.(\d+)\.conv\.weight", r"feature_extractor.conv_layers.\1.0.weight"),
    (r"feature_extractor\.conv_layers\.0\.layer_norm\.(weight|bias)", r"feature_extractor.conv_layers.0.2.\1"),
    (r"feature_projection\.layer_norm\.(\w+)", r"layer_norm.\1"),
    (r"feature_projection\.projection\.(\w+)", r"post_extract_proj.\1"),
    (r"encoder\.pos_conv_embed\.conv\.(\w+)", r"encoder.pos_conv.0.\1"),
    (r"encoder\.layers\.(\d+)\.attention\.(q|k|v|out)_proj\.(\w+)", r"encoder.layers.\1.self_attn.\2_proj.\3"),
    (r"encoder\.layers\.(\d+)\.attention\.gru_rel_pos_linear\.(\w+)", r"encoder.layers.\1.self_attn.grep_linear.\2"),
    (r"encoder\.layers\.(\d+)\.attention\.gru_rel_pos_const", r"encoder.layers.\1.self_attn.grep_a"),
    (r"encoder\.layers\.(\d+)\.attention\.rel_attn_embed\.weight",
     r"encoder.layers.\1.self_attn.relative_attention_bias.weight"),
    (r"encoder\.layers\.(\d+)\.layer_norm\.(\w+)", r"encoder.layers.\1.self_attn_layer_norm.\2"),
    (r"encoder\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(\w+)", r"encoder.layers.\1.fc1.\2"),
    (r"encoder\.layers\.(\d+)\.feed_forward\.output_dense\.(\w+)", r"encoder.layers.\1.fc2.\2"),
    (r"masked_spec_embed", r"mask_emb"),
]
orig = OrderedDict()
for k, v in t.items():
    for pat, rep in inv:
        if re.fullmatch(pat, k):
            k = re.sub(pat, rep, k)
            break
    orig[k] = v
orig["final_proj.weight"] = torch.zeros(7, 64)
orig["final_proj.bias"] = torch.zeros(7)
orig["label_embs_concat"] = torch.zeros(11, 7)
cfg = {"encoder_embed_dim": 64, "encoder_layers": 3, "layer_norm_first": False, "normalize": False}
torch.save({"cfg": cfg, "model": orig}, f"{tmp}/original.pt")

# Bad inputs.
raw = open(f"{tmp}/hf_prefixed.bin", "rb").read()
open(f"{tmp}/truncated.bin", "wb").write(raw[: len(raw) // 2])
missing = OrderedDict(t)
del missing["encoder.layers.2.attention.gru_rel_pos_linear.bias"]
torch.save(missing, f"{tmp}/missing.bin")
misshaped = OrderedDict(t)
misshaped["encoder.layers.1.feed_forward.output_dense.weight"] = torch.zeros(64, 100)
torch.save(misshaped, f"{tmp}/misshaped.bin")
large = OrderedDict(t)
large["feature_extractor.conv_layers.3.layer_norm.weight"] = torch.ones(32)   # Large-style conv LN
torch.save(large, f"{tmp}/large_layout.bin")
EOF

# Compare a converted file with the golden tensors: same keys, order, values; dtype as given.
check() {  # check OUT DTYPE
    "$PY" - "$ROOT" "$1" "$2" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1] + "/tools")
import numpy as np, torch, st, wavlm_ref as W
root, out, dtype = sys.argv[1:4]
gold, gmeta = st.load(root + "/tests/golden/wavlm_tiny.safetensors")
got, meta = st.load(out, bf16="raw")
head = st.header(out)
assert list(got) == list(gold), "key set / order differs from the golden file"
assert meta["format"] == "mrnet.wavlm.1" and meta["dtype"] == dtype, meta
for k in ("hidden", "layers", "heads", "ffn", "conv_dim", "conv_kernel", "pos_kernel", "pos_groups", "buckets"):
    assert meta[k] == gmeta[k], (k, meta[k], gmeta[k])
for k, g in gold.items():
    assert head[k]["dtype"] == dtype, (k, head[k]["dtype"])
    if dtype == "F32":
        want = g
    elif dtype == "F16":
        want = g.astype(np.float16)
    else:
        want = torch.from_numpy(g).bfloat16().view(torch.int16).numpy().view(np.uint16)
    assert got[k].shape == g.shape and np.array_equal(got[k], want), f"values of {k}"
w, _, cfg = W.load_weights(out)          # the reference's loader reads it
assert cfg == W.TINY
EOF
}

convert_ok() {  # convert_ok NAME IN OUT DTYPE [args]
    local name=$1 in=$2 out=$3 dt=$4; shift 4
    if ! "$PY" "$CONV" "$in" "$out" "$@" >"$TMP/log" 2>&1; then
        bad "$name: conversion failed: $(cat "$TMP/log")"; return
    fi
    if check "$out" "$dt" >"$TMP/clog" 2>&1; then ok "$name"; else bad "$name: $(tail -3 "$TMP/clog")"; fi
}

convert_ok "HF prefixed zip pickle with head tensors" "$TMP/hf_prefixed.bin" "$TMP/a.safetensors" F32
grep -q "dropped 3 tensors" "$TMP/log" && ok "head tensors reported as dropped" || bad "dropped tensors not reported: $(cat "$TMP/log")"
convert_ok "parametrizations names, legacy pickle, mixed F32/F64 source" "$TMP/hf_param.bin" "$TMP/b.safetensors" F32
convert_ok "original names {cfg, model} with pre-training heads" "$TMP/original.pt" "$TMP/c.safetensors" F32
convert_ok "--dtype f16" "$TMP/hf_prefixed.bin" "$TMP/d.safetensors" F16 --dtype f16
convert_ok "--dtype bf16" "$TMP/original.pt" "$TMP/e.safetensors" BF16 --dtype bf16
convert_ok "safetensors input (re-conversion)" "$TMP/a.safetensors" "$TMP/f.safetensors" F32
"$PY" -c "
import sys; sys.path.insert(0, '$ROOT/tools'); import st
a, _ = st.load('$TMP/a.safetensors'); c, _ = st.load('$TMP/c.safetensors')
assert all((a[k] == c[k]).all() for k in a)" && ok "HF and original layouts give the same tensors" || bad "HF vs original differ"

expect_fail() {  # expect_fail NAME IN OUT PATTERN
    local name=$1 in=$2 out=$3 pat=$4
    [ "$in" -ef "$out" ] || rm -f "$out"
    if "$PY" "$CONV" "$in" "$out" >"$TMP/log" 2>&1; then
        bad "$name: accepted"; return
    fi
    if ! grep -q -- "$pat" "$TMP/log"; then
        bad "$name: message does not contain '$pat': $(cat "$TMP/log")"; return
    fi
    if grep -q Traceback "$TMP/log"; then bad "$name: a traceback instead of a message"; return; fi
    if ! [ "$in" -ef "$out" ] && [ -e "$out" ]; then bad "$name: wrote $out"; return; fi
    if ls "$TMP"/*.tmp* >/dev/null 2>&1; then bad "$name: left a temporary file"; return; fi
    ok "$name: $(head -1 "$TMP/log")"
}

expect_fail "truncated file" "$TMP/truncated.bin" "$TMP/x.safetensors" "truncated.bin: cannot read"
expect_fail "missing key" "$TMP/missing.bin" "$TMP/x.safetensors" "missing tensor encoder.layers.2.attention.gru_rel_pos_linear.bias"
expect_fail "mis-shaped key" "$TMP/misshaped.bin" "$TMP/x.safetensors" "encoder.layers.1.feed_forward.output_dense.weight has shape \[64, 100\]"
expect_fail "Large-style extra key" "$TMP/large_layout.bin" "$TMP/x.safetensors" "unexpected tensor feature_extractor.conv_layers.3.layer_norm.weight"
cp "$TMP/a.safetensors" "$TMP/same.safetensors"
before=$(md5sum < "$TMP/same.safetensors")
expect_fail "output is the input" "$TMP/same.safetensors" "$TMP/./same.safetensors" "refusing to overwrite the input"
[ "$(md5sum < "$TMP/same.safetensors")" = "$before" ] && ok "input left unchanged" || bad "input modified"
expect_fail "nonexistent input" "$TMP/nope.bin" "$TMP/x.safetensors" "nope.bin"

if [ $fail -ne 0 ]; then echo "test_convert_wavlm: FAILED"; exit 1; fi
echo "test_convert_wavlm: all passed"
