// One-dimensional weighted k-means, the codebook fit of the k-means formats (methods.md §3). The
// exact solver is the Ckmeans.1d.dp dynamic programme (optimal clusters are contiguous runs of the
// sorted values), run on raw sorted values or on a fine histogram; Lloyd with k-means++
// initialisation is the heuristic alternative 1-Bit Wonder's release uses.
#pragma once
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace qs {

struct Codebook1d {
  std::vector<double> centroids;  // k values, sorted ascending (repeated when fewer distinct points)
  double inertia = 0;             // Σ m·(x − centroid)² over the fitted data
  int iterations = 0;             // Lloyd only
};

// Exact on sorted points x (ascending) with weights m > 0. O(k·n·log n).
Codebook1d kmeans_exact(std::span<const double> x, std::span<const double> m, int k);

// Exact for binned data: per bin the sums Σm, Σm·x, Σm·x² of the points that fell in it (a bin is
// one point at its weighted mean; empty bins are skipped). The inertia is that of the actual points
// for the chosen segmentation, since Σm·x² is exact.
Codebook1d kmeans_exact_binned(std::span<const double> sum_m, std::span<const double> sum_mx,
                               std::span<const double> sum_mxx, int k);

// Lloyd–Max with k-means++ initialisation on x with weights m (empty: all 1): when there are more
// than 2^20 points, runs on 2^20 drawn without replacement (seeded), up to max_iterations, stopping
// when at most `tolerance` of the assignments change; the reported inertia is over all points.
Codebook1d kmeans_lloyd(std::span<const float> x, std::span<const float> m, int k, uint64_t seed,
                        int max_iterations = 1000, double tolerance = 1e-4);

// kmeans_lloyd in the steps that touch the points, for points that live elsewhere (on the GPU): `picks`
// says which points it fits (ascending; empty when it fits all n), `fit` fits their values and weights
// with k-means++ drawn from the same generator, so the codebook equals kmeans_lloyd's for the same seed
// and data. `fit` reports the inertia over the points it was given, when asked.
class LloydFit {
 public:
  explicit LloydFit(uint64_t seed) : rng_(seed) {}
  std::vector<int64_t> picks(int64_t n);
  Codebook1d fit(std::span<const float> x, std::span<const float> m, int k, bool with_inertia,
                 int max_iterations = 1000, double tolerance = 1e-4);

 private:
  std::mt19937_64 rng_;
};

// The k numbers, uniform in [0, 1), that kmeans_lloyd's k-means++ takes from its generator when it fits
// every point: draw j of the initialisation is the point where the running mass passes draws[j] times
// the total (a draw with no mass left takes none). For a solver of the same steps elsewhere
// (kernels/kmeans_lloyd.cu).
std::vector<double> kmeans_lloyd_draws(uint64_t seed, int k);

// Lloyd's iterations alone, from the given centroids, on every point of x (no sampling); empty clusters
// restart at the point with the largest weighted squared error. kmeans_lloyd ends with it.
Codebook1d kmeans_lloyd_refine(std::span<const float> x, std::span<const float> m, std::vector<double> centroids,
                               int max_iterations = 1000, double tolerance = 1e-4);

}  // namespace qs
