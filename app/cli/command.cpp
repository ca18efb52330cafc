// Storage for the self-registering subcommands (see command.hpp).
#include "command.hpp"

#include <map>
#include <stdexcept>

namespace qs::cli {
namespace {

// A function-local static: registrations run during static initialisation, in any file order.
std::map<std::string, std::unique_ptr<Command>>& registry() {
  static std::map<std::string, std::unique_ptr<Command>> commands;
  return commands;
}

}  // namespace

void command_register(std::unique_ptr<Command> command) {
  std::string name = command->spec().command();
  if (!registry().emplace(name, std::move(command)).second)
    throw std::logic_error("command '" + name + "' registered twice");
}

std::vector<const Command*> command_list() {
  std::vector<const Command*> list;
  for (const auto& [name, command] : registry()) list.push_back(command.get());
  return list;
}

const Command* command_find(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second.get();
}

}  // namespace qs::cli
