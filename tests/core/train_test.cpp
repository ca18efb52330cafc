// The trainer: a tiny model learns a synthetic language (held-out loss falls far below its start), a
// run interrupted by cancellation and resumed repeats an uninterrupted run's losses exactly, and bad
// configurations are rejected naming the file and the setting. The text is generated here and the
// tokenizer is the demo model's, so nothing outside the repository is needed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "quantscope/error.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/run_file.hpp"
#include "quantscope/tokenizer.hpp"
#include "quantscope/train.hpp"
#include "temp_dir.hpp"
#include "train_fixture.hpp"
#include "qat/train_data.hpp"

namespace fs = std::filesystem;

using qs::test::file_write;
using qs::test::train_config_tiny;

TEST(Train, LowersHeldoutLossAndSavesTheTrainedModel) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = train_config_tiny(dir);
  c.steps = 80;
  c.eval_every = 40;
  c.final_dtype = qs::DType::BF16;
  std::vector<qs::TrainLog> logs;
  const qs::TrainResult r = qs::train_run(c, nullptr, [&](const qs::TrainLog& log) { logs.push_back(log); });

  EXPECT_EQ(r.steps, 80);
  // A fresh model predicts about uniformly over 4096 pieces: ln 4096 = 8.3 nats.
  EXPECT_GT(r.initial_heldout_loss, 7.5);
  EXPECT_LT(r.final_heldout_loss, r.initial_heldout_loss - 4.0);
  ASSERT_EQ(logs.size(), 81u);
  EXPECT_TRUE(logs[40].heldout_loss.has_value());
  EXPECT_FALSE(logs[39].heldout_loss.has_value());
  EXPECT_LT(logs[80].loss, logs[1].loss - 4.0);
  EXPECT_GT(logs[5].lr, 0.0);
  EXPECT_LT(logs[5].lr, c.lr);                   // warming up
  EXPECT_NEAR(logs[80].lr, c.lr * c.min_lr_ratio, 1e-12);  // cosine floor at the last step

  // out_dir/final is the trained model in BF16: our evaluator agrees that it learned the language.
  EXPECT_EQ(r.final_checkpoint, c.out_dir / "final");
  const auto model = qs::model_load(r.final_checkpoint);
  EXPECT_EQ(model->stored_dtypes(), std::vector<qs::DType>{qs::DType::BF16});
  ASSERT_TRUE(model->tokenizer());
  std::ifstream in(c.heldout_file);
  const std::string heldout((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  qs::EvalOptions options;
  options.ctx = 48;
  const qs::PerplexityResult ppl = qs::perplexity_eval(*model, heldout, options);
  EXPECT_LT(ppl.nll, r.initial_heldout_loss - 4.0);
  EXPECT_TRUE(fs::is_regular_file(c.out_dir / "last" / "optimizer.pt"));
  EXPECT_TRUE(fs::is_regular_file(c.out_dir / "log.jsonl"));
}

TEST(Train, ResumeAfterCancelRepeatsTheUninterruptedRun) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = train_config_tiny(dir);
  c.steps = 24;
  c.eval_every = 0;
  c.checkpoint_every = 10;

  std::map<int64_t, double> straight;
  c.out_dir = dir.path() / "straight";
  const qs::TrainResult full = qs::train_run(c, nullptr, [&](const qs::TrainLog& l) { straight[l.step] = l.loss; });
  EXPECT_TRUE(fs::is_directory(c.out_dir / "step-10"));
  EXPECT_TRUE(fs::is_directory(c.out_dir / "step-20"));

  // Cancelled after step 13: not a checkpoint step, so `last` is written by the cancellation.
  c.out_dir = dir.path() / "interrupted";
  std::map<int64_t, double> resumed;
  std::shared_ptr<qs::Job> job;
  job = std::make_shared<qs::Job>("train", "train", [&](qs::JobContext& ctx) {
    qs::train_run(c, &ctx, [&](const qs::TrainLog& l) {
      resumed[l.step] = l.loss;
      if (l.step == 13) job->cancel();
    });
  }, nullptr);
  job->execute();
  EXPECT_EQ(job->state(), qs::JobState::Cancelled) << job->error();
  EXPECT_EQ(resumed.rbegin()->first, 13);
  EXPECT_FALSE(fs::exists(c.out_dir / "final"));

  // Without "resume" the earlier run is not overwritten.
  EXPECT_THROW(qs::train_run(c), qs::Error);
  c.resume = true;
  const qs::TrainResult rest = qs::train_run(c, nullptr, [&](const qs::TrainLog& l) { resumed[l.step] = l.loss; });
  EXPECT_EQ(rest.steps, 24);
  ASSERT_EQ(resumed.size(), straight.size());
  for (const auto& [step, loss] : straight) EXPECT_EQ(resumed.at(step), loss) << "step " << step;
  EXPECT_EQ(rest.final_heldout_loss, full.final_heldout_loss);
  EXPECT_EQ(rest.initial_heldout_loss, full.initial_heldout_loss);

  // The log of the resumed run holds every step once.
  std::ifstream log(c.out_dir / "log.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  EXPECT_EQ(lines, 25);
}

// A copy of a model folder, as a user makes it (no Quantscope mark), with a file of their own in it.
void user_copy(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from))
    if (entry.path().filename() != ".quantscope") fs::copy_file(entry.path(), to / entry.path().filename());
  file_write(to / "README", "my notes\n");
}

// The run's checkpoint folders are replaced as it goes: a folder the user made is never among them,
// however the config points at it (the unfixed trainer deleted ft/final, README and all).
TEST(Train, NeverReplacesOrDeletesAFolderItDidNotWrite) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = train_config_tiny(dir);
  c.steps = 2;
  c.out_dir = dir.path() / "first";
  qs::train_run(c);
  const std::string weights = qs::test::bytes_read(dir.path() / "first" / "final" / "model.safetensors");

  const auto expect_refused = [&](const qs::TrainConfig& config, const std::string& fragment) {
    try {
      qs::train_run(config);
      ADD_FAILURE() << "trained into " << config.out_dir;
    } catch (const qs::Error& e) {
      EXPECT_EQ(e.kind(), qs::ErrorKind::Invalid) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  // Fine-tuning ft/final into ft: the model to fine-tune lies in a checkpoint folder of the run.
  user_copy(dir.path() / "first" / "final", dir.path() / "ft" / "final");
  qs::TrainConfig tune = c;
  tune.shape.reset();
  tune.init_model = dir.path() / "ft" / "final";
  tune.out_dir = dir.path() / "ft";
  expect_refused(tune, "init_model");
  // The model is elsewhere, but out_dir holds the user's folders.
  tune.init_model = dir.path() / "first" / "final";
  expect_refused(tune, "not made by Quantscope");
  EXPECT_EQ(qs::test::bytes_read(dir.path() / "ft" / "final" / "README"), "my notes\n");
  EXPECT_EQ(qs::test::bytes_read(dir.path() / "ft" / "final" / "model.safetensors"), weights);

  // Inside a run folder of Quantscope's own, a checkpoint folder the user put there is not replaced.
  std::error_code ec;
  qs::directory_remove(dir.path() / "first" / "final", ec);
  user_copy(dir.path() / "ft" / "final", dir.path() / "first" / "final");
  c.resume = true;
  expect_refused(c, "was not written by Quantscope");
  EXPECT_TRUE(fs::exists(dir.path() / "first" / "final" / "README"));
}

// The run file grows in place, step by step, rather than being rewritten whole at every logged step
// (which cost time quadratic in the run's length).
TEST(Train, RunFileIsAppendedInPlaceAndReadableDuringTheRun) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = train_config_tiny(dir);
  c.steps = 6;
  std::vector<uint64_t> inodes;
  std::vector<size_t> logged;
  qs::train_run(c, nullptr, [&](const qs::TrainLog&) {
    inodes.push_back(qs::test::file_inode(c.out_dir / "run.h5"));
    logged.push_back(qs::run_file_read(c.out_dir / "run.h5").steps.size());
  });
  ASSERT_EQ(inodes.size(), 7u);
  for (size_t i = 1; i < inodes.size(); ++i) EXPECT_EQ(inodes[i], inodes[0]) << "log entry " << i;
  for (size_t i = 0; i < logged.size(); ++i) EXPECT_EQ(logged[i], i + 1);
  const qs::RunTelemetry run = qs::run_file_read(c.out_dir / "run.h5");
  EXPECT_EQ(run.status, "finished");
  EXPECT_EQ(run.steps.size(), 7u);
}

TEST(Train, WindowsStartWithBosAndTheSamplerResumes) {
  std::vector<int32_t> tokens(100);
  for (int i = 0; i < 100; ++i) tokens[i] = 10 + i;
  qs::WindowSampler a(tokens, 8, 1, 42), b(tokens, 8, 1, 42);
  a.next(3);
  const std::string state = a.state();
  const torch::Tensor expected = a.next(5);
  b.restore(state);
  EXPECT_TRUE(torch::equal(b.next(5), expected));
  EXPECT_EQ(expected.size(1), 9);
  EXPECT_TRUE((expected.select(1, 0) == 1).all().item<bool>());
  // Consecutive text tokens after BOS.
  EXPECT_TRUE((expected.narrow(1, 2, 7) - expected.narrow(1, 1, 7) == 1).all().item<bool>());

  const torch::Tensor held = qs::heldout_windows_build(tokens, 8, 1, 4);
  EXPECT_EQ(held[0][1].item<int64_t>(), 10);        // first window at the start
  EXPECT_EQ(held[3][8].item<int64_t>(), 10 + 99);   // last window at the end
}

TEST(Train, ConfigFileIsParsedWithPathsRelativeToIt) {
  qs::test::TempDir dir;
  fs::create_directories(dir.path() / "cfg");
  file_write(dir.path() / "cfg" / "train.json", R"({
    "shape": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
              "num_attention_heads": 2, "num_key_value_heads": 1, "tie_word_embeddings": true},
    "tokenizer": "../tok.model", "train_files": ["a.txt", "/abs/b.txt"], "heldout_file": "h.txt",
    "steps": 7, "batch_size": 3, "ctx": 32, "lr": 0.002, "seed": 9, "device": "cpu", "compute": "bf16",
    "out_dir": "out", "resume": true, "final_dtype": "BF16"})");
  const qs::TrainConfig c = qs::train_config_load(dir.path() / "cfg" / "train.json");
  ASSERT_TRUE(c.shape.has_value());
  EXPECT_EQ(c.shape->hidden_size, 128);
  EXPECT_EQ(c.shape->head_dim, 64);
  EXPECT_EQ(c.shape->vocab_size, 0);  // the tokenizer's, at run time
  EXPECT_EQ(c.tokenizer, dir.path() / "tok.model");
  ASSERT_EQ(c.train_files.size(), 2u);
  EXPECT_EQ(c.train_files[0], dir.path() / "cfg" / "a.txt");
  EXPECT_EQ(c.train_files[1], fs::path("/abs/b.txt"));
  EXPECT_EQ(c.out_dir, dir.path() / "cfg" / "out");
  EXPECT_EQ(c.steps, 7);
  EXPECT_EQ(c.batch_size, 3);
  EXPECT_EQ(c.seed, 9u);
  EXPECT_EQ(c.compute, qs::ComputeType::BF16);
  EXPECT_EQ(c.final_dtype, qs::DType::BF16);
  EXPECT_TRUE(c.resume);
  EXPECT_EQ(c.grad_accum, 1);  // defaults stay
}

TEST(Train, ConfigErrorsNameTheFileAndTheSetting) {
  qs::test::TempDir dir;
  const std::string base = R"("shape": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
    "num_attention_heads": 4}, "tokenizer": "t.model", "train_files": ["a.txt"], "out_dir": "o")";
  const auto expect_error = [&](const std::string& body, const std::string& fragment) {
    const fs::path path = dir.path() / "bad.json";
    file_write(path, "{" + body + "}");
    try {
      qs::train_config_load(path);
      ADD_FAILURE() << "accepted: " << body;
    } catch (const qs::Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    }
  };
  expect_error(base + R"(, "stepz": 5)", "unknown key \"stepz\"");
  expect_error(R"("shape": {"hiden_size": 64}, "tokenizer": "t", "train_files": ["a"], "out_dir": "o")",
               "unknown key \"shape.hiden_size\"");
  expect_error(base + R"(, "steps": "ten")", "\"steps\" must be an integer");
  expect_error(base + R"(, "steps": 0)", "\"steps\" must be at least 1");
  expect_error(base + R"(, "device": "tpu")", "\"device\"");
  expect_error(base + R"(, "init_model": "m")", "exactly one of");
  expect_error(base + R"(, "lr": -1)", "\"lr\"");
  expect_error(base + R"(, "heldout_fraction": 1.5)", "heldout_fraction");
  expect_error(base + R"(, "final_dtype": "I8")", "final_dtype");
  expect_error(base + R"(, "ctx": 4096)", "max_position_embeddings");
  // docs/train-config.md promises that a repeated key is an error, never the last value silently.
  expect_error(base + R"(, "steps": 5, "steps": 6)", "duplicate key \"steps\"");
  expect_error(R"("shape": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
    "num_attention_heads": 4}, "train_files": ["a.txt"], "out_dir": "o")", "needs \"tokenizer\"");

  EXPECT_THROW(qs::train_config_load(dir.path() / "missing.json"), qs::Error);
  try {
    qs::train_config_load(dir.path());
    ADD_FAILURE() << "read a folder as a config";
  } catch (const qs::Error& e) {
    EXPECT_EQ(e.kind(), qs::ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  file_write(dir.path() / "broken.json", "{\"steps\": ");
  EXPECT_THROW(qs::train_config_load(dir.path() / "broken.json"), qs::Error);
}

TEST(Train, MissingTrainingTextIsAnIoErrorNamingIt) {
  skip_without_tokenizer();
  qs::test::TempDir dir;
  qs::TrainConfig c = train_config_tiny(dir);
  c.train_files = {dir.path() / "nope.txt"};
  try {
    qs::train_run(c);
    ADD_FAILURE() << "trained on a missing file";
  } catch (const qs::Error& e) {
    EXPECT_EQ(e.kind(), qs::ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("nope.txt"), std::string::npos) << e.what();
  }
}
