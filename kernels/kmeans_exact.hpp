// Exact one-dimensional weighted k-means on the GPU, for many independent problems at once: every row's
// or group's codebook of `kmeans<b>:channel|g<N>`.
// The CPU reference is core's quant/kmeans_1d (the Ckmeans.1d.dp dynamic programme); this is the same
// programme step for step — the same merged points, centring, prefix sums, divide-and-conquer tree and
// tie-breaking, each double operation correctly rounded and none fused — so the codebooks and inertia
// are the CPU's bit for bit. All problems advance together, one launch per level of a layer's tree
// (kmeans_exact.cu). Device pointers except where a name ends in _host.
#pragma once
#include <cstdint>

namespace qs::kernels {

// The most values one problem may have: split points are stored in 16 bits.
constexpr int64_t kKMeansExactMaxPoints = int64_t{1} << 16;

#ifdef QS_WITH_CUDA
// Problems of sorted values: row p of `values` ([problems, stride], each row ascending) holds counts[p]
// values, the rest is ignored; masses (null: all 1) are in the values' order. Values of mass ≤ 0 are
// left out, unless no value has a positive mass, when all count with mass 1 (as core's fit does).
// centroids: [problems, k] ascending, repeated at the top when a problem has fewer than k distinct
// values; inertia_host: [problems], Σ m·(x − centroid)². Returns −1, or the first problem holding a
// value or mass that is not finite (nothing is then promised about the outputs).
int64_t kmeans_exact_sorted_cuda(const float* values, const float* masses, const int32_t* counts, int64_t problems,
                                 int64_t stride, int k, float* centroids, double* inertia_host);
#endif

}  // namespace qs::kernels
