// groups_divide (quantizer.hpp): the values a grid or codebook applies to, w / scale, for plots and
// fits, computed in place of the quotient rather than through a scale tensor as large as the weight.
#include <torch/torch.h>

#include "quant/quantizer.hpp"

namespace qs {

torch::Tensor groups_divide(const torch::Tensor& x, const torch::Tensor& divisors, int64_t group,
                            const torch::Tensor& offsets) {
  const int64_t rows = x.size(0), cols = x.size(1), whole = cols / group, tail = cols - whole * group;
  const torch::Tensor d = divisors.reshape({rows, -1});
  const torch::Tensor o = offsets.defined() ? offsets.reshape({rows, -1}) : torch::Tensor();
  torch::Tensor u = torch::empty_like(x);
  // Whole groups as a [rows, groups, group] view against a broadcast [rows, groups, 1]; then the
  // shorter last group against its [rows, 1] column.
  const auto part = [&](int64_t begin, int64_t length, const auto& shape, const auto& per_group) {
    torch::Tensor into = shape(u.narrow(1, begin, length));
    torch::div_out(into, shape(x.narrow(1, begin, length)), per_group(d));
    into.nan_to_num_(0.0, 0.0, 0.0);
    if (o.defined()) into.add_(per_group(o));
  };
  if (whole > 0)
    part(0, whole * group, [&](const torch::Tensor& t) { return t.unflatten(1, {whole, group}); },
         [&](const torch::Tensor& g) { return g.narrow(1, 0, whole).unsqueeze(2); });
  if (tail > 0)
    part(whole * group, tail, [](const torch::Tensor& t) { return t; },
         [&](const torch::Tensor& g) { return g.select(1, whole).unsqueeze(1); });
  return u;
}

}  // namespace qs
