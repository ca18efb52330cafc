// The fixture of the panel tests that need the real window: the demo model open in a MainWindow and
// the panel `id` (panel_registry.cpp) shown; skipped until the demo model is built.
#pragma once
#include <gtest/gtest.h>

#include <QFile>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>

#include "main_window.hpp"
#include "workbench.hpp"

namespace qs {

template <class PanelType>
class DemoPanelTest : public ::testing::Test {
 protected:
  explicit DemoPanelTest(const char* id) : id_(id) {}

  static QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

  void SetUp() override {
    if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
    QSettings().clear();
    QSignalSpy loaded(&window_, &MainWindow::model_loaded);
    window_.resize(1400, 900);
    window_.show();
    window_.model_open(demo_path());
    ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
    panel_ = qobject_cast<PanelType*>(window_.panel(id_));
    ASSERT_NE(panel_, nullptr);
    window_.workbench().panel_show(id_);
    ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->isVisible(); }, 5000));
  }

  const char* id_;
  MainWindow window_;
  PanelType* panel_ = nullptr;
};

}  // namespace qs
