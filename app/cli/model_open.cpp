// MODEL arguments and model loading shared by the subcommands (see model_open.hpp).
#include "model_open.hpp"

#include <iostream>

#include "command.hpp"
#include "job_run.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/device.hpp"
#include "text_format.hpp"

namespace qs::cli {

const char* const kModelHelp =
    "an HF directory (or a packed checkpoint Quantscope exported), a .safetensors file with config.json "
    "beside it, a llama2.c .bin, a .gguf, or 'demo' for the embedded demo model";

void model_options_declare(ArgSpec& spec) {
  spec.option({.name = "tokenizer",
               .type = ArgType::Text,
               .value_name = "FILE",
               .help = "sentencepiece tokenizer; an HF directory's tokenizer.model or a single tok*.model beside "
                       "a .bin is used when absent"});
  spec.option({.name = "device",
               .type = ArgType::Choice,
               .help = "where to compute",
               .default_value = "cpu",
               .choices = {"cpu", "cuda"}});
  spec.option({.name = "dtype",
               .type = ArgType::Choice,
               .help = "compute precision",
               .default_value = "f32",
               .choices = {"f32", "bf16"}});
  spec.option({.name = "memory-budget",
               .type = ArgType::Text,
               .value_name = "SIZE",
               .help = "memory the converted weights may take (host, or GPU with --device cuda), e.g. 6G or 800M: "
                       "within it they are kept once converted, beyond it streamed from the file a layer at a "
                       "time; absent: three quarters of what is free"});
}

LoadOptions model_options_get(const Args& args) {
  LoadOptions options;
  if (args.has("tokenizer")) options.tokenizer = args.text("tokenizer");
  // The parser has already restricted both to the names core parses.
  if (args.has("device")) options.device = *device_parse(args.text("device"));
  if (args.has("dtype")) options.compute = *compute_type_parse(args.text("dtype"));
  if (args.has("memory-budget")) {
    const auto bytes = bytes_parse(args.text("memory-budget"));
    if (!bytes || *bytes == 0)
      throw UsageError("--memory-budget: '" + args.text("memory-budget") +
                       "' is not a size (a positive number of bytes with an optional K, M, G or T)");
    options.memory_budget = *bytes;
  }
  return options;
}

std::filesystem::path model_path_resolve(const std::string& arg) {
  return arg == "demo" ? demo_model_dir() : std::filesystem::path(arg);
}

std::shared_ptr<Model> model_open(JobRunner& jobs, const std::string& arg, const LoadOptions& options) {
  const std::filesystem::path path = model_path_resolve(arg);
  std::shared_ptr<Model> model;
  jobs.run("Loading " + path.filename().string(), [&](JobContext& context) {
    model = model_load(path, options, &context);
  });
  if (model->residency() == Residency::Streamed)
    std::cerr << "note: " << model_residency_describe(*model) << std::endl;
  return model;
}

std::string model_residency_describe(const Model& model) {
  const std::string converted = bytes_format(model.conversion_bytes()), budget = bytes_format(model.memory_budget());
  if (model.residency() == Residency::Streamed)
    return "weights streamed from the file a layer at a time: converted they would take " + converted +
           ", beyond the memory budget of " + budget + " (--memory-budget)";
  if (model.conversion_bytes() == 0) return "weights read in place from the mapped file";
  return "weights resident once converted (" + converted + " within the memory budget of " + budget + ")";
}

std::string model_describe(const Model& model) {
  std::filesystem::path name = model.source().filename();
  if (name.empty()) name = model.source().parent_path().filename();  // a directory given with a trailing slash
  const std::string format = model.source_format() == "llama2c" ? "llama2.c" : model.source_format();
  return name.string() + " (" + format + ", " + count_short_format(model.parameter_count()) + " parameters, " +
         std::string(device_name(model.device())) + " " + std::string(compute_type_name(model.compute())) + ", weights " +
         std::string(residency_name(model.residency())) + ")";
}

}  // namespace qs::cli
