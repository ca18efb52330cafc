// The plot frame every panel uses: PNG and PDF files of the requested size, written atomically; the
// data as TSV and the image on the clipboard; reset zoom; the log scale; the hover readout; and the
// Pareto front the rate–distortion builder draws.
#include <gtest/gtest.h>

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFile>
#include <QImage>
#include <QMimeData>
#include <QTemporaryDir>

#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "rate_distortion_plot.hpp"

namespace qs {
namespace {

void line_draw(PlotView& view) {
  QCPGraph* graph = view.plot()->addGraph();
  graph->setName("line");
  graph->setData({1, 2, 3}, {10, 100, 1000});
  view.plot()->xAxis->setLabel("bits");
  view.plot()->yAxis->setLabel("KL");
  view.plot()->rescaleAxes();
  view.home_save();
}

TEST(PlotView, SavesPngAndPdfOfTheRequestedSize) {
  PlotView view;
  line_draw(view);
  QTemporaryDir dir;
  view.image_save(dir.filePath("plot.png"), 640, 360);
  const QImage png(dir.filePath("plot.png"));
  EXPECT_EQ(png.size(), QSize(640, 360));
  view.image_save(dir.filePath("plot.pdf"), 500, 300);
  QFile pdf(dir.filePath("plot.pdf"));
  ASSERT_TRUE(pdf.open(QIODevice::ReadOnly));
  const QByteArray bytes = pdf.readAll();
  EXPECT_TRUE(bytes.startsWith("%PDF"));
  // QPdfWriter's page box in points: the requested size.
  EXPECT_TRUE(bytes.contains("/MediaBox [0 0 500.000000 300.000000]"));
  EXPECT_EQ(QDir(dir.path()).entryList(QDir::Files).size(), 2);  // no temporary left behind
  EXPECT_THROW(view.image_save(dir.filePath("plot.gif"), 100, 100), Error);
  EXPECT_THROW(view.image_save(dir.filePath("missing/plot.png"), 100, 100), Error);
}

TEST(PlotView, CopiesDataAsTsvAndTheImage) {
  PlotView view;
  view.resize(400, 300);
  view.show();
  line_draw(view);
  view.data_copy();
  EXPECT_EQ(QApplication::clipboard()->text(), "series\tbits\tKL\nline\t1\t10\nline\t2\t100\nline\t3\t1000\n");
  view.image_copy();
  EXPECT_EQ(QApplication::clipboard()->image().size(), QSize(400, 300));
}

TEST(PlotView, ResetsZoomAndSwitchesToALogScale) {
  PlotView view;
  view.resize(400, 300);
  line_draw(view);
  const QCPRange x = view.plot()->xAxis->range();
  view.plot()->xAxis->setRange(1.5, 2.5);
  view.zoom_reset();
  EXPECT_EQ(view.plot()->xAxis->range(), x);
  view.log_y_set(true);
  EXPECT_EQ(view.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_LT(view.plot()->yAxis->range().lower, 10);
  EXPECT_GT(view.plot()->yAxis->range().lower, 0);
  view.plot()->replot();
  // The readout names the nearest point under the mouse.
  const QPointF at(view.plot()->xAxis->coordToPixel(2), view.plot()->yAxis->coordToPixel(100));
  EXPECT_EQ(view.readout_text(at), "line: 2 → 100");
}

TEST(RateDistortionPlot, ParetoFrontKeepsThePointsNothingBeats) {
  const QVector<double> bits = {2, 3, 4, 4, 5, 3};
  const QVector<double> kl = {0.5, 0.6, 0.1, 0.2, 0.1, 0.3};
  EXPECT_EQ(pareto_front(bits, kl), (std::vector<int>{0, 5, 2}));
  QCustomPlot plot;
  rate_distortion_draw(plot, {"t", "", "bits", "KL", {{"a", bits, kl}}, false, true, true});
  ASSERT_EQ(plot.graphCount(), 2);
  EXPECT_EQ(plot.graph(1)->name(), "Pareto front");
  EXPECT_EQ(plot.graph(1)->dataCount(), 3);
}

}  // namespace
}  // namespace qs
