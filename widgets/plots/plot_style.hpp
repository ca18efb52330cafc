// The look every Quantscope plot shares, on screen and in report files: one palette, a bold title with
// a muted subtitle, light grids, logarithmic axes labelled in powers of ten, margins around the data.
// The plot builders (histograms, rate–distortion, error maps) draw through these, so a figure in a
// report and the same figure in a panel look alike.
#pragma once
#include <QColor>
#include <QString>
#include <QVector>
#include <vector>

class QCPAxis;
class QCPTextElement;
class QCustomPlot;

namespace qs {

// The ten colours of matplotlib's default cycle: familiar to readers of papers and told apart easily.
QColor plot_color(int index);
inline const QColor kPlotGrid(225, 225, 225);
inline const QColor kPlotMutedText(110, 110, 110);

struct PlotTitles {
  QCPTextElement* title = nullptr;
  QCPTextElement* subtitle = nullptr;
};
// Adds a title row and a subtitle row above the axis rect, with light grids on both axes.
PlotTitles plot_titles_add(QCustomPlot& plot, const QString& title, const QString& subtitle, double title_scale = 1.4);
// The light grids alone, for a plot whose surroundings say what it shows.
void plot_grids_set(QCustomPlot& plot);

// A logarithmic axis with a base-10 ticker, or back to linear.
void axis_log_set(QCPAxis* axis, bool on);
// Leaves a margin around the data: a factor on a logarithmic axis, a fraction of the span on a linear
// one. A logarithmic axis over two decades or more is labelled in powers of ten (10⁻³); a narrower one
// gets ticks between the powers, which only plain numbers (0.025) label exactly.
void axis_pad(QCPAxis* axis);

// Points of one named line, sorted by x.
struct PlotSeries {
  QString name;
  QVector<double> x, y;
};
// One graph per series in palette order, with markers; `line` false draws markers alone. A series
// without a name takes `unnamed`; the legend shows when names tell the series apart.
void series_draw(QCustomPlot& plot, const std::vector<PlotSeries>& series, bool line, const QString& unnamed);

}  // namespace qs
