// The analysis panels on the demo model: a sensitivity scan made in the window (bars = layers ×
// formats, the worst list drives the selection, CSV, a repeated scan measures nothing), the budget
// slider (its preview equals allocation_solve at each value and fits it, fast moves run at most two
// solves, Apply is one undo step), the rate–distortion frontier (its points are allocation_frontier's,
// clicking one loads its plan as one undo step), a results.h5 opened in a fresh window, a session
// keeping the scan and the budget, and the same path on stories260K, a real pretrained model.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QUndoStack>
#include <cmath>
#include <qcustomplot.h>

#include "budget_panel.hpp"
#include "eval_history_model.hpp"
#include "evaluation_panel.hpp"
#include "demo_panel_test.hpp"
#include "plot_view.hpp"
#include "quantscope/allocate.hpp"
#include "rate_distortion_panel.hpp"
#include "sensitivity_model.hpp"
#include "sensitivity_panel.hpp"

namespace qs {
namespace {

class AnalysisPanels : public DemoPanelTest<SensitivityPanel> {
 protected:
  AnalysisPanels() : DemoPanelTest("sensitivity") {}

  // A two-format scan on a short stretch of the demo's held-out text.
  void scan() {
    panel_->formats_edit()->setText("int2:g64,int4:g64");
    panel_->max_tokens_box()->setValue(512);
    QSignalSpy done(panel_, &SensitivityPanel::scan_finished);
    QSignalSpy failed(panel_, &SensitivityPanel::scan_failed);
    ASSERT_TRUE(panel_->scan()) << panel_->status_label()->text().toStdString();
    ASSERT_TRUE(QTest::qWaitFor([&] { return done.count() + failed.count() > 0; }, 240000));
    ASSERT_EQ(failed.count(), 0) << failed.front().front().toString().toStdString();
  }

  int computed_in_last_scan() const {
    QFile summary(panel_->scan_dir() + "/summary.json");
    if (!summary.open(QIODevice::ReadOnly)) return -1;
    return QJsonDocument::fromJson(summary.readAll()).object()["computed"].toInt(-1);
  }

  static int bar_count(QCustomPlot& plot) {
    int n = 0;
    for (int i = 0; i < plot.plottableCount(); ++i)
      if (auto* bars = qobject_cast<QCPBars*>(plot.plottable(i))) n += bars->data()->size();
    return n;
  }
};

TEST_F(AnalysisPanels, ScanShowsBarsPerLayerAndFormatAndRepeatsFromTheCache) {
  scan();
  SensitivityModel& model = *panel_->model();
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
  const int layers = model.rowCount();
  ASSERT_EQ(layers, 28);
  EXPECT_EQ(model.formats(), QStringList({"int2:g64", "int4:g64"}));
  EXPECT_EQ(bar_count(*panel_->bars_plot()->plot()), layers * 2);
  EXPECT_GT(computed_in_last_scan(), 0);
  panel_->grab().save(QS_GUI_TEST_OUTPUT_DIR "/analysis_sensitivity.png");

  // Every layer's int2 ΔKL is larger than its int4 one on this model, and the worst list starts with
  // the layer of the largest ΔKL.
  const auto& scans = window_.workbench().scans();
  ASSERT_EQ(scans.size(), 2u);
  double worst = -1;
  QString worst_layer;
  for (const LayerSensitivity& l : scans[0].layers)
    if (l.delta_kl > worst) {
      worst = l.delta_kl;
      worst_layer = QString::fromStdString(l.name);
    }
  ASSERT_GT(panel_->worst_list()->count(), 0);
  EXPECT_EQ(panel_->worst_list()->item(0)->text(), worst_layer);
  panel_->worst_list()->setCurrentRow(0);
  EXPECT_EQ(window_.workbench().selected_layer(), worst_layer);

  // Sorted: the first bar is the worst layer's.
  panel_->order_box()->setCurrentIndex(1);
  EXPECT_EQ(panel_->bar_layer(1), worst_layer);
  EXPECT_EQ(bar_count(*panel_->bars_plot()->plot()), layers * 2);

  // CSV: a header and a line per layer and format.
  QTemporaryDir dir;
  panel_->csv_write(dir.filePath("s.csv"));
  QFile csv(dir.filePath("s.csv"));
  ASSERT_TRUE(csv.open(QIODevice::ReadOnly));
  EXPECT_EQ(csv.readAll().count("\r\n"), 1 + layers * 2);

  // The command names the same folder, so the CLI shares the cache.
  EXPECT_TRUE(panel_->command().contains("--out " + panel_->scan_dir())) << panel_->command().toStdString();
  EXPECT_TRUE(panel_->command().startsWith("quantscope-cli sensitivity "));

  scan();
  EXPECT_EQ(computed_in_last_scan(), 0);
}

TEST_F(AnalysisPanels, BudgetPreviewEqualsTheExactAllocationAndApplyIsOneUndoStep) {
  scan();
  auto* budget = qobject_cast<BudgetPanel*>(window_.panel("budget"));
  ASSERT_NE(budget, nullptr);
  Workbench& workbench = window_.workbench();
  const std::shared_ptr<const AllocationProblem> problem = workbench.allocation();
  ASSERT_TRUE(problem);
  QSignalSpy solved(budget, &BudgetPanel::solved);
  ASSERT_TRUE(QTest::qWaitFor([&] { return budget->allocation().has_value(); }, 10000));
  for (double v : {2.5, 3.0, 3.7, 4.2, 2.9}) {
    solved.clear();
    budget->value_box()->setValue(v);
    ASSERT_TRUE(QTest::qWaitFor([&] { return solved.count() > 0 && budget->runner()->active_count() == 0; }, 10000));
    const double value = budget->value_box()->value();
    const Allocation expected = allocation_solve(*problem, {AllocationBudget::Kind::BitsPerWeight, value});
    ASSERT_TRUE(budget->allocation());
    EXPECT_LE(budget->allocation()->bits_per_weight, value + 1e-12);
    EXPECT_EQ(budget->allocation()->choice, expected.choice) << v;
    ASSERT_TRUE(workbench.plan_preview());
    EXPECT_EQ(plan_json(*workbench.plan_preview()), plan_json(allocation_plan(*problem, expected)));
  }

  // Fast moves: every value is submitted before the worker can pick any up but the first.
  QSignalSpy finished(budget->runner(), &JobRunner::finished);
  for (int p = 100; p <= 900; p += 50) budget->slider()->setValue(p);
  ASSERT_TRUE(QTest::qWaitFor([&] { return budget->runner()->active_count() == 0; }, 10000));
  EXPECT_LE(finished.count(), 2);
  const double last = budget->value_box()->value();
  EXPECT_EQ(budget->allocation()->choice,
            allocation_solve(*problem, {AllocationBudget::Kind::BitsPerWeight, last}).choice);

  window_.grab().save(QS_GUI_TEST_OUTPUT_DIR "/analysis_budget_window.png");
  // The preview is not the plan; Apply makes it so as one undo step, and undo takes it back.
  const std::string before = plan_json(workbench.plan());
  EXPECT_NE(plan_json(*workbench.plan_preview()), before);
  const int undo = workbench.undo_stack()->count();
  const std::string preview = plan_json(*workbench.plan_preview());
  EXPECT_EQ(budget->apply(), QString());
  EXPECT_EQ(workbench.undo_stack()->count(), undo + 1);
  EXPECT_EQ(plan_json(workbench.plan()), preview);
  EXPECT_FALSE(workbench.plan_preview());
  workbench.undo_stack()->undo();
  EXPECT_EQ(plan_json(workbench.plan()), before);
}

TEST_F(AnalysisPanels, FrontierPointsAreTheAllocationFrontierAndAClickLoadsAPlan) {
  scan();
  auto* rd = qobject_cast<RateDistortionPanel*>(window_.panel("ratedistortion"));
  ASSERT_NE(rd, nullptr);
  Workbench& workbench = window_.workbench();
  const std::vector<Allocation> frontier = allocation_frontier(*workbench.allocation());
  ASSERT_TRUE(QTest::qWaitFor([&] { return rd->frontier().size() == frontier.size(); }, 20000));
  QCustomPlot& plot = *rd->plot_view()->plot();
  QCPGraph* front = nullptr;
  for (int g = 0; g < plot.graphCount(); ++g)
    if (plot.graph(g)->name() == "predicted frontier") front = plot.graph(g);
  ASSERT_NE(front, nullptr);
  EXPECT_EQ(front->data()->size(), int(frontier.size()));

  const int middle = front->data()->size() / 2;
  const int point = rd->point_at(front, middle);
  ASSERT_GE(point, 0);
  const int undo = workbench.undo_stack()->count();
  EXPECT_EQ(rd->point_load(point), QString());
  EXPECT_EQ(workbench.undo_stack()->count(), undo + 1);
  EXPECT_EQ(plan_json(workbench.plan()), plan_json(allocation_plan(*workbench.allocation(), frontier[size_t(middle)])));
  EXPECT_NEAR(workbench.totals().bits_per_weight, frontier[size_t(middle)].bits_per_weight, 1e-9);
  workbench.panel_show("ratedistortion");
  QTest::qWait(50);
  rd->grab().save(QS_GUI_TEST_OUTPUT_DIR "/analysis_rate_distortion.png");
}

TEST_F(AnalysisPanels, AResultsFileOpensInAFreshWindowAndASessionKeepsScanAndBudget) {
  scan();
  auto* budget = qobject_cast<BudgetPanel*>(window_.panel("budget"));
  budget->value_box()->setValue(2.75);
  QTemporaryDir dir;
  const QString session = dir.filePath("s.qscope.json");
  window_.session_save(session);

  MainWindow fresh;
  fresh.resize(1200, 800);
  fresh.show();
  QSignalSpy loaded(&fresh, &MainWindow::model_loaded);
  EXPECT_EQ(fresh.session_open(session), QString());
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  ASSERT_TRUE(QTest::qWaitFor([&] { return fresh.workbench().scans().size() == 2; }, 10000));
  EXPECT_EQ(fresh.workbench().results_path(), window_.workbench().results_path());
  auto* restored = qobject_cast<BudgetPanel*>(fresh.panel("budget"));
  EXPECT_DOUBLE_EQ(restored->value_box()->value(), 2.75);
  auto* sensitivity = qobject_cast<SensitivityPanel*>(fresh.panel("sensitivity"));
  EXPECT_EQ(bar_count(*sensitivity->bars_plot()->plot()), 28 * 2);
  EXPECT_EQ(sensitivity->formats_edit()->text(), "int2:g64,int4:g64");

  // Opened as a file: the same tables in the same panels.
  MainWindow other;
  EXPECT_TRUE(other.results_open(panel_->scan_dir() + "/results.h5"));
  EXPECT_EQ(qobject_cast<SensitivityPanel*>(other.panel("sensitivity"))->model()->rowCount(), 28);
}

// A real pretrained model: stories260K (llama2.c) scanned with per-channel int2, int3 and int4 on
// TinyStories, allocated at 2.5 bits per weight from the slider, applied and evaluated.
TEST(AnalysisStories260K, ScanAllocateApplyAndEvaluate) {
  const QString model = QS_DATA_DIR "/models/stories260K/stories260K.bin";
  const QString text = QS_DATA_DIR "/text/tinystories-valid-subset/tinystories_valid_first.txt";
  if (!QFile::exists(model) || !QFile::exists(text)) GTEST_SKIP() << "stories260K or TinyStories not in ../shared/data";
  QSettings().clear();
  MainWindow window;
  window.show();
  QSignalSpy loaded(&window, &MainWindow::model_loaded);
  window.model_open(model);
  ASSERT_TRUE(QTest::qWaitFor([&] { return loaded.count() == 1; }, 60000));
  auto* sensitivity = qobject_cast<SensitivityPanel*>(window.panel("sensitivity"));
  sensitivity->formats_edit()->setText("int2,int3,int4");
  sensitivity->calibration_edit()->setText(text);
  sensitivity->evaluation_edit()->setText(text);
  sensitivity->max_tokens_box()->setValue(1024);
  QSignalSpy scanned(sensitivity, &SensitivityPanel::scan_finished);
  ASSERT_TRUE(sensitivity->scan()) << sensitivity->status_label()->text().toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return scanned.count() == 1; }, 240000));
  EXPECT_EQ(sensitivity->model()->rowCount(), 35);

  auto* budget = qobject_cast<BudgetPanel*>(window.panel("budget"));
  budget->value_box()->setValue(2.5);
  ASSERT_TRUE(QTest::qWaitFor([&] { return budget->runner()->active_count() == 0 && budget->allocation(); }, 30000));
  const Allocation expected = allocation_solve(*window.workbench().allocation(), {AllocationBudget::Kind::BitsPerWeight, 2.5});
  EXPECT_EQ(budget->allocation()->choice, expected.choice);
  EXPECT_LE(budget->allocation()->bits_per_weight, 2.5);
  ASSERT_EQ(budget->apply(), QString());
  EXPECT_NEAR(window.workbench().totals().bits_per_weight, expected.bits_per_weight, 1e-9);

  auto* evaluation = qobject_cast<EvaluationPanel*>(window.panel("evaluation"));
  evaluation->text_edit()->setText(text);
  evaluation->max_tokens_box()->setValue(1024);
  QSignalSpy evaluated(evaluation, &EvaluationPanel::evaluated);
  ASSERT_TRUE(evaluation->evaluate());
  ASSERT_TRUE(QTest::qWaitFor([&] { return evaluated.count() == 1; }, 120000));
  const PlanMetrics& m = evaluation->history()->records().back().metrics;
  std::cout << "stories260K at " << m.bits_per_weight << " bits/weight: KL " << m.kl.mean << " (predicted ΣΔKL "
            << expected.predicted_loss << "), perplexity " << m.kl.model.perplexity << " (base "
            << m.kl.reference.perplexity << ")\n";
  EXPECT_GT(m.kl.mean, 0);
  EXPECT_LE(m.bits_per_weight, 2.5);
}

}  // namespace
}  // namespace qs
