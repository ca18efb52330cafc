// Runs a training config as a job the way every training command shows it: a header table, one log
// line per logged step (loss, lr, grad norm, tokens/s, and for QAT the masked fraction and weight
// error), the progress bar, Ctrl-C, then a summary (QAT: the quantized model's final evaluation
// against post-training quantization) or, with --json, all of it as one JSON object.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "quantscope/train.hpp"

namespace qs::cli {

// `about`: the header's key/value rows (what is trained, from where, to where).
int train_session_run(const TrainConfig& config, const std::vector<std::pair<std::string, std::string>>& about,
                      bool json);

}  // namespace qs::cli
