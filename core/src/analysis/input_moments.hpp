// The second moment E[x_j²] of every linear layer's input channel over the real (not padding) positions
// of a text's windows: `:fisher` k-means importance (importance_collect) and an input to the
// sensitivity proxies (layer_statistics_collect, which gathers it in its gradient pass rather than in
// a pass of its own). One accumulator, so both give the same numbers.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "quantscope/importance.hpp"

namespace qs {

using LinearInputHook = std::function<torch::Tensor(const std::string& layer, const torch::Tensor& input)>;

class InputMoments {
 public:
  // The hook to install as ModelState::linear_input: it passes each input through `previous` (an
  // activation-quantized model's layers see quantized inputs; the moments are of those), adds it and
  // returns it.
  LinearInputHook hook(LinearInputHook previous);
  // Which positions of the next forward pass are real, [batch, positions] bool; undefined: all.
  void positions_set(torch::Tensor real) { real_ = std::move(real); }
  std::shared_ptr<LayerImportance> result() const;

 private:
  struct Sum {
    torch::Tensor squares;  // Σx² per input channel, float64
    int64_t rows = 0;
  };
  std::map<std::string, Sum> sums_;
  torch::Tensor real_;
};

}  // namespace qs
