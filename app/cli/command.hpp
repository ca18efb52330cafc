// The registry of quantscope-cli subcommands. Each subcommand is a small class in its own file that
// registers itself with a static CommandRegistration, so adding a command touches no other file and
// main.cpp only dispatches.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "quantscope/error.hpp"

namespace qs::cli {

class Command {
 public:
  virtual ~Command() = default;
  // The declaration of the command's name, summary, arguments and options.
  virtual ArgSpec spec() const = 0;
  // Runs with parsed, validated arguments; returns the exit status. Throws qs::Error or another
  // std::exception for runtime failures and UsageError for inconsistent arguments.
  virtual int run(const Args& args) const = 0;
};

void command_register(std::unique_ptr<Command> command);
// Sorted by name.
std::vector<const Command*> command_list();
const Command* command_find(const std::string& name);

// Runs `check` and turns the Invalid errors it throws (an option value that does not fit the model or
// itself) into usage errors, exit status 2, with `prefix` ("--layers: ") before the message. Other
// errors (a missing or corrupt file) pass unchanged.
template <class F>
auto usage_check(const std::string& prefix, F&& check) -> decltype(check()) {
  try {
    return check();
  } catch (const Error& error) {
    if (error.kind() != ErrorKind::Invalid) throw;
    throw UsageError(prefix + error.what());
  }
}

// The --json option, declared alike by every command.
inline OptionSpec json_option() {
  return {.name = "json", .type = ArgType::Flag, .help = "print the result as JSON on stdout"};
}

template <class T>
struct CommandRegistration {
  CommandRegistration() { command_register(std::make_unique<T>()); }
};

}  // namespace qs::cli
