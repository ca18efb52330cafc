// `quantscope-cli sweep MODEL --families int,quest,kmeans --bits 2,3,4 --text FILE --out DIR`: the
// rate–distortion sweep, each format on every decoder linear layer, optionally after a short QAT.
#include "analysis_session.hpp"
#include "command.hpp"

namespace qs::cli {
namespace {

class SweepCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("sweep",
                 "Evaluate families x bit widths x options (and listed formats) on every decoder linear layer: bits "
                 "per weight, model bytes, perplexity, KL mean and p99, top-1 agreement and task scores; with "
                 "--qat-text, also after a short QAT fine-tune of each format.");
    analysis_inputs_declare(spec);
    spec.option({.name = "families", .type = ArgType::Text, .value_name = "LIST",
                 .help = "int, quest, kmeans, nf4 (comma-separated)"});
    spec.option({.name = "bits", .type = ArgType::Text, .value_name = "LIST", .help = "bit widths, comma-separated",
                 .default_value = "2,3,4"});
    spec.option({.name = "options", .type = ArgType::Text, .value_name = "LIST",
                 .help = "per-family format options as FAMILY=OPT, comma-separated, one entry per variant: "
                         "int=g64,int=channel,kmeans=b64"});
    spec.option({.name = "formats", .type = ArgType::Text, .value_name = "LIST",
                 .help = "more formats, comma-separated"});
    spec.option({.name = "qat-text", .type = ArgType::Text, .value_name = "FILE",
                 .help = "fine-tune every format with QAT on this text before evaluating it too"});
    spec.option({.name = "qat-steps", .type = ArgType::Integer, .value_name = "N", .help = "QAT steps",
                 .default_value = "100", .min = 1});
    spec.option({.name = "qat-lr", .type = ArgType::Number, .value_name = "LR", .help = "QAT learning rate",
                 .default_value = "0.0001", .min = 0});
    analysis_output_declare(spec);
    spec.example("sweep demo --families int,quest,kmeans --bits 2,3,4 --options int=g64 --text heldout.txt --out /tmp/s");
    return spec;
  }

  int run(const Args& args) const override {
    Experiment e = analysis_inputs_get(args);
    ExperimentSweep sweep;
    sweep.families = list_option(args, "families");
    for (const std::string& b : list_option(args, "bits")) {
      try {
        sweep.bits.push_back(std::stoi(b));
      } catch (const std::exception&) {
        throw UsageError("--bits: \"" + b + "\" is not a whole number");
      }
    }
    for (const std::string& entry : list_option(args, "options")) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError("--options: \"" + entry + "\" is not FAMILY=OPTIONS");
      sweep.options[entry.substr(0, eq)].push_back(entry.substr(eq + 1));
    }
    sweep.formats = list_option(args, "formats");
    if (sweep.families.empty() && sweep.formats.empty()) throw UsageError("give --families or --formats");
    // An unknown family or a bad format fails before anything loads.
    usage_check("", [&] { experiment_sweep_formats(sweep); });
    e.sweep = sweep;
    if (args.has("qat-text")) {
      ExperimentQat qat;
      qat.text = args.text("qat-text");
      qat.steps = args.integer("qat-steps");
      qat.lr = args.number("qat-lr");
      e.qat = qat;
    }
    return analysis_run(e, args, {"sweep"}, ExperimentSource::Options);
  }
};

const CommandRegistration<SweepCommand> registration;

}  // namespace
}  // namespace qs::cli
