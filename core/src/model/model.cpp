// qs::Model, the front ends' window onto a ModelState (names, shapes, float copies, so they never see
// a LibTorch type), and ModelState's reading of stored tensors: the one place a weight in a file
// becomes a weight the forward pass computes with.
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "model/hf_layout.hpp"
#include "io/mapped_file.hpp"
#include "model/model_state.hpp"
#include "model/packed_linear.hpp"
#include "model/rope_rows.hpp"
#include "io/safetensors_torch.hpp"
#include "quantscope/error.hpp"
#include "quantscope/quantize.hpp"

namespace qs {
namespace {

// Rows [begin, begin + count) of a quantized tensor decoded to float32. GGUF's blocks never span rows,
// so those rows alone are decoded; the other formats' scales and codebooks may, so the whole tensor is.
torch::Tensor packed_decode(const StoredTensor& s, int64_t begin, int64_t count) {
  const FormatSpec& spec = *s.format;
  const int64_t out = s.shape.at(0), in = s.shape.at(1);
  const std::byte* base = s.file->data();
  std::vector<float> w;
  if (spec.family == QuantFamily::Gguf) {
    const uint64_t row_bytes = s.sections.front().second / uint64_t(out);
    const auto* first = reinterpret_cast<const uint8_t*>(base + s.sections.front().first + uint64_t(begin) * row_bytes);
    w = tensor_dequantize(spec, {first, uint64_t(count) * row_bytes}, count, in);
    begin = 0;
  } else {
    std::vector<uint8_t> packed;
    for (const auto& [offset, bytes] : s.sections) {
      const auto* p = reinterpret_cast<const uint8_t*>(base + offset);
      packed.insert(packed.end(), p, p + bytes);
    }
    w = tensor_dequantize(spec, packed, out, in);
  }
  torch::Tensor t = torch::from_blob(w.data(), {int64_t(w.size()) / in, in}, torch::kFloat32).clone();
  return begin > 0 || count < t.size(0) ? t.narrow(0, begin, count).clone() : t;
}

// The stored bytes as a tensor of the stored dtype without copying; the view keeps the mapping alive.
// Data a file does not align to its element size is copied (safetensors permits any offset).
torch::Tensor stored_view(const StoredTensor& s) {
  if (s.format) return packed_decode(s, 0, s.shape.at(0));
  const torch::Dtype dtype = *dtype_to_torch(s.dtype);
  const std::byte* data = s.file->data() + s.offset;
  const size_t element = size_t(dtype_bits(s.dtype) / 8);
  if (reinterpret_cast<uintptr_t>(data) % element != 0) {
    torch::Tensor aligned = torch::empty(s.shape, torch::TensorOptions().dtype(dtype));
    std::memcpy(aligned.data_ptr(), data, s.bytes());
    return aligned;
  }
  auto keep = s.file;
  return torch::from_blob(const_cast<std::byte*>(data), s.shape, [keep](void*) {},
                          torch::TensorOptions().dtype(dtype));
}

void finite_check(const torch::Tensor& t, const StoredTensor& s, const std::string& name) {
  if (!torch::isfinite(t).all().item<bool>())
    throw Error(ErrorKind::Numeric, s.file->path().string() + ": tensor " + name + " contains NaN or Inf" +
                                        (*dtype_to_torch(s.dtype) != t.scalar_type()
                                             ? " (after conversion to the compute dtype)"
                                             : ""));
}

// Rows of a stored tensor in `dtype` on `device`, not checked for NaN.
torch::Tensor stored_convert(const StoredTensor& s, int64_t begin, int64_t count, torch::Device device,
                             torch::Dtype dtype) {
  // A weight read under an evaluation's InferenceMode would be an inference tensor, which a later
  // gradient pass (calibration, training) could not use once it is cached.
  c10::InferenceMode normal(false);
  // Rows of a GGUF tensor decode alone; permuted rows come from all over it.
  const bool rows_alone = s.format && s.format->family == QuantFamily::Gguf && s.rope_heads == 0;
  const torch::Tensor view = rows_alone ? packed_decode(s, begin, count) : stored_view(s);
  if (rows_alone) begin = 0;
  torch::Tensor t = s.rope_heads > 0 ? rope_rows_to_halves(view, s.rope_heads) : view;
  if (begin > 0 || count < t.size(0)) t = t.narrow(0, begin, count);
  t = t.to(device, dtype).contiguous();
  // A copy no longer needs the file's pages in memory.
  if (s.format) {
    for (const auto& [offset, bytes] : s.sections) s.file->release(offset, bytes);
  } else if (!t.is_alias_of(view)) {
    const uint64_t row_bytes = s.bytes() / uint64_t(s.shape.at(0));
    const bool whole = s.rope_heads > 0;  // permuted rows come from all over the tensor
    s.file->release(s.offset + (whole ? 0 : uint64_t(begin) * row_bytes), whole ? s.bytes() : uint64_t(count) * row_bytes);
  }
  return t;
}

}  // namespace

std::string_view residency_name(Residency residency) {
  return residency == Residency::Resident ? "resident" : "streamed";
}

int64_t StoredTensor::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

uint64_t StoredTensor::bytes() const {
  if (!format) return (uint64_t(numel()) * uint64_t(dtype_bits(dtype)) + 7) / 8;
  uint64_t total = 0;
  for (const auto& section : sections) total += section.second;
  return total;
}

std::vector<std::string> ModelState::names() const {
  std::set<std::string> all;
  for (const auto& [name, t] : tensors) all.insert(name);
  for (const auto& [name, s] : stored) all.insert(name);
  return {all.begin(), all.end()};
}

std::vector<int64_t> ModelState::shape(const std::string& name) const {
  if (const auto it = tensors.find(name); it != tensors.end()) return {it->second.sizes().begin(), it->second.sizes().end()};
  if (const auto it = stored.find(name); it != stored.end()) return it->second.shape;
  throw Error(ErrorKind::Invalid, source.string() + ": no tensor named " + name);
}

torch::Tensor ModelState::tensor(const std::string& name) const {
  // Held weights a streamed model keeps in a scratch file are on the CPU.
  if (const auto it = tensors.find(name); it != tensors.end()) return it->second.to(torch_device());
  const auto it = stored.find(name);
  if (it == stored.end()) throw Error(ErrorKind::Invalid, source.string() + ": no tensor named " + name);
  {
    std::lock_guard lock(cache->mutex);
    if (const auto c = cache->converted.find(name); c != cache->converted.end()) return c->second;
  }
  const StoredTensor& s = it->second;
  torch::Tensor t = stored_convert(s, 0, s.shape.at(0), torch_device(), s.keep_f32 ? torch::kFloat32 : compute_dtype());
  bool checked = false;
  {
    std::lock_guard lock(cache->mutex);
    checked = cache->checked.count(name) > 0;
  }
  if (!checked) finite_check(t, it->second, name);
  std::lock_guard lock(cache->mutex);
  cache->checked.insert(name);
  if (residency == Residency::Resident) cache->converted.emplace(name, t);
  return t;
}

torch::Tensor ModelState::rows(const std::string& name, int64_t begin, int64_t count) const {
  const std::vector<int64_t> size = shape(name);
  if (size.size() != 2 || begin < 0 || count < 0 || begin + count > size[0])
    throw Error(ErrorKind::Invalid, source.string() + ": rows [" + std::to_string(begin) + ", " +
                                        std::to_string(begin + count) + ") of " + name + " do not exist");
  const auto it = stored.find(name);
  if (tensors.count(name) || it == stored.end() || it->second.rope_heads > 0) return tensor(name).narrow(0, begin, count);
  {
    std::lock_guard lock(cache->mutex);
    if (const auto c = cache->converted.find(name); c != cache->converted.end()) return c->second.narrow(0, begin, count);
  }
  const StoredTensor& s = it->second;
  torch::Tensor t = stored_convert(s, begin, count, torch_device(), s.keep_f32 ? torch::kFloat32 : compute_dtype());
  finite_check(t, s, name);
  return t;
}

torch::Tensor ModelState::rows_select(const std::string& name, const torch::Tensor& index) const {
  const auto it = stored.find(name);
  if (tensors.count(name) || it == stored.end() || it->second.rope_heads > 0 || it->second.format ||
      residency == Residency::Resident)
    return torch::embedding(tensor(name), index);
  const StoredTensor& s = it->second;
  if (s.shape.size() != 2) throw Error(ErrorKind::Invalid, source.string() + ": " + name + " is not a matrix");
  const torch::Tensor picked = torch::embedding(stored_view(s), index.to(torch::kCPU));
  const torch::Tensor t = picked.to(torch_device(), s.keep_f32 ? torch::kFloat32 : compute_dtype()).contiguous();
  finite_check(t, s, name);
  return t;
}

torch::Tensor ModelState::values(const std::string& name, int64_t begin, int64_t count) const {
  const std::vector<int64_t> size = shape(name);
  if (size.empty() || begin < 0 || count < 0 || begin + count > size[0])
    throw Error(ErrorKind::Invalid, source.string() + ": rows [" + std::to_string(begin) + ", " +
                                        std::to_string(begin + count) + ") of " + name + " do not exist");
  const auto it = stored.find(name);
  if (tensors.count(name) || it == stored.end())
    return tensor(name).detach().narrow(0, begin, count).to(torch::kCPU, torch::kFloat32).contiguous();
  return stored_convert(it->second, begin, count, torch::kCPU, torch::kFloat32);
}

DType ModelState::stored_dtype(const std::string& name) const {
  const auto it = stored_dtypes.find(name);
  if (it == stored_dtypes.end()) throw Error(ErrorKind::Invalid, source.string() + ": no tensor named " + name);
  return it->second;
}

uint64_t ModelState::conversion_bytes() const {
  uint64_t total = 0;
  for (const auto& [name, s] : stored) {
    if (tensors.count(name)) continue;
    const torch::Dtype target = s.keep_f32 ? torch::kFloat32 : compute_dtype();
    const bool view = device == Device::Cpu && s.rope_heads == 0 && !s.format && dtype_to_torch(s.dtype) == target;
    if (!view) total += uint64_t(s.numel()) * torch::elementSize(target);
  }
  return total;
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
    const std::vector<int64_t> sizes = state_->shape(spec.name);
    layer.out_features = sizes[0];
    layer.in_features = sizes[1];
    layer.stored_dtype = state_->stored_dtype(spec.name);
    layer.stored_format = tensor_stored_format(spec.name);
    out.push_back(std::move(layer));
  }
  return out;
}

std::vector<std::string> Model::tensor_names() const { return state_->names(); }

std::vector<int64_t> Model::tensor_shape(const std::string& name) const { return state_->shape(name); }

int64_t Model::parameter_count() const {
  int64_t total = 0;
  for (const std::string& name : state_->names()) {
    int64_t n = 1;
    for (const int64_t d : state_->shape(name)) n *= d;
    total += n;
  }
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

int64_t Model::packed_layers() const { return int64_t(state_->packed.size()); }

uint64_t Model::packed_bytes() const {
  uint64_t bytes = 0;
  for (const auto& [name, layer] : state_->packed) bytes += layer->bytes();
  return bytes;
}

std::string Model::identity() const {
  if (state_->source_identity.empty())
    throw Error(ErrorKind::Invalid, state_->source.string() + ": a model made in memory has no file identity");
  std::string out;
  for (const std::string& line : state_->source_identity) out += (out.empty() ? "" : "; ") + line;
  return out;
}

DType Model::tensor_stored_dtype(const std::string& name) const { return state_->stored_dtype(name); }

uint64_t Model::tensor_stored_bytes(const std::string& name) const {
  if (const auto it = state_->stored.find(name); it != state_->stored.end()) return it->second.bytes();
  int64_t n = 1;
  for (const int64_t d : state_->shape(name)) n *= d;
  return (uint64_t(n) * uint64_t(dtype_bits(state_->stored_dtype(name))) + 7) / 8;
}
std::string Model::tensor_stored_format(const std::string& name) const {
  const auto it = state_->stored.find(name);
  return it != state_->stored.end() && it->second.format ? format_print(*it->second.format) : std::string();
}

std::shared_ptr<const Tokenizer> Model::tokenizer() const { return state_->tokenizer; }
Device Model::device() const { return state_->device; }
ComputeType Model::compute() const { return state_->compute; }
Residency Model::residency() const { return state_->residency; }
uint64_t Model::memory_budget() const { return state_->memory_budget; }
uint64_t Model::conversion_bytes() const { return state_->conversion_bytes(); }

std::vector<float> Model::tensor_values(const std::string& name) const {
  const torch::Tensor t = state_->values(name, 0, state_->shape(name).at(0));
  const float* data = t.data_ptr<float>();
  return std::vector<float>(data, data + t.numel());
}

}  // namespace qs
