// Batch mode: an experiment file (JSON, docs/analysis.md) describes a whole analysis of one model —
// texts, task files, plans, a rate–distortion sweep, sensitivity scans, budgeted allocations and
// their frontier, optional short QAT — and experiment_run executes it into a result set. Every
// finished measurement is stored in OUT/cache as it completes, so a run that is interrupted and
// started again redoes nothing it already finished.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "quantscope/allocate.hpp"
#include "quantscope/device.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/results.hpp"
#include "quantscope/tasks.hpp"

namespace qs {

class JobContext;
class Model;

struct ExperimentText {
  std::filesystem::path file;
  int64_t ctx = 0, max_tokens = 0;  // as in EvalOptions
  // Bytes skipped from the start (up to the next blank line), so that calibration and evaluation can
  // take different parts of one file.
  int64_t skip = 0;
};

struct ExperimentTaskSource {
  std::filesystem::path file;       // a task file, or
  std::string make;                 // "cloze" | "choice": generated from `text`
  std::filesystem::path text;
  TaskMakeOptions options;
  std::string name;
};

struct ExperimentSweep {
  std::vector<std::string> families;                    // "int", "quest", "kmeans", "nf4"
  std::vector<int> bits;
  std::map<std::string, std::vector<std::string>> options;  // family -> option strings ("g64", "b64:lloyd")
  std::vector<std::string> formats;                     // listed formats, besides the product
};

struct ExperimentQat {
  std::filesystem::path text;  // training text
  int64_t steps = 100, batch = 8, ctx = 128;
  double lr = 1e-4;
  std::string estimator = "trust";
  std::vector<std::string> formats;  // sweep formats to fine-tune; empty: every one
};

struct Experiment {
  std::filesystem::path file;  // relative paths resolve against its folder
  std::string title;
  std::filesystem::path model;  // "demo" for the bundled model
  std::filesystem::path tokenizer;
  Device device = Device::Cpu;
  uint64_t seed = 0;
  ExperimentText calibration;  // sensitivity, statistics and `:fisher` importance
  ExperimentText evaluation;   // perplexity and KL of every plan
  std::vector<ExperimentTaskSource> tasks;
  TaskEvalOptions task_options;
  std::vector<std::pair<std::string, QuantPlan>> plans;  // named plans evaluated as given
  std::optional<ExperimentSweep> sweep;
  std::optional<ExperimentQat> qat;  // requires a sweep
  std::vector<std::string> sensitivity;  // formats scanned; also the allocation's candidates
  bool proxies = true;
  std::vector<AllocationBudget> budgets;  // allocations evaluated (need sensitivity)
  int64_t frontier_points = 0;            // allocations spread over the candidates' range, evaluated
};

// Throws Format naming the file for malformed JSON or unknown keys, Invalid for bad values (naming
// the key), Io for a missing file it refers to.
Experiment experiment_load(const std::filesystem::path& path);

// The formats of a sweep in order: the family × bits × options product, then the listed ones.
std::vector<FormatSpec> experiment_sweep_formats(const ExperimentSweep& sweep);

struct ExperimentCounts {
  int64_t computed = 0;  // measurements made by this run
  int64_t cached = 0;    // taken from OUT/cache
};

// What the model's shapes decide, before any measurement: windows within the model's positions, every
// plan, sweep and candidate format applicable to every layer it quantizes, every budget reachable with
// the candidates. Throws Invalid naming the problem.
void experiment_check(const Experiment& experiment, const Model& model);

// Runs the experiment into out_dir (marked as results, output_dir.hpp: cache/, qat/, summary.json)
// and returns its tables; `log` gets one line per finished step. `model` is the experiment's model
// when the caller has loaded it already (null: loaded here). experiment_check runs first. Throws what
// the steps throw; finished steps stay cached.
ResultSet experiment_run(const Experiment& experiment, const std::filesystem::path& out_dir, JobContext* job = nullptr,
                         const std::function<void(const std::string&)>& log = {}, ExperimentCounts* counts = nullptr,
                         std::shared_ptr<const Model> model = nullptr);

}  // namespace qs
