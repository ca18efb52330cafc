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
  ~Tokenizer();

  std::vector<int> encode(const std::string& text) const;  // no BOS/EOS added
  std::string decode(const std::vector<int>& ids) const;
  std::string piece(int id) const;
  int vocab_size() const;
  int bos_id() const;
  int eos_id() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Impl;
  Tokenizer(std::filesystem::path path, std::unique_ptr<Impl> impl);
  std::filesystem::path path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs
