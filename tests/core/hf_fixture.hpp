// Tiny Hugging Face checkpoint directories for loader and saver tests: a random tiny model saved
// with model_save, and a way to rewrite its tensors to make malformed variants.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/temp_dir.hpp"
#include "core/tiny_model.hpp"
#include "quantscope/model.hpp"
#include "quantscope/safetensors.hpp"

namespace qs::test {

// Saves a tiny random model (see tiny_model.hpp) as an HF directory and returns the in-memory model.
inline std::shared_ptr<Model> tiny_hf_write(const std::filesystem::path& dir, bool tied = false, bool biases = true) {
  auto model = std::make_shared<Model>(tiny_state(tiny_config(tied, biases), 7));
  model_save(*model, dir, DType::F32);
  return model;
}

struct OwnedTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

inline std::vector<OwnedTensor> tensors_read(const std::filesystem::path& file) {
  const SafetensorsFile st = SafetensorsFile::open(file);
  std::vector<OwnedTensor> out;
  for (const TensorInfo& info : st.tensors()) {
    const auto bytes = st.bytes(info);
    out.push_back({info.name, info.dtype, info.shape, std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())});
  }
  return out;
}

inline void tensors_write(const std::filesystem::path& file, const std::vector<OwnedTensor>& tensors) {
  std::vector<TensorWrite> writes;
  for (const OwnedTensor& t : tensors)
    writes.push_back({t.name, t.dtype, t.shape, std::as_bytes(std::span(t.bytes.data(), t.bytes.size()))});
  safetensors_write(file, writes);
}

// Rewrites dir/model.safetensors after `mutate` edited its tensors.
inline void tensors_rewrite(const std::filesystem::path& dir, const std::function<void(std::vector<OwnedTensor>&)>& mutate) {
  auto tensors = tensors_read(dir / "model.safetensors");
  mutate(tensors);
  tensors_write(dir / "model.safetensors", tensors);
}

}  // namespace qs::test
