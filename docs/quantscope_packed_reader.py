#!/usr/bin/env python3
"""A reference reader of Quantscope's packed checkpoint (docs/export.md), with numpy alone.

It decodes every layer of a folder written by `quantscope-cli export MODEL ... --to quantscope` into
float32 weights, bit for bit as Quantscope's own reader does, from the layout docs/export.md
specifies: it shares no code with Quantscope, so CI runs it against the C++ reader to keep the two
and the document in step. llama.cpp's block types (q4_0 ... q6_k) are decoded by llama.cpp's own
numpy reference, gguf-py, when it is importable (give its folder with --gguf-py); other layers need
nothing but numpy.

    quantscope_packed_reader.py FOLDER                  # lists each tensor, its format and shape
    quantscope_packed_reader.py FOLDER --compare HF     # every tensor equal, bit for bit, to HF's
                                                        # model.safetensors (float32)
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "U8": np.uint8}
# NF4's 16 levels (QLoRA's table), as float32.
NF4_LEVELS = np.array([-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                       -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                       0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                       0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0], dtype=np.float32)


def safetensors_read(path):
    """name -> numpy array of the stored dtype (BF16 as raw uint16), viewing the file's bytes."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=DTYPES[info["dtype"]], count=(end - begin) // np.dtype(DTYPES[info["dtype"]]).itemsize,
                              offset=base + begin)
        tensors[name] = (info["dtype"], array.reshape(info["shape"]))
    return tensors


def to_f32(dtype, array):
    if dtype == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(np.float32)


def codes_unpack(packed, bits, count):
    """`count` codes of `bits` bits from one MSB-first bit stream."""
    stream = np.unpackbits(packed)[:count * bits].reshape(count, bits).astype(np.int32)
    return stream @ (1 << np.arange(bits - 1, -1, -1, dtype=np.int32))


def hadamard(w, block):
    """The normalised block Hadamard transform of each row (its own inverse), in float32 as Quantscope
    computes it: butterflies of span 1, 2, 4, ..., then a multiplication by 1/sqrt(block)."""
    v = w.reshape(-1, block)
    h = 1
    while h < block:
        pairs = v.reshape(-1, block // (2 * h), 2, h)
        a, b = pairs[:, :, 0, :], pairs[:, :, 1, :]
        v = np.stack([a + b, a - b], axis=2).reshape(-1, block)
        h *= 2
    return (v * np.float32(1.0 / np.sqrt(block))).reshape(w.shape)


def segments(length, size):
    return -(-length // size)


def decode(layer, sections, out, inp, gguf_quants):
    family = layer["family"]
    n = out * inp
    if family == "int":
        bits, whole = layer["bits"], layer["granularity"] == "tensor"
        rows, cols = (1, n) if whole else (out, inp)
        group = min(layer["group"], cols) if layer["granularity"] == "group" else cols
        per_row = segments(cols, group)
        codes = codes_unpack(sections["codes"], bits, n).reshape(rows, cols)
        scales = to_f32("BF16", sections["scales"]).reshape(rows, per_row)
        scale = np.repeat(scales, group, axis=1)[:, :cols]
        if bits == 1:
            w = np.where(codes != 0, scale, -scale)
        else:
            if layer["asymmetric"]:
                zeros = codes_unpack(sections["zero_points"], bits, rows * per_row).reshape(rows, per_row)
                level = codes - np.repeat(zeros, group, axis=1)[:, :cols]
            else:
                level = codes - ((1 << (bits - 1)) - 1)
            w = level.astype(np.float32) * scale
        return w.reshape(out, inp)
    if family == "quest":
        bits, levels = layer["bits"], 1 << layer["bits"]
        codes = codes_unpack(sections["codes"], bits, n).reshape(out, inp)
        sigma = sections["scales"].astype(np.float32)
        step = np.float32(2.0) * np.float32(layer["alpha"]) * sigma / np.float32(levels - 1)
        w = step[:, None] * ((codes - (levels // 2 - 1)).astype(np.float32) - np.float32(0.5))
        return hadamard(w, layer["hadamard"]) if layer["hadamard"] > 1 else w
    if family == "kmeans":
        bits, k = layer["bits"], 1 << layer["bits"]
        segment = inp if layer["granularity"] == "channel" else min(layer["group"], inp)
        per_row = segments(inp, segment)
        codes = codes_unpack(sections["codes"], bits, n).reshape(out, inp)
        books = sections["codebooks"].astype(np.float32)
        seg = np.arange(out)[:, None] * per_row + np.arange(inp)[None, :] // segment
        if layer["granularity"] == "block":
            w = to_f32("BF16", sections["scales"])[seg] * books[codes]
        else:
            w = books[seg * k + codes]
        return hadamard(w, layer["hadamard"]) if layer["hadamard"] > 1 else w
    if family == "nf4":
        block = min(layer["block"], inp)
        codes = codes_unpack(sections["codes"], 4, n).reshape(out, inp)
        scales = sections["scales"].astype(np.float32).reshape(out, segments(inp, block))
        return np.repeat(scales, block, axis=1)[:, :inp] * NF4_LEVELS[codes]
    if family == "gguf":
        if gguf_quants is None:
            raise SystemExit(f"ggml type {layer['ggml_type']} needs llama.cpp's gguf-py (--gguf-py)")
        blocks = sections["blocks"].reshape(out, -1)
        return gguf_quants.dequantize(blocks, gguf_quants.GGMLQuantizationType(layer["ggml_type"])).astype(np.float32)
    raise SystemExit(f"unknown family {family}")


def checkpoint_read(folder, gguf_quants=None):
    """Every tensor of the checkpoint as float32, by its Hugging Face name."""
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    q = config["quantization_config"]
    if q.get("quant_method") != "quantscope" or q.get("format_version") != 1:
        raise SystemExit(f"{folder}: not a Quantscope packed checkpoint of format_version 1")
    stored = safetensors_read(folder / "model.safetensors")
    weights = {}
    packed = {}
    for name, (dtype, array) in stored.items():
        base, _, section = name.rpartition(".")
        if base.endswith(".weight") and base[:-len(".weight")] in q["layers"]:
            packed.setdefault(base, {})[section] = array
        else:
            weights[name] = to_f32(dtype, array)
    head = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    for tensor, sections in packed.items():
        layer = q["layers"][tensor[:-len(".weight")]]
        out, inp = shape_of(tensor, config, head)
        weights[tensor] = decode(layer, sections, out, inp, gguf_quants)
    return weights


def shape_of(tensor, config, head):
    """A linear weight's [out, in] from the Llama config."""
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    kv = config.get("num_key_value_heads") or config["num_attention_heads"]
    shapes = {"q_proj": (config["num_attention_heads"] * head, hidden), "k_proj": (kv * head, hidden),
              "v_proj": (kv * head, hidden), "o_proj": (hidden, config["num_attention_heads"] * head),
              "gate_proj": (inter, hidden), "up_proj": (inter, hidden), "down_proj": (hidden, inter),
              "lm_head": (config["vocab_size"], hidden), "embed_tokens": (config["vocab_size"], hidden)}
    return shapes[tensor.split(".")[-2]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--compare", metavar="HF", help="a float32 Hugging Face folder to compare with, bit for bit")
    parser.add_argument("--gguf-py", metavar="DIR", help="llama.cpp's gguf-py folder, for ggml's block types")
    args = parser.parse_args()
    gguf_quants = None
    if args.gguf_py:
        sys.path.insert(0, args.gguf_py)
        from gguf import quants as gguf_quants  # noqa: E402 (llama.cpp's numpy reference)
    weights = checkpoint_read(args.folder, gguf_quants)
    if not args.compare:
        for name, w in weights.items():
            print(f"{name} {list(w.shape)}")
        return 0
    reference = {name: to_f32(dtype, a) for name, (dtype, a) in safetensors_read(Path(args.compare) / "model.safetensors").items()}
    bad = [name for name in reference if name not in weights or weights[name].shape != reference[name].shape
           or not np.array_equal(weights[name].view(np.uint32), reference[name].view(np.uint32))]
    for name in bad:
        w, r = weights.get(name), reference[name]
        detail = "missing" if w is None else f"max |difference| {np.max(np.abs(w - r)) if w.shape == r.shape else 'shape'}"
        print(f"{name}: differs ({detail})")
    print(f"{len(reference) - len(bad)} of {len(reference)} tensors equal bit for bit")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
