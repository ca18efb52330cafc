// The run file (run_file.hpp) in HDF5, with the layout of docs/run-file.md, through hdf5_io.hpp: plain
// native types and fixed-length C strings, so that h5py, h5dump and the GUI all read it. Every HDF5
// failure becomes a one-line qs::Error naming the file and, where there is one, the dataset.
#include "quantscope/run_file.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/atomic_file.hpp"
#include "io/hdf5_io.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

constexpr const char* kFormatName = "quantscope-run";
constexpr int kVersion = 1;
constexpr const char* kStepSeries[] = {"loss", "lr", "grad_norm", "tokens_per_second", "heldout_loss"};
constexpr const char* kLayerTables[] = {"weight_masked", "act_masked", "weight_error", "codebook_drift"};

using hdf5::Handle;

bool json_or_empty(const std::string& text) { return text.empty() || nlohmann::json::accept(text); }

// ---- writing ------------------------------------------------------------------------------------

// The trainer's own data: an inconsistency here is a bug in the caller, reported before anything is
// written.
void run_check(const std::filesystem::path& path, const RunTelemetry& run) {
  auto invalid = [&](const std::string& problem) { throw Error(ErrorKind::Invalid, path.string() + ": " + problem); };
  if (run.status != "running" && run.status != "finished" && run.status != "cancelled")
    invalid("unknown run status '" + run.status + "'");
  if (!json_or_empty(run.config_json)) invalid("the run's config is not JSON");
  if (!json_or_empty(run.plan_json)) invalid("the run's plan is not JSON");
  for (const auto& sample : run.samples) {
    for (const auto* values : {&sample.weight_masked, &sample.act_masked, &sample.weight_error, &sample.codebook_drift}) {
      if (values->size() != run.layers.size())
        invalid("the layer sample of step " + std::to_string(sample.step) + " has " + std::to_string(values->size()) +
                " values for " + std::to_string(run.layers.size()) + " layers");
    }
  }
}

void run_hdf5_write(const std::filesystem::path& path, const std::filesystem::path& temp, const RunTelemetry& run) {
  Handle file = hdf5::file_create(path, temp, hdf5::Layout::Appendable);
  {
    hdf5::Writer w(path, file);
    w.format_write(kFormatName, kVersion);
    w.string_attribute(file, "status", run.status);
    w.string_attribute(file, "config", run.config_json);
    w.string_attribute(file, "plan", run.plan_json);

    const Handle steps = w.group_create("/steps");
    const hsize_t n_steps = run.steps.size();
    std::vector<int64_t> step(n_steps);
    for (size_t i = 0; i < n_steps; ++i) step[i] = run.steps[i].step;
    w.dataset(steps, "/steps/step", H5T_NATIVE_INT64, {n_steps}, step.data(), true);
    const double RunStep::*fields[] = {&RunStep::loss, &RunStep::lr, &RunStep::grad_norm, &RunStep::tokens_per_second,
                                       &RunStep::heldout_loss};
    for (size_t f = 0; f < std::size(kStepSeries); ++f) {
      std::vector<double> values(n_steps);
      for (size_t i = 0; i < n_steps; ++i) values[i] = run.steps[i].*fields[f];
      w.dataset(steps, std::string("/steps/") + kStepSeries[f], H5T_NATIVE_DOUBLE, {n_steps}, values.data(), true);
    }

    const Handle layers = w.group_create("/layers");
    w.strings_dataset(layers, "/layers/names", run.layers);
    const hsize_t n_samples = run.samples.size(), n_layers = run.layers.size();
    std::vector<int64_t> sample_step(n_samples);
    for (size_t i = 0; i < n_samples; ++i) sample_step[i] = run.samples[i].step;
    w.dataset(layers, "/layers/step", H5T_NATIVE_INT64, {n_samples}, sample_step.data(), true);
    const std::vector<double> RunLayerSample::*tables[] = {&RunLayerSample::weight_masked, &RunLayerSample::act_masked,
                                                           &RunLayerSample::weight_error, &RunLayerSample::codebook_drift};
    for (size_t t = 0; t < std::size(kLayerTables); ++t) {
      std::vector<double> values;
      values.reserve(n_samples * n_layers);
      for (const auto& sample : run.samples) values.insert(values.end(), (sample.*tables[t]).begin(), (sample.*tables[t]).end());
      w.dataset(layers, std::string("/layers/") + kLayerTables[t], H5T_NATIVE_DOUBLE, {n_samples, n_layers},
                values.data(), true);
    }

    if (run.final.done) {
      const Handle final = w.group_create("/final");
      const RunFinal& f = run.final;
      w.number_attribute(final, "perplexity", H5T_NATIVE_DOUBLE, &f.perplexity);
      w.number_attribute(final, "latent_perplexity", H5T_NATIVE_DOUBLE, &f.latent_perplexity);
      w.number_attribute(final, "kl_mean", H5T_NATIVE_DOUBLE, &f.kl_mean);
      w.number_attribute(final, "top1_agreement", H5T_NATIVE_DOUBLE, &f.top1_agreement);
      w.number_attribute(final, "reference_perplexity", H5T_NATIVE_DOUBLE, &f.reference_perplexity);
      w.number_attribute(final, "ptq_perplexity", H5T_NATIVE_DOUBLE, &f.ptq_perplexity);
      w.number_attribute(final, "ptq_kl_mean", H5T_NATIVE_DOUBLE, &f.ptq_kl_mean);
      w.number_attribute(final, "tokens", H5T_NATIVE_INT64, &f.tokens);
      w.string_attribute(final, "reference", f.reference);
      w.string_attribute(final, "heldout_text", f.heldout_text);
      w.string_attribute(final, "command", f.command);
    }
  }
  if (file.close() < 0)
    hdf5::fail(ErrorKind::Io, path, "cannot close the temporary file " + temp.filename().string());
}

// ---- reading ------------------------------------------------------------------------------------

std::string extent_text(const std::vector<hsize_t>& dims) {
  std::string text;
  for (const hsize_t d : dims) text += (text.empty() ? "" : " x ") + std::to_string(d);
  return text;
}

RunTelemetry run_hdf5_read(const std::filesystem::path& path) {
  uintmax_t file_size = 0;
  const Handle file = hdf5::file_open(path, "run file", file_size, /*swmr=*/true);
  const hdf5::Reader r(path, file_size);
  r.format_check(file, kFormatName, kVersion, "run file");
  RunTelemetry run;
  run.status = r.string_attribute(file, "/", "status");
  if (run.status != "running" && run.status != "finished" && run.status != "cancelled")
    r.corrupt("unknown run status '" + run.status + "'");
  run.config_json = r.string_attribute(file, "/", "config");
  if (!json_or_empty(run.config_json)) r.corrupt("attribute /config is not JSON");
  run.plan_json = r.string_attribute(file, "/", "plan");
  if (!json_or_empty(run.plan_json)) r.corrupt("attribute /plan is not JSON");

  {
    const Handle steps = r.group_open(file, "/steps");
    std::vector<hsize_t> dims(1);
    const auto step = r.dataset<int64_t>(steps, "/steps/step", H5T_NATIVE_INT64, dims);
    run.steps.resize(step.size());
    for (size_t i = 0; i < step.size(); ++i) run.steps[i].step = step[i];
    double RunStep::*fields[] = {&RunStep::loss, &RunStep::lr, &RunStep::grad_norm, &RunStep::tokens_per_second,
                                 &RunStep::heldout_loss};
    for (size_t f = 0; f < std::size(kStepSeries); ++f) {
      const std::string where = std::string("/steps/") + kStepSeries[f];
      const auto values = r.dataset<double>(steps, where, H5T_NATIVE_DOUBLE, dims);
      if (values.size() != step.size())
        r.corrupt(where + " has " + std::to_string(values.size()) + " entries but /steps/step has " +
                  std::to_string(step.size()));
      for (size_t i = 0; i < values.size(); ++i) run.steps[i].*fields[f] = values[i];
    }
  }
  {
    const Handle layers = r.group_open(file, "/layers");
    run.layers = r.strings_dataset(layers, "/layers/names");
    std::vector<hsize_t> dims(1);
    const auto step = r.dataset<int64_t>(layers, "/layers/step", H5T_NATIVE_INT64, dims);
    run.samples.resize(step.size());
    for (size_t i = 0; i < step.size(); ++i) run.samples[i].step = step[i];
    std::vector<double> RunLayerSample::*tables[] = {&RunLayerSample::weight_masked, &RunLayerSample::act_masked,
                                                     &RunLayerSample::weight_error, &RunLayerSample::codebook_drift};
    const size_t n_layers = run.layers.size();
    for (size_t t = 0; t < std::size(kLayerTables); ++t) {
      const std::string where = std::string("/layers/") + kLayerTables[t];
      std::vector<hsize_t> extent(2);
      const auto values = r.dataset<double>(layers, where, H5T_NATIVE_DOUBLE, extent);
      if (extent[0] != step.size() || extent[1] != n_layers)
        r.corrupt(where + " is " + extent_text(extent) + ", expected " + extent_text({step.size(), n_layers}) +
                  " (samples x layers)");
      for (size_t i = 0; i < step.size(); ++i)
        (run.samples[i].*tables[t]).assign(values.begin() + i * n_layers, values.begin() + (i + 1) * n_layers);
    }
  }
  const htri_t has_final = H5Lexists(file, "final", H5P_DEFAULT);
  if (has_final < 0) r.corrupt("cannot read the root group");
  if (has_final > 0) {
    const Handle final = r.group_open(file, "/final");
    RunFinal& f = run.final;
    f.done = true;
    f.perplexity = r.number_attribute<double>(final, "/final/", "perplexity", H5T_NATIVE_DOUBLE);
    f.latent_perplexity = r.number_attribute<double>(final, "/final/", "latent_perplexity", H5T_NATIVE_DOUBLE);
    f.kl_mean = r.number_attribute<double>(final, "/final/", "kl_mean", H5T_NATIVE_DOUBLE);
    f.top1_agreement = r.number_attribute<double>(final, "/final/", "top1_agreement", H5T_NATIVE_DOUBLE);
    // Files written before these were kept lack them.
    const auto optional = [&](const char* name) {
      return H5Aexists(final, name) > 0 ? r.number_attribute<double>(final, "/final/", name, H5T_NATIVE_DOUBLE)
                                        : std::numeric_limits<double>::quiet_NaN();
    };
    f.reference_perplexity = optional("reference_perplexity");
    f.ptq_perplexity = optional("ptq_perplexity");
    f.ptq_kl_mean = optional("ptq_kl_mean");
    f.tokens = r.number_attribute<int64_t>(final, "/final/", "tokens", H5T_NATIVE_INT64);
    f.reference = r.string_attribute(final, "/final/", "reference");
    f.heldout_text = r.string_attribute(final, "/final/", "heldout_text");
    f.command = r.string_attribute(final, "/final/", "command");
  }
  return run;
}

}  // namespace

void run_file_write(const std::filesystem::path& path, const RunTelemetry& run) {
  run_check(path, run);
  path_write_atomic(path, [&](const std::filesystem::path& temp) {
    const hdf5::Session session;
    run_hdf5_write(path, temp, run);
  });
}

RunTelemetry run_file_read(const std::filesystem::path& path) {
  const hdf5::Session session;
  return run_hdf5_read(path);
}

struct RunFileAppender::Files {
  Handle file;
  std::vector<Handle> steps;   // /steps/step, then kStepSeries
  std::vector<Handle> layers;  // /layers/step, then kLayerTables
};

RunFileAppender::RunFileAppender(const std::filesystem::path& path, const RunTelemetry& run)
    : path_(path), layer_count_(run.layers.size()) {
  run_file_write(path, run);
  const hdf5::Session session;
  auto files = std::make_unique<Files>(Files{hdf5::file_append_open(path), {}, {}});
  const auto open = [&](const std::string& where, std::vector<Handle>& into) {
    into.emplace_back(H5Dopen2(files->file, where.c_str(), H5P_DEFAULT), H5Dclose);
    if (!into.back().valid()) hdf5::fail(ErrorKind::Io, path, "cannot open " + where + " for appending");
  };
  open("/steps/step", files->steps);
  for (const char* series : kStepSeries) open(std::string("/steps/") + series, files->steps);
  open("/layers/step", files->layers);
  for (const char* table : kLayerTables) open(std::string("/layers/") + table, files->layers);
  files_ = std::move(files);
}

RunFileAppender::~RunFileAppender() {
  const hdf5::Session session;
  files_.reset();
}

void RunFileAppender::step_append(const RunStep& s) {
  const hdf5::Session session;
  hdf5::rows_append(path_, files_->steps[0], "/steps/step", H5T_NATIVE_INT64, 1, 0, &s.step);
  const double values[] = {s.loss, s.lr, s.grad_norm, s.tokens_per_second, s.heldout_loss};
  for (size_t f = 0; f < std::size(kStepSeries); ++f)
    hdf5::rows_append(path_, files_->steps[f + 1], std::string("/steps/") + kStepSeries[f], H5T_NATIVE_DOUBLE, 1, 0,
                      &values[f]);
  hdf5::file_flush(path_, files_->file);
}

void RunFileAppender::sample_append(const RunLayerSample& sample) {
  const std::vector<double>* tables[] = {&sample.weight_masked, &sample.act_masked, &sample.weight_error,
                                         &sample.codebook_drift};
  for (const auto* values : tables)
    if (values->size() != layer_count_)
      throw Error(ErrorKind::Invalid, path_.string() + ": the layer sample of step " + std::to_string(sample.step) +
                                          " has " + std::to_string(values->size()) + " values for " +
                                          std::to_string(layer_count_) + " layers");
  const hdf5::Session session;
  hdf5::rows_append(path_, files_->layers[0], "/layers/step", H5T_NATIVE_INT64, 1, 0, &sample.step);
  for (size_t t = 0; t < std::size(kLayerTables); ++t)
    hdf5::rows_append(path_, files_->layers[t + 1], std::string("/layers/") + kLayerTables[t], H5T_NATIVE_DOUBLE, 1,
                      layer_count_, tables[t]->data());
  hdf5::file_flush(path_, files_->file);
}

}  // namespace qs
