// model_save: writes a loaded model as a Hugging Face directory (config.json, model.safetensors,
// tokenizer.model). The trainer's checkpoints and every format conversion go through here. Weights
// are written before config.json, so an interrupted save never looks like a complete model.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "io/atomic_file.hpp"
#include "model/hf_layout.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/output_dir.hpp"
#include "quantscope/safetensors.hpp"
#include "io/safetensors_torch.hpp"

namespace qs {
namespace fs = std::filesystem;

namespace {

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  const fs::path ca = fs::weakly_canonical(a, ec);
  if (ec) return false;
  const fs::path cb = fs::weakly_canonical(b, ec);
  return !ec && ca == cb;
}

}  // namespace

void model_save(const Model& model, const fs::path& dir, DType dtype, JobContext* job) {
  const ModelState& state = model.state();
  const char* torch_dtype_name = dtype == DType::F32    ? "float32"
                                 : dtype == DType::BF16 ? "bfloat16"
                                 : dtype == DType::F16  ? "float16"
                                                        : nullptr;
  if (!torch_dtype_name)
    throw Error(ErrorKind::Invalid, dir.string() + ": cannot save weights as " + std::string(dtype_name(dtype)) +
                                        " (F32, BF16 or F16)");
  if (!state.packed.empty())
    throw Error(ErrorKind::Invalid, dir.string() + ": the model holds packed layers (" + state.packed.begin()->first +
                                        ", …), which compute but are not saved; quantize without keeping them packed");
  std::error_code ec;
  const fs::path source_dir = fs::is_directory(state.source, ec) ? state.source : state.source.parent_path();
  if (fs::exists(dir, ec) && same_path(dir, source_dir))
    throw Error(ErrorKind::Invalid, dir.string() + ": refusing to write into the directory the model was loaded from");
  output_dir_claim(dir, OutputKind::Model);

  // HF order first; any tensor outside the standard layout is kept too, after it, by name.
  std::vector<std::string> names;
  std::set<std::string> listed;
  for (const HfTensor& spec : hf_layout(state.config))
    if (state.has(spec.name)) names.push_back(spec.name), listed.insert(spec.name);
  for (const std::string& name : state.names())
    if (!listed.count(name)) names.push_back(name);

  // Converted a block of rows at a time, as the file reaches it: memory holds a block (16M values) of
  // one tensor, whatever the model's size and residency (an 8B head is 525M values).
  constexpr int64_t kBlockValues = int64_t{1} << 24;
  const torch::Dtype target = *dtype_to_torch(dtype);
  const fs::path weights = dir / "model.safetensors";
  std::vector<TensorWrite> writes;
  for (size_t i = 0; i < names.size(); ++i) {
    TensorWrite write{names[i], dtype, state.shape(names[i]), {}, {}};
    write.produce = [&, i](const std::function<void(std::span<const std::byte>)>& put) {
      if (job) {
        job->check_cancelled();
        job->progress(double(i) / names.size(), "writing " + names[i]);
      }
      const std::vector<int64_t> shape = state.shape(names[i]);
      const bool matrix = shape.size() == 2;
      const int64_t rows = matrix ? shape[0] : 1;
      const int64_t block = matrix ? std::max<int64_t>(1, kBlockValues / std::max<int64_t>(shape[1], 1)) : 1;
      for (int64_t begin = 0; begin < rows; begin += block) {
        const int64_t count = std::min(block, rows - begin);
        const torch::Tensor part = (matrix ? state.rows(names[i], begin, count) : state.tensor(names[i]))
                                       .detach()
                                       .to(torch::kCPU, target)
                                       .contiguous();
        if (!torch::isfinite(part).all().item<bool>())
          throw Error(ErrorKind::Numeric, weights.string() + ": tensor \"" + names[i] + "\" is not finite in " +
                                              std::string(dtype_name(dtype)));
        put({static_cast<const std::byte*>(part.data_ptr()), size_t(part.nbytes())});
      }
    };
    writes.push_back(std::move(write));
  }
  safetensors_write(weights, writes, {{"format", "pt"}});

  if (state.tokenizer) {
    const fs::path target_tok = dir / "tokenizer.model";
    // A tokenizer that already sits at the destination is the input: leave it untouched.
    if (!same_path(target_tok, state.tokenizer->path())) file_write_atomic(target_tok, state.tokenizer->model_proto());
  }
  ModelConfig config = state.config;
  config.torch_dtype = torch_dtype_name;
  file_write_atomic(dir / "config.json", config_to_json(config));
  if (job) job->progress(1.0, "saved " + dir.string());
}

}  // namespace qs
