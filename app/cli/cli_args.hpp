// The command line parser of quantscope-cli: each subcommand declares its positional arguments and
// typed options once, and the same declaration drives parsing, validation and the --help text, so the
// help can never disagree with what the parser accepts.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::cli {

// A mistake in the command line itself (exit status 2), as opposed to a failure while running.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ArgType {
  Flag,     // present or not, takes no value
  Text,     // any string
  Integer,  // a whole number within [min, max]
  Number,   // a finite real number within [min, max]
  Choice,   // one of `choices`
};

struct OptionSpec {
  std::string name;        // without the leading "--"
  ArgType type = ArgType::Flag;
  std::string value_name;  // shown in help: N, FILE, T
  std::string help;
  std::string default_value;  // used when absent and shown in help; empty: no default
  bool required = false;
  std::vector<std::string> choices;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
};

struct PositionalSpec {
  std::string name;  // shown in upper case in help: MODEL
  std::string help;
  bool repeated = false;  // the last positional only: takes any number of values, none included
};

// What a subcommand accepts. --help is always accepted and need not be declared.
class ArgSpec {
 public:
  ArgSpec(std::string command, std::string summary);
  ArgSpec& positional(PositionalSpec spec);
  ArgSpec& option(OptionSpec spec);
  ArgSpec& example(std::string line);

  const std::string& command() const { return command_; }
  const std::string& summary() const { return summary_; }
  const std::vector<PositionalSpec>& positionals() const { return positionals_; }
  const std::vector<OptionSpec>& options() const { return options_; }
  const std::vector<std::string>& examples() const { return examples_; }
  const OptionSpec* find(const std::string& name) const;

 private:
  std::string command_;
  std::string summary_;
  std::vector<PositionalSpec> positionals_;
  std::vector<OptionSpec> options_;
  std::vector<std::string> examples_;
};

// The parsed command line. Accessors take option names without "--"; asking for an option the spec
// does not declare, or for the wrong type, is a programming error (std::logic_error).
class Args {
 public:
  bool help() const { return help_; }
  const std::string& positional(size_t index) const { return positionals_.at(index); }
  size_t positional_count() const { return positionals_.size(); }
  // Given on the command line, or declared with a default; false for an option the command does not
  // declare, so that helpers shared by several commands can ask.
  bool has(const std::string& name) const;
  bool flag(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;

 private:
  friend Args args_parse(const ArgSpec& spec, const std::vector<std::string>& argv);
  const std::string* value(const std::string& name, ArgType type) const;

  const ArgSpec* spec_ = nullptr;
  bool help_ = false;
  std::vector<std::string> positionals_;
  std::map<std::string, std::string> values_;
};

// Accepts "--name value", "--name=value" and "--" (the rest is positional). A value may start with a
// single dash (a negative number) but not with "--": "--prompt --json" is a missing value, write
// "--prompt=--json" to mean it. With -h/--help anywhere the rest is not validated. Throws UsageError.
Args args_parse(const ArgSpec& spec, const std::vector<std::string>& argv);

// The --help text of a subcommand; `program` is the executable's name.
std::string args_help(const ArgSpec& spec, const std::string& program);

}  // namespace qs::cli
