// `quantscope-cli sensitivity MODEL --format F --text FILE --out DIR`: which layer hurts — each linear
// layer quantized alone, its ΔKL, and how well cheap proxies rank the layers.
#include "analysis_session.hpp"
#include "command.hpp"

namespace qs::cli {
namespace {

class SensitivityCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("sensitivity",
                 "Quantize one linear layer at a time with each format and measure KL(base || model) on the "
                 "calibration text; next to it the proxies weight SQNR, input-weighted SQNR (E[x^2] per input "
                 "channel), Fisher-weighted SQNR (E[g^2] per weight) and the Fisher loss estimate, and the Spearman "
                 "correlation of each proxy with the measured ranking.");
    analysis_inputs_declare(spec);
    spec.option({.name = "format", .type = ArgType::Text, .value_name = "FORMATS",
                 .help = "formats to scan, comma-separated (quantscope-cli formats)", .required = true});
    spec.option({.name = "no-proxies", .type = ArgType::Flag, .help = "skip the calibration statistics and proxies"});
    analysis_output_declare(spec);
    spec.example("sensitivity demo --format int2:g64,int3:g64 --text heldout.txt --out /tmp/sens");
    return spec;
  }

  int run(const Args& args) const override {
    Experiment e = analysis_inputs_get(args);
    e.sensitivity = list_option(args, "format");
    for (const std::string& format : e.sensitivity) usage_check("--format: ", [&] { format_parse(format); });
    e.proxies = !args.flag("no-proxies");
    return analysis_run(e, args, {"sensitivity_", "proxy_correlation"}, ExperimentSource::Options);
  }
};

const CommandRegistration<SensitivityCommand> registration;

}  // namespace
}  // namespace qs::cli
