// The training run file: round trips (NaN held-out entries, no steps, no layers, with and without the
// final evaluation), atomic rewrites, appends readable at once and after the writer is killed, and one
// test per way a file can be unreadable, each checking the error kind and that the one-line message
// names the file and, where there is one, the dataset.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/temp_dir.hpp"
#include "quantscope/error.hpp"
#include "quantscope/run_file.hpp"

namespace qs {
namespace {

using test::TempDir;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

RunTelemetry run_example() {
  RunTelemetry run;
  run.status = "finished";
  run.config_json = R"({"steps":30,"lr":0.001,"estimator":"trust"})";
  run.plan_json = R"({"default":{"weight":"kmeans-2"}})";
  run.layers = {"model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj", "lm_head"};
  for (int64_t i = 1; i <= 3; ++i) {
    run.steps.push_back({.step = i * 10,
                         .loss = 3.0 - 0.25 * double(i),
                         .lr = 1e-3 / double(i),
                         .grad_norm = 0.5 + double(i),
                         .tokens_per_second = 1234.5 * double(i),
                         .heldout_loss = i == 2 ? 2.75 : kNaN});
  }
  run.samples.push_back({.step = 10,
                         .weight_masked = {0.01, 0.02, 0.03},
                         .act_masked = {0.1, kNaN, 0.3},
                         .weight_error = {0.2, 0.25, 0.125},
                         .codebook_drift = {kNaN, 1e-4, 2e-4}});
  run.samples.push_back({.step = 30,
                         .weight_masked = {0.0, 1.0, 0.5},
                         .act_masked = {0.4, kNaN, 0.6},
                         .weight_error = {0.1, 0.15, 0.0625},
                         .codebook_drift = {kNaN, 3e-4, 4e-4}});
  run.final = {.done = true,
               .perplexity = 12.5,
               .latent_perplexity = 10.25,
               .kl_mean = 0.0625,
               .top1_agreement = 0.875,
               .reference_perplexity = 9.5,
               .ptq_perplexity = 14.75,
               .ptq_kl_mean = 0.125,
               .tokens = 4096,
               .reference = "demo",
               .heldout_text = "heldout.txt",
               .command = "quantscope-cli eval out/final --plan out/plan.json --text heldout.txt"};
  return run;
}

// NaN equals NaN here: the file must keep "no value" entries as they were.
void expect_same(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) EXPECT_TRUE(std::isnan(b[i])) << "entry " << i;
    else EXPECT_EQ(a[i], b[i]) << "entry " << i;
  }
}

void expect_same(const RunTelemetry& a, const RunTelemetry& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.config_json, b.config_json);
  EXPECT_EQ(a.plan_json, b.plan_json);
  EXPECT_EQ(a.layers, b.layers);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].step, b.steps[i].step);
    expect_same({a.steps[i].loss, a.steps[i].lr, a.steps[i].grad_norm, a.steps[i].tokens_per_second,
                 a.steps[i].heldout_loss},
                {b.steps[i].loss, b.steps[i].lr, b.steps[i].grad_norm, b.steps[i].tokens_per_second,
                 b.steps[i].heldout_loss});
  }
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) {
    EXPECT_EQ(a.samples[i].step, b.samples[i].step);
    expect_same(a.samples[i].weight_masked, b.samples[i].weight_masked);
    expect_same(a.samples[i].act_masked, b.samples[i].act_masked);
    expect_same(a.samples[i].weight_error, b.samples[i].weight_error);
    expect_same(a.samples[i].codebook_drift, b.samples[i].codebook_drift);
  }
  EXPECT_EQ(a.final.done, b.final.done);
  EXPECT_EQ(a.final.perplexity, b.final.perplexity);
  EXPECT_EQ(a.final.latent_perplexity, b.final.latent_perplexity);
  EXPECT_EQ(a.final.kl_mean, b.final.kl_mean);
  EXPECT_EQ(a.final.top1_agreement, b.final.top1_agreement);
  EXPECT_EQ(a.final.reference_perplexity, b.final.reference_perplexity);
  EXPECT_EQ(a.final.ptq_perplexity, b.final.ptq_perplexity);
  EXPECT_EQ(a.final.ptq_kl_mean, b.final.ptq_kl_mean);
  EXPECT_EQ(a.final.tokens, b.final.tokens);
  EXPECT_EQ(a.final.reference, b.final.reference);
  EXPECT_EQ(a.final.heldout_text, b.final.heldout_text);
  EXPECT_EQ(a.final.command, b.final.command);
}

std::vector<std::string> folder_list(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  return names;
}

// Reading `path` throws `kind` with a one-line message naming the file and containing `detail`.
void expect_read_error(const std::filesystem::path& path, ErrorKind kind, const std::string& detail) {
  try {
    run_file_read(path);
    FAIL() << "no error reading " << path;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), kind) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(detail), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

// Replaces the dataset at `where` in a written run file by a float64 one of the given extent.
void dataset_replace(const std::filesystem::path& path, const char* where, std::vector<hsize_t> dims) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Ldelete(file, where, H5P_DEFAULT), 0);
  const hid_t space = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  const hid_t set = H5Dcreate2(file, where, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(set, 0);
  hsize_t count = 1;
  for (const hsize_t d : dims) count *= d;
  const std::vector<double> values(count, 0.5);
  EXPECT_GE(H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), 0);
  H5Dclose(set);
  H5Sclose(space);
  EXPECT_GE(H5Fclose(file), 0);
}

TEST(RunFile, RoundTripKeepsEverythingIncludingNaN) {
  TempDir dir;
  const RunTelemetry run = run_example();
  run_file_write(dir / "run.h5", run);
  expect_same(run, run_file_read(dir / "run.h5"));
}

TEST(RunFile, RoundTripWithoutStepsLayersOrFinal) {
  TempDir dir;
  RunTelemetry run;  // a run that has not logged anything yet
  run_file_write(dir / "run.h5", run);
  const RunTelemetry back = run_file_read(dir / "run.h5");
  expect_same(run, back);
  EXPECT_EQ(back.status, "running");
  EXPECT_FALSE(back.final.done);
}

TEST(RunFile, RoundTripSamplesWithoutQuantizedLayers) {
  TempDir dir;
  RunTelemetry run = run_example();  // full-precision training: steps and samples but no layers
  run.plan_json.clear();
  run.layers.clear();
  for (auto& sample : run.samples) {
    sample.weight_masked.clear();
    sample.act_masked.clear();
    sample.weight_error.clear();
    sample.codebook_drift.clear();
  }
  run.final = RunFinal{};
  run.status = "cancelled";
  run_file_write(dir / "run.h5", run);
  expect_same(run, run_file_read(dir / "run.h5"));
}

// A plan for a large model outgrows the 64 KiB an HDF5 attribute may take in the oldest file format.
TEST(RunFile, RoundTripLongPlan) {
  TempDir dir;
  RunTelemetry run = run_example();
  nlohmann::json plan = nlohmann::json::object();
  for (int i = 0; i < 4000; ++i) plan["model.layers." + std::to_string(i) + ".mlp.down_proj"] = {{"weight", "kmeans-2"}};
  run.plan_json = plan.dump();
  ASSERT_GT(run.plan_json.size(), 100000u);
  run_file_write(dir / "run.h5", run);
  expect_same(run, run_file_read(dir / "run.h5"));
}

TEST(RunFile, RewriteReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  RunTelemetry run = run_example();
  run.status = "running";
  run.final.done = false;
  run_file_write(dir / "run.h5", run);
  EXPECT_FALSE(run_file_read(dir / "run.h5").final.done);

  run.status = "finished";
  run.final = run_example().final;
  run.steps.push_back({.step = 40, .loss = 2.0, .lr = 1e-4, .grad_norm = 0.3, .tokens_per_second = 999,
                       .heldout_loss = 2.5});
  run_file_write(dir / "run.h5", run);
  expect_same(run, run_file_read(dir / "run.h5"));
  EXPECT_EQ(folder_list(dir.path()), std::vector<std::string>{"run.h5"});
}

// The example as a run that has logged one step: what the trainer writes whole before appending.
RunTelemetry run_started(const RunTelemetry& full) {
  RunTelemetry start = full;
  start.status = "running";
  start.final = RunFinal{};
  start.steps.resize(1);
  start.samples.clear();
  return start;
}

// Appending gives the file a whole write of the same telemetry gives, and each append is readable as
// soon as it returns, in place (the file is not replaced).
TEST(RunFile, AppendsAreReadableAtOnceAndMatchAWholeWrite) {
  TempDir dir;
  const RunTelemetry full = run_example();
  const RunTelemetry start = run_started(full);
  const auto inode = [&] { return test::file_inode(dir / "run.h5"); };
  {
    RunFileAppender appender(dir / "run.h5", start);
    const uint64_t first = inode();
    for (size_t i = 1; i < full.steps.size(); ++i) {
      appender.step_append(full.steps[i]);
      EXPECT_EQ(run_file_read(dir / "run.h5").steps.size(), i + 1);
    }
    for (const RunLayerSample& sample : full.samples) appender.sample_append(sample);
    RunLayerSample short_sample = full.samples[0];
    short_sample.weight_error.pop_back();
    EXPECT_THROW(appender.sample_append(short_sample), Error);
    RunTelemetry expected = full;
    expected.status = "running";
    expected.final = RunFinal{};
    expect_same(expected, run_file_read(dir / "run.h5"));
    EXPECT_EQ(inode(), first);
  }
  EXPECT_EQ(folder_list(dir.path()), std::vector<std::string>{"run.h5"});
}

// A trainer killed mid-run (SIGKILL: no destructor, no close) leaves a file that reads as of its last
// append.
TEST(RunFile, AKilledWriterLeavesAReadableFile) {
  TempDir dir;
  const RunTelemetry full = run_example();
  const RunTelemetry start = run_started(full);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RunFileAppender appender(dir / "run.h5", start);
    appender.step_append(full.steps[1]);
    appender.sample_append(full.samples[0]);
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  const RunTelemetry back = run_file_read(dir / "run.h5");
  EXPECT_EQ(back.status, "running");
  ASSERT_EQ(back.steps.size(), 2u);
  EXPECT_EQ(back.steps[1].step, full.steps[1].step);
  ASSERT_EQ(back.samples.size(), 1u);
  expect_same(back.samples[0].weight_error, full.samples[0].weight_error);
}

TEST(RunFile, InconsistentTelemetryIsRefusedBeforeWriting) {
  TempDir dir;
  RunTelemetry run = run_example();
  run.samples[1].act_masked.pop_back();
  try {
    run_file_write(dir / "run.h5", run);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("step 30"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(folder_list(dir.path()).empty());
}

TEST(RunFile, WriteIntoMissingFolderIsIo) {
  TempDir dir;
  try {
    run_file_write(dir / "absent" / "run.h5", run_example());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find((dir / "absent" / "run.h5").string()), std::string::npos) << e.what();
  }
}

TEST(RunFile, MissingFileIsIo) {
  TempDir dir;
  expect_read_error(dir / "run.h5", ErrorKind::Io, "cannot open");
}

TEST(RunFile, TextFileIsFormat) {
  TempDir dir;
  test::bytes_write(dir / "run.h5", "step,loss\n1,3.5\n");
  expect_read_error(dir / "run.h5", ErrorKind::Format, "not a readable HDF5 file");
}

TEST(RunFile, TruncatedFileIsFormat) {
  TempDir dir;
  run_file_write(dir / "full.h5", run_example());
  const std::string bytes = test::bytes_read(dir / "full.h5");
  ASSERT_GT(bytes.size(), 1000u);
  test::bytes_write(dir / "run.h5", bytes.substr(0, bytes.size() / 2));
  expect_read_error(dir / "run.h5", ErrorKind::Format, "");
}

// HDF5 checksums its metadata; wherever a byte is damaged, reading either succeeds (the byte was in
// the data) or throws qs::Error, and never crashes.
TEST(RunFile, DamagedBytesGiveErrorsNotCrashes) {
  TempDir dir;
  run_file_write(dir / "full.h5", run_example());
  const std::string bytes = test::bytes_read(dir / "full.h5");
  int errors = 0;
  for (size_t offset = 0; offset < bytes.size(); offset += 61) {
    std::string damaged = bytes;
    damaged[offset] = char(~damaged[offset]);
    test::bytes_write(dir / "run.h5", damaged);
    try {
      run_file_read(dir / "run.h5");
    } catch (const Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find((dir / "run.h5").string()), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(RunFile, ForeignHdf5FileIsFormat) {
  TempDir dir;
  const hid_t file = H5Fcreate((dir / "run.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Fclose(file), 0);
  expect_read_error(dir / "run.h5", ErrorKind::Format, "not a Quantscope run file");
}

TEST(RunFile, LayerTableOfWrongWidthIsFormat) {
  TempDir dir;
  run_file_write(dir / "run.h5", run_example());
  dataset_replace(dir / "run.h5", "/layers/weight_error", {2, 4});
  expect_read_error(dir / "run.h5", ErrorKind::Format, "/layers/weight_error is 2 x 4, expected 2 x 3");
}

TEST(RunFile, StepSeriesOfDifferentLengthIsFormat) {
  TempDir dir;
  run_file_write(dir / "run.h5", run_example());
  dataset_replace(dir / "run.h5", "/steps/lr", {2});
  expect_read_error(dir / "run.h5", ErrorKind::Format, "/steps/lr has 2 entries but /steps/step has 3");
}

TEST(RunFile, MissingDatasetIsFormat) {
  TempDir dir;
  run_file_write(dir / "run.h5", run_example());
  const hid_t file = H5Fopen((dir / "run.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  ASSERT_GE(H5Ldelete(file, "/layers/codebook_drift", H5P_DEFAULT), 0);
  ASSERT_GE(H5Fclose(file), 0);
  expect_read_error(dir / "run.h5", ErrorKind::Format, "missing dataset /layers/codebook_drift");
}

}  // namespace
}  // namespace qs
