// The rate–distortion figure: a distortion (KL, perplexity) against a rate (bits per weight, bytes),
// one line per format family, optionally with the Pareto front of all points. The reports of
// `quantscope-cli run` and the evaluation panel's history draw it through this one builder.
#pragma once
#include <QString>
#include <QVector>
#include <vector>

#include "plot_style.hpp"

class QCustomPlot;

namespace qs {

struct RateDistortionFigure {
  QString title, subtitle;
  QString x_label, y_label;
  std::vector<PlotSeries> series;
  bool lines = true;    // join each series' points (a family's sweep); markers alone otherwise
  bool log_y = true;
  bool pareto = false;  // draw the front of points no other point beats on both axes
};

// Draws into a plot that has no title yet; non-positive y values on a log axis are left out by the
// caller (see the subtitle for saying so). A figure without title and subtitle adds no title rows, so
// a panel, whose controls say what the plot shows, can clear its graphs and draw again into the same
// plot.
void rate_distortion_draw(QCustomPlot& plot, const RateDistortionFigure& figure);

// Indices of the points that no other point dominates (lower or equal on both x and y, lower on one),
// sorted by x: the best distortion for each rate.
std::vector<int> pareto_front(const QVector<double>& x, const QVector<double>& y);

}  // namespace qs
