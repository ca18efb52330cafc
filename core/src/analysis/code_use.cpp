// code_use_compute: the occupancy summary of code_use.hpp.
#include "quantscope/code_use.hpp"

#include <cmath>

namespace qs {

CodeUse code_use_compute(std::span<const int64_t> occupancy) {
  CodeUse use;
  use.total = static_cast<int>(occupancy.size());
  double count = 0;
  for (const int64_t n : occupancy) {
    count += static_cast<double>(n);
    if (n > 0) ++use.used;
  }
  for (const int64_t n : occupancy)
    if (n > 0) {
      const double p = static_cast<double>(n) / count;
      use.entropy_bits -= p * std::log2(p);
    }
  return use;
}

}  // namespace qs
