// A sentencepiece tokenizer (tokenizer.model, tok512.model). Thread-safe for encode/decode.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace qs {

class Tokenizer {
 public:
  static std::shared_ptr<Tokenizer> open(const std::filesystem::path& path);
  // A serialized sentencepiece ModelProto held in memory (built from a GGUF's vocabulary); `source`,
  // the file it came from, names it in messages and is what path() returns.
  static std::shared_ptr<Tokenizer> from_proto(const std::string& proto, const std::filesystem::path& source);
  ~Tokenizer();

  std::vector<int> encode(const std::string& text) const;  // no BOS/EOS added
  std::string decode(const std::vector<int>& ids) const;
  std::string piece(int id) const;
  int vocab_size() const;
  int bos_id() const;
  int eos_id() const;
  const std::filesystem::path& path() const { return path_; }
  // The sentencepiece model's bytes (a ModelProto): the file's, or what from_proto was given. What a
  // saved or exported model carries as its tokenizer.
  std::string model_proto() const;

 private:
  struct Impl;
  Tokenizer(std::filesystem::path path, std::unique_ptr<Impl> impl);
  std::filesystem::path path_;
  std::unique_ptr<Impl> impl_;
  std::string proto_;  // from_proto's bytes; empty for a file
};

}  // namespace qs
