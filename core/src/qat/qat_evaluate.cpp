// qat_evaluate: the QAT run's final numbers and the command that reproduces them.
#include "qat/qat_evaluate.hpp"

#include <limits>

#include "quantscope/device.hpp"
#include "quantscope/eval.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/importance.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/model_quantize.hpp"
#include "quantscope/plan.hpp"
#include "qat/train_config.hpp"

namespace qs {
namespace {

std::string quoted(const std::filesystem::path& p) {
  const std::string s = p.string();
  return s.find_first_of(" '\"\\$") == std::string::npos ? s : "'" + s + "'";
}

}  // namespace

RunFinal qat_evaluate(const TrainConfig& config, const std::filesystem::path& final_dir,
                      const std::filesystem::path& heldout_text, JobContext* job) {
  const std::filesystem::path plan_path = final_dir / "plan.json";
  LoadOptions load;
  load.device = config.device;
  load.compute = ComputeType::F32;
  load.tokenizer = config.tokenizer;
  const std::shared_ptr<Model> latent = model_load(final_dir, load, job);
  const bool fine_tune = !config.init_model.empty();
  const std::filesystem::path reference_path = fine_tune ? config.init_model : final_dir;
  const std::shared_ptr<Model> reference = fine_tune ? model_load(config.init_model, load, job) : latent;
  const std::string text = file_read(heldout_text);
  EvalOptions options;
  options.ctx = config.ctx;
  options.max_tokens = config.qat->final_eval_tokens;

  const QuantPlan plan = plan_load(plan_path);
  const auto quantized = model_quantize(*latent, plan_resolve(plan, *latent), {}, nullptr, job);
  const KlResult kl = kl_eval(*quantized, *reference, text, options, job);
  RunFinal f;
  f.done = true;
  f.perplexity = kl.model.perplexity;
  f.kl_mean = kl.mean;
  f.top1_agreement = kl.top1_agreement;
  f.tokens = kl.tokens;
  f.reference_perplexity = kl.reference.perplexity;
  f.latent_perplexity = fine_tune ? perplexity_eval(*latent, text, options, job).perplexity : kl.reference.perplexity;
  f.ptq_perplexity = f.ptq_kl_mean = std::numeric_limits<double>::quiet_NaN();
  if (fine_tune) {
    // The plan as the user gave it: k-means codebooks fitted to the starting weights.
    ModelQuantizeOptions ptq_options;
    if (plan_has_fisher(config.qat->plan))
      ptq_options.importance = importance_collect(*reference, text, options, job);
    const auto ptq = model_quantize(*reference, plan_resolve(config.qat->plan, *reference), ptq_options, nullptr, job);
    const KlResult ptq_kl = kl_eval(*ptq, *reference, text, options, job);
    f.ptq_perplexity = ptq_kl.model.perplexity;
    f.ptq_kl_mean = ptq_kl.mean;
  }
  f.reference = reference_path.string();
  f.heldout_text = heldout_text.string();
  f.command = "quantscope-cli eval " + quoted(final_dir) + " --plan " + quoted(plan_path) + " --reference " +
              quoted(reference_path) + " --text " + quoted(heldout_text) + " --ctx " + std::to_string(options.ctx) +
              " --max-tokens " + std::to_string(options.max_tokens) + " --device " +
              std::string(device_name(config.device));
  if (!config.tokenizer.empty()) f.command += " --tokenizer " + quoted(config.tokenizer);
  return f;
}

}  // namespace qs
