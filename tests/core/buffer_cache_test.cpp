// buffer_cache.hpp: a freed large tensor's memory serves the next request it fits, small tensors and
// misfits get their own, the bound and the release give memory back, and the quantizers' CPU outputs
// come from it.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "base/buffer_cache.hpp"
#include "base/process_memory.hpp"
#include "quant/quantizer.hpp"
#include "quantscope/format.hpp"

namespace qs {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

TEST(BufferCache, FreedBlockServesTheNextRequestItFits) {
  buffer_cache_release();
  void* first = nullptr;
  {
    const torch::Tensor t = buffer_empty({32, kMiB}, torch::kUInt8);
    first = t.data_ptr();
    EXPECT_EQ(buffer_cache_bytes(), 0u);
  }
  EXPECT_GE(buffer_cache_bytes(), uint64_t(32 * kMiB));
  const torch::Tensor same = buffer_empty({8, kMiB}, torch::kFloat32);  // the same 32 MiB
  EXPECT_EQ(same.data_ptr(), first);
  EXPECT_EQ(buffer_cache_bytes(), 0u);
  EXPECT_EQ(same.sizes(), (std::vector<int64_t>{8, kMiB}));
  EXPECT_EQ(same.scalar_type(), torch::kFloat32);
}

TEST(BufferCache, MisfitsAndSmallTensorsGetTheirOwn) {
  buffer_cache_release();
  const void* big = nullptr;
  { big = buffer_empty({64, kMiB}, torch::kUInt8).data_ptr(); }
  const torch::Tensor smaller = buffer_empty({32, kMiB}, torch::kUInt8);  // would waste half of it
  const torch::Tensor small = buffer_empty({1024}, torch::kFloat32);
  EXPECT_NE(smaller.data_ptr(), big);
  EXPECT_NE(small.data_ptr(), big);
  EXPECT_GE(buffer_cache_bytes(), uint64_t(64 * kMiB));  // still kept
  buffer_cache_release();
  EXPECT_EQ(buffer_cache_bytes(), 0u);
}

TEST(BufferCache, KeepsAtMostOneGibibyteAndHeapReleaseEmptiesIt) {
  buffer_cache_release();
  {
    std::vector<torch::Tensor> many;
    for (int i = 0; i < 5; ++i) many.push_back(buffer_empty({300, kMiB}, torch::kUInt8));
  }
  EXPECT_LE(buffer_cache_bytes(), uint64_t(1024 * kMiB));
  EXPECT_GT(buffer_cache_bytes(), uint64_t(600 * kMiB));
  heap_release();
  EXPECT_EQ(buffer_cache_bytes(), 0u);
}

TEST(BufferCache, RequantizingALayerReusesItsOutputs) {
  buffer_cache_release();
  const torch::Tensor w = torch::randn({1024, 8192}) * 0.02;  // 32 MiB of float32 outputs
  QuantizerInput input;
  input.weight = w;
  const void* dequant = nullptr;
  {
    const QuantizerOutput q = quantizer_run(format_parse("int4:g128"), input);
    dequant = q.dequant.data_ptr();
  }
  const QuantizerOutput again = quantizer_run(format_parse("int4:g128"), input);
  EXPECT_EQ(again.dequant.data_ptr(), dequant);
  buffer_cache_release();
}

}  // namespace
}  // namespace qs
