// `quantscope-cli run EXPERIMENT.json --out DIR`: a whole analysis described in one file (docs/analysis.md),
// run headless and resumably.
#include "analysis_session.hpp"
#include "command.hpp"

namespace qs::cli {
namespace {

class RunCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("run",
                 "Run an experiment file: texts, task files, plans, a rate-distortion sweep (optionally with short "
                 "QAT), sensitivity scans, budgeted allocations and their frontier (format in docs/analysis.md). "
                 "Every finished measurement is kept in DIR/cache, so running the same command again after an "
                 "interruption redoes nothing already measured. Progress lines go to stderr.");
    spec.positional({"EXPERIMENT", "the experiment file (JSON); relative paths in it resolve against its folder"});
    analysis_output_declare(spec);
    spec.example("run resources/experiments/demo-analysis.json --out /tmp/demo-analysis");
    return spec;
  }

  int run(const Args& args) const override {
    return analysis_run(experiment_load(args.positional(0)), args,
                        {"evaluations", "sweep", "proxy_correlation", "allocation", "tasks"}, ExperimentSource::File);
  }
};

const CommandRegistration<RunCommand> registration;

}  // namespace
}  // namespace qs::cli
