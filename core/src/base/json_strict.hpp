// The one JSON parse for every file Quantscope reads (configs, plans, task and experiment files,
// safetensors headers, trainer state): nlohmann silently keeps the last of two equal keys, which
// hides typos and merge accidents, so this parse refuses duplicates and reports every problem as one
// line naming the file.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace qs {

// With ordered_json keys keep their order in the file; nlohmann::json sorts them and looks them up in
// logarithmic time (for large machine-written objects). Throws Format "WHERE: invalid JSON (...)" or
// "WHERE: duplicate key \"k\"".
template <class Json = nlohmann::ordered_json>
Json json_parse_strict(const std::string& text, const std::string& where);

}  // namespace qs
