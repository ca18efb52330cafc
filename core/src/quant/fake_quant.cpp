// Fake quantization: the quantizer families run on the detached tensor, and one autograd function
// passes the gradient through the estimator's mask. The mask is worked out generically from the
// quantizer's normalised values, codes and grid/codebook, so every family gets every estimator with
// one definition: the local half-step is half the gap between the assigned level and its neighbour
// on the value's side (the outermost levels use their inner gap), and the clip range runs from the
// lowest level to the highest, scaled about its centre. For QuEST's grid these are exactly Δ/2 and
// ±α_b·σ (its outermost levels).
//
// On CUDA, QuEST and k-means with a pinned shared codebook take the fused kernels of
// kernels/fused_fake_quant.hpp instead: the same quantizers' arithmetic and the same mask in one pass
// forward and one backward, which is what makes QAT cost close to training.
#include "quant/fake_quant.hpp"

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "fused_fake_quant.hpp"
#include "quant/code_levels.hpp"
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

#ifdef QS_WITH_CUDA
// The fused kernels as one autograd function: the forward pass writes q(x) and the mask, the backward
// pass rotates, masks and rotates back. Scales and levels get no gradient.
struct FusedFakeQuantizeFunction : public torch::autograd::Function<FusedFakeQuantizeFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& levels,
                               kernels::FakeQuantSpec spec, torch::Tensor* row_stats) {
    spec.levels = levels.data_ptr<float>();
    const bool bf16 = x.scalar_type() == torch::kBFloat16;
    torch::Tensor y = torch::empty_like(x);
    const torch::Tensor mask = spec.mask == kernels::FakeQuantMask::None
                                   ? torch::Tensor()
                                   : torch::empty(x.sizes(), x.options().dtype(torch::kUInt8));
    *row_stats = torch::empty({spec.rows, kernels::kFakeQuantRowStats}, x.options().dtype(torch::kFloat32));
    kernels::fake_quant_forward_cuda(spec, x.data_ptr(), y.data_ptr(), bf16,
                                     mask.defined() ? mask.data_ptr<uint8_t>() : nullptr,
                                     row_stats->data_ptr<float>(), nullptr);
    if (mask.defined()) ctx->save_for_backward({mask, levels});
    ctx->saved_data["spec"] = c10::IValue(std::vector<int64_t>{
        spec.rows, spec.cols, spec.hadamard, int64_t(spec.grid), spec.bits, spec.block, spec.k, int64_t(spec.mask)});
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const std::vector<int64_t> v = ctx->saved_data["spec"].toIntVector();
    kernels::FakeQuantSpec spec;
    spec.rows = v[0], spec.cols = v[1], spec.hadamard = v[2], spec.grid = kernels::FakeQuantGrid(v[3]);
    spec.bits = int(v[4]), spec.block = v[5], spec.k = int(v[6]), spec.mask = kernels::FakeQuantMask(v[7]);
    if (spec.mask == kernels::FakeQuantMask::None) return {grads[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const auto saved = ctx->get_saved_variables();
    spec.levels = saved[1].data_ptr<float>();
    const torch::Tensor grad = grads[0].contiguous();
    torch::Tensor out = torch::empty_like(grad);
    kernels::fake_quant_backward_cuda(spec, grad.data_ptr(), saved[0].data_ptr<uint8_t>(), out.data_ptr(),
                                      grad.scalar_type() == torch::kBFloat16, nullptr);
    return {out, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// The device copy of QuEST's grid, made once per bit width and device.
torch::Tensor quest_levels_on(const FormatSpec& spec, const torch::Device& device) {
  static std::mutex mutex;
  static std::map<std::pair<int, std::string>, torch::Tensor> cache;
  std::lock_guard lock(mutex);
  torch::Tensor& levels = cache[{spec.bits, device.str()}];
  if (!levels.defined()) levels = torch::tensor(quest_grid(spec)).to(device);
  return levels;
}

// q(x) through the fused kernels, or an undefined tensor where they do not cover the case: a CUDA
// float32 or bf16 matrix; QuEST, or k-means with block scales and one pinned codebook.
torch::Tensor fused_fake_quantize(const torch::Tensor& x, const FormatSpec& spec, const EstimatorSettings& estimator,
                                  const FakeQuantInput& extra, FakeQuantStats* stats, torch::Tensor* codebooks_out) {
  if (!x.is_cuda() || x.dim() != 2 || (x.scalar_type() != torch::kFloat32 && x.scalar_type() != torch::kBFloat16))
    return {};
  kernels::FakeQuantSpec k;
  k.rows = x.size(0), k.cols = x.size(1), k.bits = spec.bits;
  torch::Tensor levels;
  if (spec.family == QuantFamily::Quest) {
    k.grid = kernels::FakeQuantGrid::Quest;
    k.alpha = float(quest_alpha(spec.bits));
    k.hadamard = spec.hadamard;
    levels = quest_levels_on(spec, x.device());
  } else if (spec.family == QuantFamily::KMeans && spec.granularity == Granularity::Block &&
             extra.codebooks.defined() && extra.codebooks.size(0) == 1) {
    k.grid = kernels::FakeQuantGrid::Codebook;
    k.block = kmeans_segment(spec, k.cols);
    k.absmean = spec.scale == BlockScale::Absmean;
    k.eps = kKMeansScaleEps;
    k.hadamard = spec.hadamard;
    levels = extra.codebooks.to(x.device(), torch::kFloat32).reshape({-1}).contiguous();
  } else {
    return {};
  }
  k.k = int(levels.numel());
  k.mask = estimator.kind == GradientEstimator::Trust  ? kernels::FakeQuantMask::Trust
           : estimator.kind == GradientEstimator::Clip ? kernels::FakeQuantMask::Clip
                                                       : kernels::FakeQuantMask::None;
  k.factor = float(estimator.kind == GradientEstimator::Trust ? estimator.trust_factor / 2 : estimator.clip_factor);
  k.levels = levels.data_ptr<float>();
  if (!kernels::fake_quant_fits_cuda(k)) return {};
  torch::Tensor row_stats;
  const torch::Tensor y = FusedFakeQuantizeFunction::apply(x.contiguous(), levels, k, &row_stats);
  if (stats)
    kernels::fake_quant_stats_add_cuda(row_stats.data_ptr<float>(), k.rows, x.numel(), stats->sums.data_ptr<float>(),
                                       nullptr);
  if (codebooks_out && spec.family == QuantFamily::KMeans) *codebooks_out = extra.codebooks;
  return y;
}
#endif

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
#ifdef QS_WITH_CUDA
  // QUANTSCOPE_FAKE_QUANT=generic keeps the generic path on CUDA: the baseline the QAT benchmark
  // measures the kernels against in the same run.
  static const bool generic_only = [] {
    const char* env = std::getenv("QUANTSCOPE_FAKE_QUANT");
    return env && std::string(env) == "generic";
  }();
  if (spec.quantized() && !generic_only)
    if (torch::Tensor y = fused_fake_quantize(x, spec, estimator, extra, stats, codebooks_out); y.defined()) return y;
#endif
  if (x.scalar_type() != torch::kFloat32)
    return fake_quantize(x.to(torch::kFloat32), spec, estimator, extra, stats, codebooks_out).to(x.scalar_type());
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
    const torch::Tensor masked =
        mask.defined() ? 1 - mask.to(torch::kFloat32).mean() : torch::zeros({}, input.weight.options());
    const torch::Tensor error = (q.dequant - input.weight).pow(2).sum() / input.weight.pow(2).sum().clamp_min(1e-30);
    stats->sums.add_(torch::stack({masked, error}).to(stats->sums.device()));
  }
  if (codebooks_out && q.codebooks.defined()) *codebooks_out = q.codebooks;
  const torch::Tensor y =
      FakeQuantizeFunction::apply(xr, q.dequant, mask.defined() ? mask : torch::empty({0}, torch::kBool));
  return rotated ? hadamard_rotate(y, spec.hadamard) : y;
}

torch::Tensor activation_fake_quantize(const torch::Tensor& input, const FormatSpec& spec,
                                       const EstimatorSettings& estimator, const std::string& name,
                                       FakeQuantStats* stats) {
  // The fused kernels read bf16 as it is; the generic path works in float32.
  const bool as_is = input.is_cuda() && input.scalar_type() == torch::kBFloat16;
  const torch::Tensor rows = (as_is ? input : input.to(torch::kFloat32)).reshape({-1, input.size(-1)});
  const torch::Tensor q = fake_quantize(rows, spec, estimator, {.name = name + " (input)"}, stats);
  return q.reshape(input.sizes()).to(input.scalar_type());
}

}  // namespace qs
