// `quantscope-cli train --config FILE`: trains or fine-tunes a model as the JSON config describes
// (docs/train-config.md), printing a log line per logged step and writing HF checkpoints.
#include "command.hpp"
#include "json_print.hpp"
#include "quantscope/train.hpp"
#include "train_session.hpp"

namespace qs::cli {
namespace {

class TrainCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("train",
                 "Train a new model or fine-tune one as a JSON config file describes (see docs/train-config.md): "
                 "AdamW with warm-up and cosine decay, periodic held-out evaluation, checkpoints as HF "
                 "directories, a run file of telemetry (run.h5). With a \"quantization\" section it trains quantization-aware. "
                 "Ctrl-C stops it; with \"resume\" set it continues from the last checkpoint.");
    spec.option({.name = "config", .type = ArgType::Text, .value_name = "FILE", .help = "the training config",
                 .required = true});
    spec.option(json_option());
    spec.example("train --config train.json");
    return spec;
  }

  int run(const Args& args) const override {
    const std::filesystem::path config_path = args.text("config");
    const TrainConfig config = train_config_load(config_path);
    return train_session_run(config,
                             {{"config", config_path.string()},
                              {"start", config.init_model.empty() ? "a new model" : config.init_model.string()},
                              {"output", config.out_dir.string()}},
                             args.flag("json"));
  }
};

const CommandRegistration<TrainCommand> registration;

}  // namespace
}  // namespace qs::cli
