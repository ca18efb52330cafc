// demo_model_dir: the environment override wins and must exist; otherwise the source tree's copy.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/temp_dir.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"

namespace qs {
namespace {

// Sets QUANTSCOPE_DEMO_MODEL for one test and restores it afterwards.
class DemoModelEnv {
 public:
  explicit DemoModelEnv(const std::string& value) {
    if (const char* old = std::getenv("QUANTSCOPE_DEMO_MODEL")) old_ = old, had_ = true;
    ::setenv("QUANTSCOPE_DEMO_MODEL", value.c_str(), 1);
  }
  ~DemoModelEnv() {
    if (had_) ::setenv("QUANTSCOPE_DEMO_MODEL", old_.c_str(), 1);
    else ::unsetenv("QUANTSCOPE_DEMO_MODEL");
  }

 private:
  std::string old_;
  bool had_ = false;
};

TEST(DemoModel, EnvironmentOverrideMustExist) {
  test::TempDir dir;
  {
    DemoModelEnv env(dir.path().string());
    EXPECT_EQ(demo_model_dir(), dir.path());
  }
  DemoModelEnv env((dir / "absent").string());
  try {
    demo_model_dir();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_NE(std::string(e.what()).find("QUANTSCOPE_DEMO_MODEL"), std::string::npos) << e.what();
  }
}

TEST(DemoModel, SourceTreeCopyWithoutOverride) {
  const std::filesystem::path source = std::filesystem::path(QS_SOURCE_DIR) / "resources" / "models" / "demo";
  if (!std::filesystem::is_directory(source)) GTEST_SKIP() << "no demo model in " << source << " yet";
  DemoModelEnv env("");  // empty counts as unset
  EXPECT_EQ(std::filesystem::weakly_canonical(demo_model_dir()), std::filesystem::weakly_canonical(source));
}

}  // namespace
}  // namespace qs
