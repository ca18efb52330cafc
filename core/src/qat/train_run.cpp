// train_run: the training loop. Float32 master weights live in the optimizer; the ModelState the
// forward pass reads holds them directly (f32 compute) or their bfloat16 casts made inside the
// autograd graph at each forward (bf16 compute), so gradients reach the masters either way and
// llama_forward needs no training variant.
//
// Choices (docs/train-config.md gives the user's view):
// - Fresh weights: normal(0, 0.02); o_proj and down_proj, which add into the residual stream, get
//   0.02 / sqrt(2 * layers) so the stream's variance does not grow with depth (GPT-2). Norms 1,
//   biases 0. Drawn on the CPU from a generator seeded by `seed`, so CPU and CUDA runs start alike.
// - Weight decay only on linear weight matrices. Embeddings are exempt: a rare token's row gets few
//   gradient updates, and decay would shrink it by how rarely the token occurs rather than by fit.
//   Norm gains and biases are exempt as usual.
// - Learning rate: linear warm-up to `lr` over warmup_steps, then cosine to lr * min_lr_ratio at
//   `steps`.
// - Checkpoints: out_dir/step-N (weights only, for looking at training over time), out_dir/last
//   (weights + optimizer + sampler, what resume reads), out_dir/final at the end (final_dtype), and
//   out_dir/log.jsonl (one TrainLog per line). A cancelled run writes last before it stops.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <sstream>
#include <system_error>

#include "io/atomic_file.hpp"
#include "model/hf_layout.hpp"
#include "base/json_strict.hpp"
#include "model/llama_forward.hpp"
#include "model/model_state.hpp"
#include "qat/qat_evaluate.hpp"
#include "qat/qat_layers.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/job.hpp"
#include "quantscope/output_dir.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/run_file.hpp"
#include "quantscope/tokenizer.hpp"
#include "quantscope/train.hpp"
#include "qat/train_checkpoint.hpp"
#include "qat/train_config.hpp"
#include "qat/train_data.hpp"

namespace qs {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double lr_at(const TrainConfig& c, int64_t step) {
  if (step <= c.warmup_steps) return c.lr * static_cast<double>(step) / static_cast<double>(c.warmup_steps);
  const int64_t decay_steps = c.steps - c.warmup_steps;
  if (decay_steps <= 0) return c.lr;
  const double progress = std::min(1.0, static_cast<double>(step - c.warmup_steps) / static_cast<double>(decay_steps));
  return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
}

std::shared_ptr<ModelState> model_fresh(const TrainConfig& config, std::shared_ptr<const Tokenizer> tokenizer) {
  ModelConfig c = *config.shape;
  if (c.vocab_size == 0) c.vocab_size = tokenizer->vocab_size();
  c.bos_token_id = tokenizer->bos_id();
  if (tokenizer->eos_id() >= 0) c.eos_token_id = tokenizer->eos_id();
  c.torch_dtype = "float32";
  config_validate(c, "train config: shape");
  if (tokenizer->vocab_size() > c.vocab_size)
    throw Error(ErrorKind::Invalid, tokenizer->path().string() + ": tokenizer has " +
                                        std::to_string(tokenizer->vocab_size()) + " pieces but shape.vocab_size is " +
                                        std::to_string(c.vocab_size));
  auto state = std::make_shared<ModelState>();
  state->config = c;
  state->source_format = "hf";
  state->tokenizer = std::move(tokenizer);
  state->device = config.device;
  state->compute = ComputeType::F32;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.num_hidden_layers));
  for (const HfTensor& spec : hf_layout(c)) {
    torch::Tensor t;
    switch (spec.kind) {
      case TensorKind::Norm: t = torch::ones(spec.shape); break;
      case TensorKind::LinearBias: t = torch::zeros(spec.shape); break;
      case TensorKind::Embedding:
      case TensorKind::LinearWeight: {
        const bool residual = spec.role == "o_proj" || spec.role == "down_proj";
        t = torch::empty(spec.shape).normal_(0.0, residual ? residual_std : 0.02, generator);
        break;
      }
    }
    state->tensors[spec.name] = t.to(state->torch_device());
    state->stored_dtypes[spec.name] = DType::F32;
  }
  return state;
}

struct Param {
  std::string name;
  torch::Tensor master;  // float32, requires_grad
  bool cast = false;     // the forward reads a compute-dtype copy
};

// out_dir/log.jsonl: the lines of a resumed run's earlier steps are kept; a torn line is dropped.
std::vector<std::string> log_lines_read(const fs::path& path, int64_t up_to_step) {
  std::vector<std::string> lines;
  std::error_code ec;
  if (!fs::exists(path, ec)) return lines;
  const std::string text = file_read(path);
  for (size_t start = 0; start < text.size();) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    try {
      const auto j = json_parse_strict(line, path.string());
      if (j.is_object() && j.contains("step") && j.at("step").is_number_integer() &&
          j.at("step").get<int64_t>() <= up_to_step)
        lines.push_back(line);
    } catch (const Error&) {
    }
  }
  return lines;
}

std::string log_line(const TrainLog& log) {
  nlohmann::json j = {{"step", log.step},
                      {"loss", log.loss},
                      {"lr", log.lr},
                      {"grad_norm", log.grad_norm},
                      {"tokens_per_second", log.tokens_per_second}};
  if (log.heldout_loss) j["heldout_loss"] = *log.heldout_loss;
  if (log.masked_fraction) j["masked_fraction"] = *log.masked_fraction;
  if (log.weight_error) j["weight_error"] = *log.weight_error;
  return j.dump();
}

// The optimizer state map's key type differs between LibTorch 1.13 (the TensorImpl pointer printed
// to a string, as c10::guts::to_string does) and 2.x (the pointer itself).
template <class Key>
Key optimizer_state_key(const torch::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else {
    return param.unsafeGetTensorImpl();
  }
}

// Adam's second moment of a parameter, normalised by its mean (1-Bit Wonder's Fisher weights; the
// bias correction is a constant factor and cancels). Undefined before the first step.
torch::Tensor adam_second_moment(torch::optim::AdamW& optimizer, const torch::Tensor& param) {
  auto& states = optimizer.state();
  const auto it = states.find(optimizer_state_key<typename std::decay_t<decltype(states)>::key_type>(param));
  if (it == states.end()) return {};
  const torch::Tensor v = static_cast<torch::optim::AdamWParamState&>(*it->second).exp_avg_sq();
  const double mean = v.mean().item<double>();
  return mean > 0 ? (v / mean).contiguous() : torch::Tensor();
}

// The held-out split as text, for the final evaluation when the config names no held-out file:
// each BOS starts a document, decoded without its BOS/EOS; documents are separated by two empty
// lines as in the training text.
std::string heldout_text(const std::vector<int32_t>& tokens, const Tokenizer& tokenizer) {
  std::string text;
  std::vector<int> doc;
  const auto flush = [&] {
    if (doc.empty()) return;
    if (!text.empty()) text += "\n\n\n";
    text += tokenizer.decode(doc);
    doc.clear();
  };
  for (const int32_t id : tokens) {
    if (id == tokenizer.bos_id()) flush();
    else if (id != tokenizer.eos_id()) doc.push_back(id);
  }
  flush();
  return text + "\n";
}

std::string run_config_json(const TrainConfig& c) {
  nlohmann::json j = {{"init_model", c.init_model.string()}, {"steps", c.steps}, {"batch_size", c.batch_size},
                      {"grad_accum", c.grad_accum}, {"ctx", c.ctx}, {"lr", c.lr}, {"warmup_steps", c.warmup_steps},
                      {"min_lr_ratio", c.min_lr_ratio}, {"weight_decay", c.weight_decay}, {"grad_clip", c.grad_clip},
                      {"seed", c.seed}, {"device", device_name(c.device)}, {"compute", compute_type_name(c.compute)}};
  if (c.qat) {
    j["estimator"] = gradient_estimator_name(c.qat->estimator.kind);
    j["trust_factor"] = c.qat->estimator.trust_factor;
    j["clip_factor"] = c.qat->estimator.clip_factor;
    j["fp_warmup_steps"] = qat_warmup_steps(c);
    j["kmeans_refit_every"] = c.qat->kmeans_refit_every;
  }
  return j.dump();
}

}  // namespace

TrainResult train_run(const TrainConfig& config, JobContext* job, const std::function<void(const TrainLog&)>& on_log) {
  const auto run_start = Clock::now();
  train_config_validate(config, "train config");
  if (config.device == Device::Cuda && !cuda_available())
    throw Error(ErrorKind::Invalid, "train config: device cuda requested but CUDA is not available in this build");
  const fs::path out_dir = config.out_dir;
  const fs::path last_dir = out_dir / "last";
  // The run replaces its checkpoint folders; a model it starts from must not be one of them.
  if (!config.init_model.empty() && path_within(config.init_model, out_dir))
    throw Error(ErrorKind::Invalid, "train config: init_model " + config.init_model.string() + " lies inside out_dir " +
                                        out_dir.string() +
                                        ", whose checkpoints this run rewrites; copy the model elsewhere or choose "
                                        "another out_dir");
  output_dir_claim(out_dir, OutputKind::TrainingRun);
  std::error_code ec;
  const bool resuming = config.resume && fs::is_regular_file(last_dir / "trainer_state.json", ec);
  if (!config.resume && fs::exists(last_dir, ec))
    throw Error(ErrorKind::Invalid, out_dir.string() + ": holds an earlier run (last/); set \"resume\": true to "
                                                       "continue it or choose another out_dir");

  // ---- model ----
  LoadOptions load;
  load.device = config.device;
  load.compute = ComputeType::F32;
  load.tokenizer = config.tokenizer;
  load.residency = Residency::Streamed;  // the float32 masters below are the model's only copy
  std::shared_ptr<ModelState> state;
  std::shared_ptr<Model> loaded;
  if (resuming || !config.init_model.empty()) {
    loaded = model_load(resuming ? last_dir : config.init_model, load, job);
    state = std::shared_ptr<ModelState>(loaded, &loaded->state());
  } else {
    state = model_fresh(config, Tokenizer::open(config.tokenizer));
  }
  if (!state->tokenizer)
    throw Error(ErrorKind::Invalid, state->source.string() + ": no tokenizer found beside the model; set \"tokenizer\"");
  const ModelConfig& mc = state->config;
  if (config.ctx > mc.max_position_embeddings)
    throw Error(ErrorKind::Invalid, "train config: ctx " + std::to_string(config.ctx) +
                                        " exceeds the model's max_position_embeddings " +
                                        std::to_string(mc.max_position_embeddings));
  const torch::Device device = state->torch_device();

  // ---- parameters and optimizer ----
  std::vector<Param> params;
  std::vector<torch::Tensor> decayed, exempt, masters;
  for (const HfTensor& spec : hf_layout(mc)) {
    Param p;
    p.name = spec.name;
    // A copy: the optimizer writes the masters in place, and a stored float32 weight is the mapped file.
    p.master = state->tensor(spec.name).detach().to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true)
                   .contiguous()
                   .requires_grad_(true);
    p.cast = config.compute == ComputeType::BF16 && spec.kind != TensorKind::Norm;
    (spec.kind == TensorKind::LinearWeight ? decayed : exempt).push_back(p.master);
    masters.push_back(p.master);
    params.push_back(std::move(p));
  }
  state->compute = config.compute;
  std::unique_ptr<QatLayers> qat;
  bool training = false;  // the QAT hooks accumulate telemetry only on training passes
  if (config.qat) {
    qat = std::make_unique<QatLayers>(*config.qat, Model(state), qat_warmup_steps(config));
    state->linear_input = [&](const std::string& layer, const torch::Tensor& x) { return qat->input(layer, x, training); };
  }
  std::map<std::string, torch::Tensor> masters_by_name;
  for (const Param& p : params) masters_by_name[p.name] = p.master;
  // Binds the weights the forward pass of step `step` reads (an evaluation after step s reads those
  // of step s + 1). Declared before the optimizer exists; `optimizer_of` is set once it does.
  torch::optim::AdamW* optimizer_of = nullptr;
  const auto weights_bind = [&](int64_t step, bool train) {
    training = train;
    if (qat)
      qat->prepare(
          step, [&](const std::string& name) { return masters_by_name.at(name); },
          [&](const std::string& name) {
            return optimizer_of ? adam_second_moment(*optimizer_of, masters_by_name.at(name)) : torch::Tensor();
          });
    for (const Param& p : params) {
      const torch::Tensor w = qat && qat->quantizes_weight(p.name) ? qat->weight(p.name, p.master, train) : p.master;
      state->tensors[p.name] = p.cast ? w.to(torch::kBFloat16) : w;
    }
  };
  const auto adamw_options = [&](double weight_decay) {
    return std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(config.lr)
                                                            .betas(std::make_tuple(config.beta1, config.beta2))
                                                            .eps(config.eps)
                                                            .weight_decay(weight_decay));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decayed, adamw_options(config.weight_decay));
  groups.emplace_back(exempt, adamw_options(0.0));
  torch::optim::AdamW optimizer(std::move(groups), *adamw_options(config.weight_decay));
  optimizer_of = &optimizer;

  // A float32 view of the masters for model_save.
  const auto weights_view = [&] {
    ModelState view;
    view.config = mc;
    view.config.torch_dtype = "float32";
    view.source = config.init_model;
    view.source_format = "hf";
    view.tokenizer = state->tokenizer;
    view.device = state->device;
    view.compute = ComputeType::F32;
    for (const Param& p : params) {
      view.tensors[p.name] = p.master.detach();
      view.stored_dtypes[p.name] = DType::F32;
    }
    return view;
  };

  // ---- data ----
  const Tokenizer& tokenizer = *state->tokenizer;
  const TrainTokens tokens = train_tokens_build(config, tokenizer, job);
  WindowSampler sampler(tokens.train, config.ctx, tokenizer.bos_id(), config.seed);
  const int64_t B = config.batch_size, T = config.ctx, V = mc.vocab_size;
  const torch::Tensor heldout =
      heldout_windows_build(tokens.heldout, T, tokenizer.bos_id(), config.eval_batches * B).to(device);
  const auto loss_of = [&](const torch::Tensor& windows, torch::nn::functional::CrossEntropyFuncOptions options) {
    const torch::Tensor logits = llama_forward(*state, windows.narrow(1, 0, T));
    return torch::nn::functional::cross_entropy(logits.reshape({-1, V}), windows.narrow(1, 1, T).reshape({-1}),
                                                options);
  };
  const auto heldout_eval = [&](int64_t after_step) {
    torch::NoGradGuard no_grad;
    weights_bind(after_step + 1, false);
    double sum = 0;
    for (int64_t b = 0; b < config.eval_batches; ++b)
      sum += loss_of(heldout.narrow(0, b * B, B), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
    return sum / static_cast<double>(heldout.size(0) * T);
  };

  TrainProgress progress;
  progress.train_tokens = static_cast<int64_t>(tokens.train.size());
  progress.heldout_tokens = static_cast<int64_t>(tokens.heldout.size());
  std::vector<std::string> log_lines;
  const fs::path run_path = out_dir / "run.h5";
  RunTelemetry run;
  if (resuming) {
    const TrainProgress saved = train_checkpoint_read(last_dir, optimizer, config, progress, device);
    if (saved.qat_state.empty() != !qat)
      throw Error(ErrorKind::Invalid, last_dir.string() + ": the run was made " +
                                          (qat ? "without" : "with") + " quantization; resuming needs the same");
    progress.step = saved.step;
    progress.initial_heldout_loss = saved.initial_heldout_loss;
    sampler.restore(saved.sampler_state);
    if (qat) qat->state_restore(saved.qat_state, (last_dir / "trainer_state.json").string());
    log_lines = log_lines_read(out_dir / "log.jsonl", saved.step);
    if (fs::exists(run_path, ec)) {
      run = run_file_read(run_path);
      std::erase_if(run.steps, [&](const RunStep& s) { return s.step > saved.step; });
      std::erase_if(run.samples, [&](const RunLayerSample& s) { return s.step > saved.step; });
    }
  }
  run.status = "running";
  run.config_json = run_config_json(config);
  run.plan_json = qat ? plan_json(config.qat->plan) : "";
  run.layers = qat ? qat->names() : std::vector<std::string>();
  // Logged steps are appended; the file is written whole only here and when the run ends.
  auto appender = std::make_unique<RunFileAppender>(run_path, run);
  const auto run_end = [&](const char* status) {
    appender.reset();
    run.status = status;
    run_file_write(run_path, run);
  };
  const auto run_log = [&](const TrainLog& log) {
    RunStep s;
    s.step = log.step;
    s.loss = log.step == 0 ? std::numeric_limits<double>::quiet_NaN() : log.loss;
    s.lr = log.lr;
    s.grad_norm = log.grad_norm;
    s.tokens_per_second = log.tokens_per_second;
    s.heldout_loss = log.heldout_loss.value_or(std::numeric_limits<double>::quiet_NaN());
    run.steps.push_back(s);
    appender->step_append(s);
  };
  if (!resuming) {
    progress.initial_heldout_loss = heldout_eval(0);
    TrainLog first;
    first.heldout_loss = progress.initial_heldout_loss;
    log_lines.push_back(nlohmann::json{{"step", 0}, {"heldout_loss", *first.heldout_loss}}.dump());
    run_log(first);
    if (on_log) on_log(first);
  }

  const auto checkpoint_last = [&] {
    progress.sampler_state = sampler.state();
    if (qat) progress.qat_state = qat->state_save();
    train_checkpoint_write(last_dir, weights_view(), &optimizer, progress, config);
    std::string text;
    for (const std::string& line : log_lines) text += line + "\n";
    file_write_atomic(out_dir / "log.jsonl", text);
  };

  // ---- loop ----
  double interval_loss = 0, interval_norm = 0, interval_seconds = 0, final_train_loss = 0;
  double final_heldout = progress.initial_heldout_loss;
  int64_t interval_steps = 0;
  const double tokens_per_step = static_cast<double>(B * config.grad_accum * T);
  const double clip = config.grad_clip > 0 ? config.grad_clip : std::numeric_limits<double>::infinity();
  const int64_t first_step = progress.step;
  while (progress.step < config.steps) {
    if (job && job->cancelled()) {
      checkpoint_last();
      run_end("cancelled");
      job->check_cancelled();
    }
    const auto step_start = Clock::now();
    const int64_t step = progress.step + 1;
    const double lr = lr_at(config, step);
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    optimizer.zero_grad();
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(device));
    for (int64_t micro = 0; micro < config.grad_accum; ++micro) {
      const torch::Tensor windows = sampler.next(B).to(device);
      weights_bind(step, true);
      const torch::Tensor loss = loss_of(windows, {});
      (loss / static_cast<double>(config.grad_accum)).backward();
      loss_sum += loss.detach();
    }
    const double loss = loss_sum.item<double>() / static_cast<double>(config.grad_accum);
    if (!std::isfinite(loss))
      throw Error(ErrorKind::Numeric, out_dir.string() + ": training loss became " + std::to_string(loss) +
                                          " at step " + std::to_string(step) + " (try a lower lr)");
    const double grad_norm = torch::nn::utils::clip_grad_norm_(masters, clip);
    optimizer.step();
    progress.step = step;
    interval_loss += loss;
    interval_norm += grad_norm;
    interval_seconds += seconds_since(step_start);
    ++interval_steps;

    const bool evaluate = step == config.steps || (config.eval_every > 0 && step % config.eval_every == 0);
    if (evaluate || step % config.log_every == 0) {
      TrainLog log;
      log.step = step;
      log.loss = interval_loss / static_cast<double>(interval_steps);
      log.lr = lr;
      log.grad_norm = interval_norm / static_cast<double>(interval_steps);
      log.tokens_per_second = tokens_per_step * static_cast<double>(interval_steps) / interval_seconds;
      if (qat) {
        RunLayerSample sample = qat->sample_take(step);
        log.masked_fraction = QatLayers::layers_mean(sample.weight_masked);
        log.weight_error = QatLayers::layers_mean(sample.weight_error);
        appender->sample_append(sample);
        run.samples.push_back(std::move(sample));
      }
      if (evaluate) {
        final_heldout = heldout_eval(step);
        log.heldout_loss = final_heldout;
      }
      final_train_loss = log.loss;
      interval_loss = interval_norm = interval_seconds = 0;
      interval_steps = 0;
      log_lines.push_back(log_line(log));
      run_log(log);
      if (on_log) on_log(log);
    }
    if (config.checkpoint_every > 0 && step % config.checkpoint_every == 0 && step < config.steps) {
      train_checkpoint_write(out_dir / ("step-" + std::to_string(step)), weights_view(), nullptr, progress, config);
      checkpoint_last();
    }
    if (job) {
      std::ostringstream message;
      message << "step " << step << "/" << config.steps << ", loss " << loss;
      job->progress(static_cast<double>(step) / static_cast<double>(config.steps), message.str());
    }
  }

  // A run resumed after its last step trains no more; its results come from the log.
  if (progress.step == first_step) {
    final_heldout = heldout_eval(progress.step);
    for (const std::string& line : log_lines) {
      const auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) final_train_loss = j.at("loss").get<double>();
    }
  }
  checkpoint_last();
  const fs::path final_dir = out_dir / "final";
  train_checkpoint_write(final_dir, weights_view(), nullptr, progress, config, config.final_dtype);
  TrainResult result;
  if (qat) {
    plan_save(qat->plan_export(), final_dir / "plan.json");
    fs::path text_path = config.heldout_file;
    if (text_path.empty()) {
      text_path = out_dir / "heldout.txt";
      file_write_atomic(text_path, heldout_text(tokens.heldout, tokenizer));
    }
    if (job) job->progress(-1, "evaluating the quantized model");
    run.final = qat_evaluate(config, final_dir, text_path, job);
    result.quantized = run.final;
  }
  run_end("finished");
  result.run_file = run_path;
  result.steps = progress.step;
  result.final_train_loss = final_train_loss;
  result.initial_heldout_loss = progress.initial_heldout_loss;
  result.final_heldout_loss = final_heldout;
  result.final_checkpoint = out_dir / "final";
  result.seconds = seconds_since(run_start);
  return result;
}

}  // namespace qs
