// CUDA version of core's Lloyd k-means (kmeans_lloyd.hpp): one thread per problem runs kmeans_lloyd's
// steps on it, in its order:
//   1. the checks, then k-means++ on the values in their original order: each draw sums the masses,
//      scales the problem's next uniform draw by the total and walks the running sum to it;
//   2. the sorted points of positive mass, their centre and centred prefix sums;
//   3. Lloyd's iterations: centroids from the prefix sums between boundaries (binary searches of the
//      midpoints), an empty cluster restarted at the point of largest weighted squared error, stopping
//      when no more than `tolerance` of the points changed cluster;
//   4. the inertia over the values in their original order.
// The workspace holds 8·(4n + 2 + k) + 12·k bytes per problem.
#include <cuda_runtime.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_host.cuh"
#include "kmeans_lloyd.hpp"

namespace qs::kernels {
namespace {

constexpr int kMaxK = 256;                            // codes are bytes
constexpr size_t kWorkspaceBudget = size_t(1) << 30;  // bytes of workspace per launch
constexpr int kThreads = 32;                          // one warp a block: a layer's rows spread over every SM

struct Work {
  double *xs, *ws;      // sorted points of positive mass (ws holds k-means++'s distances before)
  double *s0, *s1;      // centred prefix sums, n + 1
  double* c;            // centroids, k
  int32_t *bound, *next, *empty;  // k each: first point of cluster j + 1, before and after; empty clusters
};

__host__ __device__ size_t work_bytes(int64_t stride, int k) {
  return 8 * size_t(4 * stride + 2 + k) + (12 * size_t(k) + 7) / 8 * 8;
}

__device__ Work work_at(char* workspace, int64_t problem, int64_t stride, int k) {
  double* d = reinterpret_cast<double*>(workspace + size_t(problem) * work_bytes(stride, k));
  Work w;
  w.xs = d, w.ws = d + stride, w.s0 = d + 2 * stride, w.s1 = w.s0 + stride + 1, w.c = w.s1 + stride + 1;
  w.bound = reinterpret_cast<int32_t*>(w.c + k), w.next = w.bound + k, w.empty = w.next + k;
  return w;
}

// std::sort's result on k doubles with no NaN (a stable insertion sort, as libstdc++ uses for short ranges).
__device__ void centroids_sort(double* c, int k) {
  for (int i = 1; i < k; ++i) {
    const double v = c[i];
    int j = i;
    for (; j > 0 && v < c[j - 1]; --j) c[j] = c[j - 1];
    c[j] = v;
  }
}

// bound[j]: the first sorted point above the midpoint of centroids j and j + 1 (std::upper_bound).
__device__ void bounds_find(const double* c, int k, const double* xs, int64_t n, int32_t* bound) {
  for (int j = 0; j + 1 < k; ++j) {
    const double mid = 0.5 * (c[j] + c[j + 1]);
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t at = lo + (hi - lo) / 2;
      if (xs[at] <= mid) lo = at + 1;
      else hi = at;
    }
    bound[j] = int32_t(lo);
  }
}

// The nearest of sorted centroids, ties to the lower one (core's nearest).
__device__ int nearest(const double* c, int k, double x) {
  int lo = 0, hi = k - 1;
  while (lo < hi) {
    const int mid = (lo + hi) / 2;
    if (x <= 0.5 * (c[mid] + c[mid + 1])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// One k-means++ draw: the point where the running mass passes `unit` × the total mass; −1 when no mass.
template <class Mass>
__device__ int64_t draw(const Mass& mass, int64_t n, double unit) {
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += mass(i);
  if (!(total > 0)) return -1;
  const double target = unit * total;
  double acc = 0;
  int64_t last = -1;
  for (int64_t i = 0; i < n; ++i) {
    const double m = mass(i);
    if (m <= 0) continue;
    acc += m;
    last = i;
    if (acc > target) break;
  }
  return last;
}

__global__ void lloyd_kernel(const float* values, const float* masses, const float* sorted, const float* sorted_masses,
                             const int32_t* counts, const double* draws, int64_t problems, int64_t stride, int k,
                             int max_iterations, double tolerance, char* workspace, float* centroids, double* inertia,
                             int32_t* status) {
  const int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (p >= problems) return;
  const Work w = work_at(workspace, p, stride, k);
  const int64_t n = counts[p];
  const float* x = values + p * stride;
  const float* m = masses ? masses + p * stride : nullptr;
  const double* unit = draws + p * k;
  status[p] = int32_t(LloydFailure::None);
  for (int64_t i = 0; i < n; ++i)
    if (!isfinite(x[i]) || (m && !(isfinite(m[i]) && m[i] >= 0))) {
      status[p] = int32_t(LloydFailure::NotFinite);
      return;
    }
  const auto weight = [&](int64_t i) { return m ? double(m[i]) : 1.0; };

  // 1. k-means++.
  double* c = w.c;
  double* d2 = w.ws;
  const int64_t first = draw(weight, n, unit[0]);
  if (first < 0) {
    status[p] = int32_t(LloydFailure::NoMass);
    return;
  }
  c[0] = x[first];
  for (int64_t i = 0; i < n; ++i) d2[i] = INFINITY;
  for (int count = 1; count < k; ++count) {
    const double last = c[count - 1];
    for (int64_t i = 0; i < n; ++i) {
      const double e = (x[i] - last) * (x[i] - last);
      if (e < d2[i]) d2[i] = e;
    }
    const int64_t pick = draw([&](int64_t i) { return weight(i) * d2[i]; }, n, unit[count]);
    c[count] = pick < 0 ? last : double(x[pick]);
  }

  // 2. The sorted points of positive mass, centred.
  const float* sx = sorted + p * stride;
  const float* sm = sorted_masses ? sorted_masses + p * stride : nullptr;
  int64_t points = 0;
  double total = 0, centre = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double mass = sm ? double(sm[i]) : 1.0, v = sx[i];
    if (!(mass > 0)) continue;
    total += mass, centre += mass * v;
    w.xs[points] = v, w.ws[points] = mass;
    ++points;
  }
  centre /= total;
  w.s0[0] = 0, w.s1[0] = 0;
  for (int64_t i = 0; i < points; ++i) {
    w.s0[i + 1] = w.s0[i] + w.ws[i];
    w.s1[i + 1] = w.s1[i] + w.ws[i] * (w.xs[i] - centre);
  }

  // 3. Lloyd's iterations.
  centroids_sort(c, k);
  int32_t *bound = w.bound, *next = w.next;
  bounds_find(c, k, w.xs, points, bound);
  const auto begin_of = [&](const int32_t* b, int j) -> int64_t { return j == 0 ? 0 : b[j - 1]; };
  const auto end_of = [&](const int32_t* b, int j) -> int64_t { return j + 1 < k ? b[j] : points; };
  for (int it = 0; it < max_iterations; ++it) {
    int empties = 0;
    for (int j = 0; j < k; ++j) {
      const int64_t b = begin_of(bound, j), e = end_of(bound, j);
      const double mass = w.s0[e] - w.s0[b];
      if (e > b && mass > 0) c[j] = centre + (w.s1[e] - w.s1[b]) / mass;
      else w.empty[empties++] = j;
    }
    int reseeded = 0;
    if (empties > 0) {
      // The largest (error, index) pairs in descending order, as a partial sort with std::greater
      // would give them: each pass takes the largest pair below the one taken before.
      const int64_t take = empties < points ? empties : points;
      double below_error = 0;
      int64_t below_index = -1;
      for (int64_t r = 0; r < take; ++r) {
        double best_error = 0;
        int64_t best_index = -1;
        for (int j = 0; j < k; ++j)
          for (int64_t i = begin_of(bound, j), e = end_of(bound, j); i < e; ++i) {
            const double d = w.xs[i] - c[j], error = w.ws[i] * d * d;
            const bool below = below_index < 0 || error < below_error || (error == below_error && i < below_index);
            const bool above = best_index < 0 || error > best_error || (error == best_error && i > best_index);
            if (below && above) best_error = error, best_index = i;
          }
        if (!(best_error > 0)) break;
        c[w.empty[r]] = w.xs[best_index];
        ++reseeded;
        below_error = best_error, below_index = best_index;
      }
      centroids_sort(c, k);
    }
    bounds_find(c, k, w.xs, points, next);
    // The points whose cluster changed: the union of the spans between old and new boundaries (both
    // ascending in j, so the spans come ordered by their start).
    int64_t moved = 0, reach = 0;
    for (int j = 0; j + 1 < k; ++j) {
      if (bound[j] == next[j]) continue;
      const int64_t lo = bound[j] < next[j] ? bound[j] : next[j], hi = bound[j] < next[j] ? next[j] : bound[j];
      const int64_t from = lo > reach ? lo : reach;
      if (hi > from) moved += hi - from;
      if (hi > reach) reach = hi;
    }
    int32_t* t = bound;
    bound = next, next = t;
    if (reseeded == 0 && double(moved) <= tolerance * double(points)) break;
  }
  centroids_sort(c, k);

  // 4. The inertia, in the values' order.
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], d = v - c[nearest(c, k, v)];
    sum += weight(i) * d * d;
  }
  inertia[p] = sum;
  for (int j = 0; j < k; ++j) centroids[p * k + j] = float(c[j]);
}

unsigned blocks_for(int64_t items) { return unsigned((items + kThreads - 1) / kThreads); }

}  // namespace

LloydStatus kmeans_lloyd_cuda(const float* values, const float* masses, const float* sorted,
                              const float* sorted_masses, const int32_t* counts, const double* draws,
                              int64_t problems, int64_t stride, int k, int max_iterations, double tolerance,
                              float* centroids, double* inertia_host) {
  if (k < 1 || k > kMaxK)
    throw std::invalid_argument("kmeans_lloyd_cuda: k = " + std::to_string(k) + " is outside 1…256");
  if (stride < 1 || stride > kKMeansLloydMaxPoints)
    throw std::invalid_argument("kmeans_lloyd_cuda: " + std::to_string(stride) + " points per problem (at most " +
                                std::to_string(kKMeansLloydMaxPoints) + ")");
  if (problems <= 0) return {};
  const int64_t chunk = std::clamp<int64_t>(int64_t(kWorkspaceBudget / work_bytes(stride, k)), 1, problems);
  DeviceBuffer<char> workspace(size_t(chunk) * work_bytes(stride, k));
  DeviceBuffer<double> inertia{size_t(problems)};
  DeviceBuffer<int32_t> status{size_t(problems)};
  for (int64_t first = 0; first < problems; first += chunk) {
    const int64_t count = std::min(chunk, problems - first);
    lloyd_kernel<<<blocks_for(count), kThreads>>>(
        values + first * stride, masses ? masses + first * stride : nullptr, sorted + first * stride,
        sorted_masses ? sorted_masses + first * stride : nullptr, counts + first, draws + first * k, count, stride,
        k, max_iterations, tolerance, workspace.get(), centroids + first * k, inertia.get() + first,
        status.get() + first);
    QS_CUDA_CHECK_LAUNCH();
  }
  std::vector<int32_t> status_host(static_cast<size_t>(problems));
  QS_CUDA_CHECK(cudaMemcpyAsync(status_host.data(), status.get(), size_t(problems) * sizeof(int32_t),
                                cudaMemcpyDeviceToHost, 0));
  QS_CUDA_CHECK(cudaMemcpyAsync(inertia_host, inertia.get(), size_t(problems) * sizeof(double),
                                cudaMemcpyDeviceToHost, 0));
  QS_CUDA_CHECK(cudaStreamSynchronize(0));
  for (int64_t p = 0; p < problems; ++p)
    if (status_host[size_t(p)] != 0) return {p, LloydFailure(status_host[size_t(p)])};
  return {};
}

}  // namespace qs::kernels
