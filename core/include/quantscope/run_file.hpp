// The telemetry of a training run, kept in an HDF5 file (out_dir/run.h5, layout in docs/run-file.md)
// that the GUI plots and any HDF5 reader opens. The trainer rewrites it whole, atomically, at every
// logged step, so a run that is cancelled or killed leaves the file as of its last logged step.
#pragma once
#include <cstdint>
#include <filesystem>
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
// file or inconsistent (a layer table whose width is not the number of layers, say).
RunTelemetry run_file_read(const std::filesystem::path& path);

}  // namespace qs
