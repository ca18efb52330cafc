// The vocabulary inside a sentencepiece model file (tokenizer.model, a ModelProto in protobuf's wire
// format): pieces, scores and types, the special ids and whether a space is put before the text. GGUF
// carries a tokenizer as these arrays (tokenizer.ggml.*), so exporting one reads them here and opening
// one writes them back into a model the tokenizer shim (core/sentencepiece/) loads.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace qs {

struct SentencePieceVocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;  // sentencepiece's: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  bool add_dummy_prefix = true;  // the normalizer puts "▁" before the text
};

// `proto`: a ModelProto's bytes, read from `source`. Throws Format naming the source and what is wrong
// when it is not a well-formed ModelProto with pieces.
SentencePieceVocab sentencepiece_vocab_parse(const std::string& proto, const std::filesystem::path& source);

// A ModelProto that tokenizes as llama.cpp does with a GGUF's vocabulary (its "llama" tokenizer): a
// BPE model over the pieces and scores, byte fallback when there are byte pieces, the identity
// normalizer with the vocabulary's dummy prefix and runs of spaces kept.
std::string sentencepiece_model_write(const SentencePieceVocab& vocab);

}  // namespace qs
