// See export_folder.hpp.
#include "export/export_folder.hpp"

#include <torch/torch.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "io/atomic_file.hpp"
#include "io/directory_remove.hpp"
#include "io/safetensors_torch.hpp"
#include "model/hf_layout.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/output_dir.hpp"
#include "quantscope/safetensors.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kBlockValues = int64_t{1} << 24;

}  // namespace

uint64_t FolderTensor::bytes() const {
  uint64_t n = uint64_t(dtype_bits(dtype) / 8);
  for (const int64_t d : shape) n *= uint64_t(d);
  return n;
}

std::vector<FolderTensor> folder_layout(const ModelState& state, const std::vector<LayerFormat>& plan,
                                        const ExportOptions& options, const LayerParts& parts) {
  std::map<std::string, const LayerFormat*> planned;
  for (const LayerFormat& lf : plan) planned[lf.name + ".weight"] = &lf;
  std::vector<FolderTensor> tensors;
  for (const HfTensor& spec : hf_layout(state.config)) {
    const auto it = planned.find(spec.name);
    const std::vector<int64_t> shape = state.shape(spec.name);
    if (it != planned.end() && it->second->format.quantized()) {
      for (FolderTensor& t : parts(spec.name, shape.at(0), shape.at(1), *it->second)) tensors.push_back(std::move(t));
      continue;
    }
    DType dtype = it != planned.end() ? it->second->format.dtype : options.float_dtype.value_or(DType::F32);
    if (it == planned.end() && !options.float_dtype && state.stored.count(spec.name)) {
      const DType stored = state.stored_dtype(spec.name);  // F32 for a dtype a folder target does not write
      if (stored == DType::BF16 || stored == DType::F16) dtype = stored;
    }
    tensors.push_back({spec.name, spec.name, dtype, shape});
  }
  return tensors;
}

uint64_t folder_size(const ModelState& state, const std::vector<FolderTensor>& tensors) {
  uint64_t bytes = state.tokenizer ? state.tokenizer->model_proto().size() : 0;
  for (const FolderTensor& t : tensors) bytes += t.bytes();
  return bytes;
}

void folder_output_check(const ModelState& state, const fs::path& out, bool force) {
  std::error_code ec;
  if (fs::is_directory(state.source, ec) && fs::exists(out, ec) && fs::equivalent(out, state.source, ec))
    throw Error(ErrorKind::Invalid, out.string() + ": refusing to write into the folder the model was loaded from");
  if (!fs::exists(out, ec)) return;
  if (!fs::is_directory(out, ec)) throw Error(ErrorKind::Invalid, out.string() + ": exists and is not a folder");
  if (fs::is_empty(out, ec)) return;
  if (!force)
    throw Error(ErrorKind::Invalid, out.string() + ": exists and is not empty; --force replaces a folder Quantscope wrote");
  if (!output_dir_owned(out, OutputKind::Model))
    throw Error(ErrorKind::Invalid, out.string() + ": holds files Quantscope did not write; it is never replaced");
}

void folder_publish(const ModelState& state, const fs::path& out, bool force,
                    const std::function<void(const fs::path& staging)>& write) {
  folder_output_check(state, out, force);
  const fs::path target = out.filename().empty() ? out.parent_path() : out;
  const fs::path staging =
      target.parent_path() / ("." + target.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::error_code ec;
  directory_remove(staging, ec);
  output_dir_claim(staging, OutputKind::Model);
  try {
    write(staging);
    if (!fs::exists(target, ec)) {
      fs::rename(staging, target);
    } else {
      if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0)
        throw Error(ErrorKind::Io, target.string() + ": cannot put the new export in place: " +
                                       std::error_code(errno, std::generic_category()).message());
      directory_remove(staging, ec);  // now the earlier export
    }
  } catch (...) {
    directory_remove(staging, ec);
    throw;
  }
}

void folder_write(const ModelState& state, const std::vector<FolderTensor>& tensors, const PartBytes& part_bytes,
                  const nlohmann::ordered_json& quantization_config, const fs::path& out, const ExportOptions& options) {
  JobContext* job = options.job;
  // The layer whose parts are being written, quantized when its first part is reached.
  const LayerFormat* current = nullptr;
  QuantizerOutput q;
  std::vector<TensorWrite> writes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const FolderTensor& t = tensors[i];
    TensorWrite write{t.name, t.dtype, t.shape, {}, {}};
    write.produce = [&, i](const std::function<void(std::span<const std::byte>)>& put) {
      const FolderTensor& t = tensors[i];
      if (job) {
        job->check_cancelled();
        job->progress(double(i) / tensors.size(), "writing " + t.name);
      }
      if (!t.layer) {
        // A block of rows at a time: an 8B model's head is 525M values.
        const int64_t rows = t.shape.at(0), cols = t.shape.size() == 2 ? t.shape[1] : 1;
        const int64_t block = std::max<int64_t>(1, kBlockValues / cols);
        for (int64_t begin = 0; begin < rows; begin += block) {
          const torch::Tensor v =
              state.values(t.tensor, begin, std::min(block, rows - begin)).to(*dtype_to_torch(t.dtype)).contiguous();
          put({static_cast<const std::byte*>(v.data_ptr()), size_t(v.nbytes())});
        }
        return;
      }
      if (t.layer != current) {
        q = {};
        current = nullptr;
      }
      const auto quantized = [&]() -> const QuantizerOutput& {
        if (current != t.layer) {
          q = quantizer_run(t.layer->format,
                            plan_layer_input(state, *t.layer, options.quantize, 0, state.shape(t.tensor).at(0), job));
          q.dequant = torch::Tensor();  // the parts are made of codes, scales and codebooks
          current = t.layer;
        }
        return q;
      };
      const std::vector<uint8_t> bytes = part_bytes(t, quantized);
      if (bytes.size() != t.bytes())
        throw Error(ErrorKind::Invalid, t.name + ": internal: " + std::to_string(bytes.size()) + " bytes made for " +
                                           std::to_string(t.bytes()));
      put({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
    };
    writes.push_back(std::move(write));
  }
  safetensors_write(out / "model.safetensors", writes, {{"format", "pt"}});
  if (state.tokenizer) file_write_atomic(out / "tokenizer.model", state.tokenizer->model_proto());
  ModelConfig config = state.config;
  const DType float_dtype = options.float_dtype.value_or(DType::F32);
  config.torch_dtype = float_dtype == DType::BF16 ? "bfloat16" : float_dtype == DType::F16 ? "float16" : "float32";
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(config_to_json(config));
  j["quantization_config"] = quantization_config;
  file_write_atomic(out / "config.json", j.dump(2) + "\n");
  if (job) job->progress(1.0, "exported " + out.string());
}

}  // namespace qs
