// qs::Model: the front ends' window onto a ModelState (names, shapes, float copies), so they never
// see a LibTorch type.
#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "hf_layout.hpp"
#include "model_state.hpp"
#include "quantscope/error.hpp"

namespace qs {

const torch::Tensor& ModelState::tensor(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(ErrorKind::Invalid, source.string() + ": no tensor named " + name);
  return it->second;
}

DType ModelState::stored_dtype(const std::string& name) const {
  const auto it = stored_dtypes.find(name);
  if (it == stored_dtypes.end()) throw Error(ErrorKind::Invalid, source.string() + ": no tensor named " + name);
  return it->second;
}

Model::Model(std::shared_ptr<ModelState> state) : state_(std::move(state)) {}
Model::~Model() = default;

const ModelConfig& Model::config() const { return state_->config; }
const std::filesystem::path& Model::source() const { return state_->source; }
std::string Model::source_format() const { return state_->source_format; }

std::vector<LinearLayer> Model::linear_layers() const {
  std::vector<LinearLayer> out;
  for (const HfTensor& spec : hf_layout(state_->config)) {
    if (spec.kind != TensorKind::LinearWeight) continue;
    LinearLayer layer;
    layer.name = spec.name.substr(0, spec.name.size() - std::string(".weight").size());
    layer.layer = spec.layer;
    layer.role = spec.role;
    const auto sizes = state_->tensor(spec.name).sizes();
    layer.out_features = sizes[0];
    layer.in_features = sizes[1];
    layer.stored_dtype = state_->stored_dtype(spec.name);
    out.push_back(std::move(layer));
  }
  return out;
}

std::vector<std::string> Model::tensor_names() const {
  std::vector<std::string> names;
  names.reserve(state_->tensors.size());
  for (const auto& [name, tensor] : state_->tensors) names.push_back(name);
  return names;
}

std::vector<int64_t> Model::tensor_shape(const std::string& name) const {
  const auto sizes = state_->tensor(name).sizes();
  return {sizes.begin(), sizes.end()};
}

int64_t Model::parameter_count() const {
  int64_t total = 0;
  for (const auto& [name, tensor] : state_->tensors) total += tensor.numel();
  return total;
}

std::vector<DType> Model::stored_dtypes() const {
  std::map<DType, uint64_t> bytes;
  for (const auto& [name, dtype] : state_->stored_dtypes) bytes[dtype] += tensor_stored_bytes(name);
  std::vector<DType> out;
  for (const auto& [dtype, n] : bytes) out.push_back(dtype);
  std::stable_sort(out.begin(), out.end(), [&](DType a, DType b) { return bytes[a] > bytes[b]; });
  return out;
}

uint64_t Model::stored_bytes() const { return state_->stored_bytes; }

std::string Model::identity() const {
  if (state_->source_identity.empty())
    throw Error(ErrorKind::Invalid, state_->source.string() + ": a model made in memory has no file identity");
  std::string out;
  for (const std::string& line : state_->source_identity) out += (out.empty() ? "" : "; ") + line;
  return out;
}

DType Model::tensor_stored_dtype(const std::string& name) const { return state_->stored_dtype(name); }

uint64_t Model::tensor_stored_bytes(const std::string& name) const {
  return (uint64_t(state_->tensor(name).numel()) * uint64_t(dtype_bits(state_->stored_dtype(name))) + 7) / 8;
}
std::shared_ptr<const Tokenizer> Model::tokenizer() const { return state_->tokenizer; }
Device Model::device() const { return state_->device; }
ComputeType Model::compute() const { return state_->compute; }

std::vector<float> Model::tensor_values(const std::string& name) const {
  const torch::Tensor t =
      state_->tensor(name).detach().to(torch::kCPU, torch::kFloat32, /*non_blocking=*/false, /*copy=*/false).contiguous();
  const float* data = t.data_ptr<float>();
  return std::vector<float>(data, data + t.numel());
}

}  // namespace qs
