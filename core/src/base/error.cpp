// Names of error kinds, for the CLI's and the GUI's one-line reports.
#include "quantscope/error.hpp"

namespace qs {

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
