// WeightHistogramPlot: QCustomPlot bars of a weight histogram, or of a quantized layer's normalised
// values with its levels, with a linear or logarithmic count axis.
#include "weight_histogram_plot.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLocale>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "plot_style.hpp"
#include "plot_view.hpp"
#include "quantscope/code_use.hpp"
#include "quantscope/format.hpp"
#include "quantscope/quantize.hpp"

namespace qs {

namespace {

const QColor kBarFill(70, 130, 190, 210);
const QColor kBarPen(40, 90, 145);
const QColor kLevelPen(200, 60, 40);

}  // namespace

WeightHistogramPlot::WeightHistogramPlot(QWidget* parent) : QWidget(parent) {
  log_box_ = new QCheckBox(tr("Logarithmic counts"), this);
  log_box_->setToolTip(tr("Show counts on a log scale to make the tails and outliers visible"));
  view_ = new PlotView(this);
  plot_ = view_->plot();
  plot_->setMinimumSize(320, 240);
  plot_->axisRect()->setRangeDrag(Qt::Horizontal);
  plot_->axisRect()->setRangeZoom(Qt::Horizontal);
  const PlotTitles titles = plot_titles_add(*plot_, QString(), QString(), 1.2);
  title_ = titles.title;
  subtitle_ = titles.subtitle;
  plot_->yAxis->setLabel(tr("Count"));

  bars_ = new QCPBars(plot_->xAxis, plot_->yAxis);
  bars_->setName(tr("weights"));
  bars_->setPen(QPen(kBarPen, 0.8));
  bars_->setBrush(kBarFill);
  bars_->setWidthType(QCPBars::wtPlotCoords);
  spread_ = new QCPGraph(plot_->xAxis, plot_->yAxis2);
  spread_->setName(tr("codebook value (median)"));
  spread_->setLineStyle(QCPGraph::lsNone);
  spread_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QColor(200, 60, 40), QColor(200, 60, 40), 7));
  spread_bars_ = new QCPErrorBars(plot_->xAxis, plot_->yAxis2);
  spread_bars_->setDataPlottable(spread_);
  spread_bars_->setPen(QPen(QColor(200, 60, 40), 1.2));
  gaussian_ = plot_->addGraph();
  gaussian_->setName(tr("N(0, 1) the grid assumes"));
  gaussian_->setPen(QPen(QColor(40, 40, 40), 1.5, Qt::DashLine));

  message_ = new QCPItemText(plot_);
  message_->position->setType(QCPItemPosition::ptAxisRectRatio);
  message_->position->setCoords(0.5, 0.5);
  message_->setPositionAlignment(Qt::AlignCenter);
  message_->setColor(kPlotMutedText);
  message_->setClipToAxisRect(true);

  auto* bar = new QHBoxLayout;
  bar->setContentsMargins(8, 4, 8, 0);
  bar->addStretch(1);
  bar->addWidget(log_box_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  layout->addLayout(bar);
  layout->addWidget(view_, 1);

  connect(log_box_, &QCheckBox::toggled, view_, &PlotView::log_y_set);
  // The menu's log scale and the box are one setting; the histogram's own range replaces the view's.
  connect(view_, &PlotView::log_y_changed, this, [this](bool on) {
    const QSignalBlocker block(log_box_);
    log_box_->setChecked(on);
    value_axis_update();
    Q_EMIT log_scale_changed(on);
  });
  message_show(tr("No layer selected"));
}

int WeightHistogramPlot::bins_choose(int64_t count) {
  const double rice = 2.0 * std::cbrt(static_cast<double>(std::max<int64_t>(count, 1)));
  return std::clamp(static_cast<int>(std::lround(rice)), 16, 256);
}

void WeightHistogramPlot::bars_set(const Histogram& histogram) {
  QVector<double> keys, values;
  keys.reserve(static_cast<qsizetype>(histogram.counts.size()));
  values.reserve(keys.capacity());
  for (size_t i = 0; i < histogram.counts.size(); ++i) {
    keys.push_back(histogram.bin_center(i));
    values.push_back(histogram.counts[i]);
  }
  bars_set(keys, values, histogram.bin_width());
}

void WeightHistogramPlot::bars_set(const QVector<double>& keys, const QVector<double>& values, double width) {
  max_count_ = values.isEmpty() ? 0 : *std::max_element(values.begin(), values.end());
  bars_->setData(keys, values, true);
  bars_->setWidth(width);
  message_->setText(QString());
  message_->setVisible(false);
  axes_show(true);
}

void WeightHistogramPlot::gaussian_draw(const Histogram& histogram) {
  // QuEST's grid is fitted to a standard normal (the rotated row over its RMS σ): the curve is what
  // the bars would be if the rotation had made the row exactly Gaussian.
  double total = 0;
  for (const double c : histogram.counts) total += c;
  const double scale = total * histogram.bin_width() / std::sqrt(2 * M_PI);
  QVector<double> x, y;
  for (int i = 0; i <= 200; ++i) {
    const double v = histogram.lo + (histogram.hi - histogram.lo) * i / 200.0;
    x << v;
    y << scale * std::exp(-v * v / 2);
  }
  gaussian_->setData(x, y, true);
}

void WeightHistogramPlot::spread_draw(const QuantizedTensor& q) {
  // Per-row or per-group codebooks: how far each code's value moves between them (median, and the
  // range over all codebooks) on the right axis, over the bars of how many weights use the code.
  const size_t k = q.occupancy.size();
  if (k == 0 || q.codebooks.size() < 2 * k) return;
  const size_t n = q.codebooks.size() / k;
  QVector<double> keys, medians, below, above;
  std::vector<float> values(n);
  double bottom = std::numeric_limits<double>::infinity(), top = -bottom;
  for (size_t code = 0; code < k; ++code) {
    for (size_t r = 0; r < n; ++r) values[r] = q.codebooks[r * k + code];
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    const double low = *lo, high = *hi;
    bottom = std::min(bottom, low);
    top = std::max(top, high);
    std::nth_element(values.begin(), values.begin() + long(n / 2), values.end());
    const double median = values[n / 2];
    keys << double(code);
    medians << median;
    below << median - low;
    above << high - median;
  }
  spread_->setData(keys, medians, true);
  spread_bars_->setData(below, above);
  plot_->yAxis2->setVisible(true);
  plot_->yAxis2->setLabel(compact_ ? tr("value") : tr("Codebook value over %1 codebooks (median, min–max)").arg(n));
  plot_->yAxis2->setRange(bottom, top);
  axis_pad(plot_->yAxis2);
}

void WeightHistogramPlot::levels_clear() {
  spread_->data()->clear();
  spread_bars_->data()->clear();
  plot_->yAxis2->setVisible(false);
  gaussian_->data()->clear();
  for (QCPItemLine* line : level_lines_) plot_->removeItem(line);
  level_lines_.clear();
}

void WeightHistogramPlot::histogram_show(const QString& layer, const Histogram& histogram,
                                         const TensorStats& stats) {
  layer_ = layer;
  levels_clear();
  bars_set(histogram);

  const QLocale english(QLocale::English);
  title_->setText(layer);
  subtitle_->setText(tr("n = %1    μ = %2    σ = %3    |max| = %4    kurtosis = %5")
                         .arg(english.toString(static_cast<qlonglong>(stats.count)))
                         .arg(QString::number(stats.mean, 'e', 2))
                         .arg(QString::number(stats.std, 'g', 4))
                         .arg(QString::number(stats.absmax, 'g', 4))
                         .arg(QString::number(stats.kurtosis, 'f', 2)));
  plot_->xAxis->setLabel(tr("Weight value (%1 bins of width %2)")
                             .arg(histogram.counts.size())
                             .arg(QString::number(histogram.bin_width(), 'g', 3)));

  const double pad = histogram.bin_width();
  plot_->xAxis->setRange(histogram.lo - pad, histogram.hi + pad);
  value_axis_update();
  view_->home_save();
  plot_->replot();
}

void WeightHistogramPlot::quantized_show(const QString& layer, const QuantizedTensor& q, QuantizedView view) {
  layer_ = layer;
  levels_clear();
  const TensorMetrics& m = q.metrics;
  const QString sqnr = std::isinf(m.sqnr_db) ? QStringLiteral("∞") : QString::number(m.sqnr_db, 'f', 2);
  const QString format = QString::fromStdString(format_print(q.format));
  if (compact_) {
    // The format names the plot and one short line measures it; the table beside has the rest.
    title_->setText(format);
    subtitle_->setText(tr("%1 bits/w · SQNR %2 dB").arg(QString::number(m.bits_per_weight, 'f', 3), sqnr));
  } else {
    title_->setText(layer);
    // Two lines, so the caption fits a narrow dock.
    subtitle_->setText(tr("%1    %2 bits/weight\nSQNR = %3 dB    cosine = %4    relative MSE = %5")
                           .arg(format)
                           .arg(QString::number(m.bits_per_weight, 'f', 3))
                           .arg(sqnr)
                           .arg(QString::number(m.cosine, 'f', 5))
                           .arg(QString::number(m.relative_mse, 'e', 2)));
  }
  if (view == QuantizedView::Levels && !q.occupancy.empty()) {
    levels_bars_set(q);
  } else if (view == QuantizedView::Error) {
    const Histogram& histogram = q.error_histogram;
    bars_set(histogram);
    plot_->xAxis->setLabel(tr("Error ŵ − w (%1 bins)").arg(histogram.counts.size()));
    const double pad = histogram.bin_width();
    plot_->xAxis->setRange(histogram.lo - pad, histogram.hi + pad);
  } else {
    const Histogram& histogram = q.normalized_histogram;
    bars_set(histogram);
    // The lines span the axis rect vertically whatever the count scale, so their y is in rect ratios.
    for (double level : q.levels) {
      auto* line = new QCPItemLine(plot_);
      line->setPen(QPen(kLevelPen, 1.4));
      line->setClipToAxisRect(true);
      for (QCPItemPosition* end : {line->start, line->end}) {
        end->setTypeX(QCPItemPosition::ptPlotCoords);
        end->setTypeY(QCPItemPosition::ptAxisRectRatio);
      }
      line->start->setCoords(level, 0);
      line->end->setCoords(level, 1);
      level_lines_.push_back(line);
    }
    const bool quest = q.format.family == QuantFamily::Quest;
    if (quest) gaussian_draw(histogram);
    plot_->xAxis->setLabel(q.levels.empty()
                               ? tr("Weight value (%1 bins)").arg(histogram.counts.size())
                               : tr("%1 (%2 bins); lines: the %3 levels%4")
                                     .arg(quest ? tr("Rotated value over σ") : tr("Normalised value"))
                                     .arg(histogram.counts.size())
                                     .arg(q.levels.size())
                                     .arg(quest ? tr("; dashed: the Gaussian the grid assumes") : QString()));
    // tensor_quantize's histogram range already covers every level.
    const double pad = histogram.bin_width();
    plot_->xAxis->setRange(histogram.lo - pad, histogram.hi + pad);
  }
  value_axis_update();
  view_->home_save();
  plot_->replot();
}

void WeightHistogramPlot::levels_bars_set(const QuantizedTensor& q) {
  // One bar per code: at its level where one grid or codebook serves the whole tensor, else at the
  // code's index (each row or group has codebook values of its own).
  const bool shared = format_codebook_count(q.format, q.out, q.in) <= 1 && q.levels.size() == q.occupancy.size();
  QVector<double> keys, values;
  for (size_t code = 0; code < q.occupancy.size(); ++code) {
    keys.push_back(shared ? q.levels[code] : double(code));
    values.push_back(double(q.occupancy[code]));
  }
  double gap = 1.0;
  if (shared && keys.size() > 1) {
    QVector<double> sorted = keys;
    std::sort(sorted.begin(), sorted.end());
    gap = std::numeric_limits<double>::infinity();
    for (qsizetype i = 1; i < sorted.size(); ++i)
      if (sorted[i] > sorted[i - 1]) gap = std::min(gap, sorted[i] - sorted[i - 1]);
    if (!std::isfinite(gap)) gap = 1.0;
  }
  bars_set(keys, values, 0.7 * gap);
  const CodeUse use = code_use_compute(q.occupancy);
  const QString entropy = QString::number(use.entropy_bits, 'f', 2);
  if (compact_)
    plot_->xAxis->setLabel(tr("%1 · %2 of %3 used · entropy %4 bits")
                               .arg(shared ? tr("level") : tr("code"))
                               .arg(use.used)
                               .arg(use.total)
                               .arg(entropy));
  else
    plot_->xAxis->setLabel(
        shared ? tr("Level (normalised units); %1 of %2 levels used; code entropy %3 bits").arg(use.used).arg(use.total).arg(entropy)
               : tr("Code (each row or group has its own codebook); %1 of %2 codes used; code entropy %3 bits")
                     .arg(use.used)
                     .arg(use.total)
                     .arg(entropy));
  if (!shared) spread_draw(q);
  const double lo = *std::min_element(keys.begin(), keys.end()), hi = *std::max_element(keys.begin(), keys.end());
  plot_->xAxis->setRange(lo - gap, hi + gap);
}

void WeightHistogramPlot::message_show(const QString& text) {
  layer_.clear();
  levels_clear();
  max_count_ = 0;
  bars_->data()->clear();
  title_->setText(tr("Weight histogram"));
  subtitle_->setText(QStringLiteral(" "));
  message_->setText(text);
  message_->setVisible(true);
  axes_show(false);
  plot_->replot();
}

void WeightHistogramPlot::axes_show(bool on) {
  // Empty axes with made-up ranges would suggest data; a message alone says there is none.
  for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
    axis->setVisible(on);
    axis->grid()->setVisible(on);
  }
}

bool WeightHistogramPlot::log_scale() const { return view_->log_y(); }

void WeightHistogramPlot::log_scale_set(bool on) { view_->log_y_set(on); }

void WeightHistogramPlot::compact_set() {
  log_box_->hide();
  QFont font = title_->font();
  font.setPointSizeF(plot_->font().pointSizeF());
  title_->setFont(font);
  compact_ = true;
}

void WeightHistogramPlot::value_axis_update() {
  QCPAxis* axis = plot_->yAxis;
  const double top = std::max(max_count_, 1.0);
  // Empty bins have no place on a log axis; it starts just below a count of one.
  axis_log_set(axis, log_scale());
  axis->setRange(log_scale() ? QCPRange(0.7, top * 2.0) : QCPRange(0, top * 1.05));
}

}  // namespace qs
