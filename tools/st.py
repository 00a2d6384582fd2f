#!/usr/bin/python3
"""Minimal safetensors reader/writer on numpy (no dependency on the
`safetensors` package, which is not installed here).

File layout (https://github.com/huggingface/safetensors):
  8 bytes   little-endian u64 N, the header length
  N bytes   JSON header: {"__metadata__": {str: str}, name: {"dtype": "F32",
            "shape": [...], "data_offsets": [begin, end]}, ...}
            offsets are relative to the first byte after the header
  ...       the data area: tensors, little-endian, row-major, back to back

`save` writes tensors in the order given (dict insertion order), which is also
the order of their data, and pads the header with spaces to a multiple of 8
bytes so that every tensor's data stays 8-byte aligned. Scalars have shape [].

BF16 (bfloat16, the top 16 bits of a float32) has no numpy dtype: `save`
writes a uint16 array holding the raw bits as "BF16" when `dtypes` names it
so (`bf16_bits` makes the bits from float32, rounding to nearest even), and
`load` returns BF16 tensors widened to float32 (exact), or the raw uint16
bits with `bf16="raw"`. `header` returns the parsed JSON header (dtype names
as stored).
"""
import json
import os
import struct

import numpy as np

DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
NAMES = {v: k for k, v in DTYPES.items()}


def bf16_bits(a):
    """float32 array -> uint16 array of bfloat16 bits, rounded to nearest even
    (NaN stays a quiet NaN of the same sign), as torch's .to(torch.bfloat16)."""
    u = np.ascontiguousarray(a, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    quiet = ((u >> 16) | 0x0040).astype(np.uint16)
    return np.where(nan, quiet, rounded)


def bf16_to_f32(bits):
    """uint16 array of bfloat16 bits -> float32 array (exact)."""
    return (np.asarray(bits, dtype="<u2").astype("<u4") << 16).view("<f4")


def _dtype_name(a):
    for k, v in DTYPES.items():
        if v.kind == a.dtype.kind and v.itemsize == a.dtype.itemsize:
            return k
    raise TypeError(f"safetensors: unsupported dtype {a.dtype}")


def save(path, tensors, metadata=None, dtypes=None):
    """Writes {name: array} (numpy arrays or anything np.asarray accepts) to
    path atomically (temp file, then rename). metadata: {str: str} or None.
    dtypes: optional {name: "BF16"} for tensors given as uint16 raw bits."""
    dtypes = dtypes or {}
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"safetensors metadata must be str->str, got {k!r}: {v!r}")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = np.asarray(t)
        if dtypes.get(name) == "BF16":
            if a.dtype.itemsize != 2 or a.dtype.kind not in "ui":
                raise TypeError(f"safetensors: BF16 tensor {name} must be given as 16-bit raw bits, got {a.dtype}")
            kind = "BF16"
            b = (a.astype(np.int64) & 0xFFFF).astype("<u2").tobytes()
        elif name in dtypes:
            raise ValueError(f"safetensors: dtype override {dtypes[name]!r} for {name}: only BF16 is supported")
        else:
            kind = _dtype_name(a)
            b = np.ascontiguousarray(a, dtype=DTYPES[kind]).tobytes()
        header[name] = {"dtype": kind, "shape": [int(s) for s in a.shape],
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def _read_header(path, raw):
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    return n, json.loads(raw[8:8 + n].decode("utf-8"))


def header(path):
    """The parsed JSON header of a safetensors file (with __metadata__ if any)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", head)
        body = f.read(n)
    if len(body) != n:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    return json.loads(body.decode("utf-8"))


def load(path, bf16="f32"):
    """Returns (tensors, metadata): an ordered {name: np.ndarray} in data order
    and the __metadata__ dict ({} when absent). BF16 tensors come back as
    float32 (bf16="f32") or as their raw uint16 bits (bf16="raw")."""
    if bf16 not in ("f32", "raw"):
        raise ValueError(f"bf16 must be 'f32' or 'raw', got {bf16!r}")
    with open(path, "rb") as f:
        raw = f.read()
    n, header = _read_header(path, raw)
    meta = header.pop("__metadata__", None) or {}
    base = 8 + n
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    out = {}
    for name, info in items:
        dt = np.dtype("<u2") if info["dtype"] == "BF16" else DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if e - b != count * dt.itemsize or base + e > len(raw):
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {b},{e} for shape {shape}")
        a = np.frombuffer(raw, dtype=dt, count=count, offset=base + b).reshape(shape).copy()
        out[name] = bf16_to_f32(a) if info["dtype"] == "BF16" and bf16 == "f32" else a
    return out, meta


if __name__ == "__main__":
    import sys
    for p in sys.argv[1:]:
        h = header(p)
        m = h.pop("__metadata__", None) or {}
        print(f"{p}: {len(h)} tensors, metadata {m}")
        for k, v in sorted(h.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            print(f"  {k} {v['dtype']} {v['shape']}")
