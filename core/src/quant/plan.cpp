// Quantization plans: the JSON file of layer-name globs (docs/plans.md), and its resolution against a
// model into the per-layer formats model_quantize takes, with every check that can fail before any
// weight is touched, so that a bad plan names its rule or layer instead of failing halfway through.
#include "quantscope/plan.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/atomic_file.hpp"
#include "base/json_strict.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/model.hpp"

namespace qs {
namespace {

// Rules keep the order of the file, so that plan_json(plan_parse(text)) lists them as written.
using json = nlohmann::ordered_json;

const char* const kEmbedding = "model.embed_tokens";
const char* const kDecoderPrefix = "model.layers.";
const char* const kNameHint = "names look like model.layers.0.mlp.up_proj, model.layers.*.self_attn.q_proj, "
                              "lm_head, model.embed_tokens";

[[noreturn]] void fail(ErrorKind kind, const std::string& source, const std::string& problem) {
  throw Error(kind, source + ": " + problem);
}

bool is_glob(const std::string& match) { return match.find_first_of("*?[") != std::string::npos; }

// Characters a glob matches literally: everything but `*`, `?` and bracket expressions.
int64_t literal_count(const std::string& match) {
  int64_t count = 0;
  for (size_t i = 0; i < match.size(); ++i) {
    const char c = match[i];
    if (c == '*' || c == '?') continue;
    if (c == '[') {
      const size_t close = match.find(']', i + 2);  // "[]...]": a leading ']' is a member
      if (close != std::string::npos) {
        i = close;
        continue;
      }
    }
    if (c == '\\' && i + 1 < match.size()) ++i;
    ++count;
  }
  return count;
}

bool glob_matches(const std::string& match, const std::string& name) {
  return fnmatch(match.c_str(), name.c_str(), 0) == 0;
}

json text_parse(const std::string& text, const std::string& source) {
  const json j = json_parse_strict(text, source);
  if (!j.is_object()) fail(ErrorKind::Format, source, "a plan is a JSON object");
  return j;
}

FormatSpec spec_parse(const json& value, const std::string& source, const std::string& where) {
  if (!value.is_string()) fail(ErrorKind::Format, source, where + ": must be a format string such as \"int4:g64\"");
  try {
    return format_parse(value.get<std::string>());
  } catch (const Error& e) {
    fail(e.kind(), source, where + ": " + e.what());
  }
}

void activation_check(const FormatSpec& spec, const std::string& who) {
  if (spec.family != QuantFamily::Quest)
    throw Error(ErrorKind::Invalid, who + ": activation format " + format_print(spec) +
                                        " is not a QuEST format; activations take quest<b>[:h<N>]");
}

// One entry: "int4" (the weight format) or {"weight": ..., "act": ..., "codebooks": [[...], ...]}.
PlanRule entry_parse(const json& entry, const std::string& source, const std::string& where, bool codebooks_allowed) {
  PlanRule rule;
  if (entry.is_string()) {
    rule.weight = spec_parse(entry, source, where + ".weight");
    return rule;
  }
  if (!entry.is_object())
    fail(ErrorKind::Format, source, where + ": must be a format string or an object with \"weight\" and optional \"act\"");
  for (const auto& [key, value] : entry.items())
    if (key != "weight" && key != "act" && !(codebooks_allowed && key == "codebooks"))
      fail(ErrorKind::Format, source, where + ": unknown key \"" + key + "\" (allowed: weight, act" +
                                          (codebooks_allowed ? ", codebooks)" : ")"));
  if (!entry.contains("weight")) fail(ErrorKind::Format, source, where + ": \"weight\" is missing");
  rule.weight = spec_parse(entry.at("weight"), source, where + ".weight");
  if (entry.contains("act")) {
    rule.activation = spec_parse(entry.at("act"), source, where + ".act");
    activation_check(*rule.activation, source + ": " + where + ".act");
  }
  if (!entry.contains("codebooks")) return rule;
  const std::string at = where + ".codebooks";
  if (rule.weight.family != QuantFamily::KMeans)
    fail(ErrorKind::Invalid, source, at + ": codebooks are for kmeans formats, not " + format_print(rule.weight));
  const json& rows = entry.at("codebooks");
  if (!rows.is_array() || rows.empty())
    fail(ErrorKind::Format, source, at + ": must be a non-empty array of codebooks (arrays of numbers)");
  const size_t levels = size_t(rule.weight.levels());
  for (size_t r = 0; r < rows.size(); ++r) {
    const json& row = rows[r];
    if (!row.is_array() || row.size() != levels)
      fail(ErrorKind::Format, source, at + "[" + std::to_string(r) + "]: must be an array of " +
                                          std::to_string(levels) + " numbers (2^" + std::to_string(rule.weight.bits) +
                                          " centroids for " + format_print(rule.weight) + ")");
    for (const json& v : row) {
      const double d = v.is_number() ? v.get<double>() : NAN;
      if (!(std::fabs(d) <= double(std::numeric_limits<float>::max())))
        fail(ErrorKind::Format, source, at + "[" + std::to_string(r) + "]: " + v.dump() + " is not a finite float");
      rule.codebooks.push_back(float(d));
    }
  }
  return rule;
}

json entry_json(const FormatSpec& weight, const std::optional<FormatSpec>& activation,
                const std::vector<float>& codebooks, const std::string& who) {
  if (!activation && codebooks.empty()) return format_print(weight);
  json entry = {{"weight", format_print(weight)}};
  if (activation) entry["act"] = format_print(*activation);
  if (!codebooks.empty()) {
    const size_t levels = size_t(weight.levels());
    if (weight.family != QuantFamily::KMeans || codebooks.size() % levels != 0)
      throw Error(ErrorKind::Invalid, who + ": " + std::to_string(codebooks.size()) +
                                          " codebook values are not whole codebooks of " + format_print(weight));
    json rows = json::array();
    for (size_t r = 0; r < codebooks.size(); r += levels) {
      json row = json::array();
      for (size_t i = r; i < r + levels; ++i) {
        if (!std::isfinite(codebooks[i])) throw Error(ErrorKind::Numeric, who + ": a codebook holds NaN or Inf");
        row.push_back(double(codebooks[i]));  // shortest double text; exact back to the same float
      }
      rows.push_back(std::move(row));
    }
    entry["codebooks"] = std::move(rows);
  }
  return entry;
}

struct Candidate {
  std::string name;
  int64_t out = 0, in = 0;
};

std::vector<Candidate> candidates_list(const Model& model) {
  std::vector<Candidate> list;
  const std::vector<int64_t> shape = model.tensor_shape(std::string(kEmbedding) + ".weight");
  list.push_back({kEmbedding, shape.at(0), shape.at(1)});
  for (const LinearLayer& layer : model.linear_layers())
    list.push_back({layer.name, layer.out_features, layer.in_features});
  return list;
}

void hadamard_check(const std::string& name, const FormatSpec& spec, int64_t in) {
  if (spec.hadamard > 1 && in % spec.hadamard != 0)
    throw Error(ErrorKind::Invalid, name + ": " + format_print(spec) + " needs `in` (" + std::to_string(in) +
                                        ") to be a multiple of its Hadamard block " + std::to_string(spec.hadamard));
}

void layer_check(const LayerFormat& lf, const Candidate& c) {
  hadamard_check(c.name, lf.format, c.in);
  if (const std::string problem = format_shape_problem(lf.format, c.out, c.in); !problem.empty())
    throw Error(ErrorKind::Invalid, c.name + ": " + format_print(lf.format) + ": " + problem);
  if (lf.activation) {
    if (c.name == kEmbedding)
      throw Error(ErrorKind::Invalid, c.name + ": an embedding has no input to quantize; drop its \"act\"");
    activation_check(*lf.activation, c.name);
    hadamard_check(c.name, *lf.activation, c.in);
  }
  if (lf.codebooks.empty()) return;
  if (lf.format.family != QuantFamily::KMeans)
    throw Error(ErrorKind::Invalid, c.name + ": pinned codebooks need a kmeans format, not " + format_print(lf.format));
  const int64_t rows = format_codebook_count(lf.format, c.out, c.in);
  const int64_t expected = rows * lf.format.levels();
  if (int64_t(lf.codebooks.size()) != expected)
    throw Error(ErrorKind::Invalid, c.name + ": " + format_print(lf.format) + " on " + std::to_string(c.out) + " x " +
                                        std::to_string(c.in) + " needs " + std::to_string(rows) + " codebooks of " +
                                        std::to_string(lf.format.levels()) + " (" + std::to_string(expected) +
                                        " values); the plan pins " + std::to_string(lf.codebooks.size()));
}

}  // namespace

QuantPlan plan_parse(const std::string& json_text, const std::string& source) {
  const json j = text_parse(json_text, source);
  for (const auto& [key, value] : j.items())
    if (key != "version" && key != "comment" && key != "default" && key != "layers")
      fail(ErrorKind::Format, source, "unknown key \"" + key + "\" (allowed: version, comment, default, layers)");
  if (j.contains("version") && !(j.at("version").is_number_integer() && j.at("version").get<int64_t>() == 1))
    fail(ErrorKind::Format, source, "\"version\" is " + j.at("version").dump() + "; this Quantscope reads version 1");
  if (j.contains("comment") && !j.at("comment").is_string())
    fail(ErrorKind::Format, source, "\"comment\" must be a string");
  QuantPlan plan;
  if (j.contains("default")) {
    const PlanRule d = entry_parse(j.at("default"), source, "default", false);
    plan.default_weight = d.weight;
    plan.default_activation = d.activation;
  }
  if (j.contains("layers")) {
    const json& layers = j.at("layers");
    if (!layers.is_object()) fail(ErrorKind::Format, source, "\"layers\" must be an object of glob -> format");
    for (const auto& [match, entry] : layers.items()) {
      const std::string where = "layers['" + match + "']";
      if (match.empty()) fail(ErrorKind::Format, source, where + ": empty glob");
      PlanRule rule = entry_parse(entry, source, where, true);
      if (!rule.codebooks.empty() && is_glob(match))
        fail(ErrorKind::Invalid, source, where + ".codebooks: pinned codebooks belong to one layer; name it exactly "
                                                 "instead of a glob");
      rule.match = match;
      plan.rules.push_back(std::move(rule));
    }
  }
  return plan;
}

QuantPlan plan_load(const std::filesystem::path& path) { return plan_parse(file_read(path), path.string()); }

std::string plan_json(const QuantPlan& plan) {
  json j = {{"version", 1}};
  if (plan.default_activation && !plan.default_weight)
    throw Error(ErrorKind::Invalid, "plan: a default activation format needs a default weight format");
  if (plan.default_weight) j["default"] = entry_json(*plan.default_weight, plan.default_activation, {}, "plan default");
  json layers = json::object();
  for (const PlanRule& rule : plan.rules) {
    if (layers.contains(rule.match)) throw Error(ErrorKind::Invalid, "plan: two rules for '" + rule.match + "'");
    layers[rule.match] = entry_json(rule.weight, rule.activation, rule.codebooks, "plan rule '" + rule.match + "'");
  }
  j["layers"] = std::move(layers);
  return j.dump(2) + "\n";
}

void plan_save(const QuantPlan& plan, const std::filesystem::path& path) { file_write_atomic(path, plan_json(plan)); }

QuantPlan plan_uniform(const FormatSpec& weight, std::optional<FormatSpec> activation) {
  QuantPlan plan;
  plan.default_weight = weight;
  plan.default_activation = std::move(activation);
  return plan;
}

PlanAssignment plan_assign(const QuantPlan& plan, const Model& model) {
  PlanAssignment a;
  if (plan.default_activation && !plan.default_weight)
    a.error = "plan: a default activation format needs a default weight format";
  const bool tied = model.config().tie_word_embeddings;
  a.rule_matches.assign(plan.rules.size(), 0);
  for (const Candidate& c : candidates_list(model)) {
    PlanLayer& layer = a.layers.emplace_back();
    layer.name = c.name;
    layer.out = c.out;
    layer.in = c.in;
    layer.format.name = c.name;
    layer.format.format = FormatSpec{};  // bf16: stays as stored
    const PlanRule* best = nullptr;
    const PlanRule* rival = nullptr;  // as specific as `best`
    std::pair<bool, int64_t> best_rank{false, -1};
    for (size_t i = 0; i < plan.rules.size(); ++i) {
      const PlanRule& rule = plan.rules[i];
      if (!glob_matches(rule.match, c.name)) continue;
      ++a.rule_matches[i];
      const std::pair<bool, int64_t> rank{!is_glob(rule.match), literal_count(rule.match)};
      if (!best || rank > best_rank) {
        best = &rule;
        layer.rule = int(i);
        rival = nullptr;
        best_rank = rank;
      } else if (rank == best_rank) {
        rival = &rule;
      }
    }
    if (rival) {
      layer.error = c.name + ": plan rules '" + best->match + "' and '" + rival->match +
                    "' match it equally specifically; add a rule naming it";
      continue;
    }
    if (best) {
      layer.format.format = best->weight;
      layer.format.activation = best->activation;
      layer.format.codebooks = best->codebooks;
    } else if (plan.default_weight && c.name.rfind(kDecoderPrefix, 0) == 0) {
      layer.rule = PlanLayer::kDefault;
      layer.format.format = *plan.default_weight;
      layer.format.activation = plan.default_activation;
    }
    layer.changed = layer.format.format.quantized() || layer.format.activation.has_value();
    if (!layer.changed) continue;
    try {
      layer_check(layer.format, c);
    } catch (const Error& e) {
      layer.error = e.what();
    }
  }
  a.rule_errors.resize(plan.rules.size());
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    if (a.rule_matches[i] > 0) continue;
    const std::string& match = plan.rules[i].match;
    a.rule_errors[i] = tied && glob_matches(match, "lm_head")
                           ? "lm_head is tied to model.embed_tokens in this model; name model.embed_tokens "
                             "instead (plan rule '" + match + "')"
                           : "plan rule '" + match + "' matches no layer of " + model.source().string() + "; " +
                                 kNameHint;
  }
  return a;
}

std::vector<LayerFormat> plan_resolve(const QuantPlan& plan, const Model& model) {
  const PlanAssignment a = plan_assign(plan, model);
  if (!a.error.empty()) throw Error(ErrorKind::Invalid, a.error);
  std::vector<LayerFormat> result;
  for (const PlanLayer& layer : a.layers) {
    if (!layer.error.empty()) throw Error(ErrorKind::Invalid, layer.error);
    if (layer.changed) result.push_back(layer.format);
  }
  for (const std::string& error : a.rule_errors)
    if (!error.empty()) throw Error(ErrorKind::Invalid, error);
  return result;
}

PlanTotals plan_totals(const PlanAssignment& assignment, const Model& model) {
  PlanTotals t;
  t.model_bytes = model.stored_bytes();
  t.bf16_bytes = uint64_t(model.parameter_count()) * 2;
  uint64_t bits = 0;
  for (const PlanLayer& layer : assignment.layers) {
    if (!layer.error.empty() || !layer.format.format.quantized()) continue;
    const uint64_t layer_bits = format_storage_bits(layer.format.format, layer.out, layer.in);
    bits += layer_bits;
    t.quantized_parameters += uint64_t(layer.out * layer.in);
    t.model_bytes = t.model_bytes - model.tensor_stored_bytes(layer.name + ".weight") + (layer_bits + 7) / 8;
    ++t.quantized_layers;
  }
  if (t.quantized_parameters > 0) t.bits_per_weight = double(bits) / double(t.quantized_parameters);
  return t;
}

}  // namespace qs
