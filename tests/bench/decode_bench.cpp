// The decode benchmark of issue 16, one process on one GPU, everything side by side in one run:
// - per layer (Llama-3 shapes) and batch: cuBLAS bf16 (torch::mm), the packed kernel of each format, a
//   device-to-device copy and a read-only pass over the packed bytes. Every operand is held in enough
//   copies to rotate through 256 MiB, more than the 50 MiB L2, and each launch takes the next copy;
//   R launches are captured in a CUDA graph, replayed, and timed with CUDA events (median, p10, p90
//   per launch);
// - one decode step through all 224 linear layers of a Llama-3-8B shape (fused QKV and gate/up: 128
//   launches; and unfused: 224), bf16 against each packed format, batch 1 and 8, as one CUDA graph.
// Weights are random bytes: the kernel's work does not depend on their values.
#include "decode_bench.hpp"

#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "cuda_host.cuh"
#include "packed_gemv.hpp"
#include "read_stream.hpp"

namespace {

using qs::kernels::GemvShape;

struct Format {
  std::string name;
  int bits;
  int64_t block;  // 0: a whole row
};

const std::vector<Format> kFormats = {{"kmeans1", 1, 64},   {"kmeans2", 2, 64},   {"kmeans3", 3, 64},
                                      {"kmeans4", 4, 64},   {"int4:g128", 4, 128}, {"int8:g128", 8, 128}};

struct Timing {
  double median_us, p10_us, p90_us;
};

// Per-launch time of `launch(i)` for i < launches, captured once into a CUDA graph and replayed.
Timing graph_time(int launches, int replays, const std::function<void(int)>& launch) {
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool();
  c10::cuda::CUDAStreamGuard guard(stream);
  launch(0);  // outside the capture: cuBLAS's handle and workspace
  stream.synchronize();
  at::cuda::CUDAGraph graph;
  graph.capture_begin();
  for (int i = 0; i < launches; ++i) launch(i);
  graph.capture_end();
  for (int i = 0; i < 5; ++i) graph.replay();
  cudaEvent_t begin, end;
  QS_CUDA_CHECK(cudaEventCreate(&begin));
  QS_CUDA_CHECK(cudaEventCreate(&end));
  std::vector<double> samples;
  for (int r = 0; r < replays; ++r) {
    QS_CUDA_CHECK(cudaEventRecord(begin, stream.stream()));
    graph.replay();
    QS_CUDA_CHECK(cudaEventRecord(end, stream.stream()));
    QS_CUDA_CHECK(cudaEventSynchronize(end));
    float ms = 0;
    QS_CUDA_CHECK(cudaEventElapsedTime(&ms, begin, end));
    samples.push_back(double(ms) * 1e3 / launches);
  }
  cudaEventDestroy(begin);
  cudaEventDestroy(end);
  std::sort(samples.begin(), samples.end());
  const auto at = [&](double q) { return samples[size_t(q * double(samples.size() - 1))]; };
  return {at(0.5), at(0.1), at(0.9)};
}

nlohmann::ordered_json timing_json(const Timing& t) {
  return {{"median_us", t.median_us}, {"p10_us", t.p10_us}, {"p90_us", t.p90_us}};
}

torch::TensorOptions on_gpu(torch::Dtype dtype) { return torch::TensorOptions().dtype(dtype).device(torch::kCUDA); }

constexpr uint64_t kRotateBytes = 256ull << 20;

int copies_for(uint64_t bytes) { return int(std::clamp<uint64_t>((kRotateBytes + bytes - 1) / bytes, 2, 64)); }
int launches_for(int copies) { return copies * std::max(1, (60 + copies - 1) / copies); }

// A packed weight on the GPU: records, scale records and levels, random.
struct PackedWeight {
  GemvShape shape;
  torch::Tensor records, scales, levels;
  uint64_t bytes() const { return shape.record_bytes() + shape.scale_record_bytes(); }
};

PackedWeight packed_random(const GemvShape& s) {
  PackedWeight w{s, torch::randint(0, 256, {int64_t(s.record_bytes())}, on_gpu(torch::kUInt8)),
                 torch::full({int64_t(s.scale_record_bytes() / 2)}, 0.01, on_gpu(torch::kBFloat16)),
                 torch::randn({int64_t(1) << s.bits}, on_gpu(torch::kFloat32))};
  return w;
}

GemvShape shape_of(int64_t rows, int64_t cols, const Format& f) {
  return {rows, cols, f.bits, f.block > 0 ? f.block : cols};
}

void gemv_launch(const PackedWeight& w, const torch::Tensor& x, torch::Tensor& y, int batch, torch::Tensor& workspace,
                 int64_t row_begin = 0, int64_t rows = -1) {
  GemvShape s = w.shape;
  const uint8_t* records = w.records.data_ptr<uint8_t>();
  auto* scales = static_cast<const uint16_t*>(w.scales.data_ptr());
  if (rows >= 0) {  // a slice of whole tiles: the records are tile-major
    const GemvShape part{rows, s.cols, s.bits, s.block};
    records += row_begin / qs::kernels::kGemvTileRows * (s.record_bytes() / uint64_t(s.tiles()));
    scales += row_begin / qs::kernels::kGemvTileRows * (s.scale_record_bytes() / 2 / uint64_t(s.tiles()));
    s = part;
  }
  qs::kernels::gemv_cuda(s, records, scales, w.levels.data_ptr<float>(), static_cast<const uint16_t*>(x.data_ptr()),
                         batch, y.data_ptr<float>(), workspace.data_ptr(),
                         c10::cuda::getCurrentCUDAStream().stream());
}

torch::Tensor workspace_for(const std::vector<GemvShape>& shapes, int batch) {
  uint64_t bytes = 0;
  for (const GemvShape& s : shapes) bytes = std::max(bytes, qs::kernels::gemv_workspace_bytes(s, batch));
  return torch::zeros({int64_t(bytes)}, on_gpu(torch::kUInt8));
}

nlohmann::ordered_json layers_run() {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {4096, 4096}, {8192, 8192}, {14336, 4096}, {4096, 14336}, {28672, 8192}};
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::printf("%-12s %-10s %5s %10s %10s %9s %9s %8s %8s %8s\n", "shape", "format", "batch", "cublas us", "kernel us",
              "copy us", "read us", "speedup", "ideal", "GB/s/cub");
  for (const auto& [n, k] : shapes) {
    const uint64_t bf16_bytes = uint64_t(n * k * 2);
    const int bf16_copies = copies_for(bf16_bytes);
    std::vector<torch::Tensor> weights;
    for (int c = 0; c < bf16_copies; ++c) weights.push_back(torch::randn({n, k}, on_gpu(torch::kBFloat16)) * 0.02);
    for (const int batch : {1, 8, 16}) {
      const torch::Tensor x = torch::randn({batch, k}, on_gpu(torch::kBFloat16));
      torch::Tensor y = torch::empty({batch, n}, on_gpu(torch::kBFloat16));
      const Timing cublas = graph_time(launches_for(bf16_copies), 20, [&](int i) {
        torch::mm_out(y, x, weights[size_t(i % bf16_copies)].t());
      });
      const double io_bytes_bf16 = double(batch * (k + n) * 2);
      const double cublas_gbs = (double(bf16_bytes) + io_bytes_bf16) / cublas.median_us / 1e3;
      for (const Format& f : kFormats) {
        const GemvShape s = shape_of(n, k, f);
        const PackedWeight first = packed_random(s);
        const int copies = copies_for(first.bytes());
        std::vector<PackedWeight> packed{first};
        for (int c = 1; c < copies; ++c) packed.push_back(packed_random(s));
        const torch::Tensor xp = torch::randn({batch, s.padded_cols()}, on_gpu(torch::kBFloat16));
        torch::Tensor yp = torch::empty({batch, n}, on_gpu(torch::kFloat32));
        torch::Tensor workspace = workspace_for({s}, batch);
        const int launches = launches_for(copies);
        const Timing kernel = graph_time(launches, 20, [&](int i) {
          gemv_launch(packed[size_t(i % copies)], xp, yp, batch, workspace);
        });
        torch::Tensor destination = torch::empty({int64_t(s.record_bytes())}, on_gpu(torch::kUInt8));
        const Timing copy = graph_time(launches, 20, [&](int i) {
          QS_CUDA_CHECK(cudaMemcpyAsync(destination.data_ptr(), packed[size_t(i % copies)].records.data_ptr(),
                                        s.record_bytes(), cudaMemcpyDeviceToDevice,
                                        c10::cuda::getCurrentCUDAStream().stream()));
        });
        torch::Tensor sink = torch::zeros({1}, on_gpu(torch::kInt32));
        const Timing read = graph_time(launches, 20, [&](int i) {
          read_stream(packed[size_t(i % copies)].records.data_ptr(), s.record_bytes(), sink.data_ptr(),
                      c10::cuda::getCurrentCUDAStream().stream());
        });
        const double packed_bytes = double(first.bytes()) + double(batch * (k + n) * 2);
        const double kernel_gbs = packed_bytes / kernel.median_us / 1e3;
        const double ideal = (double(bf16_bytes) + io_bytes_bf16) / packed_bytes;
        const double speedup = cublas.median_us / kernel.median_us;
        std::printf("%5ldx%-6ld %-10s %5d %10.1f %10.1f %9.1f %9.1f %7.2fx %7.2fx %7.0f%%\n", long(n), long(k),
                    f.name.c_str(), batch, cublas.median_us, kernel.median_us, copy.median_us, read.median_us, speedup,
                    ideal, 100 * kernel_gbs / cublas_gbs);
        std::fflush(stdout);
        rows.push_back({{"rows", n},
                        {"cols", k},
                        {"format", f.name},
                        {"batch", batch},
                        {"packed_bytes", packed_bytes},
                        {"bf16_bytes", double(bf16_bytes) + io_bytes_bf16},
                        {"copies", copies},
                        {"cublas", timing_json(cublas)},
                        {"kernel", timing_json(kernel)},
                        {"copy_records", timing_json(copy)},
                        {"read_records", timing_json(read)},
                        {"cublas_gb_per_s", cublas_gbs},
                        {"kernel_gb_per_s", kernel_gbs},
                        {"copy_gb_per_s", 2.0 * double(s.record_bytes()) / copy.median_us / 1e3},
                        {"read_gb_per_s", double(s.record_bytes()) / read.median_us / 1e3},
                        {"speedup", speedup},
                        {"ideal_speedup", ideal},
                        {"bandwidth_vs_cublas", kernel_gbs / cublas_gbs}});
      }
    }
  }
  return rows;
}

// Llama-3-8B: hidden 4096, 8 KV heads of 128, MLP 14336, 32 blocks.
struct BlockShape {
  const char* name;
  int64_t rows, cols;
  std::vector<int64_t> parts;  // the unfused layers' rows
};
const std::vector<BlockShape> kBlock = {{"qkv", 6144, 4096, {4096, 1024, 1024}},
                                        {"o", 4096, 4096, {4096}},
                                        {"gate_up", 28672, 4096, {14336, 14336}},
                                        {"down", 4096, 14336, {4096}}};
constexpr int kBlocks = 32;

nlohmann::ordered_json model_run() {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<torch::Tensor> xs4096, xs14336;
  double bf16_bytes = 0;
  std::vector<torch::Tensor> weights;
  for (int b = 0; b < kBlocks; ++b)
    for (const BlockShape& l : kBlock) {
      weights.push_back(torch::randn({l.rows, l.cols}, on_gpu(torch::kBFloat16)) * 0.02);
      bf16_bytes += double(l.rows * l.cols * 2);
    }
  std::printf("\n8B decode step (224 linear layers; fused: 128 launches)\n%-10s %5s %7s %12s %12s %9s %8s\n", "format",
              "batch", "fused", "step us", "bf16 us", "speedup", "ideal");
  for (const int batch : {1, 8}) {
    const torch::Tensor x = torch::randn({batch, 14336}, on_gpu(torch::kBFloat16));
    std::vector<torch::Tensor> ys;
    for (const BlockShape& l : kBlock) ys.push_back(torch::empty({batch, l.rows}, on_gpu(torch::kBFloat16)));
    std::vector<std::vector<torch::Tensor>> ys_parts;
    for (const BlockShape& l : kBlock) {
      ys_parts.emplace_back();
      for (const int64_t part : l.parts) ys_parts.back().push_back(torch::empty({batch, part}, on_gpu(torch::kBFloat16)));
    }
    std::vector<torch::Tensor> ys_float;
    for (const BlockShape& l : kBlock) ys_float.push_back(torch::empty({batch, l.rows}, on_gpu(torch::kFloat32)));
    Timing bf16[2];
    for (const bool fused : {true, false}) {
      bf16[fused] = graph_time(1, 20, [&](int) {
        for (int b = 0; b < kBlocks; ++b)
          for (size_t j = 0; j < kBlock.size(); ++j) {
            const torch::Tensor& w = weights[size_t(b) * kBlock.size() + j];
            const torch::Tensor xin = x.narrow(1, 0, kBlock[j].cols);
            if (fused) {
              torch::mm_out(ys[j], xin, w.t());
              continue;
            }
            int64_t begin = 0;
            for (size_t p = 0; p < kBlock[j].parts.size(); ++p) {
              torch::mm_out(ys_parts[j][p], xin, w.narrow(0, begin, kBlock[j].parts[p]).t());
              begin += kBlock[j].parts[p];
            }
          }
      });
      std::printf("%-10s %5d %7s %12.1f %12.1f %8.2fx %7.2fx\n", "bf16", batch, fused ? "yes" : "no",
                  bf16[fused].median_us, bf16[fused].median_us, 1.0, 1.0);
      rows.push_back({{"format", "bf16"}, {"batch", batch}, {"fused", fused}, {"bytes", bf16_bytes},
                      {"step", timing_json(bf16[fused])}});
    }
    for (const Format& f : kFormats) {
      std::vector<PackedWeight> packed;
      double packed_bytes = 0;
      std::vector<GemvShape> shapes;
      for (int b = 0; b < kBlocks; ++b)
        for (const BlockShape& l : kBlock) {
          packed.push_back(packed_random(shape_of(l.rows, l.cols, f)));
          packed_bytes += double(packed.back().bytes());
          shapes.push_back(packed.back().shape);
          for (const int64_t part : l.parts) shapes.push_back(shape_of(part, l.cols, f));
        }
      const torch::Tensor xp = torch::randn({batch, 14336}, on_gpu(torch::kBFloat16));
      torch::Tensor workspace = workspace_for(shapes, batch);
      for (const bool fused : {true, false}) {
        const Timing step = graph_time(1, 20, [&](int) {
          for (int b = 0; b < kBlocks; ++b)
            for (size_t j = 0; j < kBlock.size(); ++j) {
              const PackedWeight& w = packed[size_t(b) * kBlock.size() + j];
              if (fused) {
                gemv_launch(w, xp, ys_float[j], batch, workspace);
                continue;
              }
              int64_t begin = 0;
              for (const int64_t part : kBlock[j].parts) {
                gemv_launch(w, xp, ys_float[j], batch, workspace, begin, part);
                begin += part;
              }
            }
        });
        const double speedup = bf16[fused].median_us / step.median_us;
        std::printf("%-10s %5d %7s %12.1f %12.1f %8.2fx %7.2fx\n", f.name.c_str(), batch, fused ? "yes" : "no",
                    step.median_us, bf16[fused].median_us, speedup, bf16_bytes / packed_bytes);
        std::fflush(stdout);
        rows.push_back({{"format", f.name},
                        {"batch", batch},
                        {"fused", fused},
                        {"bytes", packed_bytes},
                        {"step", timing_json(step)},
                        {"bf16_step_us", bf16[fused].median_us},
                        {"speedup", speedup},
                        {"ideal_speedup", bf16_bytes / packed_bytes}});
      }
    }
  }
  return rows;
}

// About a second of work before anything is timed: clocks cannot be locked here.
void warm_up() {
  const torch::Tensor a = torch::randn({8192, 8192}, on_gpu(torch::kBFloat16));
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
    torch::Tensor b = torch::mm(a, a);
    torch::cuda::synchronize();
  }
}

}  // namespace

nlohmann::ordered_json decode_bench_run(bool per_layer, bool model) {
  cudaDeviceProp props{};
  QS_CUDA_CHECK(cudaGetDeviceProperties(&props, 0));
  nlohmann::ordered_json out;
  out["device"] = props.name;
  out["l2_bytes"] = props.l2CacheSize;
  std::printf("decode benchmark on %s (%d SMs, L2 %d MiB)\n", props.name, props.multiProcessorCount,
              props.l2CacheSize >> 20);
  torch::manual_seed(0);
  warm_up();
  if (per_layer) out["layers"] = layers_run();
  if (model) out["llama_8b_step"] = model_run();
  return out;
}
