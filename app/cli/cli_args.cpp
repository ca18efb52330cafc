// Parsing and help text for quantscope-cli's command lines (see cli_args.hpp for the rules).
#include "cli_args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace qs::cli {
namespace {

constexpr size_t kHelpWidth = 100;

std::string number_text(double value, ArgType type) {
  std::ostringstream out;
  if (type == ArgType::Integer) out << static_cast<int64_t>(value);
  else out << value;
  return out.str();
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string text;
  for (const auto& choice : choices) text += (text.empty() ? "" : "|") + choice;
  return text;
}

std::string option_label(const OptionSpec& option) {
  std::string label = "--" + option.name;
  if (option.type == ArgType::Flag) return label;
  if (!option.value_name.empty()) return label + " " + option.value_name;
  if (option.type == ArgType::Choice) return label + " " + choices_text(option.choices);
  return label + " VALUE";
}

// Checks a value against its option's type and range; the error names the option and the value.
void value_check(const OptionSpec& option, const std::string& value) {
  const std::string what = "--" + option.name;
  const char* begin = value.data();
  const char* end = value.data() + value.size();
  double number = 0;
  switch (option.type) {
    case ArgType::Flag:
    case ArgType::Text:
      return;
    case ArgType::Choice:
      if (std::find(option.choices.begin(), option.choices.end(), value) == option.choices.end())
        throw UsageError(what + ": '" + value + "' is not one of " + choices_text(option.choices));
      return;
    case ArgType::Integer: {
      int64_t parsed = 0;
      auto [ptr, ec] = std::from_chars(begin, end, parsed);
      if (value.empty() || ec != std::errc() || ptr != end)
        throw UsageError(what + ": '" + value + "' is not a whole number");
      number = static_cast<double>(parsed);
      break;
    }
    case ArgType::Number: {
      double parsed = 0;
      auto [ptr, ec] = std::from_chars(begin, end, parsed);
      if (value.empty() || ec != std::errc() || ptr != end || !std::isfinite(parsed))
        throw UsageError(what + ": '" + value + "' is not a number");
      number = parsed;
      break;
    }
  }
  if (number < option.min)
    throw UsageError(what + " must be at least " + number_text(option.min, option.type) + " (got " + value + ")");
  if (number > option.max)
    throw UsageError(what + " must be at most " + number_text(option.max, option.type) + " (got " + value + ")");
}

// Appends `text` word-wrapped to kHelpWidth, continuation lines indented by `indent` columns.
void wrap_append(std::string& out, const std::string& text, size_t column, size_t indent) {
  std::istringstream words(text);
  std::string word;
  bool first = true;
  while (words >> word) {
    if (!first && column + 1 + word.size() > kHelpWidth) {
      out.append(1, '\n').append(indent, ' ');
      column = indent;
    } else if (!first) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    first = false;
  }
  out += '\n';
}

}  // namespace

ArgSpec::ArgSpec(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgSpec& ArgSpec::positional(PositionalSpec spec) {
  positionals_.push_back(std::move(spec));
  return *this;
}

ArgSpec& ArgSpec::option(OptionSpec spec) {
  if (spec.name == "help" || find(spec.name)) throw std::logic_error("option --" + spec.name + " declared twice");
  if (!spec.default_value.empty()) value_check(spec, spec.default_value);
  options_.push_back(std::move(spec));
  return *this;
}

ArgSpec& ArgSpec::example(std::string line) {
  examples_.push_back(std::move(line));
  return *this;
}

const OptionSpec* ArgSpec::find(const std::string& name) const {
  for (const auto& option : options_)
    if (option.name == name) return &option;
  return nullptr;
}

const std::string* Args::value(const std::string& name, ArgType type) const {
  const OptionSpec* option = spec_ ? spec_->find(name) : nullptr;
  if (!option || option->type != type) throw std::logic_error("option --" + name + " is not declared with this type");
  auto it = values_.find(name);
  if (it != values_.end()) return &it->second;
  return option->default_value.empty() ? nullptr : &option->default_value;
}

bool Args::has(const std::string& name) const {
  const OptionSpec* option = spec_ ? spec_->find(name) : nullptr;
  return option && (values_.count(name) || !option->default_value.empty());
}

bool Args::flag(const std::string& name) const { return value(name, ArgType::Flag) != nullptr; }

const std::string& Args::text(const std::string& name) const {
  const OptionSpec* option = spec_ ? spec_->find(name) : nullptr;
  const std::string* v = value(name, option && option->type == ArgType::Choice ? ArgType::Choice : ArgType::Text);
  if (!v) throw std::logic_error("option --" + name + " has no value; check has() first");
  return *v;
}

int64_t Args::integer(const std::string& name) const {
  const std::string* v = value(name, ArgType::Integer);
  if (!v) throw std::logic_error("option --" + name + " has no value; check has() first");
  int64_t parsed = 0;
  std::from_chars(v->data(), v->data() + v->size(), parsed);
  return parsed;
}

double Args::number(const std::string& name) const {
  const std::string* v = value(name, ArgType::Number);
  if (!v) throw std::logic_error("option --" + name + " has no value; check has() first");
  double parsed = 0;
  std::from_chars(v->data(), v->data() + v->size(), parsed);
  return parsed;
}

Args args_parse(const ArgSpec& spec, const std::vector<std::string>& argv) {
  Args args;
  args.spec_ = &spec;
  for (const auto& arg : argv) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      args.help_ = true;
      return args;
    }
  }

  const bool repeated = !spec.positionals().empty() && spec.positionals().back().repeated;
  bool options_done = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (options_done || arg == "-" || arg.empty() || arg[0] != '-') {
      if (args.positionals_.size() == spec.positionals().size() && !repeated)
        throw UsageError("unexpected argument '" + arg + "'");
      args.positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) throw UsageError("unknown option '" + arg + "'");

    const size_t equals = arg.find('=');
    const std::string name = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const OptionSpec* option = spec.find(name);
    if (!option) throw UsageError("unknown option '--" + name + "'");
    if (args.values_.count(name)) throw UsageError("option '--" + name + "' given twice");

    std::string value;
    if (option->type == ArgType::Flag) {
      if (equals != std::string::npos) throw UsageError("option '--" + name + "' takes no value");
    } else if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else {
      if (i + 1 == argv.size() || argv[i + 1].rfind("--", 0) == 0)
        throw UsageError("option '--" + name + "' needs a value (" + option_label(*option) + ")");
      value = argv[++i];
    }
    value_check(*option, value);
    args.values_[name] = value;
  }

  if (args.positionals_.size() < spec.positionals().size() - (repeated ? 1 : 0))
    throw UsageError("missing argument " + spec.positionals()[args.positionals_.size()].name);
  for (const auto& option : spec.options())
    if (option.required && !args.values_.count(option.name))
      throw UsageError("missing required option '" + option_label(option) + "'");
  return args;
}

std::string args_help(const ArgSpec& spec, const std::string& program) {
  std::string out = "Usage: " + program + " " + spec.command();
  for (const auto& positional : spec.positionals())
    out += positional.repeated ? " [" + positional.name + "...]" : " " + positional.name;
  bool optional_options = false;
  for (const auto& option : spec.options()) {
    if (option.required) out.append(1, ' ').append(option_label(option));
    else optional_options = true;
  }
  out += optional_options ? " [options]\n\n" : "\n\n";
  wrap_append(out, spec.summary(), 0, 0);

  // One column for names, wide enough for most; a longer name puts its help on the next line.
  size_t width = 0;
  for (const auto& positional : spec.positionals()) width = std::max(width, positional.name.size());
  for (const auto& option : spec.options()) width = std::max(width, option_label(option).size());
  width = std::min<size_t>(std::max<size_t>(width, 10), 26);
  const size_t indent = 2 + width + 2;
  auto entry = [&](const std::string& label, const std::string& help) {
    out += "  " + label;
    if (label.size() > width) out.append(1, '\n').append(indent, ' ');
    else out += std::string(width - label.size() + 2, ' ');
    wrap_append(out, help, indent, indent);
  };

  if (!spec.positionals().empty()) {
    out += "\nArguments:\n";
    for (const auto& positional : spec.positionals()) entry(positional.name, positional.help);
  }
  out += "\nOptions:\n";
  for (const auto& option : spec.options()) {
    std::string help = option.help;
    if (option.required) help += " (required)";
    else if (!option.default_value.empty()) help += " (default: " + option.default_value + ")";
    entry(option_label(option), help);
  }
  entry("-h, --help", "show this help and exit");
  if (!spec.examples().empty()) {
    out += "\nExamples:\n";
    for (const auto& line : spec.examples()) out += "  " + program + " " + line + "\n";
  }
  return out;
}

}  // namespace qs::cli
