// `quantscope-cli plan MODEL --plan FILE`: what a plan does to a model before anything is quantized:
// each layer's weight and activation format, its exact storage, and the model's size before and after
// (tensors the plan leaves alone counted as stored), with every validation error plan_resolve finds.
#include <iostream>
#include <map>
#include <tuple>
#include <utility>

#include "command.hpp"
#include "job_run.hpp"
#include "json_print.hpp"
#include "model_open.hpp"
#include "quantize_options.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

struct PlanRow {
  const LayerFormat* layer = nullptr;
  int64_t out = 0, in = 0;
  uint64_t bytes = 0;  // quantized size, or as stored when the weight keeps its float format
  double bits_per_weight = 0;
};

struct PlanSummary {
  std::vector<PlanRow> rows;
  uint64_t bytes_before = 0, bytes_after = 0;
  int64_t quantized_parameters = 0;
  double bits_per_weight = 0;  // over the layers whose weight is quantized; 0 when none is
};

PlanSummary plan_summarize(const Model& model, const std::vector<LayerFormat>& formats) {
  std::map<std::string, std::pair<int64_t, int64_t>> shapes;
  for (const LinearLayer& l : model.linear_layers()) shapes[l.name] = {l.out_features, l.in_features};
  const std::vector<int64_t> embedding = model.tensor_shape("model.embed_tokens.weight");
  shapes["model.embed_tokens"] = {embedding.at(0), embedding.at(1)};

  PlanSummary s;
  s.bytes_before = s.bytes_after = model.stored_bytes();
  double bits = 0;
  for (const LayerFormat& lf : formats) {
    PlanRow row;
    row.layer = &lf;
    std::tie(row.out, row.in) = shapes.at(lf.name);
    const int64_t weights = row.out * row.in;
    const std::string tensor = lf.name + ".weight";
    const uint64_t stored = model.tensor_stored_bytes(tensor);
    if (lf.format.quantized()) {
      const uint64_t storage_bits = format_storage_bits(lf.format, row.out, row.in);
      row.bytes = (storage_bits + 7) / 8;
      row.bits_per_weight = format_bits_per_weight(lf.format, row.out, row.in);
      s.bytes_after = s.bytes_after - stored + row.bytes;
      s.quantized_parameters += weights;
      bits += double(storage_bits);
    } else {
      row.bytes = stored;
      row.bits_per_weight = dtype_bits(model.tensor_stored_dtype(tensor));
    }
    s.rows.push_back(row);
  }
  s.bits_per_weight = s.quantized_parameters > 0 ? bits / double(s.quantized_parameters) : 0;
  return s;
}

void plan_json_print(const Model& model, const Args& args, const PlanSummary& s) {
  nlohmann::ordered_json out;
  out["model"] = model.source().string();
  if (args.has("plan")) out["plan"] = args.text("plan");
  else out["format"] = args.text("format");
  auto& layers = out["layers"] = nlohmann::ordered_json::array();
  for (const PlanRow& r : s.rows) {
    const LayerFormat& lf = *r.layer;
    layers.push_back({{"name", lf.name},
                      {"shape", {r.out, r.in}},
                      {"weight", lf.format.quantized() ? nlohmann::ordered_json(format_print(lf.format))
                                                       : nlohmann::ordered_json(nullptr)},
                      {"act", lf.activation ? nlohmann::ordered_json(format_print(*lf.activation))
                                            : nlohmann::ordered_json(nullptr)},
                      {"pinned_codebooks", !lf.codebooks.empty()},
                      {"bits_per_weight", r.bits_per_weight},
                      {"bytes", r.bytes}});
  }
  out["quantized_parameters"] = s.quantized_parameters;
  out["bits_per_weight"] = s.quantized_parameters > 0 ? nlohmann::ordered_json(s.bits_per_weight)
                                                      : nlohmann::ordered_json(nullptr);
  out["bytes_before"] = s.bytes_before;
  out["bytes_after"] = s.bytes_after;
  json_print(out);
}

void plan_table_print(const Model& model, const PlanSummary& s) {
  TextTable table({{"layer"},
                   {"shape", TextTable::Align::Right},
                   {"weight"},
                   {"act"},
                   {"bits/w", TextTable::Align::Right},
                   {"bytes", TextTable::Align::Right}});
  for (const PlanRow& r : s.rows) {
    const LayerFormat& lf = *r.layer;
    std::string weight = lf.format.quantized() ? format_print(lf.format) : "as stored";
    if (!lf.codebooks.empty()) weight += " (pinned codebooks)";
    table.row({lf.name, std::to_string(r.out) + " x " + std::to_string(r.in), weight,
               lf.activation ? format_print(*lf.activation) : "-", number_format(r.bits_per_weight, 3),
               count_format(int64_t(r.bytes))});
  }
  std::cout << table.render() << '\n';
  TextTable totals({{"", TextTable::Align::Left, 22}, {}});
  totals.row({"model", model_describe(model)});
  totals.row({"quantized", s.quantized_parameters == 0
                               ? std::string("no weights")
                               : count_format(s.quantized_parameters) + " weights, " +
                                     number_format(s.bits_per_weight, 3) + " bits/weight on average"});
  totals.row({"model bytes before", bytes_format(s.bytes_before) + " (as stored)"});
  totals.row({"model bytes after", bytes_format(s.bytes_after) + " (" +
                                       number_format(100.0 * double(s.bytes_after) / double(s.bytes_before), 1) +
                                       " %; layers the plan leaves alone as stored)"});
  std::cout << totals.render();
}

class PlanCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("plan",
                 "Resolve a quantization plan (docs/plans.md) against a model without quantizing anything: "
                 "each layer's weight and activation format, its exact storage, and the model's size before "
                 "and after. Layers the plan does not change are left out of the table and counted as stored.");
    spec.positional({"MODEL", kModelHelp});
    spec.option({.name = "plan", .type = ArgType::Text, .value_name = "FILE", .help = "the plan (JSON)"});
    spec.option({.name = "format", .type = ArgType::Text, .value_name = "SPEC",
                 .help = "instead of --plan: one format for every linear layer of the decoder blocks"});
    model_options_declare(spec);
    spec.option(json_option());
    spec.example("plan demo --plan mixed.json");
    spec.example("plan stories260K.bin --tokenizer tok512.model --format quest4:h64 --json");
    return spec;
  }

  int run(const Args& args) const override {
    if (args.has("plan") && args.has("format")) throw UsageError("give --format or --plan, not both");
    if (!args.has("plan") && !args.has("format")) throw UsageError("give --format SPEC or --plan FILE");
    const QuantPlan plan = args.has("plan") ? plan_load(args.text("plan")) : plan_uniform(format_get(args));
    JobRunner jobs;
    const auto model = model_open(jobs, args.positional(0), model_options_get(args));
    const std::vector<LayerFormat> formats = plan_resolve(plan, *model);
    const PlanSummary summary = plan_summarize(*model, formats);
    if (args.flag("json")) plan_json_print(*model, args, summary);
    else plan_table_print(*model, summary);
    return 0;
  }
};

const CommandRegistration<PlanCommand> registration;

}  // namespace
}  // namespace qs::cli
