// --format / --layers / --calib / --seed for `quantize` and `eval`.
#include "quantize_options.hpp"

#include "job_run.hpp"
#include "quantscope/error.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/model.hpp"
#include "text_file.hpp"

namespace qs::cli {

void quantize_options_declare(ArgSpec& spec, bool format_required) {
  spec.option({.name = "format", .type = ArgType::Text, .value_name = "SPEC",
               .help = "quantization format, e.g. int4:g128, quest2, kmeans1, nf4 (`quantscope-cli formats` "
                       "lists the grammar)",
               .required = format_required});
  spec.option({.name = "layers", .type = ArgType::Text, .value_name = "GLOB",
               .help = "which tensors to quantize (* and ? wildcards over names like model.layers.0.mlp.up_proj, "
                       "lm_head, model.embed_tokens); absent: every linear layer of the decoder blocks"});
  spec.option({.name = "calib", .type = ArgType::Text, .value_name = "FILE",
               .help = "calibration text for :fisher formats (importance = each layer's input second moments)"});
  spec.option({.name = "calib-tokens", .type = ArgType::Integer, .value_name = "N",
               .help = "tokens of the calibration text to run", .default_value = "8192", .min = 2});
  spec.option({.name = "seed", .type = ArgType::Integer, .value_name = "N",
               .help = "seed of Lloyd's k-means++ initialisation", .default_value = "0", .min = 0});
}

FormatSpec format_get(const Args& args) {
  try {
    return format_parse(args.text("format"));
  } catch (const Error& error) {
    throw UsageError(std::string("--format: ") + error.what());
  }
}

std::shared_ptr<Model> quantize_from_args(JobRunner& jobs, const Model& model, const Args& args,
                                          ModelQuantizeReport& report) {
  const FormatSpec format = format_get(args);
  std::vector<LayerFormat> formats;
  for (const std::string& name : layers_select(model, args.has("layers") ? args.text("layers") : std::string()))
    formats.push_back({name, format});
  ModelQuantizeOptions options;
  options.seed = uint64_t(args.integer("seed"));
  if (format.fisher) {
    if (!args.has("calib"))
      throw UsageError("--format " + format_print(format) + " weights its fit by importance: give --calib FILE");
    const std::string text = text_file_read(args.text("calib"));
    EvalOptions calib;
    calib.max_tokens = args.integer("calib-tokens");
    jobs.run("Calibrating", [&](JobContext& context) {
      options.importance = importance_collect(model, text, calib, &context);
    });
  } else if (args.has("calib")) {
    throw UsageError("--calib is only used by :fisher formats");
  }
  std::shared_ptr<Model> quantized;
  jobs.run("Quantizing", [&](JobContext& context) {
    quantized = model_quantize(model, formats, options, &report, &context);
  });
  return quantized;
}

}  // namespace qs::cli
