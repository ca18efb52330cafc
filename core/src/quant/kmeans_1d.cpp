// One-dimensional weighted k-means (kmeans_1d.hpp): the exact Ckmeans.1d.dp dynamic programme on raw
// or binned points, and Lloyd with k-means++ as the heuristic alternative.
//
// Both solvers exploit that 1-D clusters are contiguous runs of the sorted values. The exact solver
// merges equal values, then fills D[q][i] = min_j D[q−1][j−1] + cost(j, i) layer by layer; the optimal
// j is monotone in i, so each layer is a divide and conquer over i, spread over threads (see
// segments_optimal). Lloyd sorts its sample once; an iteration
// then needs only the cluster boundaries (binary search of the midpoints) and prefix sums, which is
// exactly Lloyd's iteration at O(k log n) instead of O(n).
#include "quant/kmeans_1d.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <tuple>

#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr int64_t kLloydSample = int64_t(1) << 20;

// A point of the DP: the mass, the weighted mean, and the within-point sum of squares about that mean
// (0 for raw values; a histogram bin's own spread otherwise, constant for every segmentation).
struct Point {
  double mass, mean, within;
};
using Points = std::vector<Point>;

// Merges runs of equal means (exact duplicates) into one point, in place; the means are ascending.
void points_merge(Points& p) {
  size_t out = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (out > 0 && p[out - 1].mean == p[i].mean) {
      p[out - 1].mass += p[i].mass;
      p[out - 1].within += p[i].within;
    } else {
      p[out++] = p[i];
    }
  }
  p.resize(out);
}

// A thread's scratch for the exact solver, kept between calls: a fit of a 2^16-bin histogram needs a
// few MB, and memory mapped fresh for every call cost as much as the whole programme of a small k
// (page faults, docs/performance.md).
struct Scratch {
  Points points;
  std::vector<double> s0, s1, s2, prev, cur;
  std::vector<int32_t> split;
};
Scratch& scratch_get() {
  thread_local Scratch scratch;
  return scratch;
}
// Keeps a thread's scratch up to what a histogram fit of k = 16 needs; larger (many distinct raw values,
// or 256 levels) is given back, so no thread holds tens of MB after a rare large fit.
void scratch_trim() {
  Scratch& s = scratch_get();
  const size_t bytes = s.points.capacity() * sizeof(Point) +
                       (s.s0.capacity() + s.s1.capacity() + s.s2.capacity() + s.prev.capacity() + s.cur.capacity()) *
                           sizeof(double) +
                       s.split.capacity() * sizeof(int32_t);
  if (bytes > (size_t(16) << 20)) s = Scratch();
}

// The DP over merged, strictly ascending points; returns the start index of each of the k segments.
std::vector<int64_t> segments_optimal(const Points& p, int k) {
  const int64_t n = int64_t(p.size());
  // Sums about the overall weighted mean: the cost is shift-invariant and the centred sums cancel less.
  double total = 0, centre = 0;
  for (const Point& q : p) total += q.mass, centre += q.mass * q.mean;
  centre /= total;
  Scratch& scratch = scratch_get();
  std::vector<double>&s0 = scratch.s0, &s1 = scratch.s1, &s2 = scratch.s2, &prev = scratch.prev, &cur = scratch.cur;
  s0.assign(size_t(n + 1), 0), s1.assign(size_t(n + 1), 0), s2.assign(size_t(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const double y = p[size_t(i)].mean - centre, m = p[size_t(i)].mass;
    s0[i + 1] = s0[i] + m;
    s1[i + 1] = s1[i] + m * y;
    s2[i + 1] = s2[i] + m * y * y;
  }
  // Between-point sum of squares of points j..i about their mean; within-point terms are constant.
  const auto cost = [&](int64_t j, int64_t i) {
    const double m = s0[i + 1] - s0[j], mx = s1[i + 1] - s1[j], mxx = s2[i + 1] - s2[j];
    return std::max(0.0, mxx - mx * mx / m);
  };

  prev.assign(size_t(n), 0), cur.assign(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) prev[i] = cost(0, i);
  // split[q · n + i]: start of the last of q + 1 segments covering points 0..i.
  std::vector<int32_t>& split = scratch.split;
  split.assign(size_t(k) * size_t(n), 0);
  struct Node {
    int64_t lo, hi, jlo, jhi;
  };
  // The first levels of a layer's tree have fewer nodes than threads, and a node scans up to n
  // candidates: they run breadth-first, their scans split into chunks across threads. A chunk keeps its
  // first smallest cost and a node takes its chunks' in ascending order with a strict comparison, which
  // is the serial scan's choice bit for bit. Once a level has enough nodes, each node's subtree runs
  // depth-first on one thread, with no synchronisation per level.
  struct Chunk {
    int64_t node, jlo, jhi;
    double best;
    int64_t arg;
  };
  const int64_t threads = at::get_num_threads();
  const auto candidates = [&](const Node& node, int q) {
    return std::pair{std::max<int64_t>(node.jlo, q), std::min(node.jhi, (node.lo + node.hi) / 2)};
  };
  // The first smallest cost over candidates jlo..jhi for point mid, and its split (jlo when none).
  const auto scan = [&](int64_t mid, int64_t jlo, int64_t jhi) {
    double best = std::numeric_limits<double>::infinity();
    int64_t arg = jlo;
    for (int64_t j = jlo; j <= jhi; ++j) {
      const double d = prev[size_t(j - 1)] + cost(j, mid);
      if (d < best) best = d, arg = j;
    }
    return std::pair{best, arg};
  };
  // Records the best split of node's middle point and returns its children.
  const auto settle = [&](const Node& node, int q, double best, int64_t arg) {
    const int64_t mid = (node.lo + node.hi) / 2;
    cur[size_t(mid)] = best;
    split[size_t(q) * size_t(n) + size_t(mid)] = int32_t(arg);
    return std::pair{Node{node.lo, mid - 1, node.jlo, arg}, Node{mid + 1, node.hi, arg, node.jhi}};
  };
  const auto subtree = [&](const auto& self, const Node& node, int q) -> void {
    if (node.lo > node.hi) return;
    const auto [jlo, jhi] = candidates(node, q);
    const auto [best, arg] = scan((node.lo + node.hi) / 2, jlo, jhi);
    const auto [left, right] = settle(node, q, best, arg);
    self(self, left, q);
    self(self, right, q);
  };
  std::vector<Node> level, next;
  std::vector<Chunk> chunks;
  for (int q = 1; q < k; ++q) {
    // The last layer only needs i = n − 1.
    level.assign(1, Node{q == k - 1 ? n - 1 : q, n - 1, q, n - 1});
    while (!level.empty() && int64_t(level.size()) < 4 * threads) {
      int64_t total = 0;
      for (const Node& node : level) {
        const auto [jlo, jhi] = candidates(node, q);
        total += std::max<int64_t>(0, jhi - jlo + 1);
      }
      const int64_t size = std::max<int64_t>(4096, total / (threads * 4) + 1);
      chunks.clear();
      for (size_t t = 0; t < level.size(); ++t) {
        const auto [jlo, jhi] = candidates(level[t], q);
        int64_t j = jlo;
        do {
          const int64_t last = std::min(j + size - 1, jhi);
          chunks.push_back(Chunk{int64_t(t), j, last, 0, 0});
          j += size;
        } while (j <= jhi);
      }
      at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
          Chunk& chunk = chunks[size_t(c)];
          const Node& node = level[size_t(chunk.node)];
          std::tie(chunk.best, chunk.arg) = scan((node.lo + node.hi) / 2, chunk.jlo, chunk.jhi);
        }
      });
      next.clear();
      size_t c = 0;
      for (size_t t = 0; t < level.size(); ++t) {
        double best = std::numeric_limits<double>::infinity();
        int64_t arg = candidates(level[t], q).first;
        for (; c < chunks.size() && chunks[c].node == int64_t(t); ++c)
          if (chunks[c].best < best) best = chunks[c].best, arg = chunks[c].arg;
        const auto [left, right] = settle(level[t], q, best, arg);
        for (const Node& child : {left, right})
          if (child.lo <= child.hi) next.push_back(child);
      }
      std::swap(level, next);
    }
    at::parallel_for(0, int64_t(level.size()), 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) subtree(subtree, level[size_t(t)], q);
    });
    std::swap(prev, cur);
  }
  std::vector<int64_t> starts(size_t(k), 0);
  int64_t i = n - 1;
  for (int q = k - 1; q >= 1; --q) {
    starts[size_t(q)] = split[size_t(q) * size_t(n) + size_t(i)];
    i = starts[size_t(q)] - 1;
  }
  return starts;
}

// Exact k-means of ascending (possibly duplicate) points, with centroids filled up to k by repeating the
// largest when there are fewer distinct points than k.
Codebook1d points_kmeans(Points& p, int k, const char* who) {
  if (k < 1) throw Error(ErrorKind::Invalid, std::string(who) + ": k must be at least 1, got " + std::to_string(k));
  if (p.empty()) throw Error(ErrorKind::Invalid, std::string(who) + ": no points with positive weight");
  points_merge(p);
  const int64_t n = int64_t(p.size());
  if (n > std::numeric_limits<int32_t>::max())
    throw Error(ErrorKind::Invalid, std::string(who) + ": " + std::to_string(n) + " distinct points are too many");
  Codebook1d result;
  std::vector<int64_t> starts;
  if (n <= k) {
    starts.resize(size_t(n));
    std::iota(starts.begin(), starts.end(), 0);
  } else {
    starts = segments_optimal(p, k);
  }
  for (size_t s = 0; s < starts.size(); ++s) {
    const int64_t begin = starts[s], end = s + 1 < starts.size() ? starts[s + 1] : n;
    double m = 0, mx = 0;
    for (int64_t i = begin; i < end; ++i) m += p[size_t(i)].mass, mx += p[size_t(i)].mass * p[size_t(i)].mean;
    const double c = mx / m;
    for (int64_t i = begin; i < end; ++i) {
      const double d = p[size_t(i)].mean - c;
      result.inertia += p[size_t(i)].within + p[size_t(i)].mass * d * d;
    }
    result.centroids.push_back(c);
  }
  result.centroids.resize(size_t(k), result.centroids.back());
  scratch_trim();
  return result;
}

// Weights are one per value; `optional` lets none be given (all 1).
void check_sizes(size_t values, size_t weights, bool optional, const char* who) {
  if (weights != values && !(optional && weights == 0))
    throw Error(ErrorKind::Invalid, std::string(who) + ": " + std::to_string(values) + " values but " +
                                        std::to_string(weights) + " weights");
}

void check_weight(double m, size_t i, const char* who) {
  if (!std::isfinite(m) || m < 0)
    throw Error(ErrorKind::Invalid, std::string(who) + ": weight " + std::to_string(m) + " at index " +
                                        std::to_string(i) + " is negative or not finite");
}

// Nearest of sorted centroids; ties go to the lower one.
int nearest(const std::vector<double>& c, double x) {
  int lo = 0, hi = int(c.size()) - 1;
  while (lo < hi) {  // first j whose midpoint with j + 1 is at or above x
    const int mid = (lo + hi) / 2;
    if (x <= 0.5 * (c[size_t(mid)] + c[size_t(mid) + 1])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// Σ m·(x − nearest centroid)² over every point (m empty: all 1).
double inertia_nearest(std::span<const float> x, std::span<const float> m, const std::vector<double>& centroids) {
  std::mutex mutex;
  double inertia = 0;
  int64_t bad = 0;
  at::parallel_for(0, int64_t(x.size()), int64_t(1) << 16, [&](int64_t begin, int64_t end) {
    double sum = 0;
    int64_t invalid = 0;
    for (int64_t i = begin; i < end; ++i) {
      const double v = x[size_t(i)], w = m.empty() ? 1.0 : double(m[size_t(i)]);
      if (!std::isfinite(v) || !std::isfinite(w) || w < 0) {
        ++invalid;
        continue;
      }
      const double d = v - centroids[size_t(nearest(centroids, v))];
      sum += w * d * d;
    }
    std::lock_guard lock(mutex);
    inertia += sum;
    bad += invalid;
  });
  if (bad > 0)
    throw Error(ErrorKind::Numeric, "kmeans_lloyd: " + std::to_string(bad) +
                                        " values or weights are NaN, Inf or negative");
  return inertia;
}

}  // namespace

Codebook1d kmeans_exact(std::span<const double> x, std::span<const double> m, int k) {
  const char* who = "kmeans_exact";
  check_sizes(x.size(), m.size(), false, who);
  Points& p = scratch_get().points;
  p.clear();
  p.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      throw Error(ErrorKind::Numeric, std::string(who) + ": value at index " + std::to_string(i) + " is not finite");
    if (i > 0 && x[i] < x[i - 1])
      throw Error(ErrorKind::Invalid,
                  std::string(who) + ": values are not sorted ascending at index " + std::to_string(i));
    check_weight(m[i], i, who);
    if (m[i] == 0) continue;  // no mass: does not change the objective
    p.push_back(Point{m[i], x[i], 0});
  }
  return points_kmeans(p, k, who);
}

Codebook1d kmeans_exact_binned(std::span<const double> sum_m, std::span<const double> sum_mx,
                               std::span<const double> sum_mxx, int k) {
  const char* who = "kmeans_exact_binned";
  if (sum_mx.size() != sum_m.size() || sum_mxx.size() != sum_m.size())
    throw Error(ErrorKind::Invalid, std::string(who) + ": bin arrays differ in length (" +
                                        std::to_string(sum_m.size()) + ", " + std::to_string(sum_mx.size()) + ", " +
                                        std::to_string(sum_mxx.size()) + ")");
  Points& p = scratch_get().points;
  p.clear();
  p.reserve(sum_m.size());
  for (size_t i = 0; i < sum_m.size(); ++i) {
    check_weight(sum_m[i], i, who);
    if (!std::isfinite(sum_mx[i]) || !std::isfinite(sum_mxx[i]))
      throw Error(ErrorKind::Numeric, std::string(who) + ": bin " + std::to_string(i) + " has a non-finite sum");
    if (sum_m[i] == 0) continue;  // an empty bin
    const double mean = sum_mx[i] / sum_m[i];
    p.push_back(Point{sum_m[i], mean, std::max(0.0, sum_mxx[i] - sum_mx[i] * mean)});
  }
  // Bins of a histogram are already in order; sorting by mean makes any order of bins valid.
  const auto by_mean = [](const Point& a, const Point& b) { return a.mean < b.mean; };
  if (!std::is_sorted(p.begin(), p.end(), by_mean)) std::stable_sort(p.begin(), p.end(), by_mean);
  return points_kmeans(p, k, who);
}

namespace {

// Lloyd's iterations on every point of x; the inertia only when asked (kmeans_lloyd computes it over
// all points when it fitted a sample).
Codebook1d lloyd_iterate(std::span<const float> x, std::span<const float> m, std::vector<double> centroids,
                         int max_iterations, double tolerance, bool with_inertia) {
  const char* who = "kmeans_lloyd";
  if (centroids.empty()) throw Error(ErrorKind::Invalid, std::string(who) + ": no initial centroids");
  check_sizes(x.size(), m.size(), true, who);
  const int k = int(centroids.size());
  // The sorted points (zero weights dropped), centred for the prefix sums.
  std::vector<std::pair<double, double>> points;
  points.reserve(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      throw Error(ErrorKind::Numeric, std::string(who) + ": value at index " + std::to_string(i) + " is not finite");
    const double w = m.empty() ? 1.0 : double(m[i]);
    check_weight(w, i, who);
    if (w > 0) points.emplace_back(double(x[i]), w);
  }
  if (points.empty()) throw Error(ErrorKind::Invalid, std::string(who) + ": no points with positive weight");
  std::sort(points.begin(), points.end());
  const int64_t n = int64_t(points.size());
  double total = 0, centre = 0;
  for (const auto& [v, w] : points) total += w, centre += w * v;
  centre /= total;
  const size_t count = points.size();
  std::vector<double> xs(count), s0(count + 1, 0), s1(count + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    xs[size_t(i)] = points[size_t(i)].first;
    s0[size_t(i) + 1] = s0[size_t(i)] + points[size_t(i)].second;
    s1[size_t(i) + 1] = s1[size_t(i)] + points[size_t(i)].second * (points[size_t(i)].first - centre);
  }

  std::sort(centroids.begin(), centroids.end());
  // bound[j]: first sorted point of cluster j + 1 (nearest centroid, ties to the lower one).
  const auto bounds = [&](const std::vector<double>& c) {
    std::vector<int64_t> b(size_t(k) - 1);
    for (int j = 0; j + 1 < k; ++j) {
      const double mid = 0.5 * (c[size_t(j)] + c[size_t(j) + 1]);
      b[size_t(j)] = std::upper_bound(xs.begin(), xs.end(), mid) - xs.begin();
    }
    return b;
  };
  // Points whose cluster index differs between two boundary sets: the union of the intervals between
  // each old and new boundary.
  const auto changed = [&](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (size_t j = 0; j < a.size(); ++j)
      if (a[j] != b[j]) spans.emplace_back(std::min(a[j], b[j]), std::max(a[j], b[j]));
    std::sort(spans.begin(), spans.end());
    int64_t count = 0, reach = 0;
    for (const auto& [lo, hi] : spans) {
      const int64_t from = std::max(lo, reach);
      if (hi > from) count += hi - from;
      reach = std::max(reach, hi);
    }
    return count;
  };

  Codebook1d result;
  std::vector<int64_t> bound = bounds(centroids);
  for (int it = 0; it < max_iterations; ++it) {
    ++result.iterations;
    std::vector<int> empty;
    size_t reseeded = 0;
    for (int j = 0; j < k; ++j) {
      const int64_t begin = j == 0 ? 0 : bound[size_t(j) - 1], end = j + 1 < k ? bound[size_t(j)] : n;
      const double mass = s0[size_t(end)] - s0[size_t(begin)];
      if (end > begin && mass > 0) centroids[size_t(j)] = centre + (s1[size_t(end)] - s1[size_t(begin)]) / mass;
      else empty.push_back(j);
    }
    if (!empty.empty()) {
      // An empty cluster restarts at the point the current codebook serves worst (largest weighted
      // squared error), the usual remedy; distinct points for several empty clusters. Points already
      // exact are never taken, so duplicates of a centroid stay when there is nothing left to split.
      std::vector<std::pair<double, int64_t>> worst;
      for (int j = 0; j < k; ++j) {
        const int64_t begin = j == 0 ? 0 : bound[size_t(j) - 1], end = j + 1 < k ? bound[size_t(j)] : n;
        for (int64_t i = begin; i < end; ++i) {
          const double d = xs[size_t(i)] - centroids[size_t(j)];
          worst.emplace_back(points[size_t(i)].second * d * d, i);
        }
      }
      const size_t take = std::min(empty.size(), worst.size());
      std::partial_sort(worst.begin(), worst.begin() + ptrdiff_t(take), worst.end(), std::greater<>());
      for (size_t e = 0; e < take && worst[e].first > 0; ++e, ++reseeded)
        centroids[size_t(empty[e])] = xs[size_t(worst[e].second)];
      std::sort(centroids.begin(), centroids.end());
    }
    const std::vector<int64_t> next = bounds(centroids);
    const int64_t moved = changed(bound, next);
    bound = next;
    if (reseeded == 0 && double(moved) <= tolerance * double(n)) break;
  }
  std::sort(centroids.begin(), centroids.end());

  if (with_inertia) result.inertia = inertia_nearest(x, m, centroids);
  result.centroids = std::move(centroids);
  return result;
}

}  // namespace

Codebook1d kmeans_lloyd_refine(std::span<const float> x, std::span<const float> m, std::vector<double> centroids,
                               int max_iterations, double tolerance) {
  return lloyd_iterate(x, m, std::move(centroids), max_iterations, tolerance, true);
}

std::vector<int64_t> LloydFit::picks(int64_t n) {
  // Every point, or kLloydSample drawn without replacement (Floyd's algorithm).
  std::vector<int64_t> picks;
  if (n <= kLloydSample) return picks;
  std::vector<uint64_t> taken(size_t((n + 63) / 64), 0);
  picks.reserve(size_t(kLloydSample));
  for (int64_t j = n - kLloydSample; j < n; ++j) {
    int64_t t = std::uniform_int_distribution<int64_t>(0, j)(rng_);
    if (taken[size_t(t) / 64] >> (t % 64) & 1) t = j;
    taken[size_t(t) / 64] |= uint64_t(1) << (t % 64);
    picks.push_back(t);
  }
  std::sort(picks.begin(), picks.end());
  return picks;
}

Codebook1d LloydFit::fit(std::span<const float> x, std::span<const float> m, int k, bool with_inertia,
                         int max_iterations, double tolerance) {
  const char* who = "kmeans_lloyd";
  if (k < 1) throw Error(ErrorKind::Invalid, std::string(who) + ": k must be at least 1, got " + std::to_string(k));
  check_sizes(x.size(), m.size(), true, who);
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) throw Error(ErrorKind::Numeric, std::string(who) + ": a value is not finite");
    if (!m.empty()) check_weight(m[i], i, who);
  }
  const auto weight = [&](size_t i) { return m.empty() ? 1.0 : double(m[i]); };

  // k-means++: the first centroid drawn by weight, each next by weight × squared distance to the
  // nearest chosen one. When every point already sits on a centroid, the rest repeat it.
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> centroids;
  std::vector<double> d2(x.size(), std::numeric_limits<double>::infinity());
  const auto draw = [&](const auto& mass) -> int64_t {
    double total = 0;
    for (size_t i = 0; i < x.size(); ++i) total += mass(i);
    if (!(total > 0)) return -1;
    const double target = unit(rng_) * total;
    double acc = 0;
    int64_t last = -1;
    for (size_t i = 0; i < x.size(); ++i) {
      if (mass(i) <= 0) continue;
      acc += mass(i);
      last = int64_t(i);
      if (acc > target) break;
    }
    return last;
  };
  const int64_t first = draw(weight);
  if (first < 0) throw Error(ErrorKind::Invalid, std::string(who) + ": no points with positive weight");
  centroids.push_back(x[size_t(first)]);
  while (int(centroids.size()) < k) {
    const double c = centroids.back();
    for (size_t i = 0; i < x.size(); ++i) d2[i] = std::min(d2[i], (x[i] - c) * (x[i] - c));
    const int64_t pick = draw([&](size_t i) { return weight(i) * d2[i]; });
    centroids.push_back(pick < 0 ? c : double(x[size_t(pick)]));
  }
  return lloyd_iterate(x, m, std::move(centroids), max_iterations, tolerance, with_inertia);
}

std::vector<double> kmeans_lloyd_draws(uint64_t seed, int k) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> draws(size_t(std::max(k, 0)));
  for (double& d : draws) d = unit(rng);
  return draws;
}

Codebook1d kmeans_lloyd(std::span<const float> x, std::span<const float> m, int k, uint64_t seed,
                        int max_iterations, double tolerance) {
  const char* who = "kmeans_lloyd";
  check_sizes(x.size(), m.size(), true, who);
  LloydFit lloyd(seed);
  const std::vector<int64_t> picks = lloyd.picks(int64_t(x.size()));
  if (picks.empty()) return lloyd.fit(x, m, k, true, max_iterations, tolerance);
  std::vector<float> sx, sm;
  sx.reserve(picks.size());
  for (int64_t i : picks) {
    sx.push_back(x[size_t(i)]);
    if (!m.empty()) sm.push_back(m[size_t(i)]);
  }
  Codebook1d fit = lloyd.fit(sx, sm, k, false, max_iterations, tolerance);
  fit.inertia = inertia_nearest(x, m, fit.centroids);  // over every point
  return fit;
}

}  // namespace qs
