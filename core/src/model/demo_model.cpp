// Finds the embedded demo model: from the environment, next to an installed executable, or in the
// source tree of a developer build.
#include "quantscope/demo_model.hpp"

#include <cstdlib>
#include <system_error>

#include "quantscope/error.hpp"

namespace qs {

std::filesystem::path demo_model_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (const char* env = std::getenv("QUANTSCOPE_DEMO_MODEL"); env && *env) {
    // An explicit choice that points nowhere is a mistake to report, not to paper over.
    if (!fs::is_directory(env, ec))
      throw Error(ErrorKind::Io, std::string("QUANTSCOPE_DEMO_MODEL=") + env + ": no such directory");
    return env;
  }
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path() / ".." / "share" / "quantscope" / "models" / "demo";
    if (fs::is_directory(installed, ec)) return installed.lexically_normal();
  }
  const fs::path source = fs::path(QS_RESOURCES_DIR) / "models" / "demo";
  if (fs::is_directory(source, ec)) return source;
  throw Error(ErrorKind::Io, "demo model: not found (looked in $QUANTSCOPE_DEMO_MODEL, "
                             "<executable>/../share/quantscope/models/demo and " + source.string() + ")");
}

}  // namespace qs
