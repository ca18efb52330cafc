// `quantscope-cli eval MODEL --text FILE`: perplexity (with its standard error) and bits per byte of a
// model on a text file and, with --reference, the KL divergence of its next-token distributions from a
// reference model's; with --format, of the model quantized to that format against the model itself;
// with --tasks, the evaluated model's task scores, so one line reproduces a row of the GUI's history.
#include <chrono>
#include <iostream>

#include "analysis_session.hpp"
#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tasks.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

nlohmann::ordered_json perplexity_json(const PerplexityResult& result) {
  return {{"tokens", result.tokens},   {"bytes", result.bytes},       {"windows", result.windows},
          {"nll", result.nll},         {"perplexity", result.perplexity}, {"bits_per_byte", result.bits_per_byte},
          {"nll_standard_error", result.nll_standard_error},
          {"perplexity_standard_error", result.perplexity_standard_error},
          {"seconds", result.seconds}};
}

class EvalCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("eval",
                 "Measure a model's perplexity and bits per byte on a text file. Each window starts with BOS; "
                 "every text token is scored once. With --reference, also the KL divergence KL(reference || "
                 "model) per token and how often both models agree on the most likely next token. With "
                 "--format or --plan, the model quantized that way is evaluated against the unquantized model, "
                 "or against --reference when given (a QAT run against its starting model). The standard error "
                 "of the perplexity is its value times the sample standard deviation of the per-token negative "
                 "log-likelihood over the square root of the tokens (delta method). With --tasks, the evaluated "
                 "model's accuracy on each task file, with its standard error (docs/tasks.md).");
    spec.positional({"MODEL", kModelHelp});
    spec.option({.name = "text", .type = ArgType::Text, .value_name = "FILE", .help = "UTF-8 text to evaluate on",
                 .required = true});
    spec.option({.name = "ctx", .type = ArgType::Integer, .value_name = "N",
                 .help = "window length in tokens, BOS included; absent: the smaller of 512 and the model's "
                         "max positions",
                 .min = 2});
    spec.option({.name = "stride", .type = ArgType::Integer, .value_name = "N",
                 .help = "how far each window starts after the previous one; absent: ctx - 1 (no overlap)",
                 .min = 1});
    spec.option({.name = "max-tokens", .type = ArgType::Integer, .value_name = "N",
                 .help = "evaluate only the first N tokens of the text; absent: all", .min = 1});
    spec.option({.name = "batch", .type = ArgType::Integer, .value_name = "N", .help = "windows per forward pass",
                 .default_value = "8", .min = 1});
    spec.option({.name = "reference", .type = ArgType::Text, .value_name = "MODEL",
                 .help = "compare with this model (loaded in f32 on the same device, same --tokenizer)"});
    spec.option({.name = "tasks", .type = ArgType::Text, .value_name = "FILES",
                 .help = "task files (JSONL, comma-separated) to score the evaluated model on, as 'tasks eval' "
                         "scores them with its defaults"});
    quantize_options_declare(spec);
    packed_option_declare(spec);
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("eval demo --text heldout.txt");
    spec.example("eval demo --format kmeans2 --text heldout.txt");
    spec.example("eval model-dir --format kmeans2 --packed --device cuda --dtype bf16 --text heldout.txt");
    spec.example("eval model-q4_k_m.gguf --packed --device cuda --text heldout.txt");
    spec.example("eval demo --plan mixed.json --text heldout.txt");
    spec.example("eval demo --plan mixed.json --text heldout.txt --tasks demo-cloze.jsonl,demo-choice.jsonl");
    spec.example("eval stories260K.bin --tokenizer tok512.model --text tinystories.txt --max-tokens 20000");
    spec.example("eval demo --dtype bf16 --reference demo --text heldout.txt");
    return spec;
  }

  int run(const Args& args) const override {
    EvalOptions options;
    if (args.has("ctx")) options.ctx = args.integer("ctx");
    if (args.has("stride")) options.stride = args.integer("stride");
    if (args.has("max-tokens")) options.max_tokens = args.integer("max-tokens");
    options.batch = args.integer("batch");
    if (options.ctx > 0 && options.stride >= options.ctx)
      throw UsageError("--stride must be smaller than --ctx (" + std::to_string(options.ctx) + ")");
    const bool quantizing = quantize_options_check(args, false);
    const ModelQuantizeOptions::Keep keep = packed_keep_get(args);
    const std::filesystem::path text_path = args.text("text");
    const std::string text = file_read(text_path);
    std::vector<TaskSet> task_sets;
    for (const std::string& file : list_option(args, "tasks"))
      task_sets.push_back(task_file_load(file));  // a bad file fails before the model loads

    JobRunner jobs;
    const LoadOptions load = model_options_get(args);
    const std::shared_ptr<Model> base = model_open(jobs, args.positional(0), load);
    usage_check("", [&] { eval_options_check(options, *base); });
    std::shared_ptr<Model> model = base, reference;
    ModelQuantizeReport quantized;
    if (quantizing) {
      reference = model;
      model = quantize_from_args(jobs, *reference, args, quantized, keep);
    } else if (keep == ModelQuantizeOptions::Keep::Packed) {
      model = stored_layers_pack(jobs, *base);
    }
    if (args.has("reference")) {
      LoadOptions reference_load = load;
      reference_load.compute = ComputeType::F32;
      reference = model_open(jobs, args.text("reference"), reference_load);
    }

    PerplexityResult result;
    KlResult kl;
    const auto start = std::chrono::steady_clock::now();
    if (reference) {
      jobs.run("Evaluating", [&](JobContext& context) { kl = kl_eval(*model, *reference, text, options, &context); });
      result = kl.model;
    } else {
      jobs.run("Evaluating", [&](JobContext& context) { result = perplexity_eval(*model, text, options, &context); });
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<TaskScore> scores;
    for (const TaskSet& set : task_sets)
      jobs.run("Scoring " + set.name,
               [&](JobContext& context) { scores.push_back(task_evaluate(*model, set, {}, &context)); });

    if (args.flag("json")) {
      nlohmann::ordered_json out;
      out["model"] = model->source().string();
      out["text"] = text_path.string();
      out["device"] = std::string(device_name(model->device()));
      out["dtype"] = std::string(compute_type_name(model->compute()));
      if (quantizing) {
        if (args.has("plan")) out["plan"] = args.text("plan");
        else out["format"] = format_print(format_get(args));
        out["quantized_parameters"] = quantized.quantized_parameters;
        out["bytes_before"] = quantized.bytes_before;
        out["bytes_after"] = quantized.bytes_after;
      }
      if (keep == ModelQuantizeOptions::Keep::Packed) {
        out["packed_layers"] = model->packed_layers();
        out["packed_bytes"] = model->packed_bytes();
      }
      out.update(perplexity_json(result));
      if (reference) {
        auto& ref = out["reference"] = {{"model", reference->source().string()}};
        ref.update(perplexity_json(kl.reference));
        out["kl"] = {{"tokens", kl.tokens}, {"mean", kl.mean},     {"median", kl.median},
                     {"p99", kl.p99},       {"max", kl.max},       {"top1_agreement", kl.top1_agreement}};
      }
      if (!scores.empty()) {
        auto& tasks = out["tasks"] = nlohmann::ordered_json::array();
        for (const TaskScore& score : scores)
          tasks.push_back({{"name", score.name},
                           {"kind", task_kind_name(score.kind)},
                           {"items", score.items},
                           {"correct", score.correct},
                           {"accuracy", score.accuracy},
                           {"standard_error", score.standard_error}});
      }
      out["wall_seconds"] = seconds;
      json_print(out);
      return 0;
    }

    // Three blocks (what was evaluated, the numbers, the comparison) with one label column.
    constexpr size_t kLabelWidth = 15;
    TextTable about({{"", TextTable::Align::Left, kLabelWidth}, {}});
    if (quantizing) {
      about.row({"model", model_describe(*base)});
      if (args.has("reference")) about.row({"reference", model_describe(*reference)});
      const bool plan = args.has("plan");
      about.row({plan ? "plan" : "format", (plan ? args.text("plan") : format_print(format_get(args))) + " on " +
                                               std::to_string(quantized.layers.size()) + " tensors; model " +
                                               bytes_format(quantized.bytes_before) + " -> " +
                                               bytes_format(quantized.bytes_after)});
      if (model->packed_layers() > 0)
        about.row({"packed", std::to_string(model->packed_layers()) + " of " + std::to_string(quantized.layers.size()) +
                                 " tensors held as codes, " + bytes_format(model->packed_bytes())});
    } else {
      about.row({"model", model_describe(*model)});
      if (reference) about.row({"reference", model_describe(*reference)});
      if (model->packed_layers() > 0)
        about.row({"packed", std::to_string(model->packed_layers()) + " stored tensors held as codes, " +
                                 bytes_format(model->packed_bytes())});
    }
    about.row({"text", text_path.string()});
    about.row({"tokens", count_format(result.tokens) + " in " + count_format(result.windows) + " windows (" +
                             bytes_format(result.bytes) + " of text)"});
    about.row({"time", seconds_format(seconds) + " (" + rate_format(result.tokens / seconds, "tokens") + ")"});
    std::cout << about.render() << '\n';

    if (!reference) {
      TextTable numbers({{"", TextTable::Align::Left, kLabelWidth}, {"", TextTable::Align::Right}, {}});
      numbers.row({"perplexity", number_format(result.perplexity, 4)});
      numbers.row({kStandardErrorLabel, number_format(result.perplexity_standard_error, 4), kStandardErrorNote});
      numbers.row({"bits per byte", number_format(result.bits_per_byte, 4)});
      numbers.row({"nll", number_format(result.nll, 4), "nats/token"});
      std::cout << numbers.render();
      tasks_print(scores);
      return 0;
    }
    TextTable numbers({{"", TextTable::Align::Left, kLabelWidth},
                       {quantizing ? "quantized" : "model", TextTable::Align::Right},
                       {quantizing && !args.has("reference") ? "unquantized" : "reference", TextTable::Align::Right}});
    numbers.row({"perplexity", number_format(result.perplexity, 4), number_format(kl.reference.perplexity, 4)});
    numbers.row({kStandardErrorLabel, number_format(result.perplexity_standard_error, 4),
                 number_format(kl.reference.perplexity_standard_error, 4)});
    numbers.row({"bits per byte", number_format(result.bits_per_byte, 4), number_format(kl.reference.bits_per_byte, 4)});
    numbers.row({"nll, nats/token", number_format(result.nll, 4), number_format(kl.reference.nll, 4)});
    std::cout << numbers.render() << '\n';

    TextTable divergence({{"", TextTable::Align::Left, kLabelWidth}, {"", TextTable::Align::Right}, {}});
    divergence.row({"KL mean", number_format(kl.mean, 6), "nats/token, KL(reference || model)"});
    divergence.row({"KL median", number_format(kl.median, 6)});
    divergence.row({"KL p99", number_format(kl.p99, 6)});
    divergence.row({"KL max", number_format(kl.max, 6)});
    divergence.row({"top-1 agreement", number_format(100 * kl.top1_agreement, 2) + " %"});
    std::cout << divergence.render();
    tasks_print(scores);
    return 0;
  }

 private:
  static constexpr const char* kStandardErrorLabel = "perplexity s.e.";
  static constexpr const char* kStandardErrorNote = "perplexity x s.d.(token nll) / sqrt(tokens)";

  static void tasks_print(const std::vector<TaskScore>& scores) {
    if (scores.empty()) return;
    using Align = TextTable::Align;
    TextTable table(
        {{"task"}, {"kind"}, {"items", Align::Right}, {"accuracy", Align::Right}, {"± s.e.", Align::Right}});
    for (const TaskScore& s : scores)
      table.row({s.name, task_kind_name(s.kind), count_format(s.items), percent_format(s.accuracy),
                 percent_format(s.standard_error)});
    std::cout << '\n' << table.render();
  }
};

const CommandRegistration<EvalCommand> registration;

}  // namespace
}  // namespace qs::cli
