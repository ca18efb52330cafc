// The `gguf` target: one GGUF v3 file that llama.cpp loads as a `llama` model. Metadata as
// convert_hf_to_gguf.py writes it (the llama.* hyperparameters and the sentencepiece vocabulary as
// tokenizer.ggml.*), llama.cpp's tensor names, and the q/k rows permuted back to interleaved RoPE
// pairs, which llama.cpp's NORM RoPE rotates (HF checkpoints rotate halves). Layers in a llama.cpp type
// are quantized row by row by the gguf family's kernels (ggml's bytes exactly); float layers keep their
// stored dtype (or the one asked for); norms are F32, as llama.cpp reads them. A tensor at a time:
// memory holds one weight's float32 rows and its blocks.
#include <torch/torch.h>

#include <cstring>
#include <map>

#include "export/export_targets.hpp"
#include "ggml_quants.hpp"
#include "io/gguf_file.hpp"
#include "io/sentencepiece_model.hpp"
#include "model/gguf_names.hpp"
#include "model/hf_layout.hpp"
#include "model/model_state.hpp"
#include "model/rope_rows.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

uint32_t float_type(DType dtype) {
  switch (dtype) {
    case DType::F32: return kGgmlF32;
    case DType::F16: return kGgmlF16;
    case DType::BF16: return kGgmlBF16;
    default: return kGgmlF32;
  }
}

// What each tensor is stored as: its ggml type, and the plan's format when the type is a gguf one.
struct Storage {
  std::string hf, name;
  uint32_t type = kGgmlF32;
  int64_t rope_heads = 0;  // q/k: rows regrouped from HF halves to interleaved pairs per head
  bool stored = false;     // already stored in this type: its blocks are copied
};

void metadata_write(GgufWriter& w, const ModelState& state, const SentencePieceVocab& vocab) {
  const ModelConfig& c = state.config;
  const auto u32 = [](int64_t v) { return GgufValue::u32(uint32_t(v)); };
  w.metadata_set("general.architecture", GgufValue::string("llama"));
  const std::filesystem::path name = state.source.filename().empty() ? state.source.parent_path() : state.source;
  w.metadata_set("general.name", GgufValue::string(name.stem().string()));
  w.metadata_set("llama.vocab_size", u32(c.vocab_size));
  w.metadata_set("llama.context_length", u32(c.max_position_embeddings));
  w.metadata_set("llama.embedding_length", u32(c.hidden_size));
  w.metadata_set("llama.block_count", u32(c.num_hidden_layers));
  w.metadata_set("llama.feed_forward_length", u32(c.intermediate_size));
  w.metadata_set("llama.rope.dimension_count", u32(c.head_dim));
  w.metadata_set("llama.attention.head_count", u32(c.num_attention_heads));
  w.metadata_set("llama.attention.head_count_kv", u32(c.num_key_value_heads));
  if (c.head_dim * c.num_attention_heads != c.hidden_size) {
    w.metadata_set("llama.attention.key_length", u32(c.head_dim));
    w.metadata_set("llama.attention.value_length", u32(c.head_dim));
  }
  w.metadata_set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(float(c.rms_norm_eps)));
  w.metadata_set("llama.rope.freq_base", GgufValue::f32(float(c.rope_theta)));
  w.metadata_set("tokenizer.ggml.model", GgufValue::string("llama"));
  w.metadata_set("tokenizer.ggml.tokens", GgufValue::strings_array(vocab.pieces));
  w.metadata_set("tokenizer.ggml.scores", GgufValue::f32_array(vocab.scores));
  w.metadata_set("tokenizer.ggml.token_type", GgufValue::i32_array(vocab.types));
  w.metadata_set("tokenizer.ggml.bos_token_id", u32(c.bos_token_id));
  w.metadata_set("tokenizer.ggml.eos_token_id", u32(c.eos_token_id));
  w.metadata_set("tokenizer.ggml.unknown_token_id", u32(vocab.unk_id));
  if (vocab.pad_id >= 0) w.metadata_set("tokenizer.ggml.padding_token_id", u32(vocab.pad_id));
  w.metadata_set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  w.metadata_set("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
  w.metadata_set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(vocab.add_dummy_prefix));
}

// The tensor's bytes as `type`, rows permuted for RoPE where asked, written a block of rows at a time
// (a q/k weight at once: its permuted rows come from all over it).
void tensor_write(const ModelState& state, const Storage& s, const ByteSink& sink, const JobContext* job) {
  if (s.stored) {
    std::vector<uint8_t> blocks = stored_packed(state, s.hf);
    if (s.rope_heads > 0) {
      const int64_t rows = state.shape(s.hf).at(0);
      const torch::Tensor b = torch::from_blob(blocks.data(), {rows, int64_t(blocks.size()) / rows}, torch::kUInt8);
      const torch::Tensor pairs = rope_rows_to_pairs(b, s.rope_heads).contiguous();
      std::memcpy(blocks.data(), pairs.data_ptr<uint8_t>(), blocks.size());
    }
    sink(blocks.data(), blocks.size());
    return;
  }
  const std::vector<int64_t> shape = state.shape(s.hf);
  const bool vector = shape.size() == 1;  // a norm weight: one row
  const int64_t rows = vector ? 1 : shape.at(0), cols = vector ? shape.at(0) : shape.at(1);
  const int64_t block = s.rope_heads > 0 ? rows : std::max<int64_t>(1, (int64_t(1) << 24) / cols);
  const kernels::GgmlType type = static_cast<kernels::GgmlType>(s.type);
  const uint64_t row_bytes = ggml_row_bytes(s.type, cols);
  std::vector<uint8_t> out;
  for (int64_t begin = 0; begin < rows; begin += block) {
    const int64_t count = std::min(block, rows - begin);
    torch::Tensor w = vector ? state.values(s.hf, 0, cols).view({1, cols}) : state.values(s.hf, begin, count);
    if (s.rope_heads > 0) w = rope_rows_to_pairs(w, s.rope_heads).contiguous();
    out.resize(size_t(uint64_t(w.size(0)) * row_bytes));
    ggml_rows_quantize(type, w.data_ptr<float>(), w.size(0), cols, out.data(), false, job);
    sink(out.data(), out.size());
  }
}

}  // namespace

std::string gguf_format_problem(const FormatSpec& format, int64_t out, int64_t in) {
  switch (format.family) {
    case QuantFamily::Float:
    case QuantFamily::Gguf: return format_shape_problem(format, out, in);
    case QuantFamily::Int:
      return "integer formats have no GGUF type; the nearest are q4_0/q8_0 (blocks of 32 with an f16 scale)";
    case QuantFamily::Quest: return "QuEST's Hadamard-rotated codes have no GGUF type";
    case QuantFamily::KMeans: return "k-means codebooks have no GGUF type (iq4_nl's 16 levels are fixed)";
    case QuantFamily::NF4: return "NF4 has no GGUF type; iq4_nl is the nearest (16 fixed non-uniform levels)";
  }
  return "no GGUF type";
}

namespace {

// The file's layout, known before any data: its metadata and what each tensor is stored as.
struct GgufLayout {
  GgufWriter writer;
  std::vector<Storage> tensors;
};

GgufLayout gguf_layout(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options) {
  const ModelState& state = model.state();
  const ModelConfig& c = state.config;
  if (c.attention_bias || c.mlp_bias)
    throw Error(ErrorKind::Unsupported, state.source.string() + ": GGUF export of a model with biases is not written");
  if (!state.tokenizer)
    throw Error(ErrorKind::Invalid, state.source.string() +
                                        ": GGUF holds the tokenizer, and this model has none (give --tokenizer)");
  const SentencePieceVocab vocab = sentencepiece_vocab_parse(state.tokenizer->model_proto(), state.tokenizer->path());
  if (int64_t(vocab.pieces.size()) != c.vocab_size)
    throw Error(ErrorKind::Invalid, state.tokenizer->path().string() + ": " + std::to_string(vocab.pieces.size()) +
                                        " pieces for a model of vocab_size " + std::to_string(c.vocab_size));
  std::map<std::string, const LayerFormat*> formats;
  for (const LayerFormat& lf : plan) formats[lf.name + ".weight"] = &lf;

  GgufLayout layout;
  metadata_write(layout.writer, state, vocab);
  for (const HfTensor& spec : hf_layout(c)) {
    if (!state.has(spec.name)) continue;
    const std::string& hf = spec.name;
    Storage s{hf, gguf_name_from_hf(hf)};
    if (s.name.empty())
      throw Error(ErrorKind::Unsupported, state.source.string() + ": tensor " + hf + " has no llama.cpp name");
    const std::vector<int64_t> shape = state.shape(hf);
    const auto f = formats.find(hf);
    if (shape.size() == 1) {
      s.type = kGgmlF32;
    } else if (f != formats.end() && f->second->format.family == QuantFamily::Gguf) {
      s.type = uint32_t(f->second->format.gguf);
      s.stored = stored_as_planned(state, *f->second);
    } else if (f != formats.end() && f->second->format.family == QuantFamily::Float) {
      s.type = float_type(f->second->format.dtype);
    } else {
      s.type = float_type(options.float_dtype.value_or(state.stored_dtype(hf)));
    }
    if (hf.find("self_attn.q_proj") != std::string::npos) s.rope_heads = c.num_attention_heads;
    if (hf.find("self_attn.k_proj") != std::string::npos) s.rope_heads = c.num_key_value_heads;
    layout.writer.tensor_add(s.name, std::vector<int64_t>(shape.rbegin(), shape.rend()), s.type);  // row length first
    layout.tensors.push_back(s);
  }
  return layout;
}

}  // namespace

uint64_t gguf_export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options) {
  return gguf_layout(model, plan, options).writer.file_bytes();
}

void gguf_export(const Model& model, const std::vector<LayerFormat>& plan, const std::filesystem::path& out,
                 const ExportOptions& options) {
  const GgufLayout layout = gguf_layout(model, plan, options);
  layout.writer.write(out, [&](size_t i, const ByteSink& sink) {
    if (options.job) {
      options.job->check_cancelled();
      options.job->progress(double(i) / double(layout.tensors.size()), "writing " + layout.tensors[i].name);
    }
    tensor_write(model.state(), layout.tensors[i], sink, options.job);
  });
}

}  // namespace qs
