// The error map panel on the demo model: the map of a layer in a format covers the whole weight at
// screen resolution; a zoom re-pools only the visible window (finer tiles); group boundaries appear
// once a group is wide enough on screen; a click on an outlier strip marks that row; a format the
// layer cannot take says why in the panel.
#include <gtest/gtest.h>

#include <qcustomplot.h>

#include <QComboBox>
#include <QFile>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>
#include <cmath>

#include "error_map_panel.hpp"
#include "demo_panel_test.hpp"
#include "main_window.hpp"
#include "plot_view.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

class ErrorMapPanelTest : public DemoPanelTest<ErrorMapPanel> {
 protected:
  ErrorMapPanelTest() : DemoPanelTest("errormap") {}
};

TEST_F(ErrorMapPanelTest, MapsTheWholeLayerThenRepoolsTheZoomedWindow) {
  QSignalSpy shown(panel_, &ErrorMapPanel::map_shown);
  panel_->format_edit()->setText("int4:g8");
  window_.workbench().layer_select("model.layers.0.mlp.down_proj");  // 256 × 640
  ASSERT_TRUE(QTest::qWaitFor([&] { return !shown.isEmpty(); }, 60000));
  const ErrorMapTiles whole = panel_->tiles();
  EXPECT_EQ(whole.window.rows, 256);
  EXPECT_EQ(whole.window.cols, 640);
  EXPECT_LE(whole.tile_cols, 640);
  EXPECT_GT(whole.max, 0.f);
  EXPECT_EQ(panel_->color_map()->data()->keySize(), whole.tile_cols);
  EXPECT_EQ(panel_->group_lines(), 0);  // 80 groups across a few hundred pixels: too narrow to draw

  panel_->grab().save(QS_GUI_TEST_OUTPUT_DIR "/error_map.png");  // for a look by eye
  QCustomPlot* plot = panel_->view()->plot();
  plot->xAxis->setRange(64, 192);
  plot->yAxis->setRange(10, 42);
  ASSERT_TRUE(QTest::qWaitFor([&] { return shown.count() >= 2 && panel_->tiles().window.cols == 128; }, 10000));
  const ErrorMapTiles zoomed = panel_->tiles();
  EXPECT_EQ(zoomed.window.col, 64);
  EXPECT_EQ(zoomed.window.row, 10);
  EXPECT_EQ(zoomed.window.rows, 32);
  EXPECT_EQ(panel_->group_lines(), 15);  // the boundaries at 72, 80, …, 184
  EXPECT_LE(zoomed.max, whole.max);
  panel_->grab().save(QS_GUI_TEST_OUTPUT_DIR "/error_map_zoomed.png");
  {  // the boundary at column 72 is a white pixel column across the map
    const QImage image = plot->toPixmap().toImage();
    const int x = int(std::lround(plot->xAxis->coordToPixel(72)));
    int white = 0;
    for (int dx = -1; dx <= 1; ++dx) white += QColor(image.pixel(x + dx, int(plot->yAxis->coordToPixel(26)))) == Qt::white;
    EXPECT_EQ(white, 1);
  }

  panel_->outlier_mark(5, false);
  panel_->view()->zoom_reset();
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel_->tiles().window.cols == 640; }, 10000));
}

TEST_F(ErrorMapPanelTest, AFormatTheLayerCannotTakeSaysWhy) {
  QSignalSpy failed(panel_, &ErrorMapPanel::map_failed);
  panel_->format_edit()->setText("quest4:h512");
  window_.workbench().layer_select("model.layers.0.self_attn.q_proj");  // 256 inputs
  ASSERT_TRUE(QTest::qWaitFor([&] { return !failed.isEmpty(); }, 60000));
  EXPECT_NE(failed[0][1].toString().indexOf("512"), -1) << failed[0][1].toString().toStdString();
}

}  // namespace
}  // namespace qs
