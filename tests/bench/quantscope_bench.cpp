// quantscope-bench: how fast each quantizer family runs on 4096×4096 and 4096×14336 weights on CPU
// and GPU, the Hadamard-128 rotation against the GPU's copy bandwidth, and every linear weight of an
// 8B-parameter Llama shape (32 blocks, synthetic bf16 weights) quantized on the GPU; with --run-file,
// the run file's cost per logged step, rewritten whole against appended; with --error-map, the error
// map's pooling of a 4096×14336 layer to screen resolution; with --decode (CUDA builds), the packed
// decode kernels against cuBLAS bf16 (decode_bench.cpp); on CUDA also the stages of a k-means fit. Prints a table and writes JSON with --json
// FILE; docs/performance.md records the results.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "quant/quantizer.hpp"
#ifdef QS_WITH_CUDA
#include "codebook.hpp"
#include "quant/kmeans_1d.hpp"
#endif
#ifdef QS_DECODE_BENCH
#include "decode_bench.hpp"
#endif
#include "quantscope/error_map.hpp"
#include "quantscope/format.hpp"
#include "quantscope/run_file.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void sync(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

// Median of `reps` timed runs after one warm-up run.
template <class F>
double seconds_median(const torch::Device& device, int reps, const F& fn) {
  fn();
  sync(device);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto start = Clock::now();
    fn();
    sync(device);
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

qs::QuantizerOutput quantize(const std::string& spec, const torch::Tensor& w) {
  qs::QuantizerInput input;
  input.weight = w;
  return qs::quantizer_run(qs::format_parse(spec), input);
}

const std::vector<std::string> kSpecs = {"int4:g128", "int4:g128:mse", "int2:g64",    "quest4",
                                         "quest2",    "kmeans1",       "kmeans2",     "kmeans4",
                                         "kmeans2:lloyd", "kmeans2:channel", "kmeans2:channel:lloyd", "nf4"};

nlohmann::ordered_json families_run(const torch::Device& device, int reps) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& [out, in] : std::vector<std::pair<int64_t, int64_t>>{{4096, 4096}, {4096, 14336}}) {
    torch::manual_seed(0);
    const torch::Tensor w = (torch::randn({out, in}) * 0.02).to(device).contiguous();
    for (const std::string& spec : kSpecs) {
      const double s = seconds_median(device, reps, [&] { quantize(spec, w); });
      const double weights = double(out * in);
      std::cout << (device.is_cuda() ? "cuda" : "cpu ") << "  " << out << "x" << in << "  " << spec << "  "
                << s * 1e3 << " ms  " << weights / s / 1e9 << " Gweights/s\n";
      rows.push_back({{"device", device.is_cuda() ? "cuda" : "cpu"}, {"shape", {out, in}}, {"format", spec},
                      {"seconds", s}, {"gweights_per_second", weights / s / 1e9}});
    }
  }
  return rows;
}

#ifdef QS_WITH_CUDA
// Where the time of a tensor-wide k-means fit goes on the GPU, stage by stage, for a 4096×14336 layer:
// block scales, the range (a read back to the host), the 2^16-bin histogram, the exact fit on it on
// the host (k = 2, 4, 16, with the copy), and the code assignment.
nlohmann::ordered_json kmeans_stages_run(int reps) {
  namespace k = qs::kernels;
  const torch::Device cuda(torch::kCUDA);
  const int64_t rows = 4096, cols = 14336, block = 64, bins = 1 << 16;
  torch::manual_seed(0);
  const torch::Tensor w = (torch::randn({rows, cols}) * 0.02).to(cuda);
  const torch::Tensor scales = torch::empty({rows * k::blocks_per_row(cols, block)}, w.options());
  const torch::Tensor sums = torch::zeros({bins, 4}, w.options().dtype(torch::kFloat64));
  const torch::Tensor books = torch::tensor({-1.5f, -0.5f, 0.5f, 1.5f}).to(cuda);
  const torch::Tensor codes = torch::empty({rows, cols}, w.options().dtype(torch::kUInt8));
  const torch::Tensor dequant = torch::empty_like(w);
  const float* wp = w.data_ptr<float>();
  float lo = 0, hi = 0;
  double inertia = 0;
  nlohmann::ordered_json r = {{"shape", {rows, cols}}, {"block", block}, {"bins", bins}};
  const auto stage = [&](const char* name, const auto& fn) {
    const double s = seconds_median(cuda, reps, fn);
    std::cout << "cuda  kmeans stages 4096x14336  " << name << "  " << s * 1e3 << " ms\n";
    r[name] = s;
  };
  stage("scales", [&] { k::block_scales_cuda(wp, rows, cols, block, true, 1e-5f, true, scales.data_ptr<float>()); });
  stage("range", [&] { k::normalized_range_cuda(wp, scales.data_ptr<float>(), rows, cols, block, &lo, &hi); });
  stage("histogram", [&] {
    sums.zero_();
    k::codebook_histogram_cuda(wp, scales.data_ptr<float>(), nullptr, rows, cols, block, lo, hi, int(bins),
                               sums.data_ptr<double>());
  });
  // The fit itself runs on the host, on the histogram copied there.
  for (const int levels : {2, 4, 16})
    stage(levels == 2 ? "fit_k2" : levels == 4 ? "fit_k4" : "fit_k16", [&] {
      const torch::Tensor h = sums.cpu();
      std::vector<double> sm(static_cast<size_t>(bins)), smu(sm), smuu(sm);
      const auto a = h.accessor<double, 2>();
      for (int64_t b = 0; b < bins; ++b) sm[size_t(b)] = a[b][0], smu[size_t(b)] = a[b][1], smuu[size_t(b)] = a[b][2];
      inertia = qs::kmeans_exact_binned(sm, smu, smuu, levels).inertia;
    });
  stage("assign_k4", [&] {
    k::codebook_assign_cuda(wp, scales.data_ptr<float>(), rows, cols, block, books.data_ptr<float>(), 4, 0,
                            codes.data_ptr<uint8_t>(), dequant.data_ptr<float>());
  });
  return r;
}
#endif

// Bytes moved per second: one read and one write of the tensor.
nlohmann::ordered_json hadamard_bandwidth(int reps) {
  const torch::Device cuda(torch::kCUDA);
  const int64_t rows = 16384, cols = 8192;  // 512 MiB of float32
  torch::Tensor x = torch::randn({rows, cols}, torch::TensorOptions().device(cuda));
  torch::Tensor y = torch::empty_like(x);
  const double bytes = 2.0 * double(x.numel()) * 4;
  const double copy = seconds_median(cuda, reps, [&] { y.copy_(x); });
  const double h128 = seconds_median(cuda, reps, [&] { qs::hadamard_apply(x, 128); });
  const double h64 = seconds_median(cuda, reps, [&] { qs::hadamard_apply(x, 64); });
  const double h1024 = seconds_median(cuda, reps, [&] { qs::hadamard_apply(x, 1024); });
  nlohmann::ordered_json r = {{"tensor", {rows, cols}},
                              {"copy_gb_per_second", bytes / copy / 1e9},
                              {"hadamard128_gb_per_second", bytes / h128 / 1e9},
                              {"hadamard128_fraction_of_copy", copy / h128},
                              {"hadamard64_gb_per_second", bytes / h64 / 1e9},
                              {"hadamard1024_gb_per_second", bytes / h1024 / 1e9}};
  std::cout << "hadamard on cuda: " << r.dump() << "\n";
  return r;
}

// Llama-3-8B: hidden 4096, intermediate 14336, 32 query and 8 key/value heads of 128, 32 blocks.
nlohmann::ordered_json llama8b_run(const std::vector<std::string>& specs) {
  const torch::Device cuda(torch::kCUDA);
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{4096, 4096}, {1024, 4096},  {1024, 4096}, {4096, 4096},
                                                           {14336, 4096}, {14336, 4096}, {4096, 14336}};
  torch::manual_seed(0);
  std::vector<torch::Tensor> weights;
  int64_t params = 0;
  for (int layer = 0; layer < 32; ++layer)
    for (const auto& [out, in] : shapes) {
      weights.push_back((torch::randn({out, in}, torch::TensorOptions().device(cuda)) * 0.02).to(torch::kBFloat16));
      params += out * in;
    }
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const std::string& spec : specs) {
    const qs::FormatSpec format = qs::format_parse(spec);
    auto all = [&] {
      for (torch::Tensor& w : weights) {
        qs::QuantizerInput input;
        input.weight = w.to(torch::kFloat32).contiguous();
        const qs::QuantizerOutput q = qs::quantizer_run(format, input);
        // What model_quantize keeps: the dequantized weight in the model's dtype.
        [[maybe_unused]] const torch::Tensor back = q.dequant.to(torch::kBFloat16);
      }
    };
    const double s = seconds_median(cuda, 3, all);
    std::cout << "llama-8b shape on cuda: " << params << " weights in " << weights.size() << " tensors to " << spec
              << ": " << s << " s\n";
    rows.push_back({{"format", spec}, {"tensors", weights.size()}, {"weights", params}, {"seconds", s}});
  }
  return rows;
}

// The run file's cost per logged step for a QAT run of `layers` quantized layers: the whole file
// rewritten atomically at every step (the trainer's pattern until the appender) against one append,
// side by side in one process, into a folder given by the caller.
nlohmann::ordered_json run_file_run(const std::filesystem::path& dir, int64_t steps, int64_t layers) {
  qs::RunTelemetry run;
  for (int64_t i = 0; i < layers; ++i) run.layers.push_back("model.layers." + std::to_string(i / 7) + ".proj" + std::to_string(i % 7));
  run.config_json = "{}";
  const auto log = [&](int64_t step) {
    qs::RunStep s{.step = step, .loss = 2.0, .lr = 1e-4, .grad_norm = 0.5, .tokens_per_second = 1e4, .heldout_loss = 0};
    qs::RunLayerSample sample{.step = step};
    for (auto* v : {&sample.weight_masked, &sample.act_masked, &sample.weight_error, &sample.codebook_drift})
      v->assign(size_t(layers), 0.25);
    return std::pair{s, sample};
  };
  const auto time = [](const auto& fn) {
    const auto start = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  qs::RunTelemetry whole = run;
  const double rewrite = time([&] {
    for (int64_t step = 1; step <= steps; ++step) {
      auto [s, sample] = log(step);
      whole.steps.push_back(s);
      whole.samples.push_back(sample);
      qs::run_file_write(dir / "rewritten.h5", whole);
    }
  });
  const double append = time([&] {
    qs::RunFileAppender appender(dir / "appended.h5", run);
    for (int64_t step = 1; step <= steps; ++step) {
      auto [s, sample] = log(step);
      appender.step_append(s);
      appender.sample_append(sample);
    }
  });
  std::cout << "run file, " << steps << " logged steps of " << layers << " layers: rewritten whole " << rewrite
            << " s, appended " << append << " s\n";
  return {{"steps", steps}, {"layers", layers}, {"rewrite_seconds", rewrite}, {"append_seconds", append}};
}

// One 4096×14336 layer (Llama-3-8B's down_proj) and a copy with int4-sized noise, pooled as the GUI
// pools it: the whole layer into 600×1000 tiles with its marginals, and a zoomed 1024×2048 window.
nlohmann::ordered_json error_map_run(qs::Device device, int reps) {
  const int64_t out = 4096, in = 14336;
  torch::manual_seed(0);
  const torch::Tensor w = torch::randn({out, in}) * 0.02;
  const torch::Tensor wq = w + torch::randn({out, in}) * 0.002;
  const qs::ErrorMap map({w.data_ptr<float>(), size_t(w.numel())}, {wq.data_ptr<float>(), size_t(wq.numel())}, out,
                         in, device);
  const torch::Device where(device == qs::Device::Cuda ? torch::kCUDA : torch::kCPU);
  const char* name = device == qs::Device::Cuda ? "cuda" : "cpu";
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  struct Case {
    const char* label;
    qs::ErrorMapWindow window;
    qs::ErrorMapValue value;
    qs::ErrorMapPool pool;
  };
  const qs::ErrorMapWindow all{0, 0, out, in}, zoom{1024, 4096, 1024, 2048};
  for (const Case& c : {Case{"abs max", all, qs::ErrorMapValue::Abs, qs::ErrorMapPool::Max},
                        Case{"abs mean", all, qs::ErrorMapValue::Abs, qs::ErrorMapPool::Mean},
                        Case{"signed max", all, qs::ErrorMapValue::Signed, qs::ErrorMapPool::Max},
                        Case{"relative mean", all, qs::ErrorMapValue::Relative, qs::ErrorMapPool::Mean},
                        Case{"abs max, zoomed", zoom, qs::ErrorMapValue::Abs, qs::ErrorMapPool::Max}}) {
    const double s = seconds_median(where, reps, [&] { map.window_pool(c.window, 600, 1000, c.value, c.pool); });
    const double weights = double(c.window.rows * c.window.cols);
    std::cout << name << "  error map " << c.window.rows << "x" << c.window.cols << " -> 600x1000 " << c.label << "  "
              << s * 1e3 << " ms  " << weights / s / 1e9 << " Gweights/s\n";
    rows.push_back({{"device", name}, {"window", {c.window.rows, c.window.cols}}, {"tiles", {600, 1000}},
                    {"case", c.label}, {"seconds", s}, {"gweights_per_second", weights / s / 1e9}});
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path, devices = "all", run_file_dir;
  bool model = true, error_map = false, decode = false, decode_layers = true;
  int cpu_reps = 1, cuda_reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    else if (a == "--device" && i + 1 < argc) devices = argv[++i];
    else if (a == "--no-model") model = false;
    else if (a == "--cpu-reps" && i + 1 < argc) cpu_reps = std::stoi(argv[++i]);
    else if (a == "--run-file" && i + 1 < argc) run_file_dir = argv[++i];
    else if (a == "--error-map") error_map = true;
    else if (a == "--decode") decode = true;
    else if (a == "--no-layers") decode_layers = false;
    else {
      std::cerr << "usage: quantscope-bench [--device cpu|cuda|all] [--no-model] [--cpu-reps N] [--json FILE]\n"
                   "       quantscope-bench --run-file EMPTY_DIR [--json FILE]\n"
                   "       quantscope-bench --error-map [--device cpu|cuda|all] [--cpu-reps N] [--json FILE]\n"
                   "       quantscope-bench --decode [--no-layers] [--no-model] [--json FILE]   (CUDA builds)\n";
      return 2;
    }
  }
  try {
    if (!run_file_dir.empty()) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const int64_t steps : {1000, 5000})
        for (const int64_t layers : {35, 224}) rows.push_back(run_file_run(run_file_dir, steps, layers));
      if (!json_path.empty()) std::ofstream(json_path) << rows.dump(2) << '\n';
      return 0;
    }
    if (decode) {
#ifdef QS_DECODE_BENCH
      if (!torch::cuda::is_available()) throw std::runtime_error("--decode needs a CUDA device");
      const nlohmann::ordered_json out = decode_bench_run(decode_layers, model);
      if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << '\n';
      return 0;
#else
      throw std::runtime_error("--decode needs a build with CUDA kernels (the cuda preset)");
#endif
    }
    const bool cuda = devices != "cpu" && torch::cuda::is_available();
    if (devices == "cuda" && !cuda) {
      std::cerr << "quantscope-bench: no CUDA device\n";
      return 1;
    }
    nlohmann::ordered_json out;
    out["cpu_threads"] = at::get_num_threads();
    out["torch"] = TORCH_VERSION;
    if (error_map) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      if (devices != "cuda")
        for (auto& r : error_map_run(qs::Device::Cpu, cpu_reps)) rows.push_back(r);
      if (cuda)
        for (auto& r : error_map_run(qs::Device::Cuda, cuda_reps)) rows.push_back(r);
      out["error_map"] = rows;
      if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << '\n';
      return 0;
    }
    nlohmann::ordered_json families = nlohmann::ordered_json::array();
    if (devices != "cuda")
      for (auto& r : families_run(torch::Device(torch::kCPU), cpu_reps)) families.push_back(r);
    if (cuda) {
      for (auto& r : families_run(torch::Device(torch::kCUDA), cuda_reps)) families.push_back(r);
      out["hadamard"] = hadamard_bandwidth(cuda_reps);
#ifdef QS_WITH_CUDA
      out["kmeans_stages"] = kmeans_stages_run(cuda_reps);
#endif
      if (model)
        out["llama_8b"] =
            llama8b_run({"quest4", "kmeans2", "kmeans1", "kmeans4", "kmeans2:channel", "int4:g128", "nf4"});
    }
    out["families"] = families;
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(2) << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "quantscope-bench: " << e.what() << '\n';
    return 1;
  }
}
