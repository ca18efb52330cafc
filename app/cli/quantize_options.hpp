// The options every command that quantizes a loaded model shares (--format or --plan, --layers,
// --calib, --seed), and the one way they turn into a quantized model: importance from the calibration
// text when a format needs it, then model_quantize, each as a job.
#pragma once
#include <memory>

#include "cli_args.hpp"
#include "quantscope/model_quantize.hpp"

namespace qs::cli {

class JobRunner;

// seed_option: declare --seed (a command with a seed of its own, `generate`, lets it seed the fit too).
void quantize_options_declare(ArgSpec& spec, bool seed_option = true);
// --packed, for the commands that compute with the quantized model (eval, generate).
void packed_option_declare(ArgSpec& spec);
// Keep::Packed with --packed, else Keep::Use.
ModelQuantizeOptions::Keep packed_keep_get(const Args& args);
// --packed without --format or --plan: the model with the layers its checkpoint stores in a format the
// decode kernels take held as their codes (a job). A UsageError when it stores none.
std::shared_ptr<Model> stored_layers_pack(JobRunner& jobs, const Model& model);
// Whether the command line asks for quantization (--format or --plan), after the checks that need no
// model: both given, --layers with --plan, a bad --format spec. `required`: one of them must be given.
bool quantize_options_check(const Args& args, bool required);
// --format parsed; a bad spec is a UsageError carrying the parser's message.
FormatSpec format_get(const Args& args);
// The per-layer formats that --format (with --layers) or --plan give, checked against the model.
std::vector<LayerFormat> layer_formats_get(const Model& model, const Args& args);
// --seed, and importance from --calib when a :fisher format among `formats` needs it (run as a job).
ModelQuantizeOptions quantize_options_get(JobRunner& jobs, const Model& model, const Args& args,
                                          const std::vector<LayerFormat>& formats);
// The quantized model, its weights kept as `keep` says (null for Keep::None: the report alone is wanted).
std::shared_ptr<Model> quantize_from_args(JobRunner& jobs, const Model& model, const Args& args,
                                          ModelQuantizeReport& report,
                                          ModelQuantizeOptions::Keep keep = ModelQuantizeOptions::Keep::Use);

}  // namespace qs::cli
