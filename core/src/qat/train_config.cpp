// The trainer's JSON configuration (format in docs/train-config.md): parsing with strict keys, so a
// misspelt setting is an error rather than a silently ignored default, and the range checks that
// train_run applies to every config, read from a file or not.
#include "qat/train_config.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"

namespace qs {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw Error(ErrorKind::Invalid, source + ": " + problem);
}

// The ModelConfig fields a fresh model's shape may set; the rest (bos/eos ids, dtype) follow from the
// tokenizer and the saved weights.
const std::set<std::string> kShapeKeys = {
    "model_type",        "vocab_size",          "hidden_size",       "intermediate_size",  "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim",        "max_position_embeddings",
    "rms_norm_eps",      "rope_theta",          "tie_word_embeddings", "attention_bias", "mlp_bias"};

class Reader {
 public:
  Reader(const json& j, std::string source, fs::path folder)
      : j_(j), source_(std::move(source)), folder_(std::move(folder)) {}

  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }

  int64_t integer(const char* key, int64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number_integer()) fail(source_, std::string("\"") + key + "\" must be an integer");
    return v.get<int64_t>();
  }
  uint64_t unsigned_integer(const char* key, uint64_t fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number_unsigned()) fail(source_, std::string("\"") + key + "\" must be a non-negative integer");
    return v.get<uint64_t>();
  }
  double real(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_number()) fail(source_, std::string("\"") + key + "\" must be a number");
    return v.get<double>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_boolean()) fail(source_, std::string("\"") + key + "\" must be true or false");
    return v.get<bool>();
  }
  std::string text(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& v = j_.at(key);
    if (!v.is_string()) fail(source_, std::string("\"") + key + "\" must be a string");
    return v.get<std::string>();
  }
  // Relative paths are relative to the config file's folder, so a config travels with its data.
  fs::path path(const char* key) const {
    const std::string value = text(key, "");
    if (value.empty()) return {};
    const fs::path p(value);
    return p.is_absolute() ? p : (folder_ / p).lexically_normal();
  }
  std::vector<fs::path> paths(const char* key) const {
    if (!has(key)) return {};
    const json& v = j_.at(key);
    if (!v.is_array()) fail(source_, std::string("\"") + key + "\" must be a list of file names");
    std::vector<fs::path> out;
    for (const json& item : v) {
      if (!item.is_string() || item.get<std::string>().empty())
        fail(source_, std::string("\"") + key + "\" must be a list of file names");
      const fs::path p(item.get<std::string>());
      out.push_back(p.is_absolute() ? p : (folder_ / p).lexically_normal());
    }
    return out;
  }

 private:
  const json& j_;
  std::string source_;
  fs::path folder_;
};

ModelConfig shape_parse(const json& shape, const std::string& source) {
  if (!shape.is_object()) fail(source, "\"shape\" must be an object");
  for (const auto& [key, value] : shape.items())
    if (!kShapeKeys.count(key)) fail(source, "unknown key \"shape." + key + "\"");
  json full = shape;
  if (!full.contains("model_type")) full["model_type"] = "llama";
  if (!full.contains("vocab_size")) full["vocab_size"] = 0;  // train_run takes the tokenizer's
  ModelConfig config;
  try {
    config = config_parse(full.dump(), source + ": shape");
  } catch (const Error& e) {
    throw Error(ErrorKind::Invalid, e.what());
  }
  return config;
}

const std::set<std::string> kQuantizationKeys = {"weight", "act", "plan", "estimator", "trust_factor",
                                                  "clip_factor", "fp_warmup_steps", "kmeans_refit_every",
                                                  "final_eval_tokens"};

FormatSpec format_read(const Reader& r, const char* key, const std::string& source) {
  try {
    return format_parse(r.text(key, ""));
  } catch (const Error& e) {
    fail(source, std::string("\"quantization.") + key + "\": " + e.what());
  }
}

QatConfig quantization_parse(const json& q, const std::string& source, const fs::path& folder) {
  if (!q.is_object()) fail(source, "\"quantization\" must be an object");
  for (const auto& [key, value] : q.items())
    if (!kQuantizationKeys.count(key)) fail(source, "unknown key \"quantization." + key + "\"");
  const Reader r(q, source, folder);
  QatConfig c;
  if (r.has("plan") == r.has("weight"))
    fail(source, "\"quantization\" needs exactly one of \"weight\" (one format for every layer) and \"plan\"");
  if (r.has("plan")) {
    if (r.has("act")) fail(source, "\"quantization.act\" goes inside the plan when there is one");
    const json& plan = q.at("plan");
    c.plan = plan.is_object() ? plan_parse(plan.dump(), source + ": quantization.plan") : plan_load(r.path("plan"));
  } else {
    std::optional<FormatSpec> act;
    if (r.has("act")) act = format_read(r, "act", source);
    c.plan = plan_uniform(format_read(r, "weight", source), act);
  }
  c.estimator.kind = gradient_estimator_parse(r.text("estimator", "trust"), source + ": \"quantization.estimator\"");
  c.estimator.trust_factor = r.real("trust_factor", c.estimator.trust_factor);
  c.estimator.clip_factor = r.real("clip_factor", c.estimator.clip_factor);
  if (r.has("fp_warmup_steps")) c.fp_warmup_steps = r.integer("fp_warmup_steps", 0);
  c.kmeans_refit_every = r.integer("kmeans_refit_every", c.kmeans_refit_every);
  c.final_eval_tokens = r.integer("final_eval_tokens", c.final_eval_tokens);
  return c;
}

}  // namespace

const char* gradient_estimator_name(GradientEstimator estimator) {
  switch (estimator) {
    case GradientEstimator::Ste: return "ste";
    case GradientEstimator::Clip: return "clip";
    case GradientEstimator::Trust: return "trust";
  }
  return "trust";
}

GradientEstimator gradient_estimator_parse(const std::string& text, const std::string& source) {
  for (const GradientEstimator e : {GradientEstimator::Ste, GradientEstimator::Clip, GradientEstimator::Trust})
    if (text == gradient_estimator_name(e)) return e;
  throw Error(ErrorKind::Invalid, source + ": unknown estimator \"" + text + "\" (ste, clip or trust)");
}

namespace {

bool plan_any(const QuantPlan& plan, bool (*test)(const FormatSpec&)) {
  if (plan.default_weight && test(*plan.default_weight)) return true;
  for (const PlanRule& rule : plan.rules)
    if (test(rule.weight)) return true;
  return false;
}

}  // namespace

bool plan_has_kmeans(const QuantPlan& plan) {
  return plan_any(plan, [](const FormatSpec& f) { return f.family == QuantFamily::KMeans; });
}

bool plan_has_fisher(const QuantPlan& plan) {
  return plan_any(plan, [](const FormatSpec& f) { return f.family == QuantFamily::KMeans && f.fisher; });
}

int64_t qat_warmup_steps(const TrainConfig& c) {
  if (!c.qat) return 0;
  if (c.qat->fp_warmup_steps) return *c.qat->fp_warmup_steps;
  return c.init_model.empty() && plan_has_kmeans(c.qat->plan) ? 1000 : 0;
}

void train_config_validate(const TrainConfig& c, const std::string& source) {
  if (c.init_model.empty() == !c.shape.has_value())
    fail(source, "give exactly one of \"init_model\" (fine-tune) and \"shape\" (a fresh model)");
  if (c.shape && c.tokenizer.empty()) fail(source, "a fresh model (\"shape\") needs \"tokenizer\"");
  if (c.train_files.empty()) fail(source, "\"train_files\" lists no file");
  if (c.out_dir.empty()) fail(source, "\"out_dir\" is required");
  if (c.heldout_file.empty() && !(c.heldout_fraction > 0 && c.heldout_fraction < 1))
    fail(source, "\"heldout_fraction\" must be in (0, 1) when there is no \"heldout_file\"");
  const auto at_least = [&](const char* key, int64_t value, int64_t low) {
    if (value < low) fail(source, std::string("\"") + key + "\" must be at least " + std::to_string(low));
  };
  at_least("steps", c.steps, 1);
  at_least("batch_size", c.batch_size, 1);
  at_least("grad_accum", c.grad_accum, 1);
  at_least("ctx", c.ctx, 2);
  at_least("warmup_steps", c.warmup_steps, 0);
  at_least("eval_every", c.eval_every, 0);
  at_least("eval_batches", c.eval_batches, 1);
  at_least("checkpoint_every", c.checkpoint_every, 0);
  at_least("log_every", c.log_every, 1);
  if (!(c.lr > 0)) fail(source, "\"lr\" must be positive");
  if (!(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1)) fail(source, "\"min_lr_ratio\" must be in [0, 1]");
  if (!(c.weight_decay >= 0)) fail(source, "\"weight_decay\" must not be negative");
  if (!(c.beta1 >= 0 && c.beta1 < 1)) fail(source, "\"beta1\" must be in [0, 1)");
  if (!(c.beta2 >= 0 && c.beta2 < 1)) fail(source, "\"beta2\" must be in [0, 1)");
  if (!(c.eps > 0)) fail(source, "\"eps\" must be positive");
  if (!(c.grad_clip >= 0)) fail(source, "\"grad_clip\" must not be negative (0 turns clipping off)");
  if (c.final_dtype != DType::F32 && c.final_dtype != DType::BF16 && c.final_dtype != DType::F16)
    fail(source, "\"final_dtype\" must be F32, BF16 or F16");
  if (c.qat) {
    const QatConfig& q = *c.qat;
    if (!(q.estimator.trust_factor > 0)) fail(source, "\"quantization.trust_factor\" must be positive");
    if (!(q.estimator.clip_factor > 0)) fail(source, "\"quantization.clip_factor\" must be positive");
    if (q.kmeans_refit_every < 0) fail(source, "\"quantization.kmeans_refit_every\" must not be negative");
    if (q.final_eval_tokens < 1) fail(source, "\"quantization.final_eval_tokens\" must be at least 1");
    const int64_t warmup = qat_warmup_steps(c);
    if (warmup < 0) fail(source, "\"quantization.fp_warmup_steps\" must not be negative");
    if (warmup >= c.steps)
      fail(source, "the warm-up of " + std::to_string(warmup) + " full-precision steps leaves none of the " +
                       std::to_string(c.steps) + " steps quantized; lower \"quantization.fp_warmup_steps\"");
  }
  if (c.shape && c.ctx > c.shape->max_position_embeddings)
    fail(source, "\"ctx\" " + std::to_string(c.ctx) + " exceeds shape.max_position_embeddings " +
                     std::to_string(c.shape->max_position_embeddings));
}

TrainConfig train_config_load(const fs::path& path) {
  const std::string source = path.string();
  const json j = json_parse_strict(file_read(path), source);
  if (!j.is_object()) throw Error(ErrorKind::Format, source + ": not a JSON object");

  static const std::set<std::string> known = {
      "init_model", "shape", "tokenizer", "train_files", "heldout_file", "heldout_fraction", "steps",
      "batch_size", "grad_accum", "ctx", "lr", "min_lr_ratio", "warmup_steps", "weight_decay", "beta1",
      "beta2", "eps", "grad_clip", "eval_every", "eval_batches", "checkpoint_every", "log_every", "seed",
      "device", "compute", "out_dir", "resume", "final_dtype", "quantization"};
  for (const auto& [key, value] : j.items())
    if (!known.count(key)) fail(source, "unknown key \"" + key + "\"");

  const fs::path folder = fs::absolute(path).parent_path();
  const Reader r(j, source, folder);
  TrainConfig c;
  c.init_model = r.path("init_model");
  if (r.has("shape")) c.shape = shape_parse(j.at("shape"), source);
  c.tokenizer = r.path("tokenizer");
  c.train_files = r.paths("train_files");
  c.heldout_file = r.path("heldout_file");
  c.heldout_fraction = r.real("heldout_fraction", c.heldout_fraction);
  c.steps = r.integer("steps", c.steps);
  c.batch_size = r.integer("batch_size", c.batch_size);
  c.grad_accum = r.integer("grad_accum", c.grad_accum);
  c.ctx = r.integer("ctx", c.ctx);
  c.lr = r.real("lr", c.lr);
  c.min_lr_ratio = r.real("min_lr_ratio", c.min_lr_ratio);
  c.warmup_steps = r.integer("warmup_steps", c.warmup_steps);
  c.weight_decay = r.real("weight_decay", c.weight_decay);
  c.beta1 = r.real("beta1", c.beta1);
  c.beta2 = r.real("beta2", c.beta2);
  c.eps = r.real("eps", c.eps);
  c.grad_clip = r.real("grad_clip", c.grad_clip);
  c.eval_every = r.integer("eval_every", c.eval_every);
  c.eval_batches = r.integer("eval_batches", c.eval_batches);
  c.checkpoint_every = r.integer("checkpoint_every", c.checkpoint_every);
  c.log_every = r.integer("log_every", c.log_every);
  c.seed = r.unsigned_integer("seed", c.seed);
  const std::string device = r.text("device", "cpu");
  if (!device_parse(device)) fail(source, "\"device\" must be \"cpu\" or \"cuda\", not \"" + device + "\"");
  c.device = *device_parse(device);
  const std::string compute = r.text("compute", "f32");
  if (!compute_type_parse(compute)) fail(source, "\"compute\" must be \"f32\" or \"bf16\", not \"" + compute + "\"");
  c.compute = *compute_type_parse(compute);
  c.out_dir = r.path("out_dir");
  c.resume = r.boolean("resume", c.resume);
  const std::string final_dtype = r.text("final_dtype", "F32");
  if (!dtype_parse(final_dtype)) fail(source, "\"final_dtype\" must be F32, BF16 or F16, not \"" + final_dtype + "\"");
  c.final_dtype = *dtype_parse(final_dtype);
  if (r.has("quantization")) c.qat = quantization_parse(j.at("quantization"), source, folder);
  train_config_validate(c, source);
  return c;
}

}  // namespace qs
