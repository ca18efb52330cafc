// The histogram of one layer's weights: the first thing to look at when judging how a layer will
// quantize (its spread, its outliers, the weight of its tails). The counts are computed in a job by
// core's histogram_compute; this widget only draws them.
#pragma once
#include <QString>
#include <QWidget>
#include <cstdint>

#include "quantscope/stats.hpp"

class QCheckBox;
class QCustomPlot;
class QCPBars;
class QCPItemText;
class QCPTextElement;

namespace qs {

class WeightHistogramPlot : public QWidget {
  Q_OBJECT

 public:
  explicit WeightHistogramPlot(QWidget* parent = nullptr);

  // Rice's rule (2 n^(1/3)) within [16, 256]: fine enough to show the shape of a small layer's
  // distribution without turning a large layer's into noise.
  static int bins_choose(int64_t count);

  // Plots `histogram` of layer `layer`; the title shows the layer's statistics.
  void histogram_show(const QString& layer, const Histogram& histogram, const TensorStats& stats);
  // Clears the bars and shows `text` in the plot area (an empty state, or why there is no histogram).
  void message_show(const QString& text);

  bool log_scale() const;
  void log_scale_set(bool on);

  const QString& layer() const { return layer_; }  // the plotted layer; empty when none
  QCustomPlot* plot() const { return plot_; }
  QCPBars* bars() const { return bars_; }

 Q_SIGNALS:
  void log_scale_changed(bool on);

 private:
  void value_axis_update();
  void axes_show(bool on);

  QCheckBox* log_box_;
  QCustomPlot* plot_;
  QCPBars* bars_;
  QCPTextElement* title_;
  QCPTextElement* subtitle_;
  QCPItemText* message_;
  QString layer_;
  double max_count_ = 0;
};

}  // namespace qs
