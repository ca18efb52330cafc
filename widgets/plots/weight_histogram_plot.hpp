// The histogram of one layer's weights: the first thing to look at when judging how a layer will
// quantize (its spread, its outliers, the weight of its tails). It also shows what a format does to
// the layer: the values its grid or codebook applies to, with the levels drawn over them. The counts
// are computed in jobs by core (histogram_compute, tensor_quantize); this widget only draws them.
#pragma once
#include <QList>
#include <QVector>
#include <QString>
#include <QWidget>
#include <cstdint>

#include "quantscope/stats.hpp"

class QCheckBox;
class QCustomPlot;
class QCPBars;
class QCPErrorBars;
class QCPGraph;
class QCPItemLine;
class QCPItemText;
class QCPTextElement;

namespace qs {

class PlotView;
struct QuantizedTensor;

class WeightHistogramPlot : public QWidget {
  Q_OBJECT

 public:
  explicit WeightHistogramPlot(QWidget* parent = nullptr);

  // Rice's rule (2 n^(1/3)) within [16, 256]: fine enough to show the shape of a small layer's
  // distribution without turning a large layer's into noise.
  static int bins_choose(int64_t count);

  // Plots `histogram` of layer `layer`; the title shows the layer's statistics.
  void histogram_show(const QString& layer, const Histogram& histogram, const TensorStats& stats);
  // What a quantized layer shows. Grid: the values the grid or codebook applies to, with a vertical
  // line at each level. Levels: one bar per level (or per code, for per-row and per-group
  // codebooks) with how many weights use it, so an int2 layer shows at most 4 bars. Error: ŵ − w.
  enum class QuantizedView { Grid, Levels, Error };
  // The caption gives the format, its bits per weight and the error metrics.
  void quantized_show(const QString& layer, const QuantizedTensor& q, QuantizedView view = QuantizedView::Grid);
  // Clears the bars and shows `text` in the plot area (an empty state, or why there is no histogram).
  void message_show(const QString& text);

  bool log_scale() const;
  void log_scale_set(bool on);
  // For small multiples: the format as the title over one line of metrics, and no log box of its own
  // (they share one, and the context menu's entry).
  void compact_set();

  const QString& layer() const { return layer_; }  // the plotted layer; empty when none
  QCustomPlot* plot() const { return plot_; }
  PlotView* view() const { return view_; }
  QCPBars* bars() const { return bars_; }
  // QuEST's Gaussian in the values view; per-row/group codebook spread in the levels view (else empty).
  QCPGraph* gaussian() const { return gaussian_; }
  QCPGraph* spread() const { return spread_; }
  // Level lines on screen: the quantized view's grid or codebook; 0 in the weight-histogram view.
  int level_count() const { return static_cast<int>(level_lines_.size()); }

 Q_SIGNALS:
  void log_scale_changed(bool on);

 private:
  void value_axis_update();
  void axes_show(bool on);
  void bars_set(const Histogram& histogram);
  void bars_set(const QVector<double>& keys, const QVector<double>& values, double width);
  void levels_bars_set(const QuantizedTensor& q);
  void levels_clear();
  void gaussian_draw(const Histogram& histogram);
  void spread_draw(const QuantizedTensor& q);

  QCheckBox* log_box_;
  PlotView* view_;
  QCustomPlot* plot_;
  QCPBars* bars_;
  QCPGraph* gaussian_;
  QCPGraph* spread_;
  QCPErrorBars* spread_bars_;
  QCPTextElement* title_;
  QCPTextElement* subtitle_;
  QCPItemText* message_;
  QList<QCPItemLine*> level_lines_;
  QString layer_;
  double max_count_ = 0;
  bool compact_ = false;
};

}  // namespace qs
