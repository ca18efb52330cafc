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

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace qs
