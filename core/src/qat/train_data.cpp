// Tokens for training: documents from text files, tokenized in parallel into one stream per split,
// random windows drawn by a portable seeded generator, and the fixed held-out windows.
#include "qat/train_data.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/tokenizer.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;

bool line_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Documents end at two or more consecutive blank lines; single blank lines (paragraphs) stay.
void documents_split(const std::string& text, std::vector<std::string>& out) {
  std::string doc;
  int blank_run = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (line_blank(line)) {
      ++blank_run;
      continue;
    }
    if (!doc.empty()) {
      if (blank_run >= 2) {
        out.push_back(std::move(doc));
        doc.clear();
      } else {
        doc += blank_run == 1 ? "\n\n" : "\n";
      }
    }
    doc += line;
    blank_run = 0;
  }
  if (!doc.empty()) out.push_back(std::move(doc));
}

// Sentencepiece encodes one document per call; documents are independent, so threads share them.
std::vector<int32_t> documents_tokenize(const std::vector<std::string>& docs, const Tokenizer& tokenizer) {
  std::vector<std::vector<int>> ids(docs.size());
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  const auto work = [&] {
    for (size_t i = next++; i < docs.size(); i = next++) {
      try {
        ids[i] = tokenizer.encode(docs[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  const size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min(threads, docs.size()); ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);

  const int bos = tokenizer.bos_id(), eos = tokenizer.eos_id();
  std::vector<int32_t> stream;
  size_t total = 0;
  for (const auto& d : ids) total += d.size() + 2;
  stream.reserve(total);
  for (const auto& d : ids) {
    stream.push_back(bos);
    stream.insert(stream.end(), d.begin(), d.end());
    if (eos >= 0) stream.push_back(eos);
  }
  return stream;
}

std::vector<int32_t> files_tokenize(const std::vector<fs::path>& files, const Tokenizer& tokenizer) {
  std::vector<std::string> docs;
  for (const fs::path& file : files) {
    const size_t before = docs.size();
    documents_split(file_read(file), docs);
    if (docs.size() == before) throw Error(ErrorKind::Invalid, file.string() + ": holds no text");
  }
  return documents_tokenize(docs, tokenizer);
}

}  // namespace

TrainTokens train_tokens_build(const TrainConfig& config, const Tokenizer& tokenizer, JobContext* job) {
  if (tokenizer.bos_id() < 0)
    throw Error(ErrorKind::Invalid, tokenizer.path().string() + ": the tokenizer has no BOS piece, which training needs");
  if (job) job->progress(-1, "tokenizing the training text");
  TrainTokens out;
  out.train = files_tokenize(config.train_files, tokenizer);
  const std::string train_source =
      config.train_files.front().string() + (config.train_files.size() > 1 ? " (and the other train_files)" : "");
  if (!config.heldout_file.empty()) {
    out.heldout = files_tokenize({config.heldout_file}, tokenizer);
    out.heldout_source = config.heldout_file.string();
  } else {
    const auto held = static_cast<size_t>(std::ceil(out.train.size() * config.heldout_fraction));
    out.heldout.assign(out.train.end() - static_cast<std::ptrdiff_t>(held), out.train.end());
    out.train.resize(out.train.size() - held);
    out.heldout_source = "the last " + std::to_string(held) + " tokens of " + train_source;
  }
  const auto check = [&](const std::vector<int32_t>& tokens, const std::string& source) {
    if (static_cast<int64_t>(tokens.size()) < config.ctx)
      throw Error(ErrorKind::Invalid, source + ": " + std::to_string(tokens.size()) +
                                          " tokens are fewer than one window of ctx " + std::to_string(config.ctx));
  };
  check(out.train, train_source);
  check(out.heldout, out.heldout_source);
  if (job) job->check_cancelled();
  return out;
}

WindowSampler::WindowSampler(const std::vector<int32_t>& tokens, int64_t ctx, int bos, uint64_t seed)
    : tokens_(tokens), ctx_(ctx), bos_(bos), generator_(seed) {}

torch::Tensor WindowSampler::next(int64_t batch) {
  torch::Tensor out = torch::empty({batch, ctx_ + 1}, torch::kInt64);
  int64_t* data = out.data_ptr<int64_t>();
  // Modulo instead of std::uniform_int_distribution: the same draws with every standard library,
  // at a bias below 1e-12 for any realistic stream length.
  const uint64_t starts = tokens_.size() - static_cast<uint64_t>(ctx_) + 1;
  for (int64_t b = 0; b < batch; ++b) {
    const uint64_t start = generator_() % starts;
    int64_t* row = data + b * (ctx_ + 1);
    row[0] = bos_;
    std::copy(tokens_.begin() + static_cast<std::ptrdiff_t>(start),
              tokens_.begin() + static_cast<std::ptrdiff_t>(start + ctx_), row + 1);
  }
  return out;
}

std::string WindowSampler::state() const {
  std::ostringstream out;
  out << generator_;
  return out.str();
}

void WindowSampler::restore(const std::string& state) {
  std::istringstream in(state);
  in >> generator_;
  if (in.fail()) throw Error(ErrorKind::Format, "trainer state: unreadable sampler generator state");
}

torch::Tensor heldout_windows_build(const std::vector<int32_t>& tokens, int64_t ctx, int bos, int64_t count) {
  torch::Tensor out = torch::empty({count, ctx + 1}, torch::kInt64);
  int64_t* data = out.data_ptr<int64_t>();
  const int64_t span = static_cast<int64_t>(tokens.size()) - ctx;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t start = count == 1 ? 0 : i * span / (count - 1);
    int64_t* row = data + i * (ctx + 1);
    row[0] = bos;
    std::copy(tokens.begin() + start, tokens.begin() + start + ctx, row + 1);
  }
  return out;
}

}  // namespace qs
