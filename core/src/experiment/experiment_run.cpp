// experiment_run: executes an experiment file's steps in a fixed order — tasks, the reference,
// named plans, the sweep (and its QAT), sensitivity scans, allocations and their frontier — and
// gathers every number into tables. Each measurement goes through ExperimentCache, so an
// interrupted run resumes where it stopped.
#include <nlohmann/json.hpp>

#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "io/atomic_file.hpp"
#include "experiment/experiment_cache.hpp"
#include "quantscope/error.hpp"
#include "quantscope/experiment.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/output_dir.hpp"
#include "quantscope/plan_evaluate.hpp"
#include "quantscope/train.hpp"
#include "qat/train_config.hpp"

namespace qs {
namespace {

using json = nlohmann::json;
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// A table name from a format: "int2:g64" -> "int2_g64".
std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isalnum(static_cast<unsigned char>(c)) ? char(std::tolower(c)) : '_';
  return out;
}

std::string family_name(const FormatSpec& format) {
  switch (format.family) {
    case QuantFamily::Int: return "int";
    case QuantFamily::Quest: return "quest";
    case QuantFamily::KMeans: return "kmeans";
    case QuantFamily::NF4: return "nf4";
    case QuantFamily::Gguf: return "gguf";
    case QuantFamily::Float: break;
  }
  return "float";
}

std::string number_text(double v) {
  std::ostringstream out;
  out.precision(6);
  out << v;
  return out.str();
}

class Runner {
 public:
  Runner(const Experiment& e, const std::filesystem::path& out, JobContext* job,
         const std::function<void(const std::string&)>& log, ExperimentCounts& counts, std::shared_ptr<const Model> model)
      : e_(e), out_(out), job_(job), log_(log), counts_(counts), cache_(out / "cache"), model_(std::move(model)) {}

  ResultSet run() {
    results_.title = e_.title;
    results_.source = e_.file.string();
    load();
    // The base model's own row is the yardstick of every plan; a scan alone needs none.
    if (!e_.plans.empty() || e_.sweep || !e_.budgets.empty() || e_.frontier_points > 0)
      evaluate("reference", "reference", QuantPlan{}, "", "", kNan);
    for (const auto& [name, plan] : e_.plans) evaluate(name, "plan", plan, "", "", kNan);
    sweep();
    const std::vector<SensitivityScan> scans = sensitivity();
    if (!e_.budgets.empty() || e_.frontier_points > 0) allocate(scans);
    tasks_table();
    summary_write();
    results_.tables.assign(tables_.begin(), tables_.end());
    return std::move(results_);
  }

 private:
  void say(const std::string& line) const {
    if (log_) log_(line);
  }

  void load() {
    if (!model_) {
      LoadOptions options;
      options.tokenizer = e_.tokenizer;
      options.device = e_.device;
      model_ = model_load(e_.model, options, job_);
    }
    experiment_check(e_, *model_);
    evaluation_text_ = text_read(e_.evaluation);
    calibration_text_ = text_read(e_.calibration);
    // Everything a measurement depends on besides its own settings.
    identity_ = "model=" + model_->source().string() + " [" + model_->identity() + "] device=" +
                std::string(device_name(model_->device())) + " compute=" + std::string(compute_type_name(model_->compute())) +
                " seed=" + std::to_string(e_.seed) + " eval=" + text_fingerprint(evaluation_text_) + "/" +
                std::to_string(e_.evaluation.ctx) + "/" + std::to_string(e_.evaluation.max_tokens);
    calibration_identity_ = " calib=" + text_fingerprint(calibration_text_) + "/" + std::to_string(e_.calibration.ctx) +
                            "/" + std::to_string(e_.calibration.max_tokens);
    tasks_identity_ = " task_options=" + std::to_string(e_.task_options.max_new) + "/" +
                      std::to_string(e_.task_options.max_items) + "/" + task_normalise_name(e_.task_options.normalise) +
                      "/" + std::to_string(e_.task_options.stop_at_word_end);
    for (const std::string& s : e_.task_options.stop) tasks_identity_ += "/" + text_fingerprint(s);
    for (const ExperimentTaskSource& source : e_.tasks) {
      TaskSet set;
      if (!source.file.empty()) {
        set = task_file_load(source.file);
      } else {
        const std::string text = file_read(source.text);
        set = source.make == "cloze" ? task_make_cloze(text, source.options) : task_make_choice(text, source.options);
        set.name = source.text.stem().string() + "-" + source.make;
      }
      if (!source.name.empty()) set.name = source.name;
      if (!source.make.empty()) {
        std::filesystem::create_directories(out_ / "tasks");
        task_file_save(set, out_ / "tasks" / (set.name + ".jsonl"));
      }
      std::string content;
      for (const TaskItem& item : set.items)
        content += item.prompt + "\x1f" + item.answer + "\x1f" + item.context + "\x1f" + std::to_string(item.label) + "\x1e";
      for (const TaskItem& item : set.items)
        for (const std::string& choice : item.choices) content += choice + "\x1f";
      tasks_identity_ += " task=" + set.name + ":" + text_fingerprint(content);
      setup_.tasks.push_back(std::move(set));
    }
    setup_.task_options = e_.task_options;
    if (e_.qat)
      qat_identity_ = " qat=" + text_fingerprint(file_read(e_.qat->text)) + "/" + std::to_string(e_.qat->steps) + "/" +
                      std::to_string(e_.qat->batch) + "/" + std::to_string(e_.qat->ctx) + "/" +
                      number_text(e_.qat->lr) + "/" + e_.qat->estimator;
    setup_.quantize.seed = e_.seed;
  }

  static std::string text_read(const ExperimentText& t) {
    const std::string text = file_read(t.file);
    if (t.skip == 0) return text;
    const size_t start = text.find("\n\n", static_cast<size_t>(t.skip));
    if (start == std::string::npos)
      throw Error(ErrorKind::Invalid, t.file.string() + ": nothing is left after skipping " + std::to_string(t.skip) + " bytes");
    return text.substr(start + 2);
  }

  EvalOptions options_of(const ExperimentText& t) const {
    EvalOptions options;
    options.ctx = t.ctx;
    options.max_tokens = t.max_tokens;
    return options;
  }

  // The reference log-probabilities on the evaluation text, prepared on first need.
  const PlanEvalSetup& setup() {
    if (!setup_.text) {
      say("preparing the reference on " + e_.evaluation.file.string());
      setup_.text = kl_reference_prepare(*model_, evaluation_text_, options_of(e_.evaluation), job_);
    }
    return setup_;
  }

  // Input second moments on the calibration text, for `:fisher` formats; collected on first need.
  void importance_ensure() {
    if (setup_.quantize.importance) return;
    say("collecting calibration importance on " + e_.calibration.file.string());
    setup_.quantize.importance = importance_collect(*model_, calibration_text_, options_of(e_.calibration), job_);
  }

  // A measurement stored by an earlier run; a damaged entry is a miss.
  std::optional<PlanMetrics> metrics_cached(const std::string& key) {
    const auto hit = cache_.find(key);
    if (!hit) return std::nullopt;
    try {
      PlanMetrics metrics = plan_metrics_from_json(*hit);
      ++counts_.cached;
      return metrics;
    } catch (const json::exception&) {
      return std::nullopt;
    }
  }

  void metrics_store(const std::string& key, const PlanMetrics& metrics) {
    cache_.store(key, plan_metrics_json(metrics));
    ++counts_.computed;
  }

  // One plan measured (or taken from the cache) and added as a row of the "evaluations" table.
  PlanMetrics evaluate(const std::string& name, const std::string& kind, const QuantPlan& plan,
                       const std::string& family, const std::string& format, double predicted) {
    if (job_) job_->check_cancelled();
    const bool fisher = plan_has_fisher(plan);
    const std::string key =
        "evaluate " + identity_ + tasks_identity_ + (fisher ? calibration_identity_ : "") + " plan=" + plan_json(plan);
    std::optional<PlanMetrics> found = metrics_cached(key);
    const bool cached = found.has_value();
    if (!cached) {
      if (fisher) importance_ensure();
      found = plan_evaluate(*model_, plan, setup(), job_);
      metrics_store(key, *found);
    }
    const PlanMetrics& metrics = *found;
    std::string line = (cached ? "cached   " : "measured ") + kind + (name == kind ? "" : " " + name) + ": perplexity " +
                       number_text(metrics.kl.model.perplexity) + ", KL " + number_text(metrics.kl.mean);
    for (const TaskScore& t : metrics.tasks) line += ", " + t.name + " " + number_text(100 * t.accuracy) + " %";
    say(line);

    ResultTable& table = table_get("evaluations", "every plan evaluated: the quantized model against the base model on the evaluation text");
    const size_t row = table.rows();
    table.text_set("name", row, name);
    table.text_set("kind", row, kind);
    table.text_set("family", row, family);
    table.text_set("format", row, format);
    row_metrics(table, row, metrics, predicted);
    ResultHistogram histogram;
    histogram.name = "kl_" + slug(kind + "_" + name);
    histogram.description = "per-token KL(base || model) of " + kind + " " + name + ", nats";
    histogram.lo = metrics.kl.histogram.lo;
    histogram.hi = metrics.kl.histogram.hi;
    histogram.counts = metrics.kl.histogram.counts;
    if (!histogram_named(histogram.name)) results_.histograms.push_back(std::move(histogram));
    evaluated_.push_back({name, kind, metrics});
    return metrics;
  }

  void row_metrics(ResultTable& table, size_t row, const PlanMetrics& m, double predicted) {
    table.number_set("bits_per_weight", row, m.bits_per_weight, "bits");
    table.number_set("model_bytes", row, double(m.model_bytes), "bytes");
    table.number_set("perplexity", row, m.kl.model.perplexity);
    table.number_set("kl_mean", row, m.kl.mean, "nats");
    table.number_set("kl_median", row, m.kl.median, "nats");
    table.number_set("kl_p99", row, m.kl.p99, "nats");
    table.number_set("top1_agreement", row, m.kl.top1_agreement);
    table.number_set("predicted_kl", row, predicted, "nats");
    for (const TaskScore& t : m.tasks) {
      table.number_set("task_" + slug(t.name), row, t.accuracy);
      table.number_set("task_" + slug(t.name) + "_se", row, t.standard_error);
    }
    table.number_set("seconds", row, m.seconds, "s");
  }

  bool histogram_named(const std::string& name) const {
    for (const ResultHistogram& h : results_.histograms)
      if (h.name == name) return true;
    return false;
  }

  // A deque, so that a table reference held by one step stays valid while another step adds tables.
  ResultTable& table_get(const std::string& name, const std::string& description) {
    for (ResultTable& t : tables_)
      if (t.name == name) return t;
    tables_.push_back({name, description, {}});
    return tables_.back();
  }

  void sweep() {
    if (!e_.sweep) return;
    ResultTable& table = table_get("sweep", "rate–distortion sweep: each format on every decoder linear layer");
    for (const FormatSpec& format : experiment_sweep_formats(*e_.sweep)) {
      const std::string name = format_print(format);
      const std::string family = family_name(format);
      const PlanMetrics m = evaluate(name, "sweep", plan_uniform(format), family, name, kNan);
      sweep_row(table, family, name, "ptq", m);
    }
    if (!e_.qat) return;
    for (const FormatSpec& format : experiment_sweep_formats(*e_.sweep)) {
      const std::string name = format_print(format);
      if (!e_.qat->formats.empty() &&
          std::find(e_.qat->formats.begin(), e_.qat->formats.end(), name) == e_.qat->formats.end())
        continue;
      const std::string family = family_name(format);
      sweep_row(table, family + " (QAT)", name, "qat", qat_evaluate_format(format));
    }
  }

  void sweep_row(ResultTable& table, const std::string& family, const std::string& format, const std::string& phase,
                 const PlanMetrics& m) {
    const size_t row = table.rows();
    table.text_set("family", row, family);
    table.text_set("format", row, format);
    table.text_set("phase", row, phase);
    row_metrics(table, row, m, kNan);
  }

  // A short QAT run of one format from the base model (resumed when its folder holds a checkpoint),
  // then its exported plan evaluated against the base model.
  PlanMetrics qat_evaluate_format(const FormatSpec& format) {
    const ExperimentQat& q = *e_.qat;
    const std::string name = format_print(format);
    TrainConfig config;
    config.init_model = e_.model;
    config.tokenizer = e_.tokenizer;
    config.train_files = {q.text};
    config.heldout_file = e_.evaluation.file;  // the trainer's held-out loss on the evaluation text
    config.steps = q.steps;
    config.batch_size = q.batch;
    config.ctx = q.ctx;
    config.lr = q.lr;
    config.warmup_steps = std::min<int64_t>(100, q.steps / 10);
    config.eval_every = q.steps;
    config.checkpoint_every = std::max<int64_t>(1, q.steps / 4);
    config.log_every = std::max<int64_t>(1, q.steps / 10);
    config.seed = e_.seed;
    config.device = e_.device;
    config.out_dir = out_ / "qat" / slug(name);
    // Stored like the base model, so that model bytes compare with the post-training rows.
    const DType stored = model_->stored_dtypes().front();
    if (stored == DType::BF16 || stored == DType::F16) config.final_dtype = stored;
    config.resume = true;
    QatConfig qat;
    qat.plan = plan_uniform(format);
    qat.estimator.kind = gradient_estimator_parse(q.estimator, e_.file.string() + ": qat.estimator");
    qat.final_eval_tokens = std::max<int64_t>(e_.evaluation.max_tokens, 2048);
    config.qat = qat;

    const std::filesystem::path final_dir = config.out_dir / "final";
    const std::string key = "qat " + identity_ + tasks_identity_ + qat_identity_ + "/" + name;
    std::optional<PlanMetrics> m = metrics_cached(key);
    const bool cached = m.has_value();
    if (!cached) {
      say("training qat " + name + " (" + std::to_string(q.steps) + " steps) in " + config.out_dir.string());
      train_run(config, job_);
      LoadOptions load;
      load.tokenizer = e_.tokenizer;
      load.device = e_.device;
      const std::shared_ptr<Model> trained = model_load(final_dir, load, job_);
      m = plan_evaluate(*trained, plan_load(final_dir / "plan.json"), setup(), job_);
      metrics_store(key, *m);
    }
    say((cached ? "cached   qat " : "measured qat ") + name + ": perplexity " + number_text(m->kl.model.perplexity) +
        ", KL " + number_text(m->kl.mean));
    evaluated_.push_back({name, "qat", *m});
    return *m;
  }

  std::vector<SensitivityScan> sensitivity() {
    std::vector<SensitivityScan> scans;
    if (e_.sensitivity.empty()) return scans;
    std::shared_ptr<const LayerStatistics> statistics;
    std::shared_ptr<const KlReference> calibration;
    ResultTable& correlation = table_get("proxy_correlation",
                                         "Spearman rank correlation of each proxy's predicted harm with the measured ΔKL");
    for (const std::string& text : e_.sensitivity) {
      const FormatSpec format = format_parse(text);
      const std::string name = format_print(format);
      SensitivityOptions options;
      options.quantize.seed = e_.seed;
      const std::string prefix = "sensitivity " + identity_ + calibration_identity_ + " proxies=" +
                                 std::to_string(e_.proxies) + " format=" + name + " layer=";
      // Each layer's cache entry is read once; the Fisher pass (a backward per window) is needed only
      // when some layer is missing.
      std::map<std::string, LayerSensitivity> hits;
      const std::vector<std::string> layers = layers_select(*model_, "");
      for (const std::string& layer : layers) {
        if (const auto hit = cache_.find(prefix + layer)) {
          try {
            hits[layer] = layer_sensitivity_from_json(*hit);
          } catch (const json::exception&) {
          }
        }
      }
      const bool all_cached = hits.size() == layers.size();
      options.cached = [&](const std::string& layer, LayerSensitivity& out) {
        const auto hit = hits.find(layer);
        if (hit == hits.end()) return false;
        out = hit->second;
        ++counts_.cached;
        return true;
      };
      options.measured = [&](const LayerSensitivity& l) {
        cache_.store(prefix + l.name, layer_sensitivity_json(l));
        ++counts_.computed;
        say("measured sensitivity " + name + " " + l.name + ": ΔKL " + number_text(l.delta_kl));
      };
      if (!calibration) {
        say("preparing the reference on the calibration text " + e_.calibration.file.string());
        calibration = kl_reference_prepare(*model_, calibration_text_, options_of(e_.calibration), job_);
      }
      if (e_.proxies && !statistics && !all_cached) {
        say("collecting calibration statistics (inputs, Fisher information)");
        statistics = layer_statistics_collect(*model_, calibration_text_, options_of(e_.calibration), job_);
        // Its pass gathered the input moments too, which `:fisher` formats weight their fits with.
        if (!setup_.quantize.importance) setup_.quantize.importance = statistics->inputs;
      }
      options.statistics = statistics;
      if (format.fisher) {
        importance_ensure();
        options.quantize.importance = setup_.quantize.importance;
      }
      const SensitivityScan scan = sensitivity_scan(*model_, format, *calibration, options, job_);
      scans.push_back(scan);
      say("sensitivity " + name + ": Spearman ρ weight " + number_text(scan.spearman_weight) + ", input " +
          number_text(scan.spearman_input) + ", Fisher " + number_text(scan.spearman_fisher));

      ResultTable& table = table_get("sensitivity_" + slug(name), "ΔKL of quantizing only one layer with " + name +
                                                                    ", and the proxies");
      for (size_t i = 0; i < scan.layers.size(); ++i) {
        const LayerSensitivity& l = scan.layers[i];
        table.text_set("layer", i, l.name);
        table.text_set("format", i, name);
        table.number_set("parameters", i, double(l.parameters));
        table.number_set("storage_bits", i, double(l.storage_bits), "bits");
        table.number_set("bits_per_weight", i, l.bits_per_weight, "bits");
        table.number_set("delta_kl", i, l.delta_kl, "nats");
        table.number_set("kl_p99", i, l.kl_p99, "nats");
        table.number_set("top1_agreement", i, l.top1_agreement);
        table.number_set("weight_sqnr", i, l.proxies.weight_sqnr_db, "dB");
        table.number_set("input_sqnr", i, l.proxies.input_sqnr_db, "dB");
        table.number_set("fisher_sqnr", i, l.proxies.fisher_sqnr_db, "dB");
        table.number_set("fisher_loss", i, l.proxies.fisher_loss, "nats");
      }
      const size_t row = correlation.rows();
      correlation.text_set("format", row, name);
      correlation.number_set("spearman_weight_sqnr", row, scan.spearman_weight);
      correlation.number_set("spearman_input_sqnr", row, scan.spearman_input);
      correlation.number_set("spearman_fisher_sqnr", row, scan.spearman_fisher);
      correlation.number_set("spearman_fisher_loss", row, scan.spearman_fisher_loss);
    }
    return scans;
  }

  void allocate(const std::vector<SensitivityScan>& scans) {
    const AllocationProblem problem = allocation_problem(*model_, scans);
    const std::vector<Allocation> front = allocation_frontier(problem);
    say("allocation: " + std::to_string(front.size()) + " Pareto-optimal allocations over " +
        std::to_string(problem.layers.size()) + " layers and " + std::to_string(problem.candidates.size()) + " candidates");
    ResultTable& table = table_get("allocation", "uniform and allocated plans: budget, predicted and measured KL");
    auto row = [&](const std::string& kind, const std::string& budget, const Allocation& a, const PlanMetrics& m) {
      const size_t r = table.rows();
      table.text_set("kind", r, kind);
      table.text_set("budget", r, budget);
      row_metrics(table, r, m, a.predicted_loss);
    };
    for (size_t c = 0; c < problem.candidates.size(); ++c) {
      const Allocation a = allocation_uniform(problem, int(c));
      const std::string name = format_print(problem.candidates[c]);
      const std::string family = family_name(problem.candidates[c]);
      row("uniform", name, a, evaluate(name, "uniform", plan_uniform(problem.candidates[c]), family, name, a.predicted_loss));
    }
    for (const AllocationBudget& budget : e_.budgets) {
      const Allocation a = allocation_solve(problem, budget);
      const std::string name = budget.print();
      const QuantPlan plan = allocation_plan(problem, a);
      std::filesystem::create_directories(out_ / "plans");
      plan_save(plan, out_ / "plans" / (slug(budget.print()) + ".json"));
      row("allocated", budget.print(), a, evaluate(name, "allocated", plan, "", "", a.predicted_loss));
      ResultTable& layers = table_get("allocation_" + slug(budget.print()),
                                      "the formats allocated under " + budget.print() + " and their predicted ΔKL");
      for (size_t i = 0; i < problem.layers.size(); ++i) {
        const size_t c = size_t(a.choice[i]);
        layers.text_set("layer", i, problem.layers[i].name);
        layers.text_set("format", i, format_print(problem.candidates[c]));
        layers.number_set("bits_per_weight", i, double(problem.layers[i].bits[c]) / problem.layers[i].parameters, "bits");
        layers.number_set("predicted_kl", i, problem.layers[i].loss[c], "nats");
      }
    }
    // Points spread evenly in bits per weight over the front, each the best allocation within.
    std::vector<size_t> picked;
    for (int64_t k = 0; k < e_.frontier_points; ++k) {
      const double lo = front.front().bits_per_weight, hi = front.back().bits_per_weight;
      const double target = e_.frontier_points == 1 ? hi : lo + (hi - lo) * double(k) / double(e_.frontier_points - 1);
      size_t best = 0;
      for (size_t i = 0; i < front.size(); ++i)
        if (front[i].bits_per_weight <= target * (1 + 1e-12)) best = i;
      if (std::find(picked.begin(), picked.end(), best) != picked.end()) continue;
      picked.push_back(best);
      const Allocation& a = front[best];
      const std::string budget = number_text(a.bits_per_weight) + " bits/weight";
      row("allocated", budget, a, evaluate(budget, "frontier", allocation_plan(problem, a), "", "", a.predicted_loss));
    }
  }

  void tasks_table() {
    if (setup_.tasks.empty()) return;
    ResultTable& table = table_get("tasks", "task scores of every evaluation, with the standard error of each accuracy");
    for (const Evaluated& e : evaluated_)
      for (const TaskScore& t : e.metrics.tasks) {
        const size_t r = table.rows();
        table.text_set("evaluation", r, e.name);
        table.text_set("kind", r, e.kind);
        table.text_set("task", r, t.name);
        table.text_set("task_kind", r, task_kind_name(t.kind));
        table.number_set("items", r, double(t.items));
        table.number_set("accuracy", r, t.accuracy);
        table.number_set("standard_error", r, t.standard_error);
      }
  }

  void summary_write() const {
    json evaluations = json::array();
    for (const Evaluated& e : evaluated_) {
      json tasks = json::object();
      for (const TaskScore& t : e.metrics.tasks)
        tasks[t.name] = {{"accuracy", t.accuracy}, {"standard_error", t.standard_error}, {"items", t.items}};
      evaluations.push_back({{"name", e.name}, {"kind", e.kind},
                             {"bits_per_weight", std::isnan(e.metrics.bits_per_weight) ? json() : json(e.metrics.bits_per_weight)},
                             {"model_bytes", e.metrics.model_bytes}, {"perplexity", e.metrics.kl.model.perplexity},
                             {"kl_mean", e.metrics.kl.mean}, {"kl_p99", e.metrics.kl.p99},
                             {"top1_agreement", e.metrics.kl.top1_agreement}, {"tasks", tasks}});
    }
    const json summary = {{"title", e_.title}, {"experiment", e_.file.string()}, {"model", model_->source().string()},
                          {"computed", counts_.computed}, {"cached", counts_.cached}, {"evaluations", evaluations}};
    file_write_atomic(out_ / "summary.json", summary.dump(2) + "\n");
  }

  struct Evaluated {
    std::string name, kind;
    PlanMetrics metrics;
  };

  const Experiment& e_;
  const std::filesystem::path out_;
  JobContext* job_;
  const std::function<void(const std::string&)>& log_;
  ExperimentCounts& counts_;
  ExperimentCache cache_;
  std::shared_ptr<const Model> model_;
  std::string evaluation_text_, calibration_text_;
  std::string identity_, calibration_identity_, tasks_identity_, qat_identity_;
  PlanEvalSetup setup_;
  ResultSet results_;
  std::deque<ResultTable> tables_;
  std::vector<Evaluated> evaluated_;
};

}  // namespace

ResultSet experiment_run(const Experiment& experiment, const std::filesystem::path& out_dir, JobContext* job,
                         const std::function<void(const std::string&)>& log, ExperimentCounts* counts,
                         std::shared_ptr<const Model> model) {
  ExperimentCounts local;
  output_dir_claim(out_dir, OutputKind::Results);
  return Runner(experiment, out_dir, job, log, counts ? *counts : local, std::move(model)).run();
}

}  // namespace qs
