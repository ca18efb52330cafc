// The options every command that quantizes a loaded model shares (--format, --layers, --calib,
// --seed), and the one way they turn into a quantized model: importance from the calibration text
// when the format needs it, then model_quantize, each as a job.
#pragma once
#include <memory>

#include "cli_args.hpp"
#include "quantscope/model_quantize.hpp"

namespace qs::cli {

class JobRunner;

void quantize_options_declare(ArgSpec& spec, bool format_required);
// --format parsed; a bad spec is a UsageError carrying the parser's message.
FormatSpec format_get(const Args& args);
std::shared_ptr<Model> quantize_from_args(JobRunner& jobs, const Model& model, const Args& args,
                                          ModelQuantizeReport& report);

}  // namespace qs::cli
