// --format / --plan / --layers / --calib / --seed for `quantize` and `eval`.
#include "quantize_options.hpp"

#include <algorithm>

#include "command.hpp"
#include "job_run.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/error.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"

namespace qs::cli {

std::vector<LayerFormat> layer_formats_get(const Model& model, const Args& args) {
  if (args.has("plan")) return plan_resolve(plan_load(args.text("plan")), model);
  const FormatSpec format = format_get(args);
  const std::vector<std::string> names =
      usage_check("", [&] { return layers_select(model, args.has("layers") ? args.text("layers") : std::string()); });
  // plan_resolve checks that the format applies to each selected layer (a Hadamard block dividing its
  // inputs) before anything is quantized.
  QuantPlan plan;
  for (const std::string& name : names) plan.rules.push_back({name, format, std::nullopt, {}});
  return usage_check("--format: ", [&] { return plan_resolve(plan, model); });
}

void quantize_options_declare(ArgSpec& spec, bool seed_option) {
  spec.option({.name = "format", .type = ArgType::Text, .value_name = "SPEC",
               .help = "quantization format, e.g. int4:g128, quest2, kmeans1, nf4 (`quantscope-cli formats` "
                       "lists the grammar)"});
  spec.option({.name = "plan", .type = ArgType::Text, .value_name = "FILE",
               .help = "a plan instead of --format: a format per layer glob (docs/plans.md)"});
  spec.option({.name = "layers", .type = ArgType::Text, .value_name = "GLOB",
               .help = "which tensors --format quantizes (* and ? wildcards over names like "
                       "model.layers.0.mlp.up_proj, lm_head, model.embed_tokens); absent: every linear layer of the "
                       "decoder blocks"});
  spec.option({.name = "calib", .type = ArgType::Text, .value_name = "FILE",
               .help = "calibration text for :fisher formats (importance = each layer's input second moments)"});
  spec.option({.name = "calib-tokens", .type = ArgType::Integer, .value_name = "N",
               .help = "tokens of the calibration text to run", .default_value = "8192", .min = 2});
  if (seed_option)
    spec.option({.name = "seed", .type = ArgType::Integer, .value_name = "N",
                 .help = "seed of Lloyd's k-means++ initialisation", .default_value = "0", .min = 0});
}

void packed_option_declare(ArgSpec& spec) {
  spec.option({.name = "packed", .type = ArgType::Flag,
               .help = "hold the quantized layers as packed codes, not dequantized copies, where the format has one "
                       "level table per tensor (kmeans<b>:b<N>, int, quest, llama.cpp's q4_0, q8_0, q4_k, q6_k and "
                       "the others): memory falls with the bits, and on --device cuda the decode kernels multiply by "
                       "the codes (other layers stay dequantized). Without --format or --plan, the layers a GGUF or "
                       "packed checkpoint stores in such a format, read from their stored codes"});
}

ModelQuantizeOptions::Keep packed_keep_get(const Args& args) {
  return args.flag("packed") ? ModelQuantizeOptions::Keep::Packed : ModelQuantizeOptions::Keep::Use;
}

std::shared_ptr<Model> stored_layers_pack(JobRunner& jobs, const Model& model) {
  ModelQuantizeOptions options;
  options.keep = ModelQuantizeOptions::Keep::Packed;
  std::shared_ptr<Model> packed;
  jobs.run("Packing", [&](JobContext& context) { packed = model_quantize(model, {}, options, nullptr, &context); });
  if (packed->packed_layers() == 0)
    throw UsageError("--packed: " + model.source().string() +
                     " stores no layer in a format held as codes (llama.cpp's types, kmeans<b>:b<N>, int, quest); "
                     "give --format or --plan");
  return packed;
}

bool quantize_options_check(const Args& args, bool required) {
  if (args.has("format") && args.has("plan")) throw UsageError("give --format or --plan, not both");
  if (args.has("plan") && args.has("layers"))
    throw UsageError("--layers selects the layers of --format; a plan names its own layers");
  if (args.has("format")) format_get(args);
  else if (args.has("plan")) plan_load(args.text("plan"));  // a bad plan fails before the model loads
  else if (required) throw UsageError("give --format SPEC or --plan FILE");
  return args.has("format") || args.has("plan");
}

FormatSpec format_get(const Args& args) {
  return usage_check("--format: ", [&] { return format_parse(args.text("format")); });
}

ModelQuantizeOptions quantize_options_get(JobRunner& jobs, const Model& model, const Args& args,
                                          const std::vector<LayerFormat>& formats) {
  ModelQuantizeOptions options;
  options.seed = uint64_t(args.integer("seed"));
  // Pinned codebooks (a QAT export) need no fit, so no importance either.
  const auto fisher = std::find_if(formats.begin(), formats.end(),
                                   [](const LayerFormat& f) { return f.format.fisher && f.codebooks.empty(); });
  if (fisher != formats.end()) {
    if (!args.has("calib"))
      throw UsageError((args.has("plan") ? "--plan: " + fisher->name + ": " : std::string("--format ")) +
                       format_print(fisher->format) + " weights its fit by importance: give --calib FILE");
    const std::string text = file_read(args.text("calib"));
    EvalOptions calib;
    calib.max_tokens = args.integer("calib-tokens");
    jobs.run("Calibrating", [&](JobContext& context) {
      options.importance = importance_collect(model, text, calib, &context);
    });
  } else if (args.has("calib")) {
    throw UsageError("--calib is only used by :fisher formats");
  }
  return options;
}

std::shared_ptr<Model> quantize_from_args(JobRunner& jobs, const Model& model, const Args& args,
                                          ModelQuantizeReport& report, ModelQuantizeOptions::Keep keep) {
  const std::vector<LayerFormat> formats = layer_formats_get(model, args);
  ModelQuantizeOptions options = quantize_options_get(jobs, model, args, formats);
  options.keep = keep;
  std::shared_ptr<Model> quantized;
  jobs.run("Quantizing", [&](JobContext& context) {
    quantized = model_quantize(model, formats, options, &report, &context);
  });
  return quantized;
}

}  // namespace qs::cli
