// model_load: tells the source format from the path, runs its reader (headers only), attaches the
// tokenizer and decides whether the converted weights are kept (resident) or streamed.
#include <system_error>

#include "model/checkpoint_read.hpp"
#include "base/fingerprint.hpp"
#include "base/process_memory.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"

namespace qs {
namespace fs = std::filesystem;

namespace {

std::shared_ptr<const Tokenizer> tokenizer_resolve(const fs::path& model_path, const std::string& format,
                                                   const LoadOptions& options) {
  std::error_code ec;
  if (!options.tokenizer.empty()) return Tokenizer::open(options.tokenizer);
  const fs::path folder = fs::is_directory(model_path, ec) ? model_path : model_path.parent_path();
  if (format == "hf" || format == "quantscope") {
    const fs::path candidate = folder / "tokenizer.model";
    return fs::is_regular_file(candidate, ec) ? Tokenizer::open(candidate) : nullptr;
  }
  if (format == "gguf") return nullptr;
  // llama2.c ships tokenizers as tok<N>.model beside the .bin; take one only when it is unambiguous.
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(folder.empty() ? fs::path(".") : folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && name.starts_with("tok") && entry.path().extension() == ".model")
      found.push_back(entry.path());
  }
  return found.size() == 1 ? Tokenizer::open(found.front()) : nullptr;
}

}  // namespace

std::shared_ptr<Model> model_load(const fs::path& path, const LoadOptions& options, JobContext* job) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorKind::Io, path.string() + ": no such file or directory");
  if (options.device == Device::Cuda && !cuda_available())
    throw Error(ErrorKind::Invalid, path.string() + ": --device cuda requested but CUDA is not available in this build");
  if (job) job->progress(0.0, "opening " + path.filename().string());

  std::shared_ptr<ModelState> state;
  const std::string ext = path.extension().string();
  const std::string name = path.filename().string();
  if (fs::is_directory(path, ec)) {
    const fs::path config = path / "config.json";
    if (!fs::is_regular_file(config, ec))
      throw Error(ErrorKind::Format, path.string() + ": not a Hugging Face model directory (no config.json)");
    const fs::path single = path / "model.safetensors", index = path / "model.safetensors.index.json";
    if (fs::is_regular_file(single, ec)) state = checkpoint_hf_read(config, single, options, job);
    else if (fs::is_regular_file(index, ec)) state = checkpoint_hf_read(config, index, options, job);
    else
      throw Error(ErrorKind::Format,
                  path.string() + ": no model.safetensors or model.safetensors.index.json (other weight formats such as "
                                  "pytorch_model.bin are not supported)");
  } else if (ext == ".safetensors" || name.ends_with(".safetensors.index.json")) {
    const fs::path config = path.parent_path() / "config.json";
    if (!fs::is_regular_file(config, ec))
      throw Error(ErrorKind::Format, path.string() + ": no config.json beside the weights");
    state = checkpoint_hf_read(config, path, options, job);
  } else if (ext == ".bin") {
    state = checkpoint_llama2c_read(path, options, job);
  } else if (ext == ".gguf") {
    state = checkpoint_gguf_read(path, options, job);
  } else {
    throw Error(ErrorKind::Unsupported, path.string() +
                                            ": unknown model format (expected an HF directory, a .safetensors file with "
                                            "config.json beside it, a llama2.c .bin or a .gguf)");
  }

  state->source = path;
  // A GGUF carries its vocabulary, which its file identity already covers; a tokenizer given on the
  // command line replaces it.
  if (!state->tokenizer || !options.tokenizer.empty()) state->tokenizer = tokenizer_resolve(path, state->source_format, options);
  if (state->tokenizer && state->tokenizer->path() != path)
    state->source_identity.push_back("tokenizer " + state->tokenizer->path().filename().string() +
                                     " text=" + text_fingerprint(file_read(state->tokenizer->path())));
  if (state->tokenizer && state->tokenizer->vocab_size() > state->config.vocab_size)
    throw Error(ErrorKind::Invalid, state->tokenizer->path().string() + ": tokenizer has " +
                                        std::to_string(state->tokenizer->vocab_size()) +
                                        " pieces but the model's vocabulary is " +
                                        std::to_string(state->config.vocab_size));
  // Three quarters of what is free: the rest is for activations, the page cache and the other programs.
  state->memory_budget = options.memory_budget ? options.memory_budget : memory_available(options.device) / 4 * 3;
  state->residency = options.residency ? *options.residency
                     : state->conversion_bytes() <= state->memory_budget ? Residency::Resident
                                                                         : Residency::Streamed;
  if (job) job->progress(1.0, "opened " + path.filename().string());
  return std::make_shared<Model>(std::move(state));
}

}  // namespace qs
