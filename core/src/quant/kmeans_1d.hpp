// One-dimensional weighted k-means, the codebook fit of the k-means formats (methods.md §3). The
// exact solver is the Ckmeans.1d.dp dynamic programme (optimal clusters are contiguous runs of the
// sorted values), run on raw sorted values or on a fine histogram; Lloyd with k-means++
// initialisation is the heuristic alternative 1-Bit Wonder's release uses.
#pragma once
#include <cstdint>
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

// Lloyd's iterations alone, from the given centroids, on every point of x (no sampling); empty clusters
// restart at the point with the largest weighted squared error. kmeans_lloyd ends with it.
Codebook1d kmeans_lloyd_refine(std::span<const float> x, std::span<const float> m, std::vector<double> centroids,
                               int max_iterations = 1000, double tolerance = 1e-4);

}  // namespace qs
