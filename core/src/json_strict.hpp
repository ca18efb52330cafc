// JSON parsing for the files people write by hand (plans, task files, experiment files): nlohmann
// silently keeps the last of two equal keys, which hides typos and merge accidents, so these parses
// refuse duplicates and report every problem as one line naming the file.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace qs {

// Keys keep their order in the file. Throws Format "WHERE: invalid JSON (...)" or "WHERE: duplicate key \"k\"".
nlohmann::ordered_json json_parse_strict(const std::string& text, const std::string& where);

}  // namespace qs
