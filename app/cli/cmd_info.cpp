// `quantscope-cli info MODEL`: what a checkpoint holds (architecture, parameters, stored dtype and
// size, its linear layers) from the headers alone; --stats adds the streamed weight statistics, and
// --reference REF each layer's error against the same layer of REF (a downloaded Q4_K_M GGUF against
// its F16 source: what the shipped types did).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantscope/error.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/tokenizer.hpp"
#include "quantscope/weight_statistics.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

// "out x in" with the x of every row in one column.
std::string shape_text(const LinearLayer& layer, size_t out_width, size_t in_width) {
  const std::string out = std::to_string(layer.out_features);
  const std::string in = std::to_string(layer.in_features);
  return std::string(out_width - out.size(), ' ') + out + " x " + in + std::string(in_width - in.size(), ' ');
}

// The formats of a quantized checkpoint's layers (q4_K, q6_K), in the order they first appear.
std::vector<std::string> stored_formats(const Model& model) {
  std::vector<std::string> formats;
  for (const LinearLayer& layer : model.linear_layers())
    if (!layer.stored_format.empty() && std::find(formats.begin(), formats.end(), layer.stored_format) == formats.end())
      formats.push_back(layer.stored_format);
  return formats;
}

// Each linear layer of `model` against the same layer of `reference`, a layer at a time.
std::vector<TensorMetrics> reference_compare(const Model& model, const Model& reference, JobContext& job) {
  const std::vector<LinearLayer> layers = model.linear_layers(), theirs = reference.linear_layers();
  std::vector<TensorMetrics> metrics;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LinearLayer& l = layers[i];
    const auto other = std::find_if(theirs.begin(), theirs.end(), [&](const LinearLayer& r) { return r.name == l.name; });
    if (other == theirs.end() || other->out_features != l.out_features || other->in_features != l.in_features)
      throw Error(ErrorKind::Invalid, reference.source().string() + ": has no layer " + l.name + " of shape " +
                                          std::to_string(l.out_features) + " x " + std::to_string(l.in_features) +
                                          " to compare with");
    job.check_cancelled();
    job.progress(double(i) / double(layers.size()), l.name);
    const std::vector<float> w = reference.tensor_values(l.name + ".weight"), q = model.tensor_values(l.name + ".weight");
    metrics.push_back(metrics_compute(w, q, model.tensor_stored_bytes(l.name + ".weight") * 8));
  }
  return metrics;
}

void info_json_print(const Model& model, const WeightStatistics* statistics,
                     const std::vector<TensorMetrics>& against) {
  const ModelConfig& config = model.config();
  const auto tokenizer = model.tokenizer();
  nlohmann::ordered_json out;
  out["model"] = model.source().string();
  out["format"] = model.source_format();
  out["config"] = nlohmann::ordered_json::parse(config_to_json(config));
  out["parameters"] = model.parameter_count();
  auto& dtypes = out["stored_dtypes"] = nlohmann::ordered_json::array();
  for (const DType dtype : model.stored_dtypes()) dtypes.push_back(std::string(dtype_name(dtype)));
  out["stored_formats"] = stored_formats(model);
  out["stored_bytes"] = model.stored_bytes();
  out["compute"] = {{"device", std::string(device_name(model.device()))},
                    {"dtype", std::string(compute_type_name(model.compute()))},
                    {"residency", std::string(residency_name(model.residency()))},
                    {"conversion_bytes", model.conversion_bytes()},
                    {"memory_budget", model.memory_budget()}};
  out["tokenizer"] = tokenizer ? nlohmann::ordered_json(tokenizer->path().string()) : nlohmann::ordered_json();
  auto& layers = out["linear_layers"] = nlohmann::ordered_json::array();
  const auto linear = model.linear_layers();
  for (size_t i = 0; i < linear.size(); ++i) {
    const LinearLayer& layer = linear[i];
    auto& entry = layers.emplace_back(nlohmann::ordered_json{{"name", layer.name},
                                                             {"layer", layer.layer},
                                                             {"role", layer.role},
                                                             {"shape", {layer.out_features, layer.in_features}},
                                                             {"parameters", layer.parameters()},
                                                             {"dtype", std::string(dtype_name(layer.stored_dtype))}});
    if (!layer.stored_format.empty()) entry["stored_format"] = layer.stored_format;
    if (!against.empty())
      entry["against_reference"] = {{"relative_mse", against[i].relative_mse},
                                    {"sqnr_db", number_json(against[i].sqnr_db)},
                                    {"cosine", against[i].cosine},
                                    {"max_abs_error", against[i].max_abs_error}};
    if (!statistics) continue;
    const LayerWeightStatistics& s = statistics->layers.at(i);
    if (s.stats)
      entry["stats"] = {{"mean", s.stats->mean}, {"std", s.stats->std}, {"absmax", s.stats->absmax},
                        {"kurtosis", s.stats->kurtosis}};
    else
      entry["stats_error"] = s.error;
    entry["histogram"] = {{"lo", s.histogram.lo}, {"hi", s.histogram.hi}, {"counts", s.histogram.counts}};
  }
  json_print(out);
}

void info_text_print(const Model& model, const WeightStatistics* statistics,
                     const std::vector<TensorMetrics>& against) {
  const ModelConfig& c = model.config();
  const auto tokenizer = model.tokenizer();
  auto yes_no = [](bool value) { return std::string(value ? "yes" : "no"); };

  TextTable summary({{}, {}});
  summary.row({"model", model.source().string()});
  const std::string source = model.source_format();
  summary.row({"format", source == "llama2c"      ? "llama2.c checkpoint"
                         : source == "gguf"       ? "GGUF (llama.cpp)"
                         : source == "quantscope" ? "Quantscope packed checkpoint"
                                                  : "Hugging Face safetensors"});
  summary.row({"parameters", count_format(model.parameter_count()) + " (" + count_short_format(model.parameter_count()) + ")"});
  std::string dtypes;
  for (const std::string& format : stored_formats(model)) dtypes += (dtypes.empty() ? "" : " + ") + format;
  for (const DType dtype : model.stored_dtypes()) dtypes += (dtypes.empty() ? "" : " + ") + std::string(dtype_name(dtype));
  summary.row({"stored as", dtypes + ", " + bytes_format(model.stored_bytes())});
  summary.row({"tokenizer", tokenizer ? tokenizer->path().string() + " (" + count_format(tokenizer->vocab_size()) + " pieces)"
                                      : "none"});
  summary.row({"compute", std::string(device_name(model.device())) + " " +
                              std::string(compute_type_name(model.compute())) + ", " + model_residency_describe(model)});
  std::cout << summary.render() << '\n';

  TextTable architecture({{}, {"", TextTable::Align::Right}});
  architecture.row({"model type", c.model_type});
  architecture.row({"hidden size", count_format(c.hidden_size)});
  architecture.row({"intermediate size", count_format(c.intermediate_size)});
  architecture.row({"layers", count_format(c.num_hidden_layers)});
  architecture.row({"attention heads", count_format(c.num_attention_heads)});
  architecture.row({"key/value heads", count_format(c.num_key_value_heads)});
  architecture.row({"head dim", count_format(c.head_dim)});
  architecture.row({"vocabulary", count_format(c.vocab_size)});
  architecture.row({"max positions", count_format(c.max_position_embeddings)});
  architecture.row({"rope theta", number_format(c.rope_theta, 0)});
  architecture.row({"rms norm eps", number_compact_format(c.rms_norm_eps)});
  architecture.row({"tied embeddings", yes_no(c.tie_word_embeddings)});
  architecture.row({"attention bias", yes_no(c.attention_bias)});
  architecture.row({"mlp bias", yes_no(c.mlp_bias)});
  std::cout << "architecture\n" << architecture.render(2) << '\n';

  const auto layers = model.linear_layers();
  size_t out_width = 0, in_width = 0;
  for (const auto& layer : layers) {
    out_width = std::max(out_width, std::to_string(layer.out_features).size());
    in_width = std::max(in_width, std::to_string(layer.in_features).size());
  }
  std::vector<TextTable::Column> columns = {{"name"}, {"shape"}, {"parameters", TextTable::Align::Right}, {"stored"}};
  if (statistics)
    for (const char* name : {"mean", "std", "absmax", "kurtosis"}) columns.push_back({name, TextTable::Align::Right});
  if (!against.empty())
    for (const char* name : {"rel. MSE", "SQNR dB", "cosine"}) columns.push_back({name, TextTable::Align::Right});
  TextTable table(columns);
  int64_t total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LinearLayer& layer = layers[i];
    std::vector<std::string> row = {layer.name, shape_text(layer, out_width, in_width), count_format(layer.parameters()),
                                    layer.stored_format.empty() ? std::string(dtype_name(layer.stored_dtype))
                                                                : layer.stored_format};
    if (statistics) {
      const LayerWeightStatistics& s = statistics->layers.at(i);
      if (s.stats) {
        for (const double v : {s.stats->mean, s.stats->std, s.stats->absmax}) row.push_back(number_scientific_format(v, 2));
        row.push_back(number_format(s.stats->kurtosis, 2));
      } else {
        row.insert(row.end(), {"NaN/Inf", "", "", ""});
      }
    }
    if (!against.empty()) {
      const TensorMetrics& m = against[i];
      row.push_back(number_scientific_format(m.relative_mse, 2));
      row.push_back(std::isinf(m.sqnr_db) ? "inf" : number_format(m.sqnr_db, 2));
      row.push_back(number_format(m.cosine, 5));
    }
    table.row(row);
    total += layer.parameters();
  }
  std::cout << "linear layers (" << layers.size() << ", " << count_format(total) << " parameters)\n" << table.render(2);
}

class InfoCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("info",
                 "Show a model's architecture, parameter count, stored dtype and size, and its linear layers, from "
                 "the file headers alone; --stats adds each layer's weight statistics.");
    spec.positional({"MODEL", kModelHelp});
    model_options_declare(spec);
    spec.option({.name = "stats",
                  .type = ArgType::Flag,
                  .help = "add mean, std, absmax and excess kurtosis of every linear layer's weight (and its histogram "
                          "with --json), read a layer at a time and cached for the next time"});
    spec.option({.name = "reference",
                 .type = ArgType::Text,
                 .value_name = "REF",
                 .help = "add each linear layer's error against the same layer of REF (relative MSE, SQNR, "
                         "cosine): a quantized checkpoint against the model it was made from"});
    spec.option(json_option());
    spec.example("info demo");
    spec.example("info Llama-2-7B-Q4_K_M.gguf --reference Llama-2-7B-F16.gguf");
    spec.example("info stories260K.bin --tokenizer tok512.model --json");
    return spec;
  }

  int run(const Args& args) const override {
    JobRunner jobs;
    const auto model = model_open(jobs, args.positional(0), model_options_get(args));
    std::optional<WeightStatistics> statistics;
    if (args.flag("stats"))
      jobs.run("Weight statistics", [&](JobContext& context) {
        statistics = weight_statistics_compute(*model, weight_statistics_cache_dir(), &context);
      });
    std::vector<TensorMetrics> against;
    if (args.has("reference")) {
      const auto reference = model_open(jobs, args.text("reference"), model_options_get(args));
      jobs.run("Comparing with the reference",
               [&](JobContext& context) { against = reference_compare(*model, *reference, context); });
    }
    const WeightStatistics* s = statistics ? &*statistics : nullptr;
    if (args.flag("json")) info_json_print(*model, s, against);
    else info_text_print(*model, s, against);
    return 0;
  }
};

const CommandRegistration<InfoCommand> registration;

}  // namespace
}  // namespace qs::cli
