// Writes --json results (see json_print.hpp).
#include "json_print.hpp"

#include <cmath>
#include <iostream>

namespace qs::cli {

void json_print(const nlohmann::ordered_json& value) {
  std::cout << value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n' << std::flush;
}

nlohmann::ordered_json number_json(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
}

}  // namespace qs::cli
