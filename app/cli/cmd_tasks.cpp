// `quantscope-cli tasks make|eval`: build task files from held-out text, and score models on them
// (docs/tasks.md). With --format or --plan, eval scores the quantized model beside the unquantized one
// it was made from, loaded once, because the difference is what a quantization study asks for.
#include <cmath>
#include <filesystem>
#include <iostream>
#include <vector>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/model.hpp"
#include "quantscope/tasks.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kMakeOptions = {"kind", "text", "out", "count", "max-chars"};
// Options of eval that have no default, so that giving one to make can be refused.
const std::vector<std::string> kEvalOptions = {"stop", "cut", "normalise", "max-new", "max-items",
                                               "format", "plan", "layers", "calib", "tokenizer"};

void options_refuse(const Args& args, const std::vector<std::string>& names, const std::string& other) {
  for (const std::string& name : names)
    if (args.has(name)) throw UsageError("--" + name + " is an option of 'tasks " + other + "'");
}

// --stop's escapes, so that a newline or a tab can be given on a command line.
std::string escapes_apply(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const char next = i + 1 < text.size() ? text[++i] : '\0';
    if (next == 'n') out += '\n';
    else if (next == 't') out += '\t';
    else if (next == '\\') out += '\\';
    else throw UsageError("--stop: unknown escape in '" + text + "' (\\n, \\t and \\\\ are understood)");
  }
  if (out.empty()) throw UsageError("--stop must not be empty");
  return out;
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::equivalent(a, b, ec)) return true;
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

// The paired difference of two scores on the same items: its mean and standard error.
struct Delta {
  double mean = 0, standard_error = 0;
};

Delta delta_compute(const TaskScore& base, const TaskScore& quantized) {
  const size_t n = base.item_correct.size();
  Delta d;
  for (size_t i = 0; i < n; ++i) d.mean += double(quantized.item_correct[i]) - double(base.item_correct[i]);
  d.mean /= double(n);
  double squares = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = double(quantized.item_correct[i]) - double(base.item_correct[i]) - d.mean;
    squares += x * x;
  }
  d.standard_error = n > 1 ? std::sqrt(squares / double(n - 1) / double(n)) : std::nan("");
  return d;
}

nlohmann::ordered_json score_json(const TaskScore& score) {
  return {{"correct", score.correct},
          {"accuracy", score.accuracy},
          {"standard_error", score.standard_error},
          {"seconds", score.seconds}};
}

class TasksCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("tasks",
                 "Build downstream task files from held-out text, or score models on them (docs/tasks.md). "
                 "'tasks make' writes a JSONL task file: --kind cloze gives LAMBADA-style last-word items "
                 "(generate: the passage's final word, which appeared earlier in it), --kind choice "
                 "HellaSwag-style items (the true next sentence among three from other documents); the same "
                 "--seed gives the same file. 'tasks eval MODEL TASKFILE...' prints each file's accuracy with "
                 "its standard error: exact match of the greedy answer for generate items, the choice with the "
                 "highest log-likelihood per byte for choice items. With --format or --plan the quantized model "
                 "is scored beside the unquantized one, with their paired difference.");
    spec.positional({"ACTION", "make or eval"});
    spec.positional({"ARGS", "eval: MODEL, then one or more task files; make takes none", true});
    spec.option({.name = "kind", .type = ArgType::Choice, .help = "make: the kind of items",
                 .choices = {"cloze", "choice"}});
    spec.option({.name = "text", .type = ArgType::Text, .value_name = "FILE",
                 .help = "make: the held-out UTF-8 text; documents are separated by blank lines or <|endoftext|>"});
    spec.option({.name = "out", .type = ArgType::Text, .value_name = "FILE",
                 .help = "make: the task file to write (JSONL; never the --text file)"});
    spec.option({.name = "count", .type = ArgType::Integer, .value_name = "N",
                 .help = "make: at most N items (default: 200)", .min = 1});
    spec.option({.name = "max-chars", .type = ArgType::Integer, .value_name = "N",
                 .help = "make: the longest prompt or context in bytes, cut at a sentence start (default: 1000)",
                 .min = 1});
    spec.option({.name = "stop", .type = ArgType::Text, .value_name = "S",
                 .help = "eval: generated answers end at the first S (\\n, \\t and \\\\ escapes; default: \\n)"});
    spec.option({.name = "cut", .type = ArgType::Choice,
                 .help = "eval: word: a generated answer also ends with its first word; stop: only at --stop, "
                         "EOS or --max-new (default: word)",
                 .choices = {"word", "stop"}});
    spec.option({.name = "normalise", .type = ArgType::Choice,
                 .help = "eval: how answers compare: exact bytes, trim (surrounding whitespace removed) or word "
                         "(trimmed, lower-cased, punctuation removed at both ends) (default: word)",
                 .choices = {"exact", "trim", "word"}});
    spec.option({.name = "max-new", .type = ArgType::Integer, .value_name = "N",
                 .help = "eval: at most N generated tokens per answer (default: 16)", .min = 1});
    spec.option({.name = "max-items", .type = ArgType::Integer, .value_name = "N",
                 .help = "eval: score only the first N items of each file", .min = 1});
    // The shared quantizer and model options, their help marked as eval's; --seed serves make too.
    ArgSpec shared("", "");
    quantize_options_declare(shared);
    model_options_declare(shared);
    for (OptionSpec option : shared.options()) {
      const std::string action = option.name == "seed"
                                     ? "make: which passages become items and where the right choice goes; eval: "
                                     : "eval: ";
      option.help = action + option.help;
      spec.option(std::move(option));
    }
    spec.option(json_option());
    spec.example("tasks make --kind cloze --text heldout.txt --out cloze.jsonl --seed 1");
    spec.example("tasks make --kind choice --text heldout.txt --out choice.jsonl --count 500");
    spec.example("tasks eval demo resources/tasks/demo-cloze.jsonl resources/tasks/demo-choice.jsonl");
    spec.example("tasks eval demo resources/tasks/demo-choice.jsonl --format int3:g64");
    spec.example("tasks eval stories260K.bin --tokenizer tok512.model stories-cloze.jsonl --plan mixed.json");
    return spec;
  }

  int run(const Args& args) const override {
    const std::string& action = args.positional(0);
    if (action == "make") return make(args);
    if (action == "eval") return eval(args);
    throw UsageError("unknown action '" + action + "' (make or eval)");
  }

 private:
  int make(const Args& args) const {
    if (args.positional_count() > 1) throw UsageError("'tasks make' takes no argument '" + args.positional(1) + "'");
    options_refuse(args, kEvalOptions, "eval");
    for (const char* name : {"kind", "text", "out"})
      if (!args.has(name)) throw UsageError(std::string("'tasks make' needs --") + name);
    const fs::path text_path = args.text("text"), out = args.text("out");
    if (same_file(text_path, out)) throw UsageError("--out is the --text file; refusing to overwrite the input");
    TaskMakeOptions options;
    if (args.has("count")) options.count = args.integer("count");
    if (args.has("max-chars")) options.max_chars = args.integer("max-chars");
    options.seed = uint64_t(args.integer("seed"));
    const std::string text = file_read(text_path);
    const bool cloze = args.text("kind") == "cloze";
    TaskSet tasks;
    try {
      tasks = cloze ? task_make_cloze(text, options) : task_make_choice(text, options);
    } catch (const Error& e) {
      throw Error(e.kind(), text_path.string() + ": " + e.what());
    }
    tasks.name = out.stem().string();
    task_file_save(tasks, out);
    if (args.flag("json")) {
      json_print({{"out", out.string()},
                  {"text", text_path.string()},
                  {"kind", args.text("kind")},
                  {"items", tasks.items.size()},
                  {"seed", options.seed},
                  {"max_chars", options.max_chars}});
      return 0;
    }
    std::cout << "wrote " << count_format(int64_t(tasks.items.size())) << " " << args.text("kind") << " items to "
              << out.string() << " (from " << text_path.string() << ", seed " << options.seed << ")\n";
    return 0;
  }

  int eval(const Args& args) const {
    if (args.positional_count() < 3) throw UsageError("'tasks eval' needs MODEL and at least one TASKFILE");
    options_refuse(args, kMakeOptions, "make");
    const bool quantizing = quantize_options_check(args, false);
    TaskEvalOptions options;
    if (args.has("stop")) options.stop = {escapes_apply(args.text("stop"))};
    if (args.has("cut")) options.stop_at_word_end = args.text("cut") == "word";
    if (args.has("normalise")) options.normalise = task_normalise_parse(args.text("normalise"), "--normalise");
    if (args.has("max-new")) options.max_new = args.integer("max-new");
    if (args.has("max-items")) options.max_items = args.integer("max-items");
    std::vector<fs::path> files;
    std::vector<TaskSet> sets;
    for (size_t i = 2; i < args.positional_count(); ++i) {
      files.emplace_back(args.positional(i));
      sets.push_back(task_file_load(files.back()));  // a bad file fails before the model loads
    }

    JobRunner jobs;
    const std::shared_ptr<Model> base = model_open(jobs, args.positional(1), model_options_get(args));
    std::shared_ptr<Model> quantized;
    ModelQuantizeReport report;
    if (quantizing) quantized = quantize_from_args(jobs, *base, args, report);
    std::vector<TaskScore> base_scores, quantized_scores;
    for (const TaskSet& set : sets) {
      jobs.run("Scoring " + set.name, [&](JobContext& context) {
        base_scores.push_back(task_evaluate(*base, set, options, &context));
      });
      if (quantized)
        jobs.run("Scoring " + set.name + " (quantized)", [&](JobContext& context) {
          quantized_scores.push_back(task_evaluate(*quantized, set, options, &context));
        });
    }

    const std::string quantization =
        !quantizing ? std::string() : args.has("plan") ? args.text("plan") : format_print(format_get(args));
    if (args.flag("json")) {
      nlohmann::ordered_json out;
      out["model"] = base->source().string();
      out["device"] = std::string(device_name(base->device()));
      out["dtype"] = std::string(compute_type_name(base->compute()));
      if (quantizing) {
        out[args.has("plan") ? "plan" : "format"] = quantization;
        out["quantized_parameters"] = report.quantized_parameters;
        out["bytes_before"] = report.bytes_before;
        out["bytes_after"] = report.bytes_after;
      }
      out["normalise"] = task_normalise_name(options.normalise);
      auto& tasks = out["tasks"] = nlohmann::ordered_json::array();
      for (size_t i = 0; i < sets.size(); ++i) {
        nlohmann::ordered_json task = {{"name", base_scores[i].name},
                                       {"file", files[i].string()},
                                       {"kind", task_kind_name(base_scores[i].kind)},
                                       {"items", base_scores[i].items}};
        task.update(score_json(base_scores[i]));
        if (quantized) {
          task["quantized"] = score_json(quantized_scores[i]);
          const Delta d = delta_compute(base_scores[i], quantized_scores[i]);
          task["delta"] = {{"accuracy", d.mean}, {"standard_error", d.standard_error}};
        }
        tasks.push_back(std::move(task));
      }
      json_print(out);
      return 0;
    }

    TextTable about({{"", TextTable::Align::Left, 8}, {}});
    about.row({"model", model_describe(*base)});
    if (quantizing)
      about.row({args.has("plan") ? "plan" : "format", quantization + " on " + std::to_string(report.layers.size()) +
                                                           " tensors; model " + bytes_format(report.bytes_before) +
                                                           " -> " + bytes_format(report.bytes_after)});
    std::cout << about.render() << '\n';
    using Align = TextTable::Align;
    std::vector<TextTable::Column> columns = {{"task"}, {"kind"}, {"items", Align::Right}};
    if (quantized) {
      for (const char* header : {"unquantized", "± s.e.", "quantized", "± s.e.", "delta", "± s.e."})
        columns.push_back({header, Align::Right});
    } else {
      columns.push_back({"accuracy", Align::Right});
      columns.push_back({"± s.e.", Align::Right});
    }
    TextTable table(columns);
    for (size_t i = 0; i < sets.size(); ++i) {
      const TaskScore& s = base_scores[i];
      std::vector<std::string> row = {s.name, task_kind_name(s.kind), count_format(s.items),
                                      percent_format(s.accuracy), percent_format(s.standard_error)};
      if (quantized) {
        const TaskScore& q = quantized_scores[i];
        const Delta d = delta_compute(s, q);
        row.push_back(percent_format(q.accuracy));
        row.push_back(percent_format(q.standard_error));
        row.push_back((d.mean > 0 ? std::string("+") : std::string()) + number_format(100 * d.mean, 2) + " pt");
        row.push_back(number_format(100 * d.standard_error, 2) + " pt");
      }
      table.row(row);
    }
    std::cout << table.render();
    if (quantized)
      std::cout << "\ndelta: quantized minus unquantized, with the standard error of the paired difference\n";
    return 0;
  }
};

const CommandRegistration<TasksCommand> registration;

}  // namespace
}  // namespace qs::cli
