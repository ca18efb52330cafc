// The shared look of Quantscope's plots (see plot_style.hpp).
#include "plot_style.hpp"

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace qs {

QColor plot_color(int index) {
  static const QColor palette[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                   {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                   {188, 189, 34},  {23, 190, 207}};
  return palette[index % int(std::size(palette))];
}

PlotTitles plot_titles_add(QCustomPlot& plot, const QString& title, const QString& subtitle, double title_scale) {
  plot.plotLayout()->insertRow(0);
  plot.plotLayout()->insertRow(1);
  QFont title_font = plot.font();
  title_font.setPointSizeF(title_font.pointSizeF() * title_scale);
  title_font.setBold(true);
  PlotTitles titles;
  titles.title = new QCPTextElement(&plot, title, title_font);
  // A space keeps the row's height when there is no subtitle yet, so the axes do not jump later.
  titles.subtitle = new QCPTextElement(&plot, subtitle.isEmpty() ? QStringLiteral(" ") : subtitle, plot.font());
  titles.subtitle->setTextColor(kPlotMutedText);
  plot.plotLayout()->addElement(0, 0, titles.title);
  plot.plotLayout()->addElement(1, 0, titles.subtitle);
  plot_grids_set(plot);
  return titles;
}

void plot_grids_set(QCustomPlot& plot) {
  for (QCPAxis* axis : {plot.xAxis, plot.yAxis}) {
    axis->grid()->setPen(QPen(kPlotGrid, 1, Qt::SolidLine));
    axis->grid()->setSubGridVisible(false);
  }
}

void axis_log_set(QCPAxis* axis, bool on) {
  if (on) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
    ticker->setLogBase(10);
    axis->setTicker(ticker);
    axis->setNumberFormat("eb");
    axis->setNumberPrecision(0);
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    axis->setNumberFormat("g");
    axis->setNumberPrecision(6);
  }
}

void axis_pad(QCPAxis* axis) {
  const QCPRange range = axis->range();
  if (axis->scaleType() == QCPAxis::stLogarithmic) {
    const double factor = std::max(std::pow(range.upper / range.lower, 0.05), 1.5);
    axis->setRange(range.lower / factor, range.upper * factor);
    const bool decades = axis->range().upper / axis->range().lower >= 100;
    axis->setNumberFormat(decades ? "eb" : "g");
    axis->setNumberPrecision(decades ? 0 : 3);
  } else {
    const double pad = range.size() > 0 ? range.size() * 0.05 : std::max(std::abs(range.center()) * 0.1, 1.0);
    axis->setRange(range.lower - pad, range.upper + pad);
  }
}

void series_draw(QCustomPlot& plot, const std::vector<PlotSeries>& series, bool line, const QString& unnamed) {
  for (size_t i = 0; i < series.size(); ++i) {
    const QColor color = plot_color(int(i));
    QCPGraph* graph = plot.addGraph();
    graph->setName(series[i].name.isEmpty() ? unnamed : series[i].name);
    graph->setData(series[i].x, series[i].y, true);
    graph->setLineStyle(line ? QCPGraph::lsLine : QCPGraph::lsNone);
    graph->setPen(QPen(color, 2));
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 7));
  }
  const bool named = series.size() > 1 || (series.size() == 1 && !series.front().name.isEmpty());
  plot.legend->setVisible(named);
}

}  // namespace qs
