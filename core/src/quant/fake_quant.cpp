// Fake quantization: the quantizer families run on the detached tensor, and one autograd function
// passes the gradient through the estimator's mask. The mask is worked out generically from the
// quantizer's normalised values, codes and grid/codebook, so every family gets every estimator with
// one definition: the local half-step is half the gap between the assigned level and its neighbour
// on the value's side (the outermost levels use their inner gap), and the clip range runs from the
// lowest level to the highest, scaled about its centre. For QuEST's grid these are exactly Δ/2 and
// ±α_b·σ (its outermost levels).
#include "quant/fake_quant.hpp"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "quantscope/error.hpp"

namespace qs {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Forward q (computed outside), backward mask ⊙ grad; scales and codebooks get no gradient. An empty
// mask means straight-through (autograd functions take defined tensors only).
struct FakeQuantizeFunction : public torch::autograd::Function<FakeQuantizeFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& q,
                               const torch::Tensor& mask) {
    ctx->saved_data["masked"] = mask.numel() > 0;
    if (mask.numel() > 0) ctx->save_for_backward({mask});
    return q.to(x.scalar_type()).clone();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    torch::Tensor grad = grads[0];
    if (ctx->saved_data["masked"].toBool()) grad = grad * ctx->get_saved_variables()[0].to(grad.scalar_type());
    return {grad, torch::Tensor(), torch::Tensor()};
  }
};

// Sylvester (natural order) Hadamard of size n scaled by n^-1/2, as kernels/hadamard.hpp applies it.
torch::Tensor hadamard_matrix(int64_t n, const torch::Device& device) {
  static std::mutex mutex;
  static std::map<std::pair<int64_t, std::string>, torch::Tensor> cache;
  std::lock_guard lock(mutex);
  torch::Tensor& h = cache[{n, device.str()}];
  if (!h.defined()) {
    const torch::Tensor i = torch::arange(n, torch::kInt64);
    const torch::Tensor bits = torch::bitwise_and(i.unsqueeze(1), i.unsqueeze(0));
    torch::Tensor parity = torch::zeros({n, n}, torch::kInt64);
    for (int64_t b = 1; b < n; b <<= 1) parity = parity + torch::bitwise_and(bits, b).ne(0).to(torch::kInt64);
    h = (1 - 2 * torch::remainder(parity, 2)).to(torch::kFloat32).div(std::sqrt(double(n))).to(device);
  }
  return h;
}

// Which codebook row each element reads: 0 for a shared codebook, else row × books-per-row + segment.
torch::Tensor book_index(const FormatSpec& spec, int64_t n, int64_t rows, int64_t cols, const torch::Device& device) {
  const auto opts = torch::TensorOptions().dtype(torch::kInt64).device(device);
  if (n == 1) return torch::zeros({rows, cols}, opts);
  const int64_t segment = kmeans_segment(spec, cols);
  const int64_t per_row = (cols + segment - 1) / segment;
  return torch::arange(rows, opts).mul(per_row).unsqueeze(1) + torch::arange(cols, opts).div(segment, "floor").unsqueeze(0);
}

}  // namespace

torch::Tensor hadamard_rotate(const torch::Tensor& x, int64_t block) {
  if (block <= 1) return x;
  const torch::Tensor h = hadamard_matrix(block, x.device()).to(x.scalar_type());
  return x.reshape({-1, block}).matmul(h).reshape(x.sizes());
}

torch::Tensor estimator_mask(const QuantizerOutput& q, const FormatSpec& spec, const EstimatorSettings& estimator) {
  if (estimator.kind == GradientEstimator::Ste) return {};
  const torch::Tensor& u = q.normalized;
  const int64_t rows = u.size(0), cols = u.size(1);
  const torch::Tensor books = q.codebooks.to(u.device(), torch::kFloat32).contiguous();
  const int64_t n = books.size(0), k = books.size(1);
  const torch::Tensor flat = books.reshape({-1});
  const torch::Tensor base = book_index(spec, n, rows, cols, u.device()) * k;
  const torch::Tensor code = q.codes.to(torch::kInt64);
  const auto level_at = [&](const torch::Tensor& c) { return torch::take(flat, base + c); };
  if (estimator.kind == GradientEstimator::Clip) {
    const torch::Tensor low = level_at(torch::zeros_like(code)), high = level_at(torch::full_like(code, k - 1));
    return (u - (low + high) / 2).abs() <= (high - low) / 2 * estimator.clip_factor;
  }
  const torch::Tensor level = level_at(code);
  torch::Tensor up = level_at(torch::clamp_max(code + 1, k - 1)) - level;
  torch::Tensor down = level - level_at(torch::clamp_min(code - 1, 0));
  up = torch::where(code == k - 1, down, up);
  down = torch::where(code == 0, up, down);
  const torch::Tensor gap = torch::where(u >= level, up, down);
  return (u - level).abs() <= gap * (estimator.trust_factor / 2);
}

torch::Tensor fake_quantize(const torch::Tensor& x, const FormatSpec& spec, const EstimatorSettings& estimator,
                            const FakeQuantInput& extra, FakeQuantStats* stats, torch::Tensor* codebooks_out) {
  const bool rotated = (spec.family == QuantFamily::Quest || spec.family == QuantFamily::KMeans) && spec.hadamard > 1;
  if (rotated && x.size(1) % spec.hadamard != 0)
    throw Error(ErrorKind::Invalid, extra.name + ": " + std::to_string(x.size(1)) +
                                        " inputs are not a multiple of the Hadamard block of " + format_print(spec));
  const torch::Tensor xr = rotated ? hadamard_rotate(x, spec.hadamard) : x;
  FormatSpec inner = spec;
  if (rotated) inner.hadamard = spec.family == QuantFamily::Quest ? 1 : 0;
  QuantizerInput input;
  input.weight = xr.detach().to(torch::kFloat32).contiguous();
  input.importance = extra.importance;
  input.codebooks = extra.codebooks;
  input.want_normalized = estimator.kind != GradientEstimator::Ste;
  input.trusted = true;
  input.name = extra.name;
  QuantizerOutput q;
  {
    torch::NoGradGuard no_grad;
    q = quantizer_run(inner, input);
  }
  const torch::Tensor mask = spec.quantized() ? estimator_mask(q, spec, estimator) : torch::Tensor();
  if (stats) {
    torch::NoGradGuard no_grad;
    stats->masked = mask.defined() ? 1 - mask.to(torch::kFloat32).mean() : torch::zeros({}, input.weight.options());
    stats->error = (q.dequant - input.weight).pow(2).sum() / input.weight.pow(2).sum().clamp_min(1e-30);
  }
  if (codebooks_out && q.codebooks.defined()) *codebooks_out = q.codebooks;
  const torch::Tensor y =
      FakeQuantizeFunction::apply(xr, q.dequant, mask.defined() ? mask : torch::empty({0}, torch::kBool));
  return rotated ? hadamard_rotate(y, spec.hadamard) : y;
}

torch::Tensor activation_fake_quantize(const torch::Tensor& input, const FormatSpec& spec,
                                       const EstimatorSettings& estimator, const std::string& name,
                                       FakeQuantStats* stats) {
  const torch::Tensor rows = input.to(torch::kFloat32).reshape({-1, input.size(-1)});
  const torch::Tensor q = fake_quantize(rows, spec, estimator, {.name = name + " (input)"}, stats);
  return q.reshape(input.sizes()).to(input.scalar_type());
}

}  // namespace qs
