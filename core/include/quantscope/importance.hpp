// Importance of each weight for importance-weighted (`:fisher`) fitting, gathered from a
// calibration text: the second moment E[x_j²] of every linear layer's input channel j, which is the
// diagonal of the layer's Hessian proxy XᵀX/n. Weight w_ij gets importance E[x_j²].
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "quantscope/eval.hpp"

namespace qs {

class Model;
class JobContext;

struct LayerImportance {
  int64_t tokens = 0;
  std::map<std::string, std::vector<float>> input_second_moment;  // layer name -> [in]
};

// Runs the model over the text (windows as in EvalOptions) and records every linear layer's input.
std::shared_ptr<LayerImportance> importance_collect(const Model& model, const std::string& text,
                                                    const EvalOptions& options, JobContext* job = nullptr);

}  // namespace qs
