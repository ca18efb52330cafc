// rate_distortion_draw and the Pareto front (see rate_distortion_plot.hpp).
#include "rate_distortion_plot.hpp"

#include <qcustomplot.h>

#include <algorithm>
#include <limits>
#include <numeric>

namespace qs {

std::vector<int> pareto_front(const QVector<double>& x, const QVector<double>& y) {
  std::vector<int> order(size_t(x.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return x[a] != x[b] ? x[a] < x[b] : y[a] < y[b]; });
  std::vector<int> front;
  double best = std::numeric_limits<double>::infinity();
  for (const int i : order)
    if (y[i] < best) {
      best = y[i];
      front.push_back(i);
    }
  return front;
}

void rate_distortion_draw(QCustomPlot& plot, const RateDistortionFigure& figure) {
  if (figure.title.isEmpty() && figure.subtitle.isEmpty()) plot_grids_set(plot);
  else plot_titles_add(plot, figure.title, figure.subtitle);
  series_draw(plot, figure.series, figure.lines, figure.y_label);
  if (figure.pareto) {
    QVector<double> x, y;
    for (const PlotSeries& s : figure.series) {
      x += s.x;
      y += s.y;
    }
    QVector<double> fx, fy;
    for (const int i : pareto_front(x, y)) {
      fx.push_back(x[i]);
      fy.push_back(y[i]);
    }
    if (!fx.isEmpty()) {
      QCPGraph* front = plot.addGraph();
      front->setName(QObject::tr("Pareto front"));
      front->setData(fx, fy, true);
      front->setLineStyle(QCPGraph::lsStepLeft);
      front->setPen(QPen(kPlotMutedText, 1.5, Qt::DashLine));
      plot.legend->setVisible(true);
    }
  }
  plot.xAxis->setLabel(figure.x_label);
  plot.yAxis->setLabel(figure.y_label);
  axis_log_set(plot.yAxis, figure.log_y);
  plot.rescaleAxes();
  axis_pad(plot.xAxis);
  axis_pad(plot.yAxis);
  plot.axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
}

}  // namespace qs
