// Names of error kinds and the one-line form of messages, for the CLI's and the GUI's reports.
#include "quantscope/error.hpp"

namespace qs {

std::string error_line(const std::string& message) {
  std::string line;
  line.reserve(message.size());
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      line += c;
    } else if (c == '\n') {
      line += "\\n";
    } else if (c == '\r') {
      line += "\\r";
    } else if (c == '\t') {
      line += "\\t";
    } else {
      static const char kHex[] = "0123456789abcdef";
      line += "\\x";
      line += kHex[u >> 4];
      line += kHex[u & 15];
    }
  }
  return line;
}

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Io: return "io";
    case ErrorKind::Format: return "format";
    case ErrorKind::Unsupported: return "unsupported";
    case ErrorKind::Invalid: return "invalid";
    case ErrorKind::Numeric: return "numeric";
    case ErrorKind::Cancelled: return "cancelled";
  }
  return "unknown";
}

}  // namespace qs
