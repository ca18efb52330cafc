// A checkpoint's layers that are already in their plan format (a GGUF's q4_k layer exported to a
// packed folder or to GGUF again, a packed checkpoint exported again) are written from their stored
// bytes rather than quantized anew: quantizing decoded values again need not give the same blocks, and
// converting a checkpoint should keep every bit.
#include <torch/torch.h>

#include <algorithm>

#include "export/export_targets.hpp"
#include "io/mapped_file.hpp"
#include "model/model_state.hpp"
#include "model/rope_rows.hpp"
#include "quantscope/error.hpp"

namespace qs {

bool stored_as_planned(const ModelState& state, const LayerFormat& lf) {
  const std::string tensor = lf.name + ".weight";
  const auto it = state.stored.find(tensor);
  return it != state.stored.end() && !state.tensors.count(tensor) && it->second.format &&
         *it->second.format == lf.format && lf.codebooks.empty();
}

std::vector<uint8_t> stored_packed(const ModelState& state, const std::string& tensor) {
  const StoredTensor& s = state.stored.at(tensor);
  std::vector<uint8_t> bytes;
  for (const auto& [offset, size] : s.sections) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.file->data() + offset);
    bytes.insert(bytes.end(), p, p + size);
  }
  if (s.rope_heads == 0) return bytes;
  // Only GGUF's block types carry permuted rows, and their blocks never span rows.
  if (s.format->family != QuantFamily::Gguf)
    throw Error(ErrorKind::Invalid, tensor + ": internal: permuted rows in a format whose blocks span rows");
  const int64_t rows = s.shape.at(0);
  const torch::Tensor blocks = torch::from_blob(bytes.data(), {rows, int64_t(bytes.size()) / rows}, torch::kUInt8);
  const torch::Tensor halves = rope_rows_to_halves(blocks, s.rope_heads).contiguous();
  return {halves.data_ptr<uint8_t>(), halves.data_ptr<uint8_t>() + halves.numel()};
}

std::vector<LayerFormat> plan_with_stored_formats(const Model& model, const std::vector<LayerFormat>& plan,
                                                  ExportTarget target) {
  if (target != ExportTarget::Quantscope && target != ExportTarget::Gguf) return plan;
  std::vector<LayerFormat> result = plan;
  const ModelState& state = model.state();
  std::vector<std::string> names = {"model.embed_tokens"};
  for (const LinearLayer& l : model.linear_layers()) names.push_back(l.name);
  for (const std::string& name : names) {
    const auto it = state.stored.find(name + ".weight");
    if (it == state.stored.end() || !it->second.format || state.tensors.count(name + ".weight")) continue;
    if (target == ExportTarget::Gguf && it->second.format->family != QuantFamily::Gguf) continue;
    if (std::none_of(plan.begin(), plan.end(), [&](const LayerFormat& lf) { return lf.name == name; }))
      result.push_back({name, *it->second.format, std::nullopt, {}});
  }
  return result;
}

}  // namespace qs
