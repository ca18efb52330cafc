// See buffer_cache.hpp.
#include "base/buffer_cache.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <vector>

namespace qs {
namespace {

constexpr uint64_t kMinBytes = uint64_t{16} << 20;
constexpr uint64_t kHeldMax = uint64_t{1} << 30;  // what is kept at most, oldest freed first
constexpr uint64_t kPage = uint64_t{2} << 20;     // a huge page

struct Block {
  void* data;
  uint64_t bytes;
};

// Never destroyed: tensors may be freed during static destruction.
struct Cache {
  std::mutex mutex;
  std::vector<Block> kept;  // oldest first
  uint64_t held = 0;
};

Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

void block_free(const Block& b) { std::free(b.data); }

void block_return(Block b) {
  Cache& c = cache();
  std::vector<Block> drop;
  {
    std::lock_guard lock(c.mutex);
    c.kept.push_back(b);
    c.held += b.bytes;
    size_t first = 0;
    while (c.held > kHeldMax) {
      c.held -= c.kept[first].bytes;
      drop.push_back(c.kept[first++]);
    }
    c.kept.erase(c.kept.begin(), c.kept.begin() + ptrdiff_t(first));
  }
  for (const Block& d : drop) block_free(d);
}

Block block_take(uint64_t bytes) {
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    size_t best = c.kept.size();
    for (size_t i = 0; i < c.kept.size(); ++i)
      if (c.kept[i].bytes >= bytes && c.kept[i].bytes <= bytes + bytes / 4 &&
          (best == c.kept.size() || c.kept[i].bytes < c.kept[best].bytes))
        best = i;
    if (best < c.kept.size()) {
      const Block b = c.kept[best];
      c.kept.erase(c.kept.begin() + ptrdiff_t(best));
      c.held -= b.bytes;
      return b;
    }
  }
  const uint64_t rounded = (bytes + kPage - 1) / kPage * kPage;
  void* data = std::aligned_alloc(kPage, rounded);
  if (!data) throw std::bad_alloc();
  ::madvise(data, rounded, MADV_HUGEPAGE);  // a hint: without transparent huge pages, 4 KiB pages
  return {data, rounded};
}

}  // namespace

torch::Tensor buffer_empty(at::IntArrayRef sizes, torch::ScalarType type) {
  const auto options = torch::TensorOptions().dtype(type);
  int64_t numel = 1;
  for (const int64_t s : sizes) numel *= s;
  const uint64_t bytes = uint64_t(numel) * c10::elementSize(type);
  if (bytes < kMinBytes) return torch::empty(sizes, options);
  const Block b = block_take(bytes);
  return torch::from_blob(b.data, sizes, [b](void*) { block_return(b); }, options);
}

uint64_t buffer_cache_bytes() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.held;
}

void buffer_cache_release() {
  Cache& c = cache();
  std::vector<Block> drop;
  {
    std::lock_guard lock(c.mutex);
    drop.swap(c.kept);
    c.held = 0;
  }
  for (const Block& b : drop) block_free(b);
}

}  // namespace qs
