// The packed decode product (kernels/packed_gemv.hpp) against the fp64 product of the dequantized
// weight: on the CPU through the repacked records (which checks the layout), on the GPU through the
// kernel, for every bit width and scale block it runs, odd shapes and every batch size from 1 to 16.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "bf16_round.hpp"
#include "cuda_tensors.hpp"
#include "packed_gemv.hpp"

namespace {

using qs::kernels::GemvShape;

struct Operands {
  GemvShape shape;
  std::vector<uint8_t> codes;
  std::vector<float> scales, levels, x;
  int batch = 0;
};

// Unsorted levels with a duplicate, bf16 scales of both signs spanning six decades, and activations
// up to 1e3: what a kernel that mixes up rows, columns, groups or halves would get wrong.
Operands operands_make(const GemvShape& shape, int batch, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  Operands o{shape, {}, {}, {}, {}, batch};
  o.codes.resize(size_t(shape.rows * shape.cols));
  std::uniform_int_distribution<int> code(0, (1 << shape.bits) - 1);
  for (auto& c : o.codes) c = uint8_t(code(rng));
  o.scales.resize(size_t(shape.rows * shape.blocks_per_row()));
  for (auto& s : o.scales) s = qs::kernels::bf16_round(unit(rng) * std::pow(10.f, -float(rng() % 6)));
  o.levels.resize(size_t(1) << shape.bits);
  for (auto& l : o.levels) l = normal(rng);
  if (o.levels.size() > 2) o.levels[1] = o.levels[0];
  o.x.resize(size_t(batch * shape.cols));
  for (size_t i = 0; i < o.x.size(); ++i) o.x[i] = normal(rng) * (i % 97 == 0 ? 1e3f : 1.f);
  return o;
}

// Σ_k |ŵ·x| per output: the scale of the bound.
std::vector<double> magnitudes(const Operands& o) {
  const GemvShape& s = o.shape;
  std::vector<double> m(size_t(o.batch * s.rows));
  for (int b = 0; b < o.batch; ++b)
    for (int64_t r = 0; r < s.rows; ++r) {
      double sum = 0;
      for (int64_t k = 0; k < s.cols; ++k)
        sum += std::abs(double(o.scales[r * s.blocks_per_row() + k / s.block]) * o.levels[o.codes[r * s.cols + k]] *
                        o.x[b * s.cols + k]);
      m[b * s.rows + r] = sum;
    }
  return m;
}

// The fp64 product of the dequantized weight.
std::vector<double> reference_of(const Operands& o) {
  std::vector<double> y(size_t(o.batch * o.shape.rows));
  qs::kernels::gemv_reference_cpu(o.shape, o.codes.data(), o.scales.data(), o.levels.data(), o.x.data(), o.batch,
                                  y.data());
  return y;
}

// The header's bound: two bf16 roundings and fp32 sums.
double bound(const GemvShape& s, double magnitude) { return (std::ldexp(1.0, -7) + s.cols * std::ldexp(1.0, -23)) * magnitude; }

std::string label(const GemvShape& s, int batch) {
  return std::to_string(s.rows) + "x" + std::to_string(s.cols) + " bits " + std::to_string(s.bits) + " block " +
         std::to_string(s.block) + " batch " + std::to_string(batch);
}

std::vector<GemvShape> shapes_all() {
  std::vector<GemvShape> shapes;
  for (const int bits : {1, 2, 3, 4, 8}) {
    shapes.push_back({16, 256, bits, 64});
    shapes.push_back({17, 300, bits, 64});    // one row and 44 columns past a tile and a chunk
    shapes.push_back({5, 100, bits, 32});     // less than one tile and one chunk
    shapes.push_back({33, 1000, bits, 128});  // a short last scale block
    shapes.push_back({40, 513, bits, 16});
    shapes.push_back({24, 700, bits, 700});   // one scale per row
    shapes.push_back({20, 1300, bits, 512});  // a scale over two chunks
  }
  return shapes;
}

std::vector<int> batches_for(size_t index) {
  if (index % 7 == 1) return {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  return {1, 8, 9, 16};
}

struct Records {
  std::vector<uint8_t> records;
  std::vector<uint16_t> scales;
};

Records repack(const Operands& o) {
  Records r{std::vector<uint8_t>(o.shape.record_bytes()), std::vector<uint16_t>(o.shape.scale_record_bytes() / 2)};
  qs::kernels::gemv_repack_cpu(o.shape, o.codes.data(), o.scales.data(), r.records.data(), r.scales.data());
  return r;
}

TEST(KernelsGemv, RecordsMatchTheDequantizedProduct) {
  const std::vector<GemvShape> shapes = shapes_all();
  for (size_t i = 0; i < shapes.size(); ++i)
    for (const int batch : batches_for(i)) {
      const Operands o = operands_make(shapes[i], batch, uint32_t(i * 31 + batch));
      const Records r = repack(o);
      std::vector<float> got(size_t(batch * o.shape.rows));
      qs::kernels::gemv_records_cpu(o.shape, r.records.data(), r.scales.data(), o.levels.data(), o.x.data(), batch,
                                    got.data());
      const std::vector<double> want = reference_of(o);
      const std::vector<double> mag = magnitudes(o);
      int far = 0;
      for (size_t j = 0; j < got.size(); ++j) far += std::abs(got[j] - want[j]) > bound(o.shape, mag[j]);
      EXPECT_EQ(far, 0) << label(o.shape, batch);
    }
}

// A record word holds the codes of exactly the weights gemv_slot names: a code changed at (r, k)
// changes one field, and the product moves by the change of that one weight.
TEST(KernelsGemv, EachWeightHasItsOwnField) {
  const GemvShape s{17, 300, 3, 64};
  Operands o = operands_make(s, 1, 5);
  const Records before = repack(o);
  o.codes[size_t(16 * s.cols + 299)] ^= 5;
  const Records after = repack(o);
  int changed_bytes = 0;
  for (size_t i = 0; i < before.records.size(); ++i) changed_bytes += before.records[i] != after.records[i];
  EXPECT_GE(changed_bytes, 1);
  EXPECT_LE(changed_bytes, 2);  // two planes
}

// Read back from the records, every weight is its scale times its level, bit for bit.
TEST(KernelsGemv, RecordsDequantizeToTheWeight) {
  for (const GemvShape& s : shapes_all()) {
    const Operands o = operands_make(s, 1, 11);
    const Records r = repack(o);
    std::vector<float> w(size_t(s.rows * s.cols));
    qs::kernels::gemv_dequantize_cpu(s, r.records.data(), r.scales.data(), o.levels.data(), w.data());
    int differ = 0;
    for (int64_t row = 0; row < s.rows; ++row)
      for (int64_t k = 0; k < s.cols; ++k)
        differ += w[size_t(row * s.cols + k)] !=
                  o.scales[size_t(row * s.blocks_per_row() + k / s.block)] * o.levels[o.codes[size_t(row * s.cols + k)]];
    EXPECT_EQ(differ, 0) << label(s, 1);
  }
}

TEST(KernelsGemv, RefusesWhatItCannotRun) {
  EXPECT_STRNE(qs::kernels::gemv_shape_unsupported({16, 256, 5, 64}), "");
  EXPECT_STRNE(qs::kernels::gemv_shape_unsupported({16, 1000, 4, 48}), "");
  EXPECT_STRNE(qs::kernels::gemv_shape_unsupported({16, 1000, 4, 300}), "");
  EXPECT_STREQ(qs::kernels::gemv_shape_unsupported({16, 1000, 4, 1000}), "");
  std::vector<uint8_t> codes(16 * 256);
  std::vector<float> scales(16 * 256);
  std::vector<uint8_t> records(1 << 16);
  std::vector<uint16_t> scale_records(1 << 12);
  EXPECT_THROW(qs::kernels::gemv_repack_cpu({16, 256, 4, 24}, codes.data(), scales.data(), records.data(),
                                            scale_records.data()),
               std::invalid_argument);
}

#ifdef QS_WITH_CUDA
torch::Tensor device_bytes(const void* data, size_t bytes) {
  return torch::from_blob(const_cast<void*>(data), {int64_t(bytes)}, torch::kUInt8).to(torch::kCUDA);
}

template <class T>
std::vector<T> host_of(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU).contiguous();
  const auto* p = static_cast<const T*>(c.data_ptr());
  return std::vector<T>(p, p + c.nbytes() / sizeof(T));
}

struct DeviceRun {
  torch::Tensor records, scales, levels, x, y, workspace;
};

DeviceRun device_prepare(const Operands& o, const Records& r) {
  const GemvShape& s = o.shape;
  DeviceRun d;
  d.records = device_bytes(r.records.data(), r.records.size());
  d.scales = device_bytes(r.scales.data(), r.scales.size() * 2);
  d.levels = torch::tensor(o.levels).to(torch::kCUDA);
  torch::Tensor x = torch::zeros({o.batch, s.padded_cols()});
  x.narrow(1, 0, s.cols).copy_(torch::from_blob(const_cast<float*>(o.x.data()), {o.batch, s.cols}));
  d.x = x.to(torch::kBFloat16).to(torch::kCUDA);
  d.y = torch::full({o.batch, s.rows}, std::nanf(""), torch::TensorOptions().device(torch::kCUDA));
  d.workspace = torch::zeros({int64_t(qs::kernels::gemv_workspace_bytes(s, qs::kernels::kGemvMaxBatch))},
                             torch::TensorOptions().dtype(torch::kUInt8).device(torch::kCUDA));
  return d;
}

std::vector<float> device_product(const Operands& o, DeviceRun& d) {
  qs::kernels::gemv_cuda(o.shape, d.records.data_ptr<uint8_t>(), static_cast<const uint16_t*>(d.scales.data_ptr()),
                         d.levels.data_ptr<float>(), static_cast<const uint16_t*>(d.x.data_ptr()), o.batch,
                         d.y.data_ptr<float>(), d.workspace.data_ptr(), nullptr);
  return host_of<float>(d.y);
}

TEST(KernelsGemv, CudaMatchesTheDequantizedProductAndTheRecords) {
  QS_REQUIRE_CUDA();
  std::vector<GemvShape> shapes = shapes_all();
  // Shapes of a real model, where the columns split across thread blocks.
  for (const int bits : {1, 2, 4, 8}) {
    shapes.push_back({4096, 4096, bits, 64});
    shapes.push_back({512, 14336, bits, 128});
  }
  for (size_t i = 0; i < shapes.size(); ++i) {
    const bool big = shapes[i].rows * shapes[i].cols > (1 << 22);
    for (const int batch : big ? std::vector<int>{1, 16} : batches_for(i)) {
      const Operands o = operands_make(shapes[i], batch, uint32_t(i * 17 + batch));
      const Records r = repack(o);
      DeviceRun d = device_prepare(o, r);
      const std::vector<float> got = device_product(o, d);
      const std::vector<double> want = reference_of(o);
      std::vector<float> emulated(got.size());
      qs::kernels::gemv_records_cpu(o.shape, r.records.data(), r.scales.data(), o.levels.data(), o.x.data(), batch,
                                    emulated.data());
      const std::vector<double> mag = magnitudes(o);
      int far = 0, far_records = 0;
      double worst = 0;
      for (size_t j = 0; j < got.size(); ++j) {
        far += !(std::abs(got[j] - want[j]) <= bound(o.shape, mag[j]));
        // Same bf16 inputs as the records' arithmetic; only the order of fp32 sums differs.
        far_records += !(std::abs(got[j] - emulated[j]) <= o.shape.cols * std::ldexp(1.0, -22) * mag[j] + 1e-30);
        if (mag[j] > 0) worst = std::max(worst, std::abs(got[j] - want[j]) / mag[j]);
      }
      EXPECT_EQ(far, 0) << label(o.shape, batch) << " worst relative error " << worst;
      EXPECT_EQ(far_records, 0) << label(o.shape, batch);
      // Deterministic: a second call gives the same bits (the split reduction runs in a fixed order).
      EXPECT_EQ(device_product(o, d), got) << label(o.shape, batch);
    }
  }
}

TEST(KernelsGemv, CudaBatchColumnsAreIndependent) {
  QS_REQUIRE_CUDA();
  const GemvShape s{300, 2000, 2, 64};
  const Operands o = operands_make(s, 16, 9);
  const Records r = repack(o);
  DeviceRun d = device_prepare(o, r);
  const std::vector<float> all = device_product(o, d);
  // The batch reversed: each output row moves with its activation row, bit for bit.
  Operands reversed = o;
  for (int b = 0; b < 16; ++b)
    std::copy(o.x.begin() + (15 - b) * s.cols, o.x.begin() + (16 - b) * s.cols, reversed.x.begin() + b * s.cols);
  DeviceRun dr = device_prepare(reversed, r);
  const std::vector<float> got = device_product(reversed, dr);
  for (int b = 0; b < 16; ++b)
    for (int64_t row = 0; row < s.rows; ++row)
      ASSERT_EQ(got[size_t(b * s.rows + row)], all[size_t((15 - b) * s.rows + row)]) << "batch " << b << " row " << row;
}

TEST(KernelsGemv, CudaDequantizeEqualsCpuDequantize) {
  QS_REQUIRE_CUDA();
  for (const GemvShape& s : shapes_all()) {
    const Operands o = operands_make(s, 1, 13);
    const Records r = repack(o);
    DeviceRun d = device_prepare(o, r);
    torch::Tensor w = torch::empty({s.rows, s.cols}, torch::TensorOptions().device(torch::kCUDA));
    qs::kernels::gemv_dequantize_cuda(s, d.records.data_ptr<uint8_t>(), static_cast<const uint16_t*>(d.scales.data_ptr()),
                                      d.levels.data_ptr<float>(), w.data_ptr<float>(), nullptr);
    std::vector<float> want(size_t(s.rows * s.cols));
    qs::kernels::gemv_dequantize_cpu(s, r.records.data(), r.scales.data(), o.levels.data(), want.data());
    EXPECT_EQ(host_of<float>(w), want) << label(s, 1);
  }
}

TEST(KernelsGemv, CudaRepackEqualsCpuRepack) {
  QS_REQUIRE_CUDA();
  for (const GemvShape& s : shapes_all()) {
    const Operands o = operands_make(s, 1, 3);
    const Records r = repack(o);
    const torch::Tensor codes = device_bytes(o.codes.data(), o.codes.size());
    const torch::Tensor scales = torch::tensor(o.scales).to(torch::kCUDA);
    torch::Tensor records = torch::empty({int64_t(s.record_bytes())}, torch::TensorOptions().dtype(torch::kUInt8).device(torch::kCUDA));
    torch::Tensor scale_records =
        torch::empty({int64_t(s.scale_record_bytes())}, torch::TensorOptions().dtype(torch::kUInt8).device(torch::kCUDA));
    qs::kernels::gemv_repack_cuda(s, codes.data_ptr<uint8_t>(), scales.data_ptr<float>(), records.data_ptr<uint8_t>(),
                                  static_cast<uint16_t*>(scale_records.data_ptr()), nullptr);
    EXPECT_EQ(host_of<uint8_t>(records), r.records) << label(s, 1);
    EXPECT_EQ(host_of<uint16_t>(scale_records), r.scales) << label(s, 1);
  }
}
#endif

}  // namespace
