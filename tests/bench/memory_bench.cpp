// quantscope-memory: the peak memory of one operation on a loaded model, beyond what the loaded model
// itself takes: the Fisher statistics of a sensitivity scan (layer_statistics_collect) or the
// quantization of one layer as the workbench does it (layer_quantize, summary only). Each run measures
// one operation, since a process's peak only grows; docs/performance.md records the numbers.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "quantscope/eval.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/sensitivity.hpp"

namespace {

// A field of /proc/self/status in MiB ("VmRSS", "VmHWM").
double status_mib(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;  // kB
  return 0;
}

int usage() {
  std::cerr << "usage: quantscope-memory MODEL [--tokenizer FILE] (--fisher TEXT [--tokens N] | --layer NAME --format SPEC)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string model_path = argv[1], tokenizer, fisher_text, layer, format;
  int64_t tokens = 1024;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--tokenizer") tokenizer = v;
    else if (a == "--fisher") fisher_text = v;
    else if (a == "--tokens") tokens = std::stoll(v);
    else if (a == "--layer") layer = v;
    else if (a == "--format") format = v;
    else return usage();
  }
  if (fisher_text.empty() == layer.empty() || (!layer.empty() && format.empty())) return usage();
  try {
    qs::LoadOptions options;
    options.tokenizer = tokenizer;
    const auto model = qs::model_load(model_path, options);
    const std::string text = fisher_text.empty() ? std::string() : qs::file_read(fisher_text);
    const double loaded = status_mib("VmRSS");
    // Resets the peak to what is resident now, so that loading's own peak is not counted.
    std::ofstream("/proc/self/clear_refs") << "5";
    std::string what;
    if (!fisher_text.empty()) {
      qs::EvalOptions eval;
      eval.ctx = 128;
      eval.max_tokens = tokens;
      const auto statistics = qs::layer_statistics_collect(*model, text, eval);
      what = "fisher statistics of " + std::to_string(statistics->fisher.size()) + " layers over " +
             std::to_string(statistics->tokens) + " tokens";
    } else {
      qs::QuantizeOptions quantize;
      quantize.summary_only = true;
      const qs::QuantizedTensor q = qs::layer_quantize(*model, layer, qs::format_parse(format), quantize);
      what = layer + " (" + std::to_string(q.out) + " x " + std::to_string(q.in) + ") as " + format;
    }
    const double peak = status_mib("VmHWM");
    std::printf("{\"operation\": \"%s\", \"model_parameters\": %lld, \"resident_after_load_mib\": %.1f, "
                "\"peak_mib\": %.1f, \"peak_beyond_model_mib\": %.1f}\n",
                what.c_str(), static_cast<long long>(model->parameter_count()), loaded, peak, peak - loaded);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "quantscope-memory: " << e.what() << '\n';
    return 1;
  }
}
