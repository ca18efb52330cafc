// The one exception type core throws. Every message is a single line that names the file (or the
// argument) and the problem, so the CLI can print it as is and the GUI can show it in a dialog.
#pragma once
#include <stdexcept>
#include <string>

namespace qs {

enum class ErrorKind {
  Io,           // cannot open, read, write or rename a file
  Format,       // a file is corrupt, truncated or violates its format
  Unsupported,  // well-formed but not something Quantscope handles (architecture, dtype)
  Invalid,      // a bad argument or option value
  Numeric,      // NaN or Inf where finite numbers are required
  Cancelled,    // the job was cancelled by the user
};

const char* error_kind_name(ErrorKind kind);

// The message as one line: control characters (a newline in a key read from a damaged file, say)
// are written as escapes (\n, \t, \x01), so no input can break a report into several lines.
std::string error_line(const std::string& message);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(error_line(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace qs
