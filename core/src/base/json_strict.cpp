// json_parse_strict: a parse whose callback refuses duplicate keys.
#include "base/json_strict.hpp"

#include <set>
#include <vector>

#include "quantscope/error.hpp"

namespace qs {

template <class Json>
Json json_parse_strict(const std::string& text, const std::string& where) {
  using json = Json;
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int /*depth*/, typename json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    else if (event == json::parse_event_t::object_end) open_objects.pop_back();
    else if (event == json::parse_event_t::key && duplicate.empty() &&
             !open_objects.back().insert(parsed.template get<std::string>()).second)
      duplicate = parsed.template get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(text, callback);
  } catch (const typename json::exception& e) {
    const std::string what = e.what();
    throw Error(ErrorKind::Format, where + ": invalid JSON (" + what.substr(0, what.find('\n')) + ")");
  }
  if (!duplicate.empty()) throw Error(ErrorKind::Format, where + ": duplicate key \"" + duplicate + "\"");
  return j;
}

template nlohmann::ordered_json json_parse_strict<nlohmann::ordered_json>(const std::string&, const std::string&);
template nlohmann::json json_parse_strict<nlohmann::json>(const std::string&, const std::string&);

}  // namespace qs
