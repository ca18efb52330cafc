// Where the embedded demo model lives: the model the GUI opens by default and the README's main
// command runs on.
#pragma once
#include <filesystem>

namespace qs {

// In order: $QUANTSCOPE_DEMO_MODEL; <executable>/../share/quantscope/models/demo (installed);
// the source tree's resources/models/demo. Throws Io when none exists.
std::filesystem::path demo_model_dir();

}  // namespace qs
