// See sentencepiece_model.hpp. A protobuf message is a sequence of (field number, wire type, value);
// the fields read here are ModelProto's pieces (1), trainer_spec (2) and normalizer_spec (3), the
// pieces' piece (1), score (2) and type (3), the trainer's special ids (40-43), and
// the normalizer's add_dummy_prefix (3), field numbers of sentencepiece_model.proto. Every other
// field is skipped by its wire type.
#include "io/sentencepiece_model.hpp"

#include <cstring>

#include "quantscope/error.hpp"

namespace qs {
namespace {

class Wire {
 public:
  Wire(const std::filesystem::path& path, const uint8_t* data, size_t size) : path_(path), p_(data), end_(data + size) {}
  bool done() const { return p_ == end_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Format, path_.string() + ": not a sentencepiece model: " + what);
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) fail("a number is cut off");
      const uint8_t b = *p_++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("a number is longer than 10 bytes");
  }
  Wire message() {
    const uint64_t n = varint();
    if (n > uint64_t(end_ - p_)) fail("a field claims more bytes than the file holds");
    Wire sub(path_, p_, size_t(n));
    p_ += n;
    return sub;
  }
  std::string bytes() {
    Wire sub = message();
    return std::string(reinterpret_cast<const char*>(sub.p_), size_t(sub.end_ - sub.p_));
  }
  float fixed32() {
    if (end_ - p_ < 4) fail("a float is cut off");
    float v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case 0: varint(); return;
      case 1:
        if (end_ - p_ < 8) fail("a field is cut off");
        p_ += 8;
        return;
      case 2: message(); return;
      case 5: fixed32(); return;
      default: fail("unknown wire type " + std::to_string(wire));
    }
  }

 private:
  const std::filesystem::path& path_;
  const uint8_t* p_;
  const uint8_t* end_;
};

void piece_read(Wire w, SentencePieceVocab& v) {
  std::string piece;
  float score = 0;
  int32_t type = 1;
  while (!w.done()) {
    const uint64_t key = w.varint();
    const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
    if (field == 1 && wire == 2) piece = w.bytes();
    else if (field == 2 && wire == 5) score = w.fixed32();
    else if (field == 3 && wire == 0) type = int32_t(w.varint());
    else w.skip(wire);
  }
  if (type < 1 || type > 6) w.fail("piece " + std::to_string(v.pieces.size()) + " has type " + std::to_string(type));
  v.pieces.push_back(std::move(piece));
  v.scores.push_back(score);
  v.types.push_back(type);
}

void trainer_read(Wire w, SentencePieceVocab& v) {
  while (!w.done()) {
    const uint64_t key = w.varint();
    const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
    if (wire != 0 || field < 40 || field > 43) {
      w.skip(wire);
      continue;
    }
    const int32_t value = int32_t(int64_t(w.varint()));  // ids are int32, −1 sign-extended to 10 bytes
    switch (field) {
      case 40: v.unk_id = value; break;
      case 41: v.bos_id = value; break;
      case 42: v.eos_id = value; break;
      case 43: v.pad_id = value; break;
    }
  }
}

void normalizer_read(Wire w, SentencePieceVocab& v) {
  while (!w.done()) {
    const uint64_t key = w.varint();
    if (key == (3 << 3 | 0)) v.add_dummy_prefix = w.varint() != 0;
    else w.skip(uint32_t(key & 7));
  }
}

void varint_put(std::string& out, uint64_t v) {
  do {
    const uint8_t b = uint8_t(v & 0x7f);
    v >>= 7;
    out.push_back(char(v ? b | 0x80 : b));
  } while (v);
}

void int_put(std::string& out, uint32_t field, int64_t v) {  // int32 and enum fields; −1 sign-extended
  varint_put(out, uint64_t(field) << 3 | 0);
  varint_put(out, uint64_t(v));
}

void bytes_put(std::string& out, uint32_t field, const std::string& bytes) {
  varint_put(out, uint64_t(field) << 3 | 2);
  varint_put(out, bytes.size());
  out += bytes;
}

void float_put(std::string& out, uint32_t field, float v) {
  varint_put(out, uint64_t(field) << 3 | 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

}  // namespace

std::string sentencepiece_model_write(const SentencePieceVocab& vocab) {
  std::string out;
  bool bytes = false;
  for (size_t i = 0; i < vocab.pieces.size(); ++i) {
    std::string piece;
    bytes_put(piece, 1, vocab.pieces[i]);
    float_put(piece, 2, vocab.scores[i]);
    int_put(piece, 3, vocab.types[i]);
    bytes_put(out, 1, piece);
    bytes = bytes || vocab.types[i] == 6;
  }
  std::string trainer;
  int_put(trainer, 3, 2);  // model_type BPE
  int_put(trainer, 4, int64_t(vocab.pieces.size()));
  int_put(trainer, 26, 1);  // allow_whitespace_only_pieces: a run of spaces is one piece, as llama.cpp splits
  int_put(trainer, 35, bytes ? 1 : 0);  // byte_fallback
  int_put(trainer, 40, vocab.unk_id);
  int_put(trainer, 41, vocab.bos_id);
  int_put(trainer, 42, vocab.eos_id);
  int_put(trainer, 43, vocab.pad_id);
  bytes_put(out, 2, trainer);
  std::string normalizer;
  bytes_put(normalizer, 1, "identity");
  int_put(normalizer, 3, vocab.add_dummy_prefix ? 1 : 0);
  int_put(normalizer, 4, 0);  // remove_extra_whitespaces
  int_put(normalizer, 5, 1);  // escape_whitespaces
  bytes_put(out, 3, normalizer);
  return out;
}

SentencePieceVocab sentencepiece_vocab_parse(const std::string& bytes, const std::filesystem::path& path) {
  Wire w(path, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  SentencePieceVocab v;
  while (!w.done()) {
    const uint64_t key = w.varint();
    const uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
    if (field == 1 && wire == 2) piece_read(w.message(), v);
    else if (field == 2 && wire == 2) trainer_read(w.message(), v);
    else if (field == 3 && wire == 2) normalizer_read(w.message(), v);
    else w.skip(wire);
  }
  if (v.pieces.empty()) w.fail("it holds no pieces");
  const int32_t n = int32_t(v.pieces.size());
  for (const int32_t id : {v.unk_id, v.bos_id, v.eos_id})
    if (id >= n) w.fail("special id " + std::to_string(id) + " is outside its " + std::to_string(n) + " pieces");
  return v;
}

}  // namespace qs
