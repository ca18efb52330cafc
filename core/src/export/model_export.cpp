// model_export: the checks every target shares (which layers it can hold, the fallback, the output
// path), then the target's writer, then the report.
#include <algorithm>
#include <chrono>
#include <system_error>

#include "export/export_folder.hpp"
#include "export/export_targets.hpp"
#include "io/mapped_file.hpp"
#include "model/model_state.hpp"
#include "quantscope/error.hpp"
#include "quantscope/output_dir.hpp"

namespace qs {
namespace fs = std::filesystem;
namespace {

struct TargetEntry {
  ExportTarget target;
  std::string_view name;
};
constexpr TargetEntry kTargets[] = {
    {ExportTarget::Gguf, "gguf"},
    {ExportTarget::Hf, "hf"},
    {ExportTarget::Quantscope, "quantscope"},
    {ExportTarget::CompressedTensors, "compressed-tensors"}};

// Grouped by format and reason, each group's layers listed (the first ten, then how many more).
std::string problems_text(const std::vector<ExportProblem>& problems) {
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  for (const ExportProblem& p : problems) {
    const std::string key = format_print(p.format) + ": " + p.why;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) it = groups.insert(groups.end(), {key, {}});
    it->second.push_back(p.layer);
  }
  std::string text;
  for (const auto& [key, layers] : groups) {
    text += (text.empty() ? "" : "; ") + key + " (";
    for (size_t i = 0; i < layers.size() && i < 10; ++i) text += (i ? ", " : "") + layers[i];
    if (layers.size() > 10) text += " and " + std::to_string(layers.size() - 10) + " more";
    text += ")";
  }
  return text;
}

std::string format_problem(ExportTarget target, const FormatSpec& format, int64_t out, int64_t in) {
  switch (target) {
    case ExportTarget::Gguf: return gguf_format_problem(format, out, in);
    case ExportTarget::CompressedTensors: return compressed_tensors_format_problem(format, out, in);
    case ExportTarget::Hf:
    case ExportTarget::Quantscope: return {};
  }
  return {};
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

// A single-file output: never a file the model was read from, an existing one only with force, its
// folder made.
void file_output_check(const Model& model, const fs::path& out, bool force) {
  std::error_code ec;
  const ModelState& state = model.state();
  std::vector<fs::path> inputs = {state.source};
  for (const auto& [name, stored] : state.stored) inputs.push_back(stored.file->path());
  if (state.tokenizer) inputs.push_back(state.tokenizer->path());
  for (const fs::path& input : inputs)
    if (same_file(out, input))
      throw Error(ErrorKind::Invalid, out.string() + ": refusing to write over a file of the model being exported");
  if (fs::is_directory(out, ec)) throw Error(ErrorKind::Invalid, out.string() + ": is a folder; name a file");
  if (fs::exists(out, ec) && !force)
    throw Error(ErrorKind::Invalid, out.string() + ": exists; --force replaces it (atomically)");
  if (!out.parent_path().empty()) {
    fs::create_directories(out.parent_path(), ec);
    if (ec) throw Error(ErrorKind::Io, out.parent_path().string() + ": cannot create the folder: " + ec.message());
  }
}

}  // namespace

std::optional<ExportTarget> export_target_parse(std::string_view name) {
  for (const TargetEntry& t : kTargets)
    if (t.name == name) return t.target;
  return std::nullopt;
}

std::string_view export_target_name(ExportTarget target) {
  for (const TargetEntry& t : kTargets)
    if (t.target == target) return t.name;
  return "?";
}

const std::vector<std::string>& export_target_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const TargetEntry& t : kTargets) v.emplace_back(t.name);
    return v;
  }();
  return names;
}

std::vector<ExportProblem> export_problems(const Model& model, const std::vector<LayerFormat>& plan,
                                           ExportTarget target) {
  std::vector<ExportProblem> problems;
  for (const LayerFormat& lf : plan) {
    const std::vector<int64_t> shape = model.tensor_shape(lf.name + ".weight");
    std::string why = format_problem(target, lf.format, shape.at(0), shape.at(1));
    if (why.empty() && lf.activation && target != ExportTarget::Hf)
      why = "its input is quantized too (" + format_print(*lf.activation) + "), which " +
            std::string(export_target_name(target)) + " cannot express";
    if (!why.empty()) problems.push_back({lf.name, lf.format, why});
  }
  return problems;
}

namespace {

// The plan with the fallback in place of what the target cannot hold; those layers into `fallen`.
std::vector<LayerFormat> final_plan_make(const Model& model, const std::vector<LayerFormat>& given,
                                         const ExportOptions& options, std::vector<std::string>* fallen) {
  const std::vector<LayerFormat> plan = plan_with_stored_formats(model, given, options.target);
  const std::vector<ExportProblem> problems = export_problems(model, plan, options.target);
  if (problems.empty()) return plan;
  const std::string target = std::string(export_target_name(options.target));
  if (!options.fallback)
    throw Error(ErrorKind::Invalid, target + " cannot hold " + std::to_string(problems.size()) + " layer" +
                                        (problems.size() == 1 ? "" : "s") + " of the plan: " + problems_text(problems) +
                                        "; --fallback TYPE stores them as TYPE");
  std::vector<LayerFormat> result = plan;
  for (LayerFormat& lf : result)
    for (const ExportProblem& p : problems)
      if (p.layer == lf.name) {
        const std::vector<int64_t> shape = model.tensor_shape(lf.name + ".weight");
        const std::string why = format_problem(options.target, *options.fallback, shape.at(0), shape.at(1));
        if (!why.empty())
          throw Error(ErrorKind::Invalid, "the fallback " + format_print(*options.fallback) + " cannot hold " +
                                              lf.name + " either: " + why);
        lf = LayerFormat{lf.name, *options.fallback, std::nullopt, {}};
        if (fallen) fallen->push_back(p.layer);
      }
  return result;
}

}  // namespace

uint64_t export_size(const Model& model, const std::vector<LayerFormat>& plan, const ExportOptions& options) {
  const std::vector<LayerFormat> final_plan = final_plan_make(model, plan, options, nullptr);
  switch (options.target) {
    case ExportTarget::Gguf: return gguf_export_size(model, final_plan, options);
    case ExportTarget::Quantscope: return packed_export_size(model, final_plan, options);
    case ExportTarget::CompressedTensors: return compressed_tensors_export_size(model, final_plan, options);
    case ExportTarget::Hf: {
      const uint64_t element = dtype_bits(options.float_dtype.value_or(DType::F32)) / 8;
      const ModelState& state = model.state();
      const uint64_t tokenizer = state.tokenizer ? state.tokenizer->model_proto().size() : 0;
      return uint64_t(model.parameter_count()) * element + tokenizer;
    }
  }
  return 0;
}

ExportReport model_export(const Model& model, const std::vector<LayerFormat>& plan, const fs::path& out,
                          const ExportOptions& options) {
  if (!model.state().packed.empty())
    throw Error(ErrorKind::Invalid, out.string() + ": the model holds packed layers (" +
                                        model.state().packed.begin()->first +
                                        ", …), which compute but are not exported; export the base model with the plan");
  const auto start = std::chrono::steady_clock::now();
  ExportReport report;
  const std::vector<LayerFormat> final_plan = final_plan_make(model, plan, options, &report.fallback_layers);
  switch (options.target) {
    case ExportTarget::Gguf:
      file_output_check(model, out, options.force);
      gguf_export(model, final_plan, out, options);
      break;
    case ExportTarget::Quantscope:
      packed_export(model, final_plan, out, options);
      break;
    case ExportTarget::CompressedTensors:
      compressed_tensors_export(model, final_plan, out, options);
      break;
    case ExportTarget::Hf: {
      ModelQuantizeOptions quantize = options.quantize;
      quantize.keep = ModelQuantizeOptions::Keep::Write;
      folder_publish(model.state(), out, options.force, [&](const fs::path& staging) {
        const std::shared_ptr<Model> quantized = model_quantize(model, final_plan, quantize, nullptr, options.job);
        model_save(quantized ? *quantized : model, staging, options.float_dtype.value_or(DType::F32), options.job);
      });
      break;
    }
  }
  report.path = out;
  std::error_code ec;
  if (fs::is_directory(out, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(out, ec))
      if (entry.is_regular_file(ec)) report.bytes += entry.file_size(ec);
  } else {
    report.bytes = fs::file_size(out, ec);
  }
  report.bf16_bytes = uint64_t(model.parameter_count()) * 2;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace qs
