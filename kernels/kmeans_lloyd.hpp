// Lloyd's one-dimensional k-means with k-means++ initialisation on the GPU, for many independent
// problems at once: every row's or group's codebook of `kmeans<b>:channel:lloyd` and `:g<N>:lloyd`.
// The CPU reference is core's quant/kmeans_1d (kmeans_lloyd on a problem it fits whole); this runs the
// same steps in the same order — the draws, the running sums, the sorted points' prefix sums, the
// boundaries, the restart of empty clusters, the stopping rule — in correctly rounded double operations
// with none fused (the file builds with --fmad=false), so codebooks and inertia are the CPU's bit for
// bit. One thread per problem: the work is sequential within a problem, and the problems of a layer
// (thousands of rows) fill the GPU. Device pointers except where a name ends in _host.
#pragma once
#include <cstdint>

namespace qs::kernels {

// The most values one problem may have.
constexpr int64_t kKMeansLloydMaxPoints = int64_t{1} << 16;

// Why a problem could not be fitted: a value, or a mass, that is not finite (or a negative mass); or no
// value with a positive mass.
enum class LloydFailure : int32_t { None = 0, NotFinite = 1, NoMass = 2 };

struct LloydStatus {
  int64_t problem = -1;  // the first problem that failed, or −1
  LloydFailure failure = LloydFailure::None;
};

#ifdef QS_WITH_CUDA
// Row p of `values` ([problems, stride]) holds counts[p] values in their original order (k-means++
// draws in that order, and the inertia is summed in it); row p of `sorted` holds the same values
// ascending, ties ordered by mass (null masses: all 1), with `sorted_masses` in that order. `draws`
// ([problems, k]) are kmeans_lloyd_draws of each problem's seed. centroids: [problems, k] ascending;
// inertia_host: [problems], Σ m·(x − nearest centroid)².
LloydStatus kmeans_lloyd_cuda(const float* values, const float* masses, const float* sorted,
                              const float* sorted_masses, const int32_t* counts, const double* draws,
                              int64_t problems, int64_t stride, int k, int max_iterations, double tolerance,
                              float* centroids, double* inertia_host);
#endif

}  // namespace qs::kernels
