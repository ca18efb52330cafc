#!/usr/bin/env python3
# tiny_model.py DIR|FILE.bin|FILE.model: the smallest Llama checkpoints the readers accept, as seeds
# for the fuzz corpus (corpus_make.sh): an HF folder (config.json, model.safetensors in f16 and a
# tokenizer.model), a llama2.c .bin, or the tokenizer alone. Values are drawn from a fixed seed, so
# the corpus is reproducible byte for byte.
import json, os, random, struct, sys

DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ = 32, 64, 1, 4, 2, 32, 8
rng = random.Random(17)


def values(n):
    return [rng.gauss(0.0, 0.1) for _ in range(n)]


def hf_write(folder):
    head = DIM // HEADS
    shapes = {"model.embed_tokens.weight": [VOCAB, DIM], "model.norm.weight": [DIM]}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": [DIM], p + "post_attention_layernorm.weight": [DIM],
                       p + "self_attn.q_proj.weight": [DIM, DIM], p + "self_attn.k_proj.weight": [KV_HEADS * head, DIM],
                       p + "self_attn.v_proj.weight": [KV_HEADS * head, DIM], p + "self_attn.o_proj.weight": [DIM, DIM],
                       p + "mlp.gate_proj.weight": [HIDDEN, DIM], p + "mlp.up_proj.weight": [HIDDEN, DIM],
                       p + "mlp.down_proj.weight": [DIM, HIDDEN]})
    header, data = {}, b""
    for name in sorted(shapes):
        n = 1
        for d in shapes[name]:
            n *= d
        raw = struct.pack(f"<{n}e", *values(n))
        header[name] = {"dtype": "F16", "shape": shapes[name], "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": DIM,
              "intermediate_size": HIDDEN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
              "num_key_value_heads": KV_HEADS, "vocab_size": VOCAB, "max_position_embeddings": SEQ,
              "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True, "hidden_act": "silu",
              "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(folder, "tokenizer.model"), "wb") as f:
        f.write(tokenizer_bytes())


# A sentencepiece ModelProto in protobuf's wire format: a BPE vocabulary of VOCAB pieces (<unk>, <s>,
# </s>, then "▁" and letters), the trainer and normalizer fields a tokenizer needs.
def proto_varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def proto_field(number, value):
    if isinstance(value, bytes):
        return proto_varint(number << 3 | 2) + proto_varint(len(value)) + value
    if isinstance(value, float):
        return proto_varint(number << 3 | 5) + struct.pack("<f", value)
    return proto_varint(number << 3) + proto_varint(value)


def tokenizer_bytes():
    pieces = [("<unk>", 2), ("<s>", 3), ("</s>", 3), ("\u2581", 1)]
    pieces += [(chr(ord("a") + i), 1) for i in range(VOCAB - len(pieces))]
    out = b""
    for i, (piece, kind) in enumerate(pieces):
        out += proto_field(1, proto_field(1, piece.encode()) + proto_field(2, -float(i)) + proto_field(3, kind))
    out += proto_field(2, proto_field(3, 2) + proto_field(4, VOCAB))  # trainer_spec: BPE, vocab_size
    out += proto_field(3, proto_field(1, b"identity") + proto_field(3, 1) + proto_field(5, 1))  # normalizer_spec
    return out


def llama2c_write(path):
    head = DIM // HEADS
    kv = KV_HEADS * head
    n = (VOCAB * DIM + LAYERS * (DIM + DIM * DIM + 2 * kv * DIM + DIM * DIM + DIM + 3 * HIDDEN * DIM) + DIM +
         2 * SEQ * head // 2)
    with open(path, "wb") as f:
        f.write(struct.pack("<7i", DIM, HIDDEN, LAYERS, HEADS, KV_HEADS, VOCAB, SEQ))
        f.write(struct.pack(f"<{n}f", *values(n)))


if __name__ == "__main__":
    target = sys.argv[1]
    if target.endswith(".model"):
        with open(target, "wb") as f:
            f.write(tokenizer_bytes())
    else:
        (llama2c_write if target.endswith(".bin") else hf_write)(target)
