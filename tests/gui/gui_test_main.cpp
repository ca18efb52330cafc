// Entry point of the GUI tests: GoogleTest needs a QApplication around it, on the offscreen platform
// unless the caller chose one, with settings kept inside the build tree instead of the user's.
#include <gtest/gtest.h>

#include <QApplication>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  qputenv("XDG_CONFIG_HOME", QS_GUI_TEST_OUTPUT_DIR "/config");
  ::testing::InitGoogleTest(&argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Quantscope");
  QApplication::setApplicationName("quantscope-gui-tests");
  return RUN_ALL_TESTS();
}
