// The k-means formats (`kmeans<b>`, 1-Bit Wonder, methods.md §2–3): 2^b sorted fp32 centroids fitted
// to the weights, code = nearest centroid. Block granularity (the paper's format) fits ONE codebook
// per tensor on the values normalised by a bf16 scale per block of N weights along `in`; channel and
// group granularities fit a codebook per row or per group of the raw weights (SqueezeLLM-style).
// Fitting is exact (the 1-D dynamic programme, on a 2^16-bin histogram when a codebook covers more
// than 2^16 values) or Lloyd with k-means++; `:fisher` weights every value by its importance
// (normalised by its mean); `:h<N>` rotates rows by a block Hadamard before fitting and back after.
// On CUDA the per-row and per-group fits run on the GPU (kmeans_exact.hpp, kmeans_lloyd.hpp), equal to
// the CPU's bit for bit; the tensor-wide exact fit runs on the host over a histogram built on the GPU,
// and tensor-wide Lloyd on the host over its sample gathered on the GPU, with the inertia over every
// weight summed there. Groups of more than 2^16 values are fitted on the host.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "codebook.hpp"
#include "kmeans_exact.hpp"
#include "kmeans_lloyd.hpp"
#include "quant/kmeans_1d.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/error.hpp"
#include "quantscope/pack.hpp"
#include "base/rows_parallel.hpp"

namespace qs {
namespace {

// Up to this many values a codebook is fitted on the raw sorted values (exact); above, on a histogram.
constexpr int64_t kRawLimit = int64_t{1} << 16;
constexpr int kHistogramBins = 1 << 16;
static_assert(kRawLimit <= kernels::kKMeansExactMaxPoints && kRawLimit <= kernels::kKMeansLloydMaxPoints);

Codebook1d fit_raw(const float* u, const float* m, int64_t n, int k, const FormatSpec& spec, uint64_t seed) {
  if (spec.solver == KMeansSolver::Lloyd)
    return kmeans_lloyd({u, size_t(n)}, m ? std::span<const float>(m, size_t(n)) : std::span<const float>(), k, seed);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return u[a] < u[b]; });
  std::vector<double> x, mass;
  x.reserve(n);
  mass.reserve(n);
  for (int64_t i : order) {
    const double weight = m ? m[i] : 1.0;
    if (weight <= 0) continue;  // zero importance: no say in the fit
    x.push_back(u[i]);
    mass.push_back(weight);
  }
  if (x.empty()) {  // every importance zero: fall back to equal weights
    for (int64_t i : order) x.push_back(u[i]);
    mass.assign(x.size(), 1.0);
  }
  return kmeans_exact(x, mass, k);
}

#ifdef QS_WITH_CUDA
// Every row's or group's codebook at once on the GPU, a slice of segments at a time so that the sorts'
// copies stay small beside the weight. Each segment is sorted (a row's short last group padded with
// +inf, which sorts last and lies outside the segment's count) and solved exactly (kmeans_exact.hpp)
// or by Lloyd (kmeans_lloyd.hpp) from the generator the CPU's fit of that segment seeds: Lloyd also
// reads the values in their order, its ties are sorted by importance as the CPU sorts its points, and
// its k-means++ draws are made on the host.
torch::Tensor fit_segments_cuda(const torch::Tensor& x, const torch::Tensor& m, int64_t segment, int k,
                                const FormatSpec& spec, const QuantizerInput& input, double& inertia) {
  const int64_t rows = x.size(0), cols = x.size(1), per_row = kernels::blocks_per_row(cols, segment);
  const int64_t problems = rows * per_row, pad = per_row * segment - cols;
  const auto segments_of = [&](const torch::Tensor& t, double fill) {
    return (pad > 0 ? torch::constant_pad_nd(t, {0, pad}, fill) : t).reshape({problems, segment}).contiguous();
  };
  const torch::Tensor u = segments_of(x, INFINITY);
  const torch::Tensor mu = m.defined() ? segments_of(m, 0.0) : torch::Tensor();
  torch::Tensor counts = torch::full({rows, per_row}, segment, x.options().dtype(torch::kInt32));
  if (pad > 0) counts.select(1, per_row - 1).fill_(segment - pad);
  counts = counts.reshape({problems}).contiguous();
  const bool lloyd = spec.solver == KMeansSolver::Lloyd;
  torch::Tensor draws;
  if (lloyd) {
    draws = torch::empty({problems, k}, torch::kFloat64);
    double* dp = draws.data_ptr<double>();
    at::parallel_for(0, problems, 1024, [&](int64_t b, int64_t e) {
      for (int64_t id = b; id < e; ++id) {
        const std::vector<double> d = kmeans_lloyd_draws(input.seed + uint64_t(id), k);
        std::copy(d.begin(), d.end(), dp + id * k);
      }
    });
    draws = draws.to(x.device());
  }
  torch::Tensor books = torch::empty({problems, k}, x.options());
  std::vector<double> inertias(size_t(problems), 0.0);
  const auto refuse = [](ErrorKind kind, const char* solver, int64_t problem, const char* why) {
    throw Error(kind, std::string(solver) + ": codebook " + std::to_string(problem) + why);
  };
  const char* not_finite = " has a value or an importance that is not finite";
  const int64_t slice = std::max<int64_t>(1, (int64_t{1} << 26) / segment);
  for (int64_t first = 0; first < problems; first += slice) {
    if (input.job) input.job->check_cancelled();
    const int64_t count = std::min(slice, problems - first);
    const torch::Tensor values = u.narrow(0, first, count);
    const torch::Tensor masses = mu.defined() ? mu.narrow(0, first, count) : torch::Tensor();
    float* book = books.data_ptr<float>() + first * k;
    if (!lloyd) {
      const auto [sorted, order] = torch::sort(values, 1);
      const torch::Tensor sorted_masses = masses.defined() ? masses.gather(1, order).contiguous() : masses;
      const int64_t bad = kernels::kmeans_exact_sorted_cuda(
          sorted.contiguous().data_ptr<float>(), sorted_masses.defined() ? sorted_masses.data_ptr<float>() : nullptr,
          counts.data_ptr<int32_t>() + first, count, segment, k, book, inertias.data() + first);
      if (bad >= 0) refuse(ErrorKind::Numeric, "kmeans_exact", first + bad, not_finite);
      continue;
    }
    torch::Tensor sorted, sorted_masses;
    if (masses.defined()) {  // by importance, then stably by value: the CPU's order of (value, importance)
      const auto [by_mass, order] = torch::sort(masses, true, 1, false);
      const auto [by_value, reorder] = torch::sort(values.gather(1, order), true, 1, false);
      sorted = by_value.contiguous();
      sorted_masses = by_mass.gather(1, reorder).contiguous();
    } else {
      sorted = std::get<0>(torch::sort(values, 1)).contiguous();
    }
    const kernels::LloydStatus status = kernels::kmeans_lloyd_cuda(
        values.data_ptr<float>(), masses.defined() ? masses.data_ptr<float>() : nullptr, sorted.data_ptr<float>(),
        sorted_masses.defined() ? sorted_masses.data_ptr<float>() : nullptr, counts.data_ptr<int32_t>() + first,
        draws.data_ptr<double>() + first * k, count, segment, k, 1000, 1e-4, book, inertias.data() + first);
    if (status.failure == kernels::LloydFailure::NotFinite)
      refuse(ErrorKind::Numeric, "kmeans_lloyd", first + status.problem, not_finite);
    if (status.failure == kernels::LloydFailure::NoMass)
      refuse(ErrorKind::Invalid, "kmeans_lloyd", first + status.problem, " has no points with positive weight");
  }
  inertia = std::accumulate(inertias.begin(), inertias.end(), 0.0);
  return books;
}

// Σ m·(u − nearest centroid)² over every value on the GPU, the nearest as core's (ties to the lower
// centroid), in slices so that the double copies stay small.
double inertia_nearest_cuda(const torch::Tensor& u, const torch::Tensor& m, const std::vector<double>& centroids) {
  const auto f64 = u.options().dtype(torch::kFloat64);
  const torch::Tensor c = torch::tensor(centroids, torch::kFloat64).to(u.device());
  const torch::Tensor mids = (c.narrow(0, 0, c.numel() - 1) + c.narrow(0, 1, c.numel() - 1)) * 0.5;
  const torch::Tensor flat = u.reshape({-1}), mass = m.defined() ? m.reshape({-1}) : torch::Tensor();
  torch::Tensor sum = torch::zeros({}, f64), bad = torch::zeros({}, f64.dtype(torch::kInt64));
  const int64_t n = flat.numel(), slice = int64_t{1} << 24;
  for (int64_t first = 0; first < n; first += slice) {
    const int64_t count = std::min(slice, n - first);
    const torch::Tensor v = flat.narrow(0, first, count).to(torch::kFloat64);
    const torch::Tensor d = v - c.index_select(0, torch::searchsorted(mids, v, false, false));
    const torch::Tensor w = mass.defined() ? mass.narrow(0, first, count).to(torch::kFloat64) : torch::Tensor();
    sum += (w.defined() ? w * d * d : d * d).sum();
    bad += torch::logical_not(torch::isfinite(v)).sum();
    if (w.defined()) bad += torch::logical_or(torch::logical_not(torch::isfinite(w)), w < 0).sum();
  }
  if (const int64_t invalid = bad.item<int64_t>(); invalid > 0)
    throw Error(ErrorKind::Numeric, "kmeans_lloyd: " + std::to_string(invalid) +
                                        " values or weights are NaN, Inf or negative");
  return sum.item<double>();
}

// The tensor-wide Lloyd codebook of values on the GPU: the sample the CPU's fit would draw, gathered
// there and fitted on the host by the same steps, so the codebook is the CPU's.
Codebook1d fit_lloyd_cuda(const torch::Tensor& u, const torch::Tensor& m, int k, uint64_t seed) {
  LloydFit lloyd(seed);
  const torch::Tensor flat = u.reshape({-1}), mass = m.defined() ? m.reshape({-1}) : torch::Tensor();
  const std::vector<int64_t> picks = lloyd.picks(flat.numel());
  torch::Tensor sx = flat, sm = mass;
  if (!picks.empty()) {
    const torch::Tensor at =
        torch::from_blob(const_cast<int64_t*>(picks.data()), {int64_t(picks.size())}, torch::kInt64).to(u.device());
    sx = flat.index_select(0, at);
    if (mass.defined()) sm = mass.index_select(0, at);
  }
  sx = sx.cpu().contiguous();
  if (sm.defined()) sm = sm.cpu().contiguous();
  const auto span_of = [](const torch::Tensor& t) {
    return t.defined() ? std::span<const float>(t.data_ptr<float>(), size_t(t.numel())) : std::span<const float>();
  };
  Codebook1d fit = lloyd.fit(span_of(sx), span_of(sm), k, picks.empty());
  if (!picks.empty()) fit.inertia = inertia_nearest_cuda(flat, mass, fit.centroids);
  return fit;
}
#endif

// One codebook per row (codebook_group = in) or per group of N along a row, fitted on CPU threads.
torch::Tensor fit_segments(const torch::Tensor& x, const torch::Tensor& m, int64_t segment, int k,
                           const FormatSpec& spec, const QuantizerInput& input, double& inertia) {
#ifdef QS_WITH_CUDA
  if (x.is_cuda() && segment <= kRawLimit) return fit_segments_cuda(x, m, segment, k, spec, input, inertia);
#endif
  const torch::Tensor xc = x.to(torch::kCPU).contiguous();
  const torch::Tensor mc = m.defined() ? m.to(torch::kCPU).contiguous() : torch::Tensor();
  const int64_t rows = xc.size(0), cols = xc.size(1);
  const int64_t per_row = kernels::blocks_per_row(cols, segment);
  torch::Tensor books = torch::empty({rows * per_row, k}, torch::kFloat32);
  std::vector<double> inertias(rows * per_row);
  const float* xp = xc.data_ptr<float>();
  const float* mp = mc.defined() ? mc.data_ptr<float>() : nullptr;
  float* bp = books.data_ptr<float>();
  rows_parallel(rows, cols, input.reference, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      if (input.job && input.job->cancelled()) return;  // the rows left are not wanted
      for (int64_t s = 0; s < per_row; ++s) {
        const int64_t begin = s * segment, n = std::min(segment, cols - begin), id = r * per_row + s;
        const float* u = xp + r * cols + begin;
        const float* w = mp ? mp + r * cols + begin : nullptr;
        Codebook1d fit;
        if (n <= kRawLimit || spec.solver == KMeansSolver::Lloyd) {
          fit = fit_raw(u, w, n, k, spec, input.seed + uint64_t(id));
        } else {
          float lo, hi;
          (input.reference ? kernels::normalized_range_cpu : kernels::normalized_range_fast)(u, nullptr, 1, n, n, &lo,
                                                                                             &hi);
          std::vector<double> sm(kHistogramBins), smu(kHistogramBins), smuu(kHistogramBins);
          (input.reference ? kernels::codebook_histogram_cpu : kernels::codebook_histogram_fast)(
              u, nullptr, w, 1, n, n, lo, hi, kHistogramBins, sm.data(), smu.data(), smuu.data());
          fit = kmeans_exact_binned(sm, smu, smuu, k);
        }
        for (int j = 0; j < k; ++j) bp[id * k + j] = float(fit.centroids[j]);
        inertias[id] = fit.inertia;
      }
    }
  });
  if (input.job) input.job->check_cancelled();
  inertia = std::accumulate(inertias.begin(), inertias.end(), 0.0);
  return books.to(x.device());
}

// The histogram of the block-normalised values, summed over row chunks on CPU threads (or on the GPU).
void histogram_collect(const torch::Tensor& x, const torch::Tensor& scales, const torch::Tensor& m, int64_t block,
                       float lo, float hi, bool reference, std::vector<double>& sm, std::vector<double>& smu,
                       std::vector<double>& smuu) {
  const int64_t rows = x.size(0), cols = x.size(1);
  const int64_t bpr = kernels::blocks_per_row(cols, block);
  const float* xp = x.data_ptr<float>();
  const float* sp = scales.data_ptr<float>();
  const float* mp = m.defined() ? m.data_ptr<float>() : nullptr;
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) {  // built on the device, fitted on the host (kmeans_exact.cu says why)
    const torch::Tensor sums = torch::zeros({kHistogramBins, 4}, x.options().dtype(torch::kFloat64));
    kernels::codebook_histogram_cuda(xp, sp, mp, rows, cols, block, lo, hi, kHistogramBins, sums.data_ptr<double>());
    const torch::Tensor host = sums.cpu();
    const auto h = host.accessor<double, 2>();
    for (int b = 0; b < kHistogramBins; ++b) sm[b] += h[b][0], smu[b] += h[b][1], smuu[b] += h[b][2];
    return;
  }
#endif
  std::vector<std::vector<double>> parts(3 * size_t(rows));  // chunks never outnumber rows
  const int64_t chunks = chunks_parallel(rows, reference, [&](int64_t c, int64_t b, int64_t e) {
    for (int i = 0; i < 3; ++i) parts[3 * c + i].assign(kHistogramBins, 0.0);
    (reference ? kernels::codebook_histogram_cpu : kernels::codebook_histogram_fast)(
        xp + b * cols, sp + b * bpr, mp ? mp + b * cols : nullptr, e - b, cols, block, lo, hi, kHistogramBins,
        parts[3 * c].data(), parts[3 * c + 1].data(), parts[3 * c + 2].data());
  });
  for (int64_t c = 0; c < chunks; ++c)
    for (int i = 0; i < kHistogramBins; ++i) {
      sm[i] += parts[3 * c][i];
      smu[i] += parts[3 * c + 1][i];
      smuu[i] += parts[3 * c + 2][i];
    }
}

std::pair<float, float> range_collect(const torch::Tensor& x, const torch::Tensor& scales, int64_t block,
                                     bool reference) {
  const int64_t rows = x.size(0), cols = x.size(1), bpr = kernels::blocks_per_row(cols, block);
  const float* xp = x.data_ptr<float>();
  const float* sp = scales.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) {
    float lo = 0, hi = 0;
    kernels::normalized_range_cuda(xp, sp, rows, cols, block, &lo, &hi);
    return {lo, hi};
  }
#endif
  std::vector<float> los(size_t(rows), 0.0f), his(size_t(rows), 0.0f);
  const int64_t chunks = chunks_parallel(rows, reference, [&](int64_t c, int64_t b, int64_t e) {
    (reference ? kernels::normalized_range_cpu : kernels::normalized_range_fast)(xp + b * cols, sp + b * bpr, e - b,
                                                                                 cols, block, &los[c], &his[c]);
  });
  return {*std::min_element(los.begin(), los.begin() + chunks), *std::max_element(his.begin(), his.begin() + chunks)};
}

// The tensor-wide codebook of the block format.
torch::Tensor fit_block(const torch::Tensor& x, const torch::Tensor& scales, int64_t block, const torch::Tensor& m,
                        int k, const FormatSpec& spec, const QuantizerInput& input, double& inertia) {
  Codebook1d fit;
#ifdef QS_WITH_CUDA
  if (x.is_cuda() && spec.solver == KMeansSolver::Lloyd) {
    fit = fit_lloyd_cuda(groups_divide(x, scales, block), m, k, input.seed);
  } else
#endif
  if (x.numel() <= kRawLimit || spec.solver == KMeansSolver::Lloyd) {
    const torch::Tensor u = groups_divide(x, scales, block).to(torch::kCPU).contiguous();
    const torch::Tensor mc = m.defined() ? m.to(torch::kCPU).contiguous() : torch::Tensor();
    fit = fit_raw(u.data_ptr<float>(), mc.defined() ? mc.data_ptr<float>() : nullptr, u.numel(), k, spec, input.seed);
  } else {
    const auto [lo, hi] = range_collect(x, scales, block, input.reference);
    if (input.job) input.job->check_cancelled();
    std::vector<double> sm(kHistogramBins), smu(kHistogramBins), smuu(kHistogramBins);
    histogram_collect(x, scales, m, block, lo, hi, input.reference, sm, smu, smuu);
    if (input.job) input.job->check_cancelled();
    fit = kmeans_exact_binned(sm, smu, smuu, k);
  }
  inertia = fit.inertia;
  std::vector<float> c(fit.centroids.begin(), fit.centroids.end());
  return torch::tensor(c).view({1, k}).to(x.device());
}

void block_scales(const torch::Tensor& x, int64_t block, bool absmean, bool reference, torch::Tensor& scales) {
  const int64_t rows = x.size(0), cols = x.size(1), bpr = kernels::blocks_per_row(cols, block);
  const float* xp = x.data_ptr<float>();
  float* sp = scales.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) return kernels::block_scales_cuda(xp, rows, cols, block, absmean, kKMeansScaleEps, true, sp);
#endif
  rows_parallel(rows, cols, reference, [&](int64_t b, int64_t e) {
    (reference ? kernels::block_scales_cpu : kernels::block_scales_fast)(xp + b * cols, e - b, cols, block, absmean,
                                                                         kKMeansScaleEps, true, sp + b * bpr);
  });
}

}  // namespace

void codebook_assign(const torch::Tensor& x, const torch::Tensor& scales, int64_t block, const torch::Tensor& books,
                     int64_t codebook_group, bool reference, QuantizerOutput& q, const JobContext* job) {
  const int64_t rows = x.size(0), cols = x.size(1), k = books.size(1);
  const int64_t bpr = scales.defined() ? kernels::blocks_per_row(cols, block) : 0;
  const int64_t books_per_row = codebook_group > 0 ? kernels::blocks_per_row(cols, codebook_group) : 0;
  const float* xp = x.data_ptr<float>();
  const float* sp = scales.defined() ? scales.data_ptr<float>() : nullptr;
  const float* bp = books.data_ptr<float>();
  uint8_t* cp = q.codes.data_ptr<uint8_t>();
  float* dp = q.dequant.data_ptr<float>();
#ifdef QS_WITH_CUDA
  if (x.is_cuda()) return kernels::codebook_assign_cuda(xp, sp, rows, cols, block, bp, int(k), codebook_group, cp, dp);
#endif
  // In blocks of about 4M weights, asking for cancellation between them: writing a large layer's
  // outputs into fresh memory can take a second.
  const int64_t step = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(cols, 1));
  for (int64_t first = 0; first < rows; first += step) {
    if (job) job->check_cancelled();
    const int64_t last = std::min(rows, first + step);
    rows_parallel(last - first, cols, reference, [&](int64_t b, int64_t e) {
      b += first, e += first;
      (reference ? kernels::codebook_assign_cpu : kernels::codebook_assign_fast)(
          xp + b * cols, sp ? sp + b * bpr : nullptr, e - b, cols, block, bp + b * books_per_row * k, int(k),
          codebook_group, cp + b * cols, dp + b * cols);
    });
  }
}

int64_t kmeans_segment(const FormatSpec& spec, int64_t in) {
  return spec.granularity == Granularity::Channel ? in : std::min(spec.group, in);
}

QuantizerOutput quantizer_kmeans_run(const FormatSpec& spec, const QuantizerInput& input) {
  const int64_t out = input.weight.size(0), in = input.weight.size(1);
  const int k = spec.levels();
  torch::Tensor x = input.weight;
  if (spec.hadamard > 1) {
    x = x.clone();
    hadamard_apply(x, spec.hadamard, input.reference);
  }
  const bool pinned = input.codebooks.defined();
  const torch::Tensor books = pinned ? input.codebooks.to(x.device(), torch::kFloat32).contiguous() : torch::Tensor();
  torch::Tensor m;
  if (spec.fisher && !pinned) {
    const double mean = input.importance.mean().item<double>();
    m = mean > 0 ? (input.importance / mean).contiguous() : torch::ones_like(input.importance);
  }
  QuantizerOutput q;
  q.codes = output_empty({out, in}, x.options().dtype(torch::kUInt8));
  q.dequant = output_empty({out, in}, x.options());
  if (spec.granularity == Granularity::Block) {
    const int64_t block = kmeans_segment(spec, in);
    q.scales = torch::empty({out * kernels::blocks_per_row(in, block)}, x.options());
    block_scales(x, block, spec.scale == BlockScale::Absmean, input.reference, q.scales);
    if (input.job) input.job->check_cancelled();
    q.codebooks = pinned ? books : fit_block(x, q.scales, block, m, k, spec, input, q.inertia);
    if (input.job) input.job->check_cancelled();
    codebook_assign(x, q.scales, block, q.codebooks, 0, input.reference, q, input.job);
    if (input.want_normalized) q.normalized = groups_divide(x, q.scales, block);
  } else {
    const int64_t segment = kmeans_segment(spec, in);
    q.codebooks = pinned ? books : fit_segments(x, m, segment, k, spec, input, q.inertia);
    codebook_assign(x, torch::Tensor(), segment, q.codebooks, segment, input.reference, q, input.job);
    if (input.want_normalized) q.normalized = x;
  }
  hadamard_apply(q.dequant, spec.hadamard, input.reference);
  return q;
}

void quantizer_kmeans_pack(const FormatSpec& spec, const QuantizerOutput& q, PackedWriter& writer) {
  writer.codes(q.codes, spec.bits);
  if (q.scales.defined()) writer.bf16(q.scales);
  writer.f32(q.codebooks);
}

std::vector<PackedSection> quantizer_kmeans_sections(const FormatSpec& spec, int64_t out, int64_t in) {
  const bool block = spec.granularity == Granularity::Block;
  const uint64_t per_row = uint64_t(kernels::blocks_per_row(in, kmeans_segment(spec, in)));
  std::vector<PackedSection> s = {{"codes", DType::U8, codes_packed_bytes(uint64_t(out * in), spec.bits)}};
  if (block) s.push_back({"scales", DType::BF16, 2 * uint64_t(out) * per_row});
  s.push_back({"codebooks", DType::F32, 4 * (block ? 1 : uint64_t(out) * per_row) * uint64_t(spec.levels())});
  return s;
}

std::vector<float> quantizer_kmeans_unpack(const FormatSpec& spec, PackedReader& reader, int64_t out, int64_t in) {
  const int k = spec.levels();
  const bool block = spec.granularity == Granularity::Block;
  const int64_t segment = kmeans_segment(spec, in);
  const int64_t per_row = kernels::blocks_per_row(in, segment);
  const std::vector<uint8_t> codes = reader.codes(uint64_t(out * in), spec.bits);
  const std::vector<float> scales = block ? reader.bf16(uint64_t(out * per_row)) : std::vector<float>();
  const std::vector<float> books = reader.f32(uint64_t((block ? 1 : out * per_row) * k));
  std::vector<float> w(codes.size());
  for (int64_t r = 0; r < out; ++r)
    for (int64_t c = 0; c < in; ++c) {
      const int64_t i = r * in + c, s = r * per_row + c / segment;
      w[i] = block ? scales[s] * books[codes[i]] : books[s * k + codes[i]];
    }
  torch::Tensor t = torch::from_blob(w.data(), {out, in}, torch::kFloat32);
  hadamard_apply(t, spec.hadamard);
  return w;
}

}  // namespace qs
