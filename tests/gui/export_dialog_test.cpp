// File ▸ Export…'s dialog on the demo model: the layers a target cannot hold listed with the reason,
// the fallback that lets them through, the size it shows equal to what the export writes, and the
// window's export job writing the file.
#include <gtest/gtest.h>

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>

#include "export_dialog.hpp"
#include "main_window.hpp"
#include "workbench.hpp"
#include "quantscope/demo_model.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"

namespace qs {
namespace {

TEST(ExportDialog, ListsWhatTheTargetRefusesAndSizesTheFallback) {
  const std::shared_ptr<Model> model = model_load(demo_model_dir());
  const std::vector<LayerFormat> plan = plan_resolve(plan_uniform(format_parse("kmeans2")), *model);
  ExportDialog dialog(model, plan, QString::fromStdString(demo_model_dir().string()));
  dialog.target_set(ExportTarget::Gguf);
  EXPECT_EQ(dialog.problem_count(), 28);
  EXPECT_FALSE(dialog.ready());
  QTemporaryDir dir;
  const QString out = dir.filePath("demo.gguf");
  dialog.output_path_set(out);
  EXPECT_FALSE(dialog.ready());  // still refused
  dialog.fallback_set("q8_0");
  ASSERT_TRUE(dialog.ready()) << dialog.size_text().toStdString();
  const ExportOptions options = dialog.options();
  ASSERT_TRUE(options.fallback.has_value());
  EXPECT_EQ(format_print(*options.fallback), "q8_0");
  const uint64_t expected = export_size(*model, plan, options);
  EXPECT_TRUE(dialog.size_text().contains(QString::number(double(expected) / (1024.0 * 1024.0), 'f', 1)))
      << dialog.size_text().toStdString();
  // The Hugging Face folder holds every format (dequantized).
  dialog.target_set(ExportTarget::Hf);
  EXPECT_EQ(dialog.problem_count(), 0);
}

TEST(ExportDialog, WindowExportsAsAJob) {
  MainWindow window;
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(QString::fromStdString(demo_model_dir().string()));
  ASSERT_TRUE(loaded.wait(60000));
  const std::vector<LayerFormat> plan = plan_resolve(plan_uniform(format_parse("q4_0")), *window.workbench().model());
  QTemporaryDir dir;
  QSignalSpy exported(&window, &MainWindow::exported);
  window.export_run(window.workbench().model(), plan, dir.filePath("demo-q4_0.gguf"), ExportOptions{});
  ASSERT_TRUE(exported.wait(60000));
  EXPECT_TRUE(std::filesystem::exists(dir.filePath("demo-q4_0.gguf").toStdString()));
}

}  // namespace
}  // namespace qs
