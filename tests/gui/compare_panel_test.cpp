// The compare panel on the demo model: three slots draw three histograms on equal, linked axes; the
// metrics table (under QAbstractItemModelTester) marks the best value per column; "Apply" is one undo
// step; moving through the layers quickly compares the last layer only; "Compare Across Layers" fills
// a row per layer and format.
#include <gtest/gtest.h>

#include <qcustomplot.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTest>
#include <QUndoStack>

#include "compare_panel.hpp"
#include "compare_table_model.hpp"
#include "demo_panel_test.hpp"
#include "main_window.hpp"
#include "plot_view.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "weight_histogram_plot.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

TEST(CompareTableModel, MarksTheBestValueOfEachColumnPerLayer) {
  CompareTableModel model;
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
  auto row = [](QString layer, QString format, double bits, double mse, double sqnr) {
    TensorMetrics m;
    m.bits_per_weight = bits;
    m.relative_mse = mse;
    m.sqnr_db = sqnr;
    m.cosine = 1 - mse;
    return CompareResult{layer, format, m, {}, 0.1, {}};
  };
  model.results_set({row("a", "int4", 4.25, 0.01, 20), row("a", "int2", 2.25, 0.2, 7),
                     CompareResult{"a", "quest5", std::nullopt, {}, 0, "does not divide"}, row("b", "int2", 2.25, 0.3, 5)});
  auto best = [&](int r, int c) { return model.index(r, c).data(CompareTableModel::BestRole).toBool(); };
  EXPECT_TRUE(best(0, CompareTableModel::RelativeMse));
  EXPECT_TRUE(best(0, CompareTableModel::Sqnr));
  EXPECT_TRUE(best(0, CompareTableModel::Cosine));
  EXPECT_FALSE(best(0, CompareTableModel::Bits));
  EXPECT_TRUE(best(1, CompareTableModel::Bits));
  EXPECT_FALSE(best(2, CompareTableModel::Bits));  // no metrics
  EXPECT_FALSE(best(3, CompareTableModel::RelativeMse));  // alone on its layer
  EXPECT_EQ(model.index(2, CompareTableModel::Bits).data().toString(), "does not divide");
  EXPECT_FALSE(model.index(0, CompareTableModel::Bits).data(Qt::ToolTipRole).toString().isEmpty());
}

class ComparePanelTest : public DemoPanelTest<ComparePanel> {
 protected:
  ComparePanelTest() : DemoPanelTest("compare") {}
  // Selects `layer` and waits until its comparison is on screen.
  void compare(const QString& layer) {
    QSignalSpy compared(panel_, &ComparePanel::compared);
    window_.workbench().layer_select(layer);
    ASSERT_TRUE(QTest::qWaitFor([&] { return !compared.isEmpty(); }, 60000));
    ASSERT_EQ(compared.last()[0].toString(), layer);
  }

};

TEST_F(ComparePanelTest, ThreeSlotsDrawThreePlotsOnLinkedEqualAxes) {
  QAbstractItemModelTester tester(panel_->table(), QAbstractItemModelTester::FailureReportingMode::Fatal);
  window_.workbench().compare_slots_set({"int2:g64", "quest4", "kmeans2:channel"});
  compare("model.layers.0.mlp.up_proj");
  EXPECT_EQ(panel_->plots_shown(), 3);
  EXPECT_EQ(panel_->table()->rowCount(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(panel_->slot_plot(i)->isVisible()) << i;
  EXPECT_FALSE(panel_->slot_plot(3)->isVisible());
  const QCPRange x = panel_->slot_plot(0)->plot()->xAxis->range(), y = panel_->slot_plot(0)->plot()->yAxis->range();
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(panel_->slot_plot(i)->plot()->xAxis->range(), x) << i;
    EXPECT_EQ(panel_->slot_plot(i)->plot()->yAxis->range(), y) << i;
  }
  // A zoom in one moves the others; double-click's reset brings all back.
  panel_->slot_plot(1)->plot()->xAxis->setRange(x.lower / 2, x.upper / 2);
  for (int i : {0, 2}) EXPECT_EQ(panel_->slot_plot(i)->plot()->xAxis->range(), QCPRange(x.lower / 2, x.upper / 2)) << i;
  panel_->slot_plot(2)->view()->zoom_reset();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(panel_->slot_plot(i)->plot()->xAxis->range(), x) << i;
  // In the grid view, the quest slot draws the Gaussian its grid assumes; the others do not.
  panel_->view_box()->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Grid));
  EXPECT_GT(panel_->slot_plot(1)->gaussian()->dataCount(), 100);
  EXPECT_EQ(panel_->slot_plot(0)->gaussian()->dataCount(), 0);
  // The int2 slot in "levels used" shows at most 4 bars.
  panel_->view_box()->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Levels));
  EXPECT_LE(panel_->slot_plot(0)->bars()->data()->size(), 4);
  // A codebook per row: each code's value spread over the rows' codebooks, beside the bars.
  EXPECT_EQ(panel_->slot_plot(2)->spread()->dataCount(), 4);
  EXPECT_EQ(panel_->slot_plot(0)->spread()->dataCount(), 0);
  panel_->grab().save(QS_GUI_TEST_OUTPUT_DIR "/compare_levels.png");
  // The overlay draws one error curve per format.
  panel_->layout_box()->setCurrentIndex(1);
  EXPECT_EQ(panel_->overlay()->plot()->graphCount(), 3);
  const QImage image = panel_->grab().toImage();
  image.save(QS_GUI_TEST_OUTPUT_DIR "/compare_overlay.png");
}

TEST_F(ComparePanelTest, ApplyIsOneUndoStepAndAFormatThatCannotApplySaysWhy) {
  window_.workbench().compare_slots_set({"int4:g64", "quest4:h512", "kmeans2"});
  compare("model.layers.0.self_attn.q_proj");
  EXPECT_EQ(panel_->plots_shown(), 2);
  EXPECT_TRUE(panel_->table()->index(1, CompareTableModel::Bits).data().toString().contains("512"))
      << panel_->table()->index(1, CompareTableModel::Bits).data().toString().toStdString();
  panel_->table_view()->selectRow(2);
  QUndoStack* undo = window_.workbench().undo_stack();
  const int steps = undo->count();
  EXPECT_EQ(panel_->apply(false), "");
  EXPECT_EQ(undo->count(), steps + 1);
  const PlanLayer* layer = nullptr;
  for (const PlanLayer& l : window_.workbench().assignment().layers)
    if (l.name == "model.layers.0.self_attn.q_proj") layer = &l;
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(format_print(layer->format.format), "kmeans2");
  panel_->table_view()->selectRow(1);
  EXPECT_FALSE(panel_->apply(false).isEmpty());  // quest4:h512 cannot apply
  EXPECT_EQ(undo->count(), steps + 1);
}

TEST_F(ComparePanelTest, RunningThroughLayersComparesOnlyTheLastAndAcrossLayersFillsTheTable) {
  window_.workbench().compare_slots_set({"int4:g64", "kmeans2"});
  QSignalSpy compared(panel_, &ComparePanel::compared);
  const std::vector<LinearLayer> layers = window_.workbench().model()->linear_layers();
  // An arrow key held down: a new layer every 20 ms.
  for (size_t i = 0; i < 8; ++i) {
    window_.workbench().layer_select(QString::fromStdString(layers[i].name));
    QTest::qWait(20);
  }
  ASSERT_TRUE(QTest::qWaitFor([&] { return !compared.isEmpty(); }, 60000));
  QTest::qWait(300);
  ASSERT_EQ(compared.count(), 1);
  EXPECT_EQ(compared[0][0].toString().toStdString(), layers[7].name);

  window_.workbench().layers_select({QString::fromStdString(layers[0].name), QString::fromStdString(layers[1].name),
                                     QString::fromStdString(layers[2].name)});
  QSignalSpy done(panel_, &ComparePanel::across_done);
  panel_->across_run();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !done.isEmpty(); }, 60000));
  EXPECT_EQ(done[0][0].toInt(), 6);
  EXPECT_EQ(panel_->across()->index(5, CompareTableModel::Layer).data().toString().toStdString(), layers[2].name);
}

}  // namespace
}  // namespace qs
