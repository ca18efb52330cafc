// CUDA version of core's exact 1-D k-means (kmeans_exact.hpp), as a sequence of launches over all the
// problems of a call:
//   1. points: one thread per problem merges its sorted values into points, sums the centre and the
//      centred prefix sums in the CPU's order;
//   2. layer 0 of D, every (problem, point) in parallel;
//   3. each layer q of D[q][i] = min_j D[q−1][j−1] + cost(j, i) is the CPU's divide-and-conquer tree,
//      one launch per level: a node [lo, hi] needs only its range and the optimal split points at lo − 1
//      and hi + 1, which shallower levels wrote, so its place in the tree (the bits of its index)
//      replaces the CPU's node lists. A node's candidates go to a group of threads sized to the level,
//      reduced to the smallest cost, ties to the smallest split point (the CPU's ascending scan with a
//      strict comparison);
//   4. one thread per problem walks the split points back and forms centroids and inertia in order.
// Thousands of problems keep the whole GPU busy at every level. One large problem does not: a
// tensor-wide fit on a 2^16-bin histogram, run this way, took 14 ms (k = 2) to 109 ms (k = 16) on an
// H100 (the sequential passes and the top levels are latency-bound on a few SMs), slower than the CPU's
// programme, so core solves histograms on the host. The workspace holds about 8·(7n + 3) + 2·k·n bytes
// per problem.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_host.cuh"
#include "kmeans_exact.hpp"

namespace qs::kernels {
namespace {

constexpr int kMaxK = 256;                                // codes are bytes
constexpr size_t kWorkspaceBudget = size_t(1) << 30;      // bytes of workspace per launch

// One problem's arrays inside the workspace.
struct Work {
  double *mass, *mean;           // merged points (sorted values carry no spread of their own), n ≤ stride
  double *s0, *s1, *s2;          // centred prefix sums, n + 1
  double *prev, *cur;            // two layers of D
  uint16_t* split;               // [k][stride]: start of the last segment of the optimum over 0..i
};

__host__ __device__ size_t work_bytes(int64_t stride, int k) {
  return 8 * size_t(7 * stride + 3) + (2 * size_t(k) * size_t(stride) + 7) / 8 * 8;
}

__device__ Work work_at(char* workspace, int64_t problem, int64_t stride, int k) {
  char* base = workspace + size_t(problem) * work_bytes(stride, k);
  double* d = reinterpret_cast<double*>(base);
  Work w;
  w.mass = d, w.mean = d + stride;
  w.s0 = d + 2 * stride, w.s1 = w.s0 + stride + 1, w.s2 = w.s1 + stride + 1;
  w.prev = w.s2 + stride + 1, w.cur = w.prev + stride;
  w.split = reinterpret_cast<uint16_t*>(w.cur + stride);
  return w;
}

// Builds the merged points in order: a point equal in mean to the one before joins it (points_merge).
// The point being merged stays in registers, and the running totals for the centre are summed as each
// point is finished, in the CPU's order.
struct PointsBuilder {
  const Work& w;
  int64_t n = 0;
  bool open = false;
  double mass = 0, mean = 0, total = 0, moment = 0;

  __device__ void push(double m, double x) {
    if (open && x == mean) {
      mass = __dadd_rn(mass, m);
      return;
    }
    close();
    open = true, mass = m, mean = x;
  }
  __device__ void close() {
    if (!open) return;
    w.mass[n] = mass, w.mean[n] = mean;
    total = __dadd_rn(total, mass);
    moment = __dadd_rn(moment, __dmul_rn(mass, mean));
    ++n, open = false;
  }
};

// Calls f(i, a[i], b[i]) for i in [begin, end) in order, loading kBatch elements ahead: the loop
// carries dependent sums, and loads issued together wait for memory once.
constexpr int kBatch = 8;
template <class A, class B, class F>
__device__ __forceinline__ void for_each_loaded(int64_t begin, int64_t end, const A* a, const B* b, F f) {
  for (int64_t base = begin; base < end; base += kBatch) {
    A av[kBatch];
    B bv[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int64_t i = min(base + u, end - 1);
      av[u] = a[i], bv[u] = b ? b[i] : B(1);
    }
#pragma unroll
    for (int u = 0; u < kBatch; ++u)
      if (base + u < end) f(base + u, av[u], bv[u]);
  }
}

// The between-point sum of squares of points j..i about their mean (segments_optimal's cost).
__device__ __forceinline__ double cost(const Work& w, int64_t j, int64_t i) {
  const double m = __dsub_rn(w.s0[i + 1], w.s0[j]);
  const double mx = __dsub_rn(w.s1[i + 1], w.s1[j]);
  const double mxx = __dsub_rn(w.s2[i + 1], w.s2[j]);
  const double r = __dsub_rn(mxx, __ddiv_rn(__dmul_rn(mx, mx), m));
  return 0.0 < r ? r : 0.0;
}

__device__ __forceinline__ void keep_smaller(double& best, int64_t& arg, double other, int64_t other_arg) {
  if (other < best || (other == best && other_arg < arg)) best = other, arg = other_arg;
}

constexpr int kThreads = 256;

// Step 1 ends with the centred prefix sums when there is a programme to run.
__device__ void prefix_write(const Work& w, const PointsBuilder& points, int k) {
  if (points.n <= k) return;
  // Sums about the weighted mean, as the CPU forms them (the cost is shift-invariant).
  const double centre = __ddiv_rn(points.moment, points.total);
  double s0 = 0, s1 = 0, s2 = 0;
  w.s0[0] = w.s1[0] = w.s2[0] = 0;
  for_each_loaded(0, points.n, w.mass, w.mean, [&](int64_t i, double m, double x) {
    const double y = __dsub_rn(x, centre), my = __dmul_rn(m, y);
    w.s0[i + 1] = s0 = __dadd_rn(s0, m);
    w.s1[i + 1] = s1 = __dadd_rn(s1, my);
    w.s2[i + 1] = s2 = __dadd_rn(s2, __dmul_rn(my, y));
  });
}

// Step 1: one thread per problem, as fit_raw and kmeans_exact read sorted values. n[p] = the point
// count, or −1 for a value or mass that is not finite.
__global__ void __launch_bounds__(128)
    points_sorted_kernel(const float* values, const float* masses, const int32_t* counts, char* workspace,
                         int64_t stride, int k, int64_t problems, int64_t* n) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= problems) return;
  const Work w = work_at(workspace, p, stride, k);
  const float* v = values + p * stride;
  const float* m = masses ? masses + p * stride : nullptr;
  PointsBuilder points{w};
  bool finite = true;
  for_each_loaded(0, int64_t(counts[p]), v, m, [&](int64_t, float x, float mass) {
    finite = finite && isfinite(x) && isfinite(mass);
    if (mass > 0) points.push(mass, x);
  });
  if (points.n == 0 && !points.open)  // no positive mass: every value counts once
    for_each_loaded(0, int64_t(counts[p]), v, static_cast<const float*>(nullptr),
                    [&](int64_t, float x, float) { points.push(1.0, x); });
  points.close();
  n[p] = finite ? points.n : -1;
  if (finite) prefix_write(w, points, k);
}

// D's layer q lives in prev for even q, in cur for odd q.
__device__ __forceinline__ double* layer_of(const Work& w, int q) { return q % 2 == 0 ? w.prev : w.cur; }

// Step 2: D[0][i] = cost(0, i).
__global__ void __launch_bounds__(kThreads)
    layer_first_kernel(char* workspace, int64_t stride, int k, int64_t problems, const int64_t* n) {
  for (int64_t item = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; item < problems * stride;
       item += int64_t(gridDim.x) * blockDim.x) {
    const int64_t p = item / stride, i = item - p * stride;
    if (n[p] <= k || i >= n[p]) continue;
    const Work w = work_at(workspace, p, stride, k);
    w.prev[i] = cost(w, 0, i);
  }
}

// Step 3: level t of layer q's tree for every problem; `group` threads (a power of two ≤ kThreads) per
// node. Every thread takes part in its group's reduction, so that the shuffles see whole warps.
__global__ void __launch_bounds__(kThreads)
    layer_level_kernel(char* workspace, int64_t stride, int k, int64_t problems, const int64_t* n, int q, int t,
                       int group) {
  __shared__ double shared_best[kThreads / 32];
  __shared__ int64_t shared_arg[kThreads / 32];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t item = (int64_t(blockIdx.x) * kThreads + tid) / group;
  const int64_t p = item >> t, node = item & ((int64_t(1) << t) - 1);
  const int64_t np = p < problems ? n[p] : -1;
  const Work w = work_at(workspace, p < problems ? p : 0, stride, k);
  const uint16_t* split = w.split + int64_t(q) * stride;
  const double* prev = layer_of(w, q - 1);
  int64_t lo = 1, hi = 0, root_lo = 0, root_hi = 0;  // lo > hi: no node here
  if (np > k) {
    root_lo = q == k - 1 ? np - 1 : q, root_hi = np - 1;
    lo = root_lo, hi = root_hi;
    for (int b = t - 1; b >= 0 && lo <= hi; --b) {
      const int64_t mid = (lo + hi) / 2;
      if ((node >> b) & 1) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  const bool real = lo <= hi;
  const int64_t mid = (lo + hi) / 2;
  int64_t jlo = 1, jhi = 0;
  if (real) {
    jlo = max(lo > root_lo ? int64_t(split[lo - 1]) : int64_t(q), int64_t(q));
    jhi = min(hi < root_hi ? int64_t(split[hi + 1]) : np - 1, mid);
  }
  double best = INFINITY;
  int64_t arg = jlo;
#pragma unroll 4
  for (int64_t j = jlo + tid % group; j <= jhi; j += group) {
    const double d = __dadd_rn(prev[j - 1], cost(w, j, mid));
    if (d < best) best = d, arg = j;
  }
  for (int offset = min(group, 32) / 2; offset > 0; offset /= 2)
    keep_smaller(best, arg, __shfl_xor_sync(0xffffffffu, best, offset), __shfl_xor_sync(0xffffffffu, arg, offset));
  if (group > 32) {  // a node's group spans whole warps of this CTA
    if (lane == 0) shared_best[warp] = best, shared_arg[warp] = arg;
    __syncthreads();
    if (tid % group == 0)
      for (int other = warp + 1; other < warp + group / 32; ++other)
        keep_smaller(best, arg, shared_best[other], shared_arg[other]);
  }
  if (real && tid % group == 0) {
    layer_of(w, q)[mid] = best;
    w.split[int64_t(q) * stride + mid] = static_cast<uint16_t>(arg);
  }
}

// Step 4: one thread per problem. Segments are the optimum's when n > k, else every point its own.
__global__ void __launch_bounds__(128)
    centroids_kernel(char* workspace, int64_t stride, int k, int64_t problems, const int64_t* n, float* centroids,
                     double* inertia) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= problems || n[p] < 0) return;
  const Work w = work_at(workspace, p, stride, k);
  const int64_t np = n[p];
  const int segments = np > k ? k : int(np);
  int64_t* starts = reinterpret_cast<int64_t*>(layer_of(w, k));  // D's rows are free now
  starts[0] = 0;
  if (np > k) {
    int64_t i = np - 1;
    for (int q = k - 1; q >= 1; --q) {
      starts[q] = w.split[int64_t(q) * stride + i];
      i = starts[q] - 1;
    }
  } else {
    for (int s = 1; s < segments; ++s) starts[s] = s;
  }
  double sum = 0;
  float* out = centroids + p * k;
  float last = 0;
  for (int s = 0; s < segments; ++s) {
    const int64_t begin = starts[s], end = s + 1 < segments ? starts[s + 1] : np;
    double m = 0, mx = 0;
    for_each_loaded(begin, end, w.mass, w.mean, [&](int64_t, double mass, double x) {
      m = __dadd_rn(m, mass);
      mx = __dadd_rn(mx, __dmul_rn(mass, x));
    });
    const double c = __ddiv_rn(mx, m);
    for_each_loaded(begin, end, w.mass, w.mean, [&](int64_t, double mass, double x) {
      const double d = __dsub_rn(x, c);
      sum = __dadd_rn(sum, __dmul_rn(__dmul_rn(mass, d), d));
    });
    out[s] = last = __double2float_rn(c);
  }
  for (int s = segments; s < k; ++s) out[s] = last;
  inertia[p] = sum;
}

unsigned blocks_for(int64_t items, int threads) {
  return static_cast<unsigned>(std::clamp<int64_t>((items + threads - 1) / threads, 1, int64_t(1) << 30));
}

// Steps 2 to 4 for `problems` problems whose points (n on the host and the device) step 1 built.
void programme_run(char* workspace, int64_t stride, int k, int64_t problems, const int64_t* n,
                   const std::vector<int64_t>& n_host, float* centroids, double* inertia) {
  const int64_t largest = *std::max_element(n_host.begin(), n_host.end());
  if (largest > k) {
    layer_first_kernel<<<blocks_for(problems * stride, kThreads), kThreads>>>(workspace, stride, k, problems, n);
    QS_CUDA_CHECK_LAUNCH();
    for (int q = 1; q < k; ++q) {
      // The last layer needs only i = n − 1: one node, all its candidates.
      const int64_t size = q == k - 1 ? 1 : largest - q;
      for (int t = 0; (int64_t(1) << t) <= size; ++t) {
        const int64_t span = q == k - 1 ? largest - q : std::max<int64_t>(1, size >> t);  // candidates a node
        int group = 1;
        while (group < kThreads && group * 2 <= span) group *= 2;
        layer_level_kernel<<<blocks_for((problems << t) * group, kThreads), kThreads>>>(workspace, stride, k,
                                                                                        problems, n, q, t, group);
        QS_CUDA_CHECK_LAUNCH();
      }
    }
  }
  centroids_kernel<<<blocks_for(problems, 128), 128>>>(workspace, stride, k, problems, n, centroids, inertia);
  QS_CUDA_CHECK_LAUNCH();
}

void arguments_check(int64_t stride, int k) {
  if (k < 1 || k > kMaxK)
    throw std::invalid_argument("kmeans_exact_cuda: k = " + std::to_string(k) + " is outside 1…256");
  if (stride < 1 || stride > kKMeansExactMaxPoints)
    throw std::invalid_argument("kmeans_exact_cuda: " + std::to_string(stride) + " points per problem (at most " +
                                std::to_string(kKMeansExactMaxPoints) + ")");
}

}  // namespace

int64_t kmeans_exact_sorted_cuda(const float* values, const float* masses, const int32_t* counts, int64_t problems,
                                 int64_t stride, int k, float* centroids, double* inertia_host) {
  arguments_check(stride, k);
  if (problems <= 0) return -1;
  const int64_t chunk = std::clamp<int64_t>(int64_t(kWorkspaceBudget / work_bytes(stride, k)), 1, problems);
  DeviceBuffer<char> workspace(size_t(chunk) * work_bytes(stride, k));
  DeviceBuffer<int64_t> n{size_t(chunk)};
  DeviceBuffer<double> inertia{size_t(problems)};
  std::vector<int64_t> n_host(static_cast<size_t>(chunk));
  for (int64_t first = 0; first < problems; first += chunk) {
    const int64_t count = std::min(chunk, problems - first);
    points_sorted_kernel<<<blocks_for(count, 128), 128>>>(values + first * stride,
                                                          masses ? masses + first * stride : nullptr, counts + first,
                                                          workspace.get(), stride, k, count, n.get());
    QS_CUDA_CHECK_LAUNCH();
    n_host.resize(size_t(count));
    QS_CUDA_CHECK(cudaMemcpyAsync(n_host.data(), n.get(), size_t(count) * sizeof(int64_t), cudaMemcpyDeviceToHost, 0));
    QS_CUDA_CHECK(cudaStreamSynchronize(0));
    for (int64_t p = 0; p < count; ++p)
      if (n_host[size_t(p)] < 0) return first + p;
    programme_run(workspace.get(), stride, k, count, n.get(), n_host, centroids + first * k, inertia.get() + first);
  }
  QS_CUDA_CHECK(cudaMemcpyAsync(inertia_host, inertia.get(), size_t(problems) * sizeof(double),
                                cudaMemcpyDeviceToHost, 0));
  QS_CUDA_CHECK(cudaStreamSynchronize(0));
  return -1;
}

}  // namespace qs::kernels
