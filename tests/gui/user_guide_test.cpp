// The pictures of docs/gui.md: a session on the demo model, grabbed offscreen at each step into
// $QS_GUI_TEST_OUTPUT_DIR/user-guide/ (docs/gui-screenshots.sh copies them into docs/images/). The
// assertions are what each picture claims to show.
#include <gtest/gtest.h>

#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include "budget_panel.hpp"
#include "compare_panel.hpp"
#include "error_map_panel.hpp"
#include "evaluation_panel.hpp"
#include "export_dialog.hpp"
#include "inspector_panel.hpp"
#include "layers_panel.hpp"
#include "main_window.hpp"
#include "plan_table_model.hpp"
#include "qat_panel.hpp"
#include "rate_distortion_panel.hpp"
#include "sensitivity_panel.hpp"
#include "quantscope/format.hpp"
#include "quantscope/plan.hpp"
#include "weight_histogram_plot.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

QString demo_path() { return QS_SOURCE_DIR "/resources/models/demo"; }

bool shot(QWidget& window, const char* name) {
  const QString dir = QS_GUI_TEST_OUTPUT_DIR "/user-guide";
  QDir().mkpath(dir);
  QTest::qWait(50);  // pending layout and paint requests settle first
  return window.grab().save(dir + "/" + name);
}

TEST(UserGuide, ASessionOnTheDemoModel) {
  if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  MainWindow window;
  window.resize(1400, 860);
  window.show();
  QSignalSpy statistics(&window, &MainWindow::statistics_shown);
  QSignalSpy histogram(&window, &MainWindow::histogram_shown);
  window.model_open(demo_path());
  ASSERT_TRUE(QTest::qWaitFor([&] { return statistics.count() == 1 && histogram.count() >= 1; }, 120000));
  EXPECT_TRUE(shot(window, "gui-open.png"));

  // Inspect: the inspector tries kmeans2 on the selected layer, levels used.
  auto* inspector = window.findChild<InspectorPanel*>();
  QSignalSpy quantized(inspector, &InspectorPanel::quantized_shown);
  inspector->view_box()->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Grid));
  inspector->format_edit()->setText("kmeans2");
  ASSERT_TRUE(QTest::qWaitFor([&] { return quantized.count() == 1; }, 60000));
  EXPECT_TRUE(shot(window, "gui-inspect.png"));

  // Compare four formats on the layer, side by side on linked axes.
  Workbench& workbench = window.workbench();
  auto* compare = qobject_cast<ComparePanel*>(window.panel("compare"));
  QSignalSpy compared(compare, &ComparePanel::compared);
  workbench.compare_slots_set({"int3:g64", "quest3", "kmeans3", "nf4"});
  window.dock("compare")->raise();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !compared.isEmpty() && compare->plots_shown() == 4; }, 60000));
  compare->table_view()->selectRow(2);
  EXPECT_TRUE(shot(window, "gui-compare.png"));

  // Where int3:g64 goes wrong in the layer.
  auto* error_map = qobject_cast<ErrorMapPanel*>(window.panel("errormap"));
  QSignalSpy mapped(error_map, &ErrorMapPanel::map_shown);
  error_map->format_edit()->setText("int3:g64");
  window.dock("errormap")->raise();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !mapped.isEmpty(); }, 60000))
      << error_map->findChild<QLabel*>("errorMapStatus")->text().toStdString();
  EXPECT_TRUE(shot(window, "gui-errormap.png"));
  window.dock("inspector")->raise();

  // Edit a plan: int4:g64 by default, the MLP down projections in int8, two layers in kmeans2.
  ASSERT_EQ(workbench.default_set(format_parse("int4:g64")), "");
  ASSERT_EQ(workbench.rule_set(0, PlanRule{"model.layers.*.mlp.down_proj", format_parse("int8"), std::nullopt, {}}), "");
  auto* layers = qobject_cast<LayersPanel*>(window.panel("layers"));
  layers->view()->selectionModel()->select(
      QItemSelection(layers->proxy()->index(1, 0), layers->proxy()->index(2, 0)),
      QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  ASSERT_EQ(layers->selection_format_set("kmeans2"), "");
  EXPECT_EQ(workbench.undo_stack()->count(), 3);
  QTest::qWait(200);
  ASSERT_TRUE(QTest::qWaitFor([&] { return layers->metrics_pending() == 0; }, 120000));
  EXPECT_TRUE(shot(window, "gui-plan.png"));

  // The rules that plan is made of.
  window.dock("rules")->raise();
  EXPECT_TRUE(shot(window, "gui-rules.png"));
  window.dock("layers")->raise();

  // Evaluate it (F5) on the first 2,048 tokens of the held-out text, then int8 everywhere, for the history.
  auto* evaluation = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  QSignalSpy evaluated(evaluation, &EvaluationPanel::evaluated);
  evaluation->max_tokens_box()->setValue(2048);
  evaluation->task_paths_set({});  // the bundled tasks take minutes on 2 cores; perplexity and KL suffice here
  ASSERT_TRUE(evaluation->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 1; }, 120000));
  ASSERT_EQ(workbench.plan_replace(plan_uniform(format_parse("int8")), "int8 everywhere"), "");
  ASSERT_TRUE(evaluation->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 2; }, 120000));
  evaluation->history_view()->selectAll();
  EXPECT_TRUE(shot(window, "gui-evaluate.png"));

  // llama.cpp's q4_k on the selected layer in the inspector, then File ▸ Export… of a plan with
  // k-means layers to GGUF: the layers it cannot hold listed, q8_0 as their fallback.
  window.dock("inspector")->raise();
  QSignalSpy q4k(inspector, &InspectorPanel::quantized_shown);
  inspector->format_edit()->setText("q4_k");
  ASSERT_TRUE(QTest::qWaitFor([&] { return q4k.count() == 1; }, 60000));
  EXPECT_TRUE(shot(window, "gui-inspect-gguf.png"));
  ASSERT_EQ(workbench.plan_replace(plan_uniform(format_parse("q4_0")), "q4_0 everywhere"), "");
  ASSERT_EQ(workbench.rule_set(0, PlanRule{"model.layers.0.*", format_parse("kmeans2"), std::nullopt, {}}), "");
  ExportDialog dialog(workbench.model(), plan_resolve(workbench.plan(), *workbench.model()), demo_path(), &window);
  dialog.output_path_set(QDir::tempPath() + "/demo.gguf");
  dialog.fallback_set("q8_0");
  dialog.show();
  EXPECT_TRUE(shot(dialog, "gui-export.png"));
  dialog.close();
  window.close();
}

// The analysis pictures: a sensitivity scan, the budget slider at 2.5 bits per weight previewed and
// applied, that plan and uniform 2- and 3-bit plans measured on the rate–distortion plot, and a QAT run
// followed live.
TEST(UserGuide, AnalysisOnTheDemoModel) {
  if (!QFile::exists(demo_path() + "/config.json")) GTEST_SKIP() << "demo model not built yet";
  MainWindow window;
  window.resize(1400, 900);
  window.show();
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(demo_path());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  Workbench& workbench = window.workbench();
  workbench.layer_select("model.layers.0.mlp.down_proj");
  window.resizeDocks({window.dock("sensitivity")}, {400}, Qt::Vertical);

  auto* sensitivity = qobject_cast<SensitivityPanel*>(window.panel("sensitivity"));
  workbench.panel_show("sensitivity");
  sensitivity->formats_edit()->setText("int2:g64,int3:g64,int4:g64");
  sensitivity->max_tokens_box()->setValue(2048);
  QSignalSpy scanned(sensitivity, &SensitivityPanel::scan_finished);
  ASSERT_TRUE(sensitivity->scan());
  ASSERT_TRUE(QTest::qWaitFor([&] { return scanned.count() == 1; }, 240000));
  EXPECT_TRUE(shot(window, "gui-sensitivity.png"));

  auto* budget = qobject_cast<BudgetPanel*>(window.panel("budget"));
  workbench.panel_show("budget");
  QSignalSpy solved(budget, &BudgetPanel::solved);
  budget->value_box()->setValue(2.5);
  ASSERT_TRUE(QTest::qWaitFor([&] { return budget->runner()->active_count() == 0 && budget->allocation() &&
                                           std::abs(budget->value_box()->value() - 2.5) < 1e-9; }, 30000));
  QTest::qWait(100);
  ASSERT_TRUE(workbench.plan_preview().has_value());
  EXPECT_TRUE(shot(window, "gui-budget.png"));
  ASSERT_EQ(budget->apply(), QString());

  // The allocation and the uniform 2- and 3-bit plans, measured.
  auto* evaluation = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  evaluation->max_tokens_box()->setValue(2048);
  evaluation->task_paths_set({});
  QSignalSpy evaluated(evaluation, &EvaluationPanel::evaluated);
  ASSERT_TRUE(evaluation->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 1; }, 120000));
  for (const char* format : {"int2:g64", "int3:g64"}) {
    ASSERT_EQ(workbench.plan_replace(plan_uniform(format_parse(format)), "uniform"), "");
    const qsizetype before = evaluated.count();
    ASSERT_TRUE(evaluation->evaluate());
    ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() > before; }, 120000));
  }
  auto* rd = qobject_cast<RateDistortionPanel*>(window.panel("ratedistortion"));
  workbench.panel_show("ratedistortion");
  ASSERT_TRUE(QTest::qWaitFor([&] { return !rd->frontier().empty(); }, 30000));
  EXPECT_TRUE(shot(window, "gui-frontier.png"));

  // A QAT run of quest4 with QuEST's trust estimator, followed as it trains.
  auto* qat = qobject_cast<QatPanel*>(window.panel("qat"));
  workbench.panel_show("qat");
  QTemporaryDir dir;
  QatLaunch launch = qat->launch_defaults();
  launch.format = "quest4";
  launch.steps = 400;
  launch.batch = 4;
  launch.ctx = 64;
  launch.log_every = 2;
  launch.eval_every = 10;
  launch.out = dir.filePath("demo-quest4");
  ASSERT_EQ(qat->launch(launch), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] {
    const auto& run = *qat->runs().back();
    return run.telemetry && run.telemetry->steps.size() >= 30;
  }, 240000));
  qat->layer_show(3);
  qat->curve_box()->setCurrentIndex(0);
  qat->tabs()->setCurrentIndex(0);
  EXPECT_TRUE(shot(window, "gui-qat.png"));
  qat->tabs()->setCurrentIndex(1);
  EXPECT_TRUE(shot(window, "gui-qat-heatmap.png"));
  qat->cancel();
  QSignalSpy ended(qat, &QatPanel::run_ended);
  ASSERT_TRUE(QTest::qWaitFor([&] { return ended.count() == 1; }, 20000));
  window.close();
}

}  // namespace
}  // namespace qs
