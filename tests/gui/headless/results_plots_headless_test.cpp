// results_plots_write in a program that has no QApplication and no display, as quantscope-cli is: it
// must make its own offscreen application (even when another platform is asked for), keep it for
// later calls, and write the plots. Its own executable, because the GUI suite creates a QApplication
// in main().
#include <gtest/gtest.h>
#include <stdlib.h>

#include <QApplication>
#include <QImage>
#include <QTemporaryDir>
#include <filesystem>

#include "results_plots.hpp"

namespace qs {
namespace {

ResultSet results_example() {
  ResultSet results;
  ResultTable sweep{.name = "sweep"};
  for (size_t row = 0; row < 4; ++row) {
    sweep.number_set("bits_per_weight", row, 2.0 + double(row), "bits");
    sweep.number_set("kl_mean", row, 1.0 / double(1 << (2 * row)), "nats");
  }
  results.tables.push_back(sweep);
  return results;
}

TEST(ResultsPlotsHeadless, MakesAnOffscreenApplicationAndKeepsIt) {
  ::unsetenv("DISPLAY");
  ::unsetenv("WAYLAND_DISPLAY");
  ::setenv("QT_QPA_PLATFORM", "xcb", 1);
  ASSERT_EQ(QCoreApplication::instance(), nullptr);
  QTemporaryDir temp;
  ASSERT_TRUE(temp.isValid());
  const std::filesystem::path dir(temp.path().toStdString());

  ASSERT_EQ(results_plots_write(results_example(), dir / "first").size(), 2u);
  QCoreApplication* app = QCoreApplication::instance();
  ASSERT_NE(qobject_cast<QApplication*>(app), nullptr);
  EXPECT_EQ(QGuiApplication::platformName(), "offscreen");

  ASSERT_EQ(results_plots_write(results_example(), dir / "second").size(), 2u);
  EXPECT_EQ(QCoreApplication::instance(), app);
  const QImage image(QString::fromStdString((dir / "second" / "sweep_kl.png").string()));
  EXPECT_EQ(image.size(), QSize(1200, 800));
  EXPECT_GT(std::filesystem::file_size(dir / "second" / "sweep_kl.pdf"), 1000u);
}

}  // namespace
}  // namespace qs
