// Checks of a TrainConfig shared by train_config_load (a file's values) and train_run (configs built
// in code, by the GUI or tests), so both reject the same things with the same words.
#pragma once
#include <string>

#include "quantscope/train.hpp"

namespace qs {

// Throws Invalid "<source>: <problem>" for values out of range or a missing required setting. Does
// not touch the file system (paths are checked where they are opened).
void train_config_validate(const TrainConfig& config, const std::string& source);

// The full-precision warm-up a run uses: the config's, else 1000 steps for a fresh model with k-means
// layers and 0 otherwise.
int64_t qat_warmup_steps(const TrainConfig& config);
bool plan_has_kmeans(const QuantPlan& plan);
bool plan_has_fisher(const QuantPlan& plan);

}  // namespace qs
