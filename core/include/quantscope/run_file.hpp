// The telemetry of a training run, kept in an HDF5 file (out_dir/run.h5, layout in docs/run-file.md)
// that the GUI plots and any HDF5 reader opens. The trainer writes it whole when the run starts and
// appends each logged step to it in HDF5's single-writer/multiple-reader mode, so the cost of a step
// does not grow with the run and a run that is killed leaves the file readable as of its last logged
// step; at the end (finished or cancelled) it writes the file whole once more with the outcome.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace qs {

// One logged step: means over the steps since the previous entry. heldout_loss is NaN on steps
// without an evaluation.
struct RunStep {
  int64_t step = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_second = 0;
  double heldout_loss = 0;
};

// Per-layer telemetry at one logging interval; each vector has one value per RunTelemetry::layers
// entry. NaN where it does not apply (an unquantized activation, a layer without a codebook).
struct RunLayerSample {
  int64_t step = 0;
  std::vector<double> weight_masked;   // fraction of weight-gradient entries the estimator zeroed
  std::vector<double> act_masked;      // the same for the layer's input gradient
  std::vector<double> weight_error;    // ‖q(w) − w‖² / ‖w‖² of the latent weight
  std::vector<double> codebook_drift;  // RMS change of the codebook since it was first fitted
};

// The final evaluation of the quantized model (the numbers `eval --plan` reproduces).
struct RunFinal {
  bool done = false;
  double perplexity = 0;         // quantized model on the held-out text
  double latent_perplexity = 0;  // the latent (unquantized) weights on the same text
  double kl_mean = 0;            // KL(reference || quantized), nats per token
  double top1_agreement = 0;
  double reference_perplexity = 0;  // the reference model on the same text
  // Fine-tunes: the plan applied to the starting model without training (post-training quantization),
  // against the same reference; NaN for a fresh model.
  double ptq_perplexity = 0, ptq_kl_mean = 0;
  int64_t tokens = 0;
  std::string reference;         // the model the KL is measured against
  std::string heldout_text;      // the text file evaluated
  std::string command;           // the eval command that reproduces these numbers
};

struct RunTelemetry {
  std::string status = "running";  // "running", "finished", "cancelled"
  std::string config_json;         // the run's settings as JSON
  std::string plan_json;           // the quantization plan, empty for full-precision training
  std::vector<std::string> layers; // quantized layers, in forward order
  std::vector<RunStep> steps;
  std::vector<RunLayerSample> samples;
  RunFinal final;
};

// Writes the whole file atomically (temporary file beside it, then rename). Throws Io on failure.
void run_file_write(const std::filesystem::path& path, const RunTelemetry& run);
// Throws Io when unreadable and Format, naming the file and the dataset, when not a Quantscope run
// file or inconsistent (a layer table whose width is not the number of layers, say). Reads a file
// that is being appended to, or whose writer was killed, as of its last append.
RunTelemetry run_file_read(const std::filesystem::path& path);

// A run file kept open for appending while a run goes on. Each append costs the same however long the
// run is, and is on disk (readable by run_file_read, h5py with swmr=True, a reader in another
// process) when it returns. The status stays as written until run_file_write replaces the file.
class RunFileAppender {
 public:
  // Writes `run` as it is (the steps of a resumed run, say) with run_file_write, then opens it.
  RunFileAppender(const std::filesystem::path& path, const RunTelemetry& run);
  ~RunFileAppender();
  RunFileAppender(const RunFileAppender&) = delete;
  RunFileAppender& operator=(const RunFileAppender&) = delete;

  void step_append(const RunStep& step);
  // One value per layer of the run in each table; Invalid otherwise.
  void sample_append(const RunLayerSample& sample);

 private:
  struct Files;  // HDF5 handles, kept out of this header
  std::filesystem::path path_;
  size_t layer_count_;
  std::unique_ptr<Files> files_;
};

}  // namespace qs
