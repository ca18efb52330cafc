// How every subcommand names and loads a model: MODEL is an HF directory, a .safetensors file with
// config.json beside it, a llama2.c .bin, or the word "demo"; --tokenizer, --device, --dtype and
// --memory-budget mean the same in every command that loads one.
#pragma once
#include <filesystem>
#include <memory>
#include <string>

#include "cli_args.hpp"
#include "quantscope/model.hpp"

namespace qs::cli {

class JobRunner;

// The help line of a MODEL argument.
extern const char* const kModelHelp;

// Declares --tokenizer, --device, --dtype and --memory-budget.
void model_options_declare(ArgSpec& spec);
// Throws UsageError for a --memory-budget that is not a size.
LoadOptions model_options_get(const Args& args);
// "demo" is the embedded demo model; anything else is a path.
std::filesystem::path model_path_resolve(const std::string& arg);
// Loads as a job (progress bar, Ctrl-C); says on stderr when the weights will be streamed.
std::shared_ptr<Model> model_open(JobRunner& jobs, const std::string& arg, const LoadOptions& options);
// Whether the weights are resident or streamed, and why, in one line for people.
std::string model_residency_describe(const Model& model);
// One line for people: "stories260K.bin (llama2.c, 260.5K parameters, cpu f32)".
std::string model_describe(const Model& model);

}  // namespace qs::cli
