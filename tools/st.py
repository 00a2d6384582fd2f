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


def _dtype_name(a):
    for k, v in DTYPES.items():
        if v.kind == a.dtype.kind and v.itemsize == a.dtype.itemsize:
            return k
    raise TypeError(f"safetensors: unsupported dtype {a.dtype}")


def save(path, tensors, metadata=None):
    """Writes {name: array} (numpy arrays or anything np.asarray accepts) to
    path atomically (temp file, then rename). metadata: {str: str} or None."""
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


def load(path):
    """Returns (tensors, metadata): an ordered {name: np.ndarray} in data order
    and the __metadata__ dict ({} when absent)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None) or {}
    base = 8 + n
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    out = {}
    for name, info in items:
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError(f"{path}: tensor {name}: unsupported dtype {info['dtype']}")
        b, e = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if e - b != count * dt.itemsize or base + e > len(raw):
            raise ValueError(f"{path}: tensor {name}: bad data_offsets {b},{e} for shape {shape}")
        out[name] = np.frombuffer(raw, dtype=dt, count=count, offset=base + b).reshape(shape).copy()
    return out, meta


if __name__ == "__main__":
    import sys
    for p in sys.argv[1:]:
        t, m = load(p)
        print(f"{p}: {len(t)} tensors, metadata {m}")
        for k, v in t.items():
            print(f"  {k} {v.dtype} {list(v.shape)}")
