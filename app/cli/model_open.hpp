// How every subcommand names and loads a model: MODEL is an HF directory, a .safetensors file with
// config.json beside it, a llama2.c .bin, or the word "demo"; --tokenizer, --device and --dtype
// mean the same in every command that loads one.
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

// Declares --tokenizer and, with `compute`, --device and --dtype.
void model_options_declare(ArgSpec& spec, bool compute);
LoadOptions model_options_get(const Args& args);
// "demo" is the embedded demo model; anything else is a path.
std::filesystem::path model_path_resolve(const std::string& arg);
// Loads as a job (progress bar, Ctrl-C).
std::shared_ptr<Model> model_open(JobRunner& jobs, const std::string& arg, const LoadOptions& options);
// One line for people: "stories260K.bin (llama2.c, 260.5K parameters, cpu f32)".
std::string model_describe(const Model& model);

}  // namespace qs::cli
