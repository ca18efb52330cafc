// `quantscope-cli allocate MODEL --candidates F,F --bits B --text FILE --out DIR`: which format each
// layer should get under a memory budget — scan, allocate exactly, emit the plan, measure it.
#include "analysis_session.hpp"
#include "command.hpp"

namespace qs::cli {
namespace {

class AllocateCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("allocate",
                 "Choose a format per linear layer from the candidates to minimise the predicted KL (the sum of "
                 "each layer's measured ΔKL from a sensitivity scan) under a budget of average bits per weight or "
                 "model bytes, solved exactly. The plan is written to DIR/plans/ and evaluated next to the uniform "
                 "plan of every candidate: predicted against measured KL, perplexity and task scores.");
    analysis_inputs_declare(spec);
    spec.option({.name = "candidates", .type = ArgType::Text, .value_name = "FORMATS",
                 .help = "candidate formats, comma-separated", .required = true});
    spec.option({.name = "bits", .type = ArgType::Text, .value_name = "B",
                 .help = "budgets in average bits per weight of the allocated layers, comma-separated"});
    spec.option({.name = "bytes", .type = ArgType::Text, .value_name = "N",
                 .help = "budgets in model bytes (every tensor), comma-separated"});
    spec.option({.name = "frontier", .type = ArgType::Integer, .value_name = "N",
                 .help = "also evaluate N allocations spread over the candidates' range", .default_value = "0",
                 .min = 0, .max = 100});
    analysis_output_declare(spec);
    spec.example("allocate demo --candidates int2:g64,int3:g64,int4:g64 --bits 2.5 --text heldout.txt --out /tmp/a");
    return spec;
  }

  int run(const Args& args) const override {
    Experiment e = analysis_inputs_get(args);
    e.sensitivity = list_option(args, "candidates");
    for (const std::string& format : e.sensitivity) usage_check("--candidates: ", [&] { format_parse(format); });
    auto budgets = [&](const std::string& option, AllocationBudget::Kind kind) {
      for (const std::string& text : list_option(args, option)) {
        AllocationBudget budget{kind, 0};
        try {
          size_t used = 0;
          budget.value = std::stod(text, &used);
          if (used != text.size()) throw std::invalid_argument(text);
        } catch (const std::exception&) {
          throw UsageError("--" + option + ": \"" + text + "\" is not a number");
        }
        if (!(budget.value > 0)) throw UsageError("--" + option + ": budgets must be positive");
        e.budgets.push_back(budget);
      }
    };
    budgets("bits", AllocationBudget::Kind::BitsPerWeight);
    budgets("bytes", AllocationBudget::Kind::Bytes);
    e.frontier_points = args.integer("frontier");
    if (e.budgets.empty() && e.frontier_points == 0) throw UsageError("give --bits, --bytes or --frontier");
    return analysis_run(e, args, {"allocation", "proxy_correlation"}, ExperimentSource::Options);
  }
};

const CommandRegistration<AllocateCommand> registration;

}  // namespace
}  // namespace qs::cli
