// `quantscope-cli generate MODEL`: text from a model, streamed to stdout as it is produced; greedy
// with --temperature 0, which is how a loader or forward-pass bug shows up at a glance.
#include <unistd.h>

#include <functional>
#include <iostream>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/generate.hpp"
#include "quantscope/model.hpp"
#include "text_format.hpp"

namespace qs::cli {
namespace {

class GenerateCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("generate",
                 "Generate text from a model, printing it as it is produced. BOS is always prepended to the "
                 "prompt; generation stops at EOS, after --max-new tokens or at the model's max positions.");
    spec.positional({"MODEL", kModelHelp});
    spec.option({.name = "prompt", .type = ArgType::Text, .value_name = "TEXT", .help = "text to continue"});
    spec.option({.name = "max-new", .type = ArgType::Integer, .value_name = "N", .help = "tokens to generate at most",
                 .default_value = "256", .min = 1});
    spec.option({.name = "temperature", .type = ArgType::Number, .value_name = "T",
                 .help = "sampling temperature; 0 is greedy", .default_value = "0.8", .min = 0});
    spec.option({.name = "top-k", .type = ArgType::Integer, .value_name = "K",
                 .help = "sample from the K most likely tokens only; 0: no cut", .default_value = "0", .min = 0});
    spec.option({.name = "top-p", .type = ArgType::Number, .value_name = "P",
                 .help = "nucleus sampling: the smallest set of tokens with probability >= P; 1: off",
                 .default_value = "1", .min = 0, .max = 1});
    spec.option({.name = "seed", .type = ArgType::Integer, .value_name = "S",
                 .help = "random seed for sampling (and for Lloyd's k-means++ initialisation with --format or --plan)",
                 .default_value = "0", .min = 0});
    quantize_options_declare(spec, false);
    packed_option_declare(spec);
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("generate demo --prompt \"The whale\" --max-new 100");
    spec.example("generate stories260K.bin --tokenizer tok512.model --temperature 0");
    spec.example("generate model-dir --format kmeans2 --packed --device cuda --dtype bf16 --prompt \"Once\"");
    spec.example("generate model-q4_k_m.gguf --packed --device cuda --prompt \"Once\"");
    return spec;
  }

  int run(const Args& args) const override {
    GenerateOptions options;
    if (args.has("prompt")) options.prompt = args.text("prompt");
    options.max_new = args.integer("max-new");
    options.temperature = args.number("temperature");
    options.top_k = args.integer("top-k");
    options.top_p = args.number("top-p");
    options.seed = static_cast<uint64_t>(args.integer("seed"));
    const bool json = args.flag("json");
    const bool quantizing = quantize_options_check(args, false);
    const ModelQuantizeOptions::Keep keep = packed_keep_get(args);

    JobRunner jobs;
    std::shared_ptr<Model> model = model_open(jobs, args.positional(0), model_options_get(args));
    if (quantizing) {
      ModelQuantizeReport report;
      model = quantize_from_args(jobs, *model, args, report, keep);
    } else if (keep == ModelQuantizeOptions::Keep::Packed) {
      model = stored_layers_pack(jobs, *model);
    }
    GenerateResult result;
    const bool on_gpu = model->device() == Device::Cuda;
    if (on_gpu) cuda_memory_peak_reset();
    // The streamed text shows the progress, so no bar; with --json nothing is printed until the end.
    std::function<void(const std::string&)> on_text;
    if (!json) {
      jobs.stdout_write(options.prompt);
      on_text = [&](const std::string& piece) { jobs.stdout_write(piece); };
    }
    try {
      jobs.run("Generating", [&](JobContext& context) { result = text_generate(*model, options, on_text, &context); },
               {.bar = json});
    } catch (...) {
      if (!json) jobs.stdout_write("\n");  // the error message then starts on a line of its own
      throw;
    }

    // Held: what stays allocated after generating (the weights, however they were loaded); peak: the
    // most at any moment of it.
    const DeviceMemory memory = cuda_memory();
    if (json) {
      nlohmann::ordered_json out;
      out["model"] = model->source().string();
      out["prompt"] = options.prompt;
      out["text"] = result.text;
      out["tokens"] = result.tokens;
      out["tokens_per_second"] = result.tokens_per_second;
      if (on_gpu) out["gpu_memory"] = {{"held_bytes", memory.allocated}, {"peak_bytes", memory.peak}};
      json_print(out);
      return 0;
    }
    jobs.stdout_write("\n");
    if (isatty(STDERR_FILENO))
      std::cerr << "[" << count_format(static_cast<int64_t>(result.tokens.size())) << " tokens, "
                << rate_format(result.tokens_per_second, "tokens")
                << (on_gpu ? ", GPU memory " + bytes_format(uint64_t(memory.allocated)) + " held, " +
                                 bytes_format(uint64_t(memory.peak)) + " at peak"
                           : std::string())
                << "]\n";
    return 0;
  }
};

const CommandRegistration<GenerateCommand> registration;

}  // namespace
}  // namespace qs::cli
