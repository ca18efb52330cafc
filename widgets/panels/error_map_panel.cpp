// ErrorMapPanel: the colour map, its marginals and outlier strips, and the jobs that pool them.
#include "error_map_panel.hpp"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "format_delegate.hpp"
#include "plot_style.hpp"
#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "workbench.hpp"

namespace qs {

// A map job's inputs and results: the layer quantized (held on the model's device) and its first tiles.
struct ErrorMapRequest {
  QString layer;
  FormatSpec spec;
  std::shared_ptr<const ErrorMap> map;
  ErrorMapTiles tiles;
};

namespace {

// Group boundaries are drawn once a group is at least this wide on screen.
constexpr double kGroupPixels = 8;
constexpr int kGroupLinesMax = 256;

QCPRange range_clamped(const QCPRange& range, int64_t size) {
  return QCPRange(std::max(0.0, range.lower), std::min(double(size), range.upper));
}

// The tiles the visible part of the map needs: the window it covers (whole weights) and at most one
// tile per screen pixel.
struct PoolShape {
  ErrorMapWindow window;
  int64_t tile_rows = 0, tile_cols = 0;
};

PoolShape pool_shape(const QCPAxisRect* rect, const QCPRange& x, const QCPRange& y, int64_t out, int64_t in) {
  PoolShape shape;
  const QCPRange cols = range_clamped(x, in), rows = range_clamped(y, out);
  shape.window.col = std::clamp<int64_t>(int64_t(std::floor(cols.lower)), 0, in - 1);
  shape.window.row = std::clamp<int64_t>(int64_t(std::floor(rows.lower)), 0, out - 1);
  shape.window.cols = std::max<int64_t>(1, int64_t(std::ceil(cols.upper)) - shape.window.col);
  shape.window.rows = std::max<int64_t>(1, int64_t(std::ceil(rows.upper)) - shape.window.row);
  shape.tile_cols = std::clamp<int64_t>(rect->width(), 1, shape.window.cols);
  shape.tile_rows = std::clamp<int64_t>(rect->height(), 1, shape.window.rows);
  return shape;
}

// A strip's graph: one value per row (or column) from `first` on, each at the middle of its weight.
void strip_set(QCPGraph* graph, int64_t first, const std::vector<float>& values) {
  QVector<double> keys, data;
  keys.reserve(qsizetype(values.size()));
  data.reserve(qsizetype(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    keys << double(first) + double(i) + 0.5;
    data << values[i];
  }
  graph->setData(keys, data, true);
}

}  // namespace

ErrorMapPanel::ErrorMapPanel(Workbench& workbench, QWidget* parent)
    : Panel(workbench, parent), repool_later_(new QTimer(this)), jobs_(new JobRunner(this)) {
  format_edit_ = format_line_edit(this);
  format_edit_->setObjectName("errorMapFormat");
  format_edit_->setPlaceholderText(tr("Format (empty: the plan's format for the layer)"));
  format_edit_->setToolTip(tr("The format whose error is mapped; empty maps the format the plan gives the layer"));
  value_box_ = new QComboBox;
  value_box_->setObjectName("errorMapValue");
  value_box_->addItems({tr("|ŵ − w|"), tr("|ŵ − w| / |w|"), tr("ŵ − w")});
  value_box_->setToolTip(tr("|ŵ − w|: absolute error, in weight units\n"
                            "|ŵ − w| / |w|: relative error (|w| floored at 1e-3 of the layer's |max|)\n"
                            "ŵ − w: signed error, blue below and red above"));
  pool_box_ = new QComboBox;
  pool_box_->setObjectName("errorMapPool");
  pool_box_->addItems({tr("Max per pixel"), tr("Mean per pixel")});
  pool_box_->setToolTip(tr("How the weights under one screen pixel become its colour: the largest error (outliers "
                           "stay visible at any zoom) or their mean"));
  auto* row = new QHBoxLayout;
  auto* format_label = new QLabel(tr("&Format"));
  format_label->setBuddy(format_edit_);
  row->addWidget(format_label);
  row->addWidget(format_edit_, 1);
  row->addWidget(value_box_);
  row->addWidget(pool_box_);
  status_ = new QLabel;
  status_->setObjectName("errorMapStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);

  view_ = new PlotView;
  view_->setObjectName("errorMapPlot");
  view_->log_allowed_set(false);
  QCustomPlot* plot = view_->plot();
  plot->setMinimumSize(240, 180);
  plot_titles_add(*plot, tr("Quantization error"), QString(), 1.2);
  map_rect_ = plot->axisRect();
  rows_rect_ = new QCPAxisRect(plot);
  cols_rect_ = new QCPAxisRect(plot);
  scale_ = new QCPColorScale(plot);
  plot->plotLayout()->addElement(2, 1, rows_rect_);
  plot->plotLayout()->addElement(2, 2, scale_);
  plot->plotLayout()->addElement(3, 0, cols_rect_);
  plot->plotLayout()->setColumnStretchFactors({6, 1.2, 0.15});
  plot->plotLayout()->setRowStretchFactor(2, 6);
  plot->plotLayout()->setRowStretchFactor(3, 1.2);
  auto* columns = new QCPMarginGroup(plot);
  map_rect_->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
  cols_rect_->setMarginGroup(QCP::msLeft | QCP::msRight, columns);
  auto* rows = new QCPMarginGroup(plot);
  map_rect_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
  rows_rect_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
  scale_->setMarginGroup(QCP::msTop | QCP::msBottom, rows);
  for (QCPAxisRect* strip : {rows_rect_, cols_rect_}) {
    strip->setRangeDrag(Qt::Orientations());
    strip->setRangeZoom(Qt::Orientations());
    for (QCPAxis* axis : strip->axes()) {
      axis->grid()->setPen(QPen(kPlotGrid, 1));
      // A strip is narrow: two ticks in a short number format keep its labels apart.
      axis->ticker()->setTickCount(2);
      axis->setNumberFormat("g");
      axis->setNumberPrecision(2);
    }
  }
  plot->xAxis->setLabel(tr("Input column"));
  plot->yAxis->setLabel(tr("Output row"));
  plot->yAxis->setRangeReversed(true);
  map_ = new QCPColorMap(plot->xAxis, plot->yAxis);
  map_->setName(tr("error"));
  map_->setColorScale(scale_);
  map_->setInterpolate(false);
  scale_->setType(QCPAxis::atRight);

  // The row strip: rows down its left axis (as in the map), error along the bottom, |w| max along the top.
  QCPAxis* row_key = rows_rect_->axis(QCPAxis::atLeft);
  row_key->setRangeReversed(true);
  row_key->setTickLabels(false);
  rows_rect_->axis(QCPAxis::atTop)->setVisible(true);
  row_error_ = new QCPGraph(row_key, rows_rect_->axis(QCPAxis::atBottom));
  row_error_->setName(tr("error per row"));
  row_error_->setPen(QPen(plot_color(3), 1));
  row_absmax_ = new QCPGraph(row_key, rows_rect_->axis(QCPAxis::atTop));
  row_absmax_->setName(tr("|w| max per row"));
  row_absmax_->setPen(QPen(plot_color(0), 1));
  rows_rect_->axis(QCPAxis::atBottom)->setLabel(tr("error"));
  rows_rect_->axis(QCPAxis::atTop)->setLabel(tr("|w| max"));
  // The column strip: columns along its bottom axis, error on the left, |w| max on the right.
  QCPAxis* col_key = cols_rect_->axis(QCPAxis::atBottom);
  col_key->setTickLabels(false);
  cols_rect_->axis(QCPAxis::atRight)->setVisible(true);
  col_error_ = new QCPGraph(col_key, cols_rect_->axis(QCPAxis::atLeft));
  col_error_->setName(tr("error per column"));
  col_error_->setPen(QPen(plot_color(3), 1));
  col_absmax_ = new QCPGraph(col_key, cols_rect_->axis(QCPAxis::atRight));
  col_absmax_->setName(tr("|w| max per column"));
  col_absmax_->setPen(QPen(plot_color(0), 1));
  cols_rect_->axis(QCPAxis::atLeft)->setLabel(tr("error"));
  cols_rect_->axis(QCPAxis::atRight)->setLabel(tr("|w| max"));
  for (QCPGraph* graph : {row_error_, row_absmax_, col_error_, col_absmax_}) graph->setLineStyle(QCPGraph::lsStepCenter);
  plot->setToolTip(tr("Drag and wheel zoom the map (re-pooled at screen resolution); the strips show the error "
                      "pooled per row and per column (red) and the weight's |max| per row and column (blue): "
                      "click a strip to mark that row or column"));

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 8, 8, 4);
  layout->addLayout(row);
  layout->addWidget(status_);
  layout->addWidget(view_, 1);

  // The strips follow the map's zoom.
  connect(plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange& range) {
    cols_rect_->axis(QCPAxis::atBottom)->setRange(range);
    if (!drawing_) repool_later_->start();
  });
  connect(plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this](const QCPRange& range) {
    rows_rect_->axis(QCPAxis::atLeft)->setRange(range);
    if (!drawing_) repool_later_->start();
  });
  connect(plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
    const QPointF at = event->position();
    if (rows_rect_->rect().contains(at.toPoint()))
      outlier_mark(int64_t(rows_rect_->axis(QCPAxis::atLeft)->pixelToCoord(at.y())), false);
    else if (cols_rect_->rect().contains(at.toPoint()))
      outlier_mark(int64_t(cols_rect_->axis(QCPAxis::atBottom)->pixelToCoord(at.x())), true);
  });
  repool_later_->setSingleShot(true);
  repool_later_->setInterval(60);  // one pooling per pause in a drag or a wheel burst
  connect(repool_later_, &QTimer::timeout, this, &ErrorMapPanel::pool_request);

  auto* request_later = new QTimer(this);
  request_later->setSingleShot(true);
  request_later->setInterval(80);
  connect(request_later, &QTimer::timeout, this, &ErrorMapPanel::request);
  connect(&workbench_, &Workbench::selection_changed, request_later, qOverload<>(&QTimer::start));
  connect(this, &Panel::exposed_now, this, [this, request_later] {
    if (stale_) request_later->start();
  });
  connect(&workbench_, &Workbench::plan_changed, request_later, qOverload<>(&QTimer::start));
  connect(format_edit_, &QLineEdit::textChanged, request_later, qOverload<>(&QTimer::start));
  connect(value_box_, &QComboBox::currentIndexChanged, this, &ErrorMapPanel::pool_request);
  connect(pool_box_, &QComboBox::currentIndexChanged, this, &ErrorMapPanel::pool_request);
  connect(&workbench_, &Workbench::model_changed, this, [this] {
    jobs_->cancel(map_id_);
    jobs_->cancel(pool_id_);
    error_map_.reset();
    layer_.clear();
    status_set(tr("Select a layer to see where its quantization error lies"), false);
  });

  connect(jobs_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != 0 && id == map_id_) {
      map_id_ = 0;
      const std::shared_ptr<ErrorMapRequest> done = std::move(map_pending_);
      error_map_ = done->map;
      layer_ = done->layer;
      spec_ = done->spec;
      tiles_ = done->tiles;
      status_set(QString(), false);
      drawing_ = true;
      QCustomPlot* p = view_->plot();
      p->xAxis->setRange(0, double(error_map_->in()));
      p->yAxis->setRange(0, double(error_map_->out()));
      view_->home_save();
      drawing_ = false;
      strips_draw();
      tiles_draw();
      Q_EMIT map_shown(layer_);
    } else if (id != 0 && id == pool_id_) {
      pool_id_ = 0;
      tiles_ = std::move(*pool_pending_);
      pool_pending_.reset();
      tiles_draw();
      Q_EMIT map_shown(layer_);
    }
  });
  connect(jobs_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != 0 && id == map_id_) {
      map_id_ = 0;
      const QString layer = map_pending_->layer;
      map_pending_.reset();
      status_set(error, true);
      Q_EMIT map_failed(layer, error);
    } else if (id != 0 && id == pool_id_) {
      pool_id_ = 0;
      status_set(error, true);
    }
  });
  status_set(tr("Open a model and select a layer to see where its quantization error lies"), false);
}

QString ErrorMapPanel::format_text() const {
  const QString typed = format_edit_->text().trimmed();
  if (!typed.isEmpty()) return typed;
  for (const PlanLayer& layer : workbench_.assignment().layers)
    if (QString::fromStdString(layer.name) == workbench_.selected_layer() && layer.changed && layer.error.empty())
      return QString::fromStdString(format_print(layer.format.format));
  return QString();
}

void ErrorMapPanel::request() {
  const std::shared_ptr<const Model> model = workbench_.model();
  const QString layer = workbench_.selected_layer();
  if (!model || layer.isEmpty()) return;
  if (!exposed()) {  // a tab behind another computes nothing until it is shown
    stale_ = true;
    return;
  }
  stale_ = false;
  const QString text = format_text();
  if (text.isEmpty()) {
    status_set(tr("The plan keeps %1 as stored: type a format to map its error").arg(layer), false);
    return;
  }
  FormatSpec spec;
  try {
    spec = format_parse(text.toStdString());
  } catch (const Error& e) {
    status_set(QString::fromStdString(e.what()), true);
    return;
  }
  if (error_map_ && layer == layer_ && format_print(spec) == format_print(spec_)) return;
  jobs_->cancel(map_id_);
  jobs_->cancel(pool_id_);
  auto request = std::make_shared<ErrorMapRequest>();
  request->layer = layer;
  request->spec = spec;
  map_pending_ = request;
  const std::string name = layer.toStdString();
  const std::vector<int64_t> shape = model->tensor_shape(name + ".weight");
  const int64_t out = shape.at(0), in = shape.at(1);
  const int64_t tile_cols = std::clamp<int64_t>(map_rect_->width(), 1, in);
  const int64_t tile_rows = std::clamp<int64_t>(map_rect_->height(), 1, out);
  const auto value = ErrorMapValue(value_box_->currentIndex());
  const auto pool = ErrorMapPool(pool_box_->currentIndex());
  map_id_ = jobs_->submit("errormap.map", tr("Error map of %1 in %2").arg(layer, text),
                          [model, name, spec, request, out, in, tile_rows, tile_cols, value, pool](JobContext& job) {
                            QuantizeOptions options;
                            options.name = name;
                            options.job = &job;
                            auto map = std::make_shared<const ErrorMap>(error_map_compute(*model, name, spec, options));
                            job.check_cancelled();
                            request->tiles = map->window_pool({0, 0, out, in}, tile_rows, tile_cols, value, pool);
                            request->map = std::move(map);
                          });
  status_set(tr("Quantizing %1 as %2…").arg(layer, text), false);
}

void ErrorMapPanel::pool_request() {
  if (!error_map_) return;
  const QCustomPlot* plot = view_->plot();
  const PoolShape shape = pool_shape(map_rect_, plot->xAxis->range(), plot->yAxis->range(), error_map_->out(), error_map_->in());
  auto result = std::make_shared<ErrorMapTiles>();
  pool_pending_ = result;
  const std::shared_ptr<const ErrorMap> map = error_map_;
  const auto value = ErrorMapValue(value_box_->currentIndex());
  const auto pool = ErrorMapPool(pool_box_->currentIndex());
  // Tagged: a drag that outruns the pooling computes only the window it ends on.
  pool_id_ = jobs_->submit("errormap.pool", tr("Pooling the error map"), [map, shape, value, pool, result](JobContext&) {
    *result = map->window_pool(shape.window, shape.tile_rows, shape.tile_cols, value, pool);
  });
}

void ErrorMapPanel::tiles_draw() {
  const ErrorMapWindow& w = tiles_.window;
  QCPColorMapData* data = map_->data();
  const double tile_w = double(w.cols) / double(tiles_.tile_cols), tile_h = double(w.rows) / double(tiles_.tile_rows);
  // QCPColorMapData's ranges are the centres of the first and last cells.
  data->setSize(int(tiles_.tile_cols), int(tiles_.tile_rows));
  data->setRange(QCPRange(w.col + tile_w / 2, w.col + w.cols - tile_w / 2),
                 QCPRange(w.row + tile_h / 2, w.row + w.rows - tile_h / 2));
  for (int64_t i = 0; i < tiles_.tile_rows; ++i)
    for (int64_t j = 0; j < tiles_.tile_cols; ++j)
      data->setCell(int(j), int(i), tiles_.values[size_t(i * tiles_.tile_cols + j)]);
  const bool signed_error = value_box_->currentIndex() == int(ErrorMapValue::Signed);
  if (signed_error) {
    const double bound = std::max({std::abs(tiles_.min), std::abs(tiles_.max), 1e-30f});
    map_->setGradient(QCPColorGradient::gpPolar);
    map_->setDataRange(QCPRange(-bound, bound));
  } else {
    map_->setGradient(QCPColorGradient::gpThermal);
    map_->setDataRange(QCPRange(tiles_.min, tiles_.max > tiles_.min ? tiles_.max : tiles_.min + 1e-30));
  }
  scale_->axis()->setLabel(value_box_->currentText() + " · " + pool_box_->currentText().toLower());

  strip_set(row_error_, w.row, tiles_.row_marginal);
  strip_set(col_error_, w.col, tiles_.col_marginal);
  bool ok = false;
  rows_rect_->axis(QCPAxis::atBottom)->setRange(row_error_->getValueRange(ok));
  cols_rect_->axis(QCPAxis::atLeft)->setRange(col_error_->getValueRange(ok));

  if (auto* title = qobject_cast<QCPTextElement*>(view_->plot()->plotLayout()->element(0, 0)))
    title->setText(tr("%1 in %2").arg(layer_, QString::fromStdString(format_print(spec_))));
  if (auto* subtitle = qobject_cast<QCPTextElement*>(view_->plot()->plotLayout()->element(1, 0)))
    subtitle->setText(tr("rows %1–%2, columns %3–%4; a pixel: %5 × %6 weights")
                          .arg(w.row)
                          .arg(w.row + w.rows - 1)
                          .arg(w.col)
                          .arg(w.col + w.cols - 1)
                          .arg(tile_h, 0, 'g', 3)
                          .arg(tile_w, 0, 'g', 3));
  group_lines_draw();
  view_->plot()->replot();
}

void ErrorMapPanel::strips_draw() {
  strip_set(row_absmax_, 0, error_map_->row_absmax());
  strip_set(col_absmax_, 0, error_map_->col_absmax());
  bool ok = false;
  rows_rect_->axis(QCPAxis::atTop)->setRange(row_absmax_->getValueRange(ok));
  cols_rect_->axis(QCPAxis::atRight)->setRange(col_absmax_->getValueRange(ok));
  if (mark_) {
    view_->plot()->removeItem(mark_);
    mark_ = nullptr;
  }
}

void ErrorMapPanel::group_lines_draw() {
  QCustomPlot* plot = view_->plot();
  for (int i = plot->itemCount() - 1; i >= 0; --i)
    if (plot->item(i)->objectName() == "groupLine") plot->removeItem(i);
  group_lines_ = 0;
  // Scales apply per group (int, kmeans :g / :b) or per rotation block (quest, kmeans :h) along `in`.
  const int64_t step = spec_.group > 0 ? spec_.group : spec_.hadamard;
  if (step <= 1 || !error_map_) return;
  const QCPRange x = plot->xAxis->range();
  const double pixels_per_group = double(map_rect_->width()) * double(step) / std::max(x.size(), 1e-9);
  if (pixels_per_group < kGroupPixels) return;
  for (int64_t at = (int64_t(std::max(0.0, x.lower)) / step + 1) * step;
       at < std::min<double>(x.upper, double(error_map_->in())) && group_lines_ < kGroupLinesMax; at += step) {
    auto* line = new QCPItemStraightLine(plot);
    line->setObjectName("groupLine");
    line->setClipAxisRect(map_rect_);
    line->setPen(QPen(Qt::white, 1));
    line->setAntialiased(false);  // a crisp pixel column, visible over any colour
    line->point1->setCoords(double(at), 0);
    line->point2->setCoords(double(at), 1);
    ++group_lines_;
  }
}

void ErrorMapPanel::outlier_mark(int64_t index, bool column) {
  if (!error_map_ || index < 0 || index >= (column ? error_map_->in() : error_map_->out())) return;
  QCustomPlot* plot = view_->plot();
  if (!mark_) {
    mark_ = new QCPItemStraightLine(plot);
    mark_->setClipAxisRect(map_rect_);
    mark_->setPen(QPen(QColor(0, 200, 255), 2));
  }
  const double at = double(index) + 0.5;
  mark_->point1->setCoords(column ? at : 0, column ? 0 : at);
  mark_->point2->setCoords(column ? at : 1, column ? 1 : at);
  const float absmax = column ? error_map_->col_absmax()[size_t(index)] : error_map_->row_absmax()[size_t(index)];
  status_set(tr("%1 %2: |w| max = %3").arg(column ? tr("Column") : tr("Row")).arg(index).arg(double(absmax), 0, 'g', 4),
             false);
  plot->replot();
}

void ErrorMapPanel::status_set(const QString& text, bool error) { status_show(status_, text, error); }

void ErrorMapPanel::cancel() {
  if (map_id_ == 0) return;
  jobs_->cancel(map_id_);
  map_id_ = 0;
  status_set(tr("Error map cancelled"), false);
}

QJsonObject ErrorMapPanel::state() const {
  return {{"format", format_edit_->text()}, {"value", value_box_->currentIndex()}, {"pool", pool_box_->currentIndex()}};
}

void ErrorMapPanel::state_restore(const QJsonObject& state) {
  format_edit_->setText(state["format"].toString());
  value_box_->setCurrentIndex(std::clamp(state["value"].toInt(), 0, value_box_->count() - 1));
  pool_box_->setCurrentIndex(std::clamp(state["pool"].toInt(), 0, pool_box_->count() - 1));
}

}  // namespace qs
