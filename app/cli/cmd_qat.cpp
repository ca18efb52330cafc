// `quantscope-cli qat MODEL --format SPEC --text FILE --steps N --out DIR`: a short
// quantization-aware fine-tune of a loaded model (the trainer of `train`, with the model's linear
// layers trained through their fake quantizers), then the final evaluation of the quantized model
// against post-training quantization of the starting model with the same plan.
#include <filesystem>

#include "command.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantscope/error.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/train.hpp"
#include "train_session.hpp"

namespace qs::cli {
namespace {

FormatSpec format_option(const Args& args, const char* name) {
  try {
    return format_parse(args.text(name));
  } catch (const Error& error) {
    throw UsageError(std::string("--") + name + ": " + error.what());
  }
}

class QatCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("qat",
                 "Fine-tune a model quantization-aware: every decoder linear layer (or each layer of a plan) "
                 "trains through its quantizer with the chosen gradient estimator while AdamW updates float32 "
                 "latent weights. Writes checkpoints, run.h5 telemetry and OUT/final (latent weights + "
                 "plan.json), then evaluates the quantized model against post-training quantization. Ctrl-C "
                 "stops it; --resume continues.");
    spec.positional({"MODEL", kModelHelp});
    spec.option({.name = "format", .type = ArgType::Text, .value_name = "SPEC",
                 .help = "weight format of every decoder linear layer (see `formats`)"});
    spec.option({.name = "act-format", .type = ArgType::Text, .value_name = "SPEC",
                 .help = "quantize every such layer's input too, per token (quest<b> formats: W4A4 is "
                         "--format quest4 --act-format quest4)"});
    spec.option({.name = "plan", .type = ArgType::Text, .value_name = "FILE",
                 .help = "a plan instead of --format (docs/plans.md)"});
    spec.option({.name = "text", .type = ArgType::Text, .value_name = "FILE", .help = "training text",
                 .required = true});
    spec.option({.name = "heldout", .type = ArgType::Text, .value_name = "FILE",
                 .help = "held-out text; absent: the last 2 % of --text's tokens, written to OUT/heldout.txt"});
    spec.option({.name = "steps", .type = ArgType::Integer, .value_name = "N", .help = "optimizer steps",
                 .required = true, .min = 1});
    spec.option({.name = "estimator", .type = ArgType::Text, .value_name = "NAME",
                 .help = "gradient estimator: ste, clip or trust (QuEST)", .default_value = "trust"});
    spec.option({.name = "trust-factor", .type = ArgType::Number, .value_name = "T",
                 .help = "trust: keep gradients where |q(x) - x| <= T half-steps", .default_value = "1", .min = 1e-6});
    spec.option({.name = "clip-factor", .type = ArgType::Number, .value_name = "C",
                 .help = "clip: keep gradients inside C times the grid's clip range", .default_value = "1",
                 .min = 1e-6});
    spec.option({.name = "fp-warmup", .type = ArgType::Integer, .value_name = "N",
                 .help = "train in full precision for N steps, then fit k-means codebooks and quantize",
                 .default_value = "0", .min = 0});
    spec.option({.name = "kmeans-refit", .type = ArgType::Integer, .value_name = "N",
                 .help = "refit every k-means codebook every N steps (0: never)", .default_value = "0", .min = 0});
    spec.option({.name = "lr", .type = ArgType::Number, .value_name = "X", .help = "peak learning rate",
                 .default_value = "1e-4", .min = 1e-12});
    spec.option({.name = "warmup", .type = ArgType::Integer, .value_name = "N", .help = "learning-rate warm-up steps",
                 .default_value = "10", .min = 0});
    spec.option({.name = "batch", .type = ArgType::Integer, .value_name = "N", .help = "windows per micro-batch",
                 .default_value = "16", .min = 1});
    spec.option({.name = "grad-accum", .type = ArgType::Integer, .value_name = "N",
                 .help = "micro-batches per step", .default_value = "1", .min = 1});
    spec.option({.name = "ctx", .type = ArgType::Integer, .value_name = "N", .help = "tokens per window",
                 .default_value = "256", .min = 2});
    spec.option({.name = "weight-decay", .type = ArgType::Number, .value_name = "X",
                 .help = "AdamW decoupled weight decay of the linear weights", .default_value = "0", .min = 0});
    spec.option({.name = "eval-every", .type = ArgType::Integer, .value_name = "N",
                 .help = "held-out loss every N steps (0: before and after only)", .default_value = "0", .min = 0});
    spec.option({.name = "log-every", .type = ArgType::Integer, .value_name = "N", .help = "log every N steps",
                 .default_value = "10", .min = 1});
    spec.option({.name = "final-eval-tokens", .type = ArgType::Integer, .value_name = "N",
                 .help = "tokens of held-out text in the final evaluation", .default_value = "16384", .min = 1});
    spec.option({.name = "seed", .type = ArgType::Integer, .value_name = "N", .default_value = "0", .min = 0});
    spec.option({.name = "out", .type = ArgType::Text, .value_name = "DIR", .help = "output folder", .required = true});
    spec.option({.name = "resume", .type = ArgType::Flag, .help = "continue the run in --out"});
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("qat demo --format kmeans2 --text train.txt --steps 200 --out runs/demo-kmeans2");
    spec.example("qat demo --format quest4 --act-format quest4 --estimator trust --text train.txt --steps 200 "
                 "--out runs/demo-w4a4");
    spec.example("qat stories260K.bin --tokenizer tok512.model --format int2:g64 --estimator ste --text "
                 "tinystories.txt --steps 300 --lr 3e-4 --out runs/s260k-int2");
    return spec;
  }

  int run(const Args& args) const override {
    if (args.has("plan") == args.has("format")) throw UsageError("give --format SPEC or --plan FILE");
    if (args.has("plan") && args.has("act-format"))
      throw UsageError("--act-format goes with --format; a plan gives each layer's activation format itself");
    QatConfig qat;
    if (args.has("plan")) {
      qat.plan = plan_load(args.text("plan"));
    } else {
      std::optional<FormatSpec> act;
      if (args.has("act-format")) act = format_option(args, "act-format");
      qat.plan = plan_uniform(format_option(args, "format"), act);
    }
    try {
      qat.estimator.kind = gradient_estimator_parse(args.text("estimator"), "--estimator");
    } catch (const Error& error) {
      throw UsageError(error.what());
    }
    qat.estimator.trust_factor = args.number("trust-factor");
    qat.estimator.clip_factor = args.number("clip-factor");
    qat.fp_warmup_steps = args.integer("fp-warmup");
    qat.kmeans_refit_every = args.integer("kmeans-refit");
    qat.final_eval_tokens = args.integer("final-eval-tokens");

    const LoadOptions load = model_options_get(args);
    TrainConfig config;
    config.init_model = model_path_resolve(args.positional(0));
    config.tokenizer = load.tokenizer;
    config.device = load.device;
    config.compute = load.compute;
    config.train_files = {args.text("text")};
    if (args.has("heldout")) config.heldout_file = args.text("heldout");
    config.steps = args.integer("steps");
    config.batch_size = args.integer("batch");
    config.grad_accum = args.integer("grad-accum");
    config.ctx = args.integer("ctx");
    config.lr = args.number("lr");
    config.warmup_steps = args.integer("warmup");
    config.weight_decay = args.number("weight-decay");
    config.eval_every = args.integer("eval-every");
    config.log_every = args.integer("log-every");
    config.checkpoint_every = 0;
    config.seed = uint64_t(args.integer("seed"));
    config.out_dir = args.text("out");
    config.resume = args.flag("resume");
    config.qat = qat;
    const std::string what =
        args.has("plan") ? "plan " + args.text("plan")
                         : args.text("format") + (args.has("act-format") ? " weights, " + args.text("act-format") + " inputs" : "");
    return train_session_run(config,
                             {{"start", config.init_model.string()},
                              {"quantization", what + ", estimator " + args.text("estimator")},
                              {"output", config.out_dir.string()}},
                             args.flag("json"));
  }
};

const CommandRegistration<QatCommand> registration;

}  // namespace
}  // namespace qs::cli
