// Entry point of the GUI tests: GoogleTest needs a QApplication around it, on the offscreen platform
// unless the caller chose one, with settings and caches kept inside the build tree instead of the
// user's, one folder per process so that tests run in parallel never share a settings file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <QApplication>
#include <QByteArray>
#include <QDir>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  const QByteArray process = QByteArray::number(qint64(::getpid()));
  qputenv("XDG_CONFIG_HOME", QS_GUI_TEST_OUTPUT_DIR "/config-" + process);
  qputenv("QUANTSCOPE_CACHE_DIR", QS_GUI_TEST_OUTPUT_DIR "/cache-" + process);
  ::testing::InitGoogleTest(&argc, argv);
  QApplication app(argc, argv);
  QApplication::setOrganizationName("Quantscope");
  QApplication::setApplicationName("quantscope-gui-tests");
  const int status = RUN_ALL_TESTS();
  for (const char* prefix : {"/config-", "/cache-"}) QDir(QS_GUI_TEST_OUTPUT_DIR + (prefix + process)).removeRecursively();
  return status;
}
