// The final evaluation of a QAT run, done exactly as `quantscope-cli eval MODEL --plan PLAN
// --reference REF --text TEXT` does it (model_load, plan_resolve, model_quantize, kl_eval), so that
// command reproduces the reported numbers; plus the same plan applied to the starting model without
// training, the post-training quantization QAT is compared with.
#pragma once
#include <filesystem>

#include "quantscope/run_file.hpp"
#include "quantscope/train.hpp"

namespace qs {

class JobContext;

// final_dir holds the latent weights and plan.json; the reference is the starting model of a
// fine-tune, else the latent weights themselves.
RunFinal qat_evaluate(const TrainConfig& config, const std::filesystem::path& final_dir,
                      const std::filesystem::path& heldout_text, JobContext* job);

}  // namespace qs
