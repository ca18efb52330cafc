// `quantscope-cli export MODEL [--format SPEC | --plan FILE] --to TARGET --out PATH`: the model with its
// plan in a form a runtime loads (docs/export.md), as one cancellable job, with the output's size
// against the model's in bf16 and the layers stored in the fallback.
#include <iostream>
#include <string>
#include <vector>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/export.hpp"
#include "quantscope/model.hpp"
#include "text_format.hpp"

namespace qs::cli {
namespace {

std::string names_join(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

DType dtype_from_choice(const std::string& choice) {
  return choice == "f32" ? DType::F32 : choice == "f16" ? DType::F16 : DType::BF16;
}

class ExportCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("export",
                 "Write a model with its plan as a runtime loads it: `gguf`, one file for llama.cpp, each layer "
                 "in its llama.cpp type (q4_0 ... q6_k, iq4_nl, bit for bit as llama.cpp quantizes) and the "
                 "rest as stored; `quantscope`, a folder of packed layers in any format (codes, scales, "
                 "codebooks), which every command opens again; `compressed-tensors`, vLLM's pack-quantized "
                 "4- and 8-bit integers; `hf`, the dequantized float directory any tool reads. Layers whose "
                 "format the "
                 "target cannot hold are refused with a list, or stored as --fallback. Written atomically; the "
                 "input is never overwritten (docs/export.md).");
    spec.positional({"MODEL", kModelHelp});
    quantize_options_declare(spec);
    spec.option({.name = "to", .type = ArgType::Choice, .value_name = "TARGET", .help = "what to write",
                 .choices = export_target_names()});
    spec.option({.name = "out", .type = ArgType::Text, .value_name = "PATH",
                 .help = "the file (gguf) or new folder (the others) to write; never the model's own"});
    spec.option({.name = "fallback", .type = ArgType::Text, .value_name = "SPEC",
                 .help = "store the layers the target cannot hold in this format instead of refusing"});
    spec.option({.name = "float-dtype", .type = ArgType::Choice, .value_name = "T",
                 .help = "float tensors the plan leaves alone (hf: every tensor); absent: as stored (hf: f32, which "
                         "keeps dequantized values exactly)",
                 .choices = {"f32", "bf16", "f16"}});
    spec.option({.name = "force", .type = ArgType::Flag,
                 .help = "replace an existing output file, or a folder an earlier export wrote"});
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("export demo --format q4_k --layers '*self_attn*' --to gguf --out demo-q4k.gguf");
    spec.example("export Llama-2-7B-Q4_K_M.gguf --to quantscope --out llama-2-7b-packed");
    spec.example("export stories260K.bin --tokenizer tok512.model --format f32 --to gguf --out stories.gguf");
    spec.example("export demo --plan mixed.json --to gguf --fallback q8_0 --out demo-mixed.gguf");
    spec.example("export demo --format kmeans2 --to quantscope --out demo-kmeans2");
    spec.example("export demo --format int4:g64:asym --to compressed-tensors --out demo-w4a16");
    spec.example("export demo --format int4:g32 --to hf --out demo-int4");
    return spec;
  }

  int run(const Args& args) const override {
    // Without a plan every layer is written as stored: a GGUF or packed checkpoint converts losslessly.
    const bool planned = quantize_options_check(args, false);
    if (!args.has("to")) throw UsageError("give --to TARGET (" + names_join(export_target_names()) + ")");
    if (!args.has("out")) throw UsageError("give --out PATH");
    ExportOptions options;
    options.target = *export_target_parse(args.text("to"));
    options.force = args.flag("force");
    if (args.has("fallback"))
      options.fallback = usage_check("--fallback: ", [&] { return format_parse(args.text("fallback")); });
    if (args.has("float-dtype")) options.float_dtype = dtype_from_choice(args.text("float-dtype"));
    JobRunner jobs;
    const auto model = model_open(jobs, args.positional(0), model_options_get(args));
    const std::vector<LayerFormat> plan = planned ? layer_formats_get(*model, args) : std::vector<LayerFormat>();
    options.quantize = quantize_options_get(jobs, *model, args, plan);
    ExportReport report;
    jobs.run("Exporting", [&](JobContext& context) {
      options.job = &context;
      report = model_export(*model, plan, args.text("out"), options);
    });
    if (args.flag("json")) {
      json_print({{"path", report.path.string()},
                  {"target", args.text("to")},
                  {"bytes", report.bytes},
                  {"bf16_bytes", report.bf16_bytes},
                  {"fallback_layers", report.fallback_layers},
                  {"seconds", report.seconds}});
      return 0;
    }
    if (!report.fallback_layers.empty())
      std::cout << report.fallback_layers.size() << " layer" << (report.fallback_layers.size() == 1 ? "" : "s")
                << " stored as " << args.text("fallback") << ": " << names_join(report.fallback_layers) << '\n';
    std::cout << "wrote " << report.path.string() << ": " << bytes_format(report.bytes) << " ("
              << percent_format(double(report.bytes) / double(report.bf16_bytes)) << " of " << bytes_format(report.bf16_bytes)
              << " in bf16) in " << seconds_format(report.seconds) << '\n';
    return 0;
  }
};

const CommandRegistration<ExportCommand> registration;

}  // namespace
}  // namespace qs::cli
