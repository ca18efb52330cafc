// qs::Tokenizer over libsentencepiece. The library is reached through a C shim loaded with dlmopen
// into a link-map namespace of its own, because Debian's libsentencepiece exports a private
// protobuf that crashes LibTorch's protobuf in a shared namespace (see
// core/sentencepiece/sentencepiece_shim.cpp). SentencePieceProcessor's encode and decode are const
// and keep no per-call state, so one processor serves all threads.
#include "quantscope/tokenizer.hpp"

#include <dlfcn.h>

#include <system_error>

#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "sentencepiece_shim.h"

namespace qs {
namespace {

// The shim's entry points, resolved once per process.
struct Shim {
  decltype(&qs_spm_open) open;
  decltype(&qs_spm_open_proto) open_proto;
  decltype(&qs_spm_close) close;
  decltype(&qs_spm_encode) encode;
  decltype(&qs_spm_decode) decode;
  decltype(&qs_spm_piece) piece;
  decltype(&qs_spm_vocab_size) vocab_size;
  decltype(&qs_spm_bos_id) bos_id;
  decltype(&qs_spm_eos_id) eos_id;
};

Shim shim_load() {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> candidates;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path() / ".." / QS_SENTENCEPIECE_SHIM_INSTALLED);
  candidates.push_back(QS_SENTENCEPIECE_SHIM_BUILD);
  for (const fs::path& candidate : candidates) {
    if (!fs::is_regular_file(candidate, ec)) continue;
    void* handle = ::dlmopen(LM_ID_NEWLM, candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw Error(ErrorKind::Io, candidate.string() + ": cannot load (" + ::dlerror() + ")");
    auto symbol = [&](const char* name) {
      void* address = ::dlsym(handle, name);
      if (!address) throw Error(ErrorKind::Io, candidate.string() + ": no symbol " + name);
      return address;
    };
    Shim s;
    s.open = reinterpret_cast<decltype(s.open)>(symbol("qs_spm_open"));
    s.open_proto = reinterpret_cast<decltype(s.open_proto)>(symbol("qs_spm_open_proto"));
    s.close = reinterpret_cast<decltype(s.close)>(symbol("qs_spm_close"));
    s.encode = reinterpret_cast<decltype(s.encode)>(symbol("qs_spm_encode"));
    s.decode = reinterpret_cast<decltype(s.decode)>(symbol("qs_spm_decode"));
    s.piece = reinterpret_cast<decltype(s.piece)>(symbol("qs_spm_piece"));
    s.vocab_size = reinterpret_cast<decltype(s.vocab_size)>(symbol("qs_spm_vocab_size"));
    s.bos_id = reinterpret_cast<decltype(s.bos_id)>(symbol("qs_spm_bos_id"));
    s.eos_id = reinterpret_cast<decltype(s.eos_id)>(symbol("qs_spm_eos_id"));
    return s;  // the handle stays open for the life of the process
  }
  throw Error(ErrorKind::Io, std::string("sentencepiece shim not found (looked for ") + candidates.front().string() +
                                 (candidates.size() > 1 ? " and " + candidates.back().string() : "") + ")");
}

const Shim& shim() {
  static const Shim s = shim_load();
  return s;
}

}  // namespace

struct Tokenizer::Impl {
  qs_spm* processor = nullptr;
  int vocab = 0;
  ~Impl() {
    if (processor) shim().close(processor);
  }
};

Tokenizer::Tokenizer(std::filesystem::path path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

Tokenizer::~Tokenizer() = default;

std::shared_ptr<Tokenizer> Tokenizer::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(ErrorKind::Io, path.string() + ": no such tokenizer file");
  auto impl = std::make_unique<Impl>();
  char error[512] = {};
  impl->processor = shim().open(path.c_str(), error, sizeof error);
  if (!impl->processor)
    throw Error(ErrorKind::Format, path.string() + ": not a sentencepiece model (" + error + ")");
  impl->vocab = shim().vocab_size(impl->processor);
  return std::shared_ptr<Tokenizer>(new Tokenizer(path, std::move(impl)));
}

std::shared_ptr<Tokenizer> Tokenizer::from_proto(const std::string& proto, const std::filesystem::path& source) {
  auto impl = std::make_unique<Impl>();
  char error[512] = {};
  impl->processor = shim().open_proto(proto.data(), proto.size(), error, sizeof error);
  if (!impl->processor)
    throw Error(ErrorKind::Format, source.string() + ": its vocabulary does not make a sentencepiece model (" + error + ")");
  impl->vocab = shim().vocab_size(impl->processor);
  auto tokenizer = std::shared_ptr<Tokenizer>(new Tokenizer(source, std::move(impl)));
  tokenizer->proto_ = proto;
  return tokenizer;
}

std::string Tokenizer::model_proto() const { return proto_.empty() ? file_read(path_) : proto_; }

std::vector<int> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  char error[512] = {};
  auto sink = [](void* context, const int* data, size_t count) {
    static_cast<std::vector<int>*>(context)->assign(data, data + count);
  };
  if (shim().encode(impl_->processor, text.data(), text.size(), sink, &ids, error, sizeof error) != 0)
    throw Error(ErrorKind::Invalid, path_.string() + ": cannot encode text (" + error + ")");
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  for (int id : ids)
    if (id < 0 || id >= impl_->vocab)
      throw Error(ErrorKind::Invalid, path_.string() + ": token id " + std::to_string(id) +
                                          " outside the vocabulary of " + std::to_string(impl_->vocab));
  std::string text;
  char error[512] = {};
  auto sink = [](void* context, const char* data, size_t size) { static_cast<std::string*>(context)->assign(data, size); };
  if (shim().decode(impl_->processor, ids.data(), ids.size(), sink, &text, error, sizeof error) != 0)
    throw Error(ErrorKind::Invalid, path_.string() + ": cannot decode ids (" + error + ")");
  return text;
}

std::string Tokenizer::piece(int id) const {
  if (id < 0 || id >= impl_->vocab)
    throw Error(ErrorKind::Invalid, path_.string() + ": token id " + std::to_string(id) + " outside the vocabulary");
  std::string text;
  shim().piece(impl_->processor, id, [](void* context, const char* data, size_t size) {
    static_cast<std::string*>(context)->assign(data, size);
  }, &text);
  return text;
}

int Tokenizer::vocab_size() const { return impl_->vocab; }
int Tokenizer::bos_id() const { return shim().bos_id(impl_->processor); }
int Tokenizer::eos_id() const { return shim().eos_id(impl_->processor); }

}  // namespace qs
