// A C interface over libsentencepiece, built as its own shared object and loaded in isolation by
// core/src/model/tokenizer.cpp. Debian's libsentencepiece carries a private protobuf 3.14 whose symbols it
// exports; LibTorch loads the system protobuf 3.21; both in one symbol namespace crash at start-up.
// Loaded apart, each library binds to its own protobuf. Only plain C types cross this boundary and
// nothing allocated on one side is freed on the other.
#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "sentencepiece_shim.h"

namespace {

void error_copy(const std::string& message, char* error, size_t error_size) {
  if (!error || error_size == 0) return;
  const size_t n = std::min(message.size(), error_size - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

// Both loaders: a processor, or null with the message in `error`.
template <class LoadFn>
qs_spm* processor_open(LoadFn load, char* error, size_t error_size) {
  try {
    auto* processor = new sentencepiece::SentencePieceProcessor();
    const auto status = load(*processor);
    if (!status.ok()) {
      error_copy(status.ToString(), error, error_size);
      delete processor;
      return nullptr;
    }
    return reinterpret_cast<qs_spm*>(processor);
  } catch (const std::exception& e) {
    error_copy(e.what(), error, error_size);
    return nullptr;
  }
}

}  // namespace

extern "C" {

qs_spm* qs_spm_open(const char* path, char* error, size_t error_size) {
  return processor_open([&](sentencepiece::SentencePieceProcessor& p) { return p.Load(path); }, error, error_size);
}

qs_spm* qs_spm_open_proto(const char* data, size_t size, char* error, size_t error_size) {
  return processor_open(
      [&](sentencepiece::SentencePieceProcessor& p) { return p.LoadFromSerializedProto(std::string_view(data, size)); },
      error, error_size);
}

void qs_spm_close(qs_spm* spm) { delete reinterpret_cast<sentencepiece::SentencePieceProcessor*>(spm); }

int qs_spm_encode(const qs_spm* spm, const char* text, size_t size, qs_spm_ids_sink sink, void* context, char* error,
                  size_t error_size) {
  try {
    std::vector<int> ids;
    const auto status =
        reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->Encode(std::string(text, size), &ids);
    if (!status.ok()) {
      error_copy(status.ToString(), error, error_size);
      return 1;
    }
    sink(context, ids.data(), ids.size());
    return 0;
  } catch (const std::exception& e) {
    error_copy(e.what(), error, error_size);
    return 1;
  }
}

int qs_spm_decode(const qs_spm* spm, const int* ids, size_t count, qs_spm_text_sink sink, void* context, char* error,
                  size_t error_size) {
  try {
    std::string text;
    const auto status =
        reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->Decode(std::vector<int>(ids, ids + count), &text);
    if (!status.ok()) {
      error_copy(status.ToString(), error, error_size);
      return 1;
    }
    sink(context, text.data(), text.size());
    return 0;
  } catch (const std::exception& e) {
    error_copy(e.what(), error, error_size);
    return 1;
  }
}

void qs_spm_piece(const qs_spm* spm, int id, qs_spm_text_sink sink, void* context) {
  const std::string& piece = reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->IdToPiece(id);
  sink(context, piece.data(), piece.size());
}

int qs_spm_vocab_size(const qs_spm* spm) {
  return reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->GetPieceSize();
}
int qs_spm_bos_id(const qs_spm* spm) { return reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->bos_id(); }
int qs_spm_eos_id(const qs_spm* spm) { return reinterpret_cast<const sentencepiece::SentencePieceProcessor*>(spm)->eos_id(); }

}  // extern "C"
