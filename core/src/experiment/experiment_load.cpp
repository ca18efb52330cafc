// experiment_load: the experiment file (docs/analysis.md) parsed and checked before anything runs,
// so that a typo fails in a second with the key's name rather than after an hour of scans.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "base/json_strict.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/experiment.hpp"
#include "quantscope/file_read.hpp"

namespace qs {
namespace {

using json = nlohmann::ordered_json;  // named plans run in the order the file lists them

struct Reader {
  std::string source;  // the file, for messages
  std::filesystem::path folder;

  [[noreturn]] void fail(ErrorKind kind, const std::string& message) const { throw Error(kind, source + ": " + message); }

  void keys_check(const json& object, const std::string& where, const std::set<std::string>& allowed) const {
    if (!object.is_object()) fail(ErrorKind::Format, where + " must be an object");
    for (const auto& [key, value] : object.items()) {
      if (allowed.count(key)) continue;
      std::string list;
      for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
      fail(ErrorKind::Format, "unknown key \"" + (where.empty() ? key : where + "." + key) + "\" (allowed: " + list + ")");
    }
  }

  template <class T>
  T value(const json& object, const std::string& key, const std::string& where, T fallback) const {
    if (!object.contains(key)) return fallback;
    try {
      return object.at(key).get<T>();
    } catch (const json::exception&) {
      fail(ErrorKind::Format, (where.empty() ? key : where + "." + key) + " has the wrong type");
    }
  }

  // Relative to the experiment file's folder; must exist.
  std::filesystem::path file(const json& object, const std::string& key, const std::string& where) const {
    const std::string text = value<std::string>(object, key, where, "");
    if (text.empty()) fail(ErrorKind::Invalid, where + "." + key + " is required");
    std::filesystem::path path = text;
    if (path.is_relative()) path = folder / path;
    path = path.lexically_normal();
    if (!std::filesystem::exists(path)) fail(ErrorKind::Io, where + "." + key + ": " + path.string() + " does not exist");
    return path;
  }

  ExperimentText text(const json& object, const std::string& where) const {
    keys_check(object, where, {"text", "ctx", "max_tokens", "skip"});
    ExperimentText t;
    t.file = file(object, "text", where);
    t.ctx = value<int64_t>(object, "ctx", where, 0);
    t.max_tokens = value<int64_t>(object, "max_tokens", where, 0);
    t.skip = value<int64_t>(object, "skip", where, 0);
    if (t.ctx < 0 || t.max_tokens < 0 || t.skip < 0)
      fail(ErrorKind::Invalid, where + ": ctx, max_tokens and skip must not be negative");
    return t;
  }
};

}  // namespace

Experiment experiment_load(const std::filesystem::path& path) {
  const std::string content = file_read(path);
  Reader r{path.string(), path.parent_path()};
  json root = json_parse_strict(content, r.source);
  r.keys_check(root, "", {"comment", "title", "model", "tokenizer", "device", "seed", "calibration", "evaluation",
                          "tasks", "task_options", "plans", "sweep", "qat", "sensitivity", "allocation"});
  Experiment e;
  e.file = path;
  e.title = r.value<std::string>(root, "title", "", path.stem().string());
  const std::string model = r.value<std::string>(root, "model", "", "");
  if (model.empty()) r.fail(ErrorKind::Invalid, "\"model\" is required (a checkpoint path or \"demo\")");
  e.model = model == "demo" ? demo_model_dir() : r.file(root, "model", "");
  if (root.contains("tokenizer")) e.tokenizer = r.file(root, "tokenizer", "");
  const std::string device = r.value<std::string>(root, "device", "", "cpu");
  if (device != "cpu" && device != "cuda") r.fail(ErrorKind::Invalid, "device must be \"cpu\" or \"cuda\", not \"" + device + "\"");
  e.device = device == "cuda" ? Device::Cuda : Device::Cpu;
  e.seed = r.value<uint64_t>(root, "seed", "", 0);
  if (!root.contains("evaluation")) r.fail(ErrorKind::Invalid, "\"evaluation\" is required: {\"text\": FILE}");
  e.evaluation = r.text(root["evaluation"], "evaluation");
  e.calibration = root.contains("calibration") ? r.text(root["calibration"], "calibration") : e.evaluation;

  if (root.contains("tasks")) {
    if (!root["tasks"].is_array()) r.fail(ErrorKind::Format, "tasks must be an array");
    for (size_t i = 0; i < root["tasks"].size(); ++i) {
      const json& t = root["tasks"][i];
      const std::string where = "tasks[" + std::to_string(i) + "]";
      r.keys_check(t, where, {"file", "make", "text", "count", "seed", "max_chars", "name"});
      ExperimentTaskSource source;
      if (t.contains("file")) {
        if (t.contains("make")) r.fail(ErrorKind::Invalid, where + ": give \"file\" or \"make\", not both");
        source.file = r.file(t, "file", where);
      } else {
        source.make = r.value<std::string>(t, "make", where, "");
        if (source.make != "cloze" && source.make != "choice")
          r.fail(ErrorKind::Invalid, where + ".make must be \"cloze\" or \"choice\"");
        source.text = r.file(t, "text", where);
        source.options.count = r.value<int64_t>(t, "count", where, source.options.count);
        source.options.seed = r.value<uint64_t>(t, "seed", where, source.options.seed);
        source.options.max_chars = r.value<int64_t>(t, "max_chars", where, source.options.max_chars);
      }
      source.name = r.value<std::string>(t, "name", where, "");
      e.tasks.push_back(std::move(source));
    }
  }
  if (root.contains("task_options")) {
    const json& t = root["task_options"];
    r.keys_check(t, "task_options", {"stop", "stop_at_word_end", "max_new", "normalise", "max_items"});
    e.task_options.stop = r.value<std::vector<std::string>>(t, "stop", "task_options", e.task_options.stop);
    e.task_options.stop_at_word_end = r.value<bool>(t, "stop_at_word_end", "task_options", e.task_options.stop_at_word_end);
    e.task_options.max_new = r.value<int64_t>(t, "max_new", "task_options", e.task_options.max_new);
    e.task_options.max_items = r.value<int64_t>(t, "max_items", "task_options", e.task_options.max_items);
    if (t.contains("normalise"))
      e.task_options.normalise = task_normalise_parse(r.value<std::string>(t, "normalise", "task_options", ""), r.source);
  }
  const json plans = root.value("plans", json::object());
  if (!plans.is_object()) r.fail(ErrorKind::Format, "plans must be an object of name: plan file or plan");
  for (const auto& [name, value] : plans.items()) {
    if (value.is_string()) {
      std::filesystem::path plan_path = value.get<std::string>();
      if (plan_path.is_relative()) plan_path = r.folder / plan_path;
      e.plans.emplace_back(name, plan_load(plan_path));
    } else {
      e.plans.emplace_back(name, plan_parse(value.dump(), r.source + ": plans." + name));
    }
  }
  if (root.contains("sweep")) {
    const json& s = root["sweep"];
    r.keys_check(s, "sweep", {"families", "bits", "options", "formats"});
    ExperimentSweep sweep;
    sweep.families = r.value<std::vector<std::string>>(s, "families", "sweep", {});
    sweep.bits = r.value<std::vector<int>>(s, "bits", "sweep", {});
    sweep.options = r.value<std::map<std::string, std::vector<std::string>>>(s, "options", "sweep", {});
    sweep.formats = r.value<std::vector<std::string>>(s, "formats", "sweep", {});
    size_t count = 0;
    try {
      count = experiment_sweep_formats(sweep).size();
    } catch (const Error& error) {
      r.fail(error.kind(), std::string("sweep: ") + error.what());
    }
    if (count == 0) r.fail(ErrorKind::Invalid, "sweep: no formats (give families and bits, or formats)");
    e.sweep = sweep;
  }
  if (root.contains("qat")) {
    if (!e.sweep) r.fail(ErrorKind::Invalid, "qat fine-tunes the sweep's formats: give a sweep too");
    const json& q = root["qat"];
    r.keys_check(q, "qat", {"text", "steps", "batch", "ctx", "lr", "estimator", "formats"});
    ExperimentQat qat;
    qat.text = r.file(q, "text", "qat");
    qat.steps = r.value<int64_t>(q, "steps", "qat", qat.steps);
    qat.batch = r.value<int64_t>(q, "batch", "qat", qat.batch);
    qat.ctx = r.value<int64_t>(q, "ctx", "qat", qat.ctx);
    qat.lr = r.value<double>(q, "lr", "qat", qat.lr);
    qat.estimator = r.value<std::string>(q, "estimator", "qat", qat.estimator);
    qat.formats = r.value<std::vector<std::string>>(q, "formats", "qat", {});
    if (qat.steps < 1 || qat.batch < 1 || qat.ctx < 2 || !(qat.lr > 0))
      r.fail(ErrorKind::Invalid, "qat: steps and batch must be at least 1, ctx at least 2, lr positive");
    e.qat = qat;
  }
  if (root.contains("sensitivity")) {
    const json& s = root["sensitivity"];
    r.keys_check(s, "sensitivity", {"formats", "proxies"});
    e.sensitivity = r.value<std::vector<std::string>>(s, "formats", "sensitivity", {});
    if (e.sensitivity.empty()) r.fail(ErrorKind::Invalid, "sensitivity.formats must list at least one format");
    for (const std::string& f : e.sensitivity) format_parse(f);
    e.proxies = r.value<bool>(s, "proxies", "sensitivity", true);
  }
  if (root.contains("allocation")) {
    if (e.sensitivity.empty()) r.fail(ErrorKind::Invalid, "allocation needs sensitivity.formats (its candidates)");
    const json& a = root["allocation"];
    r.keys_check(a, "allocation", {"budgets", "frontier"});
    const json budgets = a.value("budgets", json::array());
    if (!budgets.is_array()) r.fail(ErrorKind::Format, "allocation.budgets must be an array");
    for (const json& b : budgets) {
      r.keys_check(b, "allocation.budgets[]", {"bits", "bytes"});
      if (b.size() != 1) r.fail(ErrorKind::Invalid, "allocation.budgets[]: give one of bits or bytes");
      AllocationBudget budget;
      budget.kind = b.contains("bits") ? AllocationBudget::Kind::BitsPerWeight : AllocationBudget::Kind::Bytes;
      budget.value = r.value<double>(b, b.contains("bits") ? "bits" : "bytes", "allocation.budgets[]", 0.0);
      if (!(budget.value > 0)) r.fail(ErrorKind::Invalid, "allocation.budgets[]: the budget must be positive");
      e.budgets.push_back(budget);
    }
    e.frontier_points = r.value<int64_t>(a, "frontier", "allocation", 0);
    if (e.frontier_points < 0 || e.frontier_points > 100)
      r.fail(ErrorKind::Invalid, "allocation.frontier must be in [0, 100]");
  }
  return e;
}

std::vector<FormatSpec> experiment_sweep_formats(const ExperimentSweep& sweep) {
  std::vector<std::string> texts;
  for (const std::string& family : sweep.families) {
    if (family != "int" && family != "quest" && family != "kmeans" && family != "nf4")
      throw Error(ErrorKind::Invalid, "unknown family \"" + family + "\" (int, quest, kmeans, nf4)");
    const auto found = sweep.options.find(family);
    const std::vector<std::string> options = found == sweep.options.end() ? std::vector<std::string>{""} : found->second;
    if (family == "nf4") {
      texts.push_back("nf4");
      continue;
    }
    for (int bits : sweep.bits)
      for (const std::string& option : options)
        texts.push_back(family + std::to_string(bits) + (option.empty() ? "" : ":" + option));
  }
  texts.insert(texts.end(), sweep.formats.begin(), sweep.formats.end());
  std::vector<FormatSpec> formats;
  for (const std::string& text : texts) {
    const FormatSpec spec = format_parse(text);
    if (std::find(formats.begin(), formats.end(), spec) == formats.end()) formats.push_back(spec);
  }
  return formats;
}

}  // namespace qs
