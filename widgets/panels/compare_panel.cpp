// ComparePanel: slots, small multiples or overlay, metrics tables, apply, and compare across layers.
#include "compare_panel.hpp"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <chrono>
#include <optional>

#include "compare_table_model.hpp"
#include "format_delegate.hpp"
#include "plot_style.hpp"
#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "table_copy.hpp"
#include "weight_histogram_plot.hpp"

namespace qs {

// What one job computed: a row per slot and layer, and for the single-layer comparison the
// quantized summaries the plots draw (null where the slot is empty or its format did not apply).
struct CompareOutcome {
  QStringList layers;
  QStringList slot_texts;
  std::vector<CompareResult> rows;
  std::vector<std::shared_ptr<const QuantizedTensor>> tensors;
};

namespace {

struct SlotFormat {
  QString text;
  std::optional<FormatSpec> spec;
  QString error;  // why the text is no format
};

std::vector<SlotFormat> slot_formats(const QStringList& slot_texts) {
  std::vector<SlotFormat> formats;
  for (const QString& slot : slot_texts) {
    const QString text = slot.trimmed();
    if (text.isEmpty()) continue;
    SlotFormat format{text, std::nullopt, QString()};
    try {
      format.spec = format_parse(text.toStdString());
    } catch (const Error& e) {
      format.error = QString::fromStdString(e.what());
    }
    formats.push_back(format);
  }
  return formats;
}

// Quantizes `layer` in each format; a format that cannot apply becomes a row with its reason, while
// cancellation ends the whole job.
void layer_compare(const Model& model, const QString& layer, const std::vector<SlotFormat>& formats, JobContext& job,
                   CompareOutcome& outcome) {
  const std::string name = layer.toStdString();
  const std::vector<int64_t> shape = model.tensor_shape(name + ".weight");
  const int bins = WeightHistogramPlot::bins_choose(shape.at(0) * shape.at(1));
  for (const SlotFormat& format : formats) {
    job.check_cancelled();
    CompareResult row{layer, format.text, std::nullopt, {}, 0, format.error};
    std::shared_ptr<const QuantizedTensor> tensor;
    if (format.spec) {
      QuantizeOptions options;
      options.name = name;
      options.histogram_bins = bins;
      options.summary_only = true;
      options.job = &job;
      const auto start = std::chrono::steady_clock::now();
      try {
        auto q = std::make_shared<QuantizedTensor>(layer_quantize(model, name, *format.spec, options));
        row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        row.metrics = q->metrics;
        row.code_use = code_use_compute(q->occupancy);
        tensor = std::move(q);
      } catch (const Error& e) {
        if (e.kind() == ErrorKind::Cancelled) throw;
        row.error = QString::fromStdString(e.what());
      }
    }
    outcome.rows.push_back(row);
    outcome.tensors.push_back(std::move(tensor));
  }
}

}  // namespace

ComparePanel::ComparePanel(Workbench& workbench, QWidget* parent)
    : Panel(workbench, parent),
      table_(new CompareTableModel(this)),
      across_(new CompareTableModel(this)),
      later_(new QTimer(this)),
      jobs_(new JobRunner(this)) {
  auto* slots_row = new QHBoxLayout;
  for (int i = 0; i < Workbench::kCompareSlots; ++i) {
    QLineEdit* edit = format_line_edit(this);
    edit->setObjectName(QString("compareSlot%1").arg(i));
    edit->setPlaceholderText(tr("Format %1").arg(i + 1));
    edit->setToolTip(tr("A format to compare on the selected layer (empty: slot unused); Enter runs it"));
    edit->setText(workbench_.compare_slots().value(i));
    connect(edit, &QLineEdit::editingFinished, this, &ComparePanel::slots_edited);
    slot_edits_[size_t(i)] = edit;
    slots_row->addWidget(edit, 1);
  }
  layout_box_ = new QComboBox;
  layout_box_->setObjectName("compareLayout");
  layout_box_->addItems({tr("Side by side"), tr("Overlay of errors")});
  layout_box_->setToolTip(tr("Side by side: one histogram per format on linked axes\n"
                             "Overlay of errors: the histograms of ŵ − w of every format in one plot"));
  view_box_ = new QComboBox;
  view_box_->setObjectName("compareView");
  view_box_->addItems({tr("Values and grid"), tr("Levels used"), tr("Error ŵ − w")});
  view_box_->setCurrentIndex(int(WeightHistogramPlot::QuantizedView::Error));
  view_box_->setToolTip(tr("What each histogram shows (as in the Layer Inspector)"));
  auto* view_row = new QHBoxLayout;
  view_row->addWidget(layout_box_);
  view_row->addWidget(view_box_);
  view_row->addStretch(1);
  auto* log_box = new QCheckBox(tr("Logarithmic counts"));
  log_box->setToolTip(tr("Counts of every histogram on a log scale, to see the tails"));
  view_row->addWidget(log_box);

  stack_ = new QStackedWidget;
  auto* grid_page = new QWidget;
  auto* grid = new QGridLayout(grid_page);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(2);
  QList<PlotView*> views;
  for (int i = 0; i < Workbench::kCompareSlots; ++i) {
    auto* plot = new WeightHistogramPlot;
    plot->setObjectName(QString("comparePlot%1").arg(i));
    plot->compact_set();
    plot->plot()->setMinimumSize(140, 70);  // four of them fit a dock beside the inspector
    slot_plots_[size_t(i)] = plot;
    views << plot->view();
    grid->addWidget(plot, i / 2, i % 2);
    // One count scale for all, so the bars compare.
    connect(plot, &WeightHistogramPlot::log_scale_changed, this, [this, log_box](bool on) {
      log_box->setChecked(on);
      for (WeightHistogramPlot* other : slot_plots_) other->log_scale_set(on);
      if (shown_) axes_unify();
    });
  }
  connect(log_box, &QCheckBox::toggled, slot_plots_[0], &WeightHistogramPlot::log_scale_set);
  PlotView::axes_link(views, Qt::Horizontal | Qt::Vertical);
  overlay_ = new PlotView;
  overlay_->setObjectName("compareOverlay");
  plot_titles_add(*overlay_->plot(), tr("Error ŵ − w"), QString(), 1.2);
  overlay_->plot()->yAxis->setLabel(tr("Count"));
  overlay_->plot()->xAxis->setLabel(tr("Error ŵ − w"));
  stack_->addWidget(grid_page);
  stack_->addWidget(overlay_);

  status_ = new QLabel;
  status_->setObjectName("compareStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  progress_ = new QProgressBar;
  progress_->setMaximumWidth(160);
  progress_->setTextVisible(false);
  progress_->hide();

  table_view_ = new QTableView;
  table_view_->setObjectName("compareTable");
  table_view_->setModel(table_);
  table_view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_view_->setSelectionMode(QAbstractItemView::SingleSelection);
  table_view_->setColumnHidden(CompareTableModel::Layer, true);
  table_view_->verticalHeader()->hide();
  table_view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  auto* across_view = new QTableView;
  across_view->setObjectName("compareAcrossTable");
  across_view->setModel(across_);
  across_view->setSelectionBehavior(QAbstractItemView::SelectRows);
  across_view->setSortingEnabled(false);
  across_view->verticalHeader()->hide();
  across_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_copy_install(*table_view_);
  table_copy_install(*across_view);
  tables_ = new QTabWidget;
  tables_->setMinimumHeight(60);
  tables_->addTab(table_view_, tr("This layer"));
  tables_->addTab(across_view, tr("Across layers"));

  apply_layer_ = new QPushButton(tr("Apply to &Layer"));
  apply_layer_->setToolTip(tr("Give the current layer the format of the selected row (undoable)"));
  apply_selection_ = new QPushButton(tr("Apply to &Selection"));
  apply_selection_->setToolTip(tr("Give every layer selected in the Layers panel the format of the selected row"));
  across_button_ = new QPushButton(tr("Compare &Across Layers"));
  across_button_->setToolTip(tr("Run the slots over the layers selected in the Layers panel (all layers when one "
                                "or none is selected) into the \"Across layers\" table"));
  cancel_button_ = new QPushButton(tr("Cancel"));
  cancel_button_->setToolTip(tr("Stop the running comparison (Esc)"));
  cancel_button_->hide();
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(apply_layer_);
  buttons->addWidget(apply_selection_);
  buttons->addStretch(1);
  buttons->addWidget(progress_);
  buttons->addWidget(across_button_);
  buttons->addWidget(cancel_button_);

  auto* splitter = new QSplitter(Qt::Vertical);
  splitter->addWidget(stack_);
  auto* lower = new QWidget;
  auto* lower_layout = new QVBoxLayout(lower);
  lower_layout->setContentsMargins(0, 0, 0, 0);
  lower_layout->addWidget(status_);
  lower_layout->addWidget(tables_, 1);
  lower_layout->addLayout(buttons);
  splitter->addWidget(lower);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 2);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 8, 8, 4);
  layout->addLayout(slots_row);
  layout->addLayout(view_row);
  layout->addWidget(splitter, 1);

  later_->setSingleShot(true);
  later_->setInterval(80);  // a held arrow key moves the selection faster than this: only its end runs
  connect(later_, &QTimer::timeout, this, &ComparePanel::request);
  connect(&workbench_, &Workbench::selection_changed, later_, qOverload<>(&QTimer::start));
  connect(this, &Panel::exposed_now, this, [this] {
    if (stale_) later_->start();
  });
  connect(&workbench_, &Workbench::model_changed, this, [this] {
    jobs_->cancel(compare_id_);
    jobs_->cancel(across_id_);
    shown_.reset();
    across_->clear();
    results_show();
  });
  connect(&workbench_, &Workbench::compare_slots_changed, this, [this](const QStringList& slot_texts) {
    for (int i = 0; i < Workbench::kCompareSlots; ++i)
      if (slot_edits_[size_t(i)]->text() != slot_texts.value(i)) slot_edits_[size_t(i)]->setText(slot_texts.value(i));
    later_->start();
  });
  connect(layout_box_, &QComboBox::currentIndexChanged, this, [this](int index) {
    stack_->setCurrentIndex(index);
    view_box_->setEnabled(index == 0);
    results_show();
  });
  connect(view_box_, &QComboBox::currentIndexChanged, this, &ComparePanel::results_show);
  connect(table_view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &ComparePanel::buttons_update);
  connect(&workbench_, &Workbench::layers_selection_changed, this, &ComparePanel::buttons_update);
  connect(apply_layer_, &QPushButton::clicked, this, [this] { status_set(apply(false), true); });
  connect(apply_selection_, &QPushButton::clicked, this, [this] { status_set(apply(true), true); });
  connect(across_button_, &QPushButton::clicked, this, &ComparePanel::across_run);
  connect(cancel_button_, &QPushButton::clicked, this, &ComparePanel::cancel);

  connect(jobs_, &JobRunner::progress, this, [this](JobRunner::JobId id, double fraction, const QString& message) {
    if (id != across_id_) return;
    progress_->setRange(0, fraction < 0 ? 0 : 1000);
    progress_->setValue(int(fraction * 1000));
    status_set(message);
  });
  connect(jobs_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != 0 && id == compare_id_) {
      compare_id_ = 0;
      // Stale: the selection or the slots moved on while it ran (the newer request is on its way).
      if (pending_->layers.value(0) != workbench_.selected_layer() || pending_->slot_texts != workbench_.compare_slots())
        return;
      shown_ = std::move(pending_);
      results_show();
    } else if (id != 0 && id == across_id_) {
      across_id_ = 0;
      across_->results_set(across_pending_->rows);
      status_set(tr("%n format(s) compared", nullptr, int(across_pending_->slot_texts.size())) +
                 tr(" on %n layer(s)", nullptr, int(across_pending_->layers.size())));
      across_pending_.reset();
      tables_->setCurrentIndex(1);
      buttons_update();
      Q_EMIT across_done(across_->rowCount());
    }
  });
  connect(jobs_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != 0 && id == compare_id_) compare_id_ = 0;
    if (id != 0 && id == across_id_) across_id_ = 0;
    status_set(error, true);
    buttons_update();
  });
  connect(jobs_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id != 0 && id == across_id_) {
      across_id_ = 0;
      status_set(tr("Comparison across layers cancelled"));
    }
    if (id != 0 && id == compare_id_) compare_id_ = 0;
    buttons_update();
  });
  results_show();
}

int ComparePanel::plots_shown() const {
  if (!shown_) return 0;
  int n = 0;
  for (const auto& tensor : shown_->tensors) n += tensor != nullptr;
  return n;
}

void ComparePanel::slots_edited() {
  QStringList slot_texts;
  for (QLineEdit* edit : slot_edits_) slot_texts << edit->text().trimmed();
  workbench_.compare_slots_set(slot_texts);
}

void ComparePanel::request() {
  const std::shared_ptr<const Model> model = workbench_.model();
  const QString layer = workbench_.selected_layer();
  if (!model || layer.isEmpty()) {
    results_show();
    return;
  }
  // A hidden panel (a tab behind another) computes nothing until it is shown.
  if (!exposed()) {
    stale_ = true;
    return;
  }
  stale_ = false;
  const QStringList slot_texts = workbench_.compare_slots();
  if (shown_ && shown_->layers.value(0) == layer && shown_->slot_texts == slot_texts) return;
  const std::vector<SlotFormat> formats = slot_formats(slot_texts);
  auto outcome = std::make_shared<CompareOutcome>();
  outcome->layers = {layer};
  outcome->slot_texts = slot_texts;
  // The running comparison of the layer left behind stops at its next check; a pending one is
  // replaced through the tag.
  jobs_->cancel(compare_id_);
  pending_ = outcome;
  compare_id_ = jobs_->submit("compare.layer", tr("Comparing formats on %1").arg(layer),
                              [model, layer, formats, outcome](JobContext& job) {
                                layer_compare(*model, layer, formats, job, *outcome);
                              });
  status_set(tr("Quantizing %1 in %n format(s)…", nullptr, int(formats.size())).arg(layer));
}

void ComparePanel::results_show() {
  buttons_update();
  const QString layer = workbench_.selected_layer();
  if (!shown_ || shown_->layers.value(0) != layer) {
    table_->clear();
    const QString empty = !workbench_.model() ? tr("Open a model, then select a layer to compare formats on it")
                                              : tr("Select a layer in the Layers panel to compare formats on it");
    for (WeightHistogramPlot* plot : slot_plots_) plot->message_show(empty);
    overlay_->plot()->clearGraphs();
    overlay_->plot()->replot();
    if (compare_id_ == 0) status_set(empty);
    return;
  }
  table_->results_set(shown_->rows);
  int failed = 0;
  for (const CompareResult& row : shown_->rows) failed += !row.metrics;
  status_set(failed == 0 ? QString() : tr("%n format(s) cannot apply to this layer (see the table)", nullptr, failed),
             failed != 0);
  if (stack_->currentIndex() == 0)
    plots_draw();
  else
    overlay_draw();
  Q_EMIT compared(layer, plots_shown());
}

void ComparePanel::plots_draw() {
  const auto view = WeightHistogramPlot::QuantizedView(view_box_->currentIndex());
  for (size_t i = 0; i < slot_plots_.size(); ++i) {
    WeightHistogramPlot* plot = slot_plots_[i];
    const bool has = i < shown_->tensors.size();
    plot->setVisible(has || i == 0);
    if (!has) continue;
    if (shown_->tensors[i])
      plot->quantized_show(shown_->layers.value(0), *shown_->tensors[i], view);
    else
      plot->message_show(tr("%1:\n%2").arg(shown_->rows[i].format, shown_->rows[i].error));
  }
  axes_unify();
}

void ComparePanel::axes_unify() {
  // Linked axes start from the union of what every plot shows, so each bar is in view and the
  // heights compare.
  std::optional<QCPRange> x, y;
  for (size_t i = 0; i < shown_->tensors.size() && i < slot_plots_.size(); ++i) {
    if (!shown_->tensors[i]) continue;
    const QCustomPlot* plot = slot_plots_[i]->plot();
    x = x ? QCPRange(std::min(x->lower, plot->xAxis->range().lower), std::max(x->upper, plot->xAxis->range().upper))
          : plot->xAxis->range();
    y = y ? QCPRange(std::min(y->lower, plot->yAxis->range().lower), std::max(y->upper, plot->yAxis->range().upper))
          : plot->yAxis->range();
  }
  if (!x) return;
  for (WeightHistogramPlot* plot : slot_plots_) {
    plot->plot()->xAxis->setRange(*x);
    plot->plot()->yAxis->setRange(*y);
    plot->view()->home_save();
    plot->plot()->replot();
  }
}

void ComparePanel::overlay_draw() {
  QCustomPlot* plot = overlay_->plot();
  plot->clearGraphs();
  for (size_t i = 0; i < shown_->tensors.size(); ++i) {
    if (!shown_->tensors[i]) continue;
    const Histogram& h = shown_->tensors[i]->error_histogram;
    QVector<double> x, y;
    for (size_t b = 0; b < h.counts.size(); ++b) {
      x << h.bin_center(b);
      y << h.counts[b];
    }
    QCPGraph* graph = plot->addGraph();
    graph->setName(shown_->rows[i].format);
    graph->setData(x, y, true);
    graph->setLineStyle(QCPGraph::lsStepCenter);
    graph->setPen(QPen(plot_color(int(i)), 1.8));
  }
  plot->legend->setVisible(plot->graphCount() > 0);
  if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0)))
    title->setText(tr("Error ŵ − w of %1").arg(shown_->layers.value(0)));
  plot->rescaleAxes();
  if (overlay_->log_y()) {
    plot->yAxis->setRangeLower(0.7);
  } else {
    plot->yAxis->setRangeLower(0);
  }
  axis_pad(plot->xAxis);
  overlay_->home_save();
  plot->replot();
}

QString ComparePanel::apply(bool to_selection) {
  const QModelIndexList rows = table_view_->selectionModel()->selectedRows();
  if (rows.isEmpty()) return tr("Select a format in the table first");
  const CompareResult& result = table_->results().at(size_t(rows.front().row()));
  if (!result.metrics) return result.error;
  const QStringList layers = to_selection ? workbench_.selected_layers() : QStringList{result.layer};
  if (layers.isEmpty()) return tr("Select the layers in the Layers panel first");
  try {
    return workbench_.layers_format_set(layers, format_parse(result.format.toStdString()));
  } catch (const Error& e) {
    return QString::fromStdString(e.what());
  }
}

void ComparePanel::across_run() {
  const std::shared_ptr<const Model> model = workbench_.model();
  if (!model) return;
  QStringList layers = workbench_.selected_layers();
  if (layers.size() <= 1) {
    layers.clear();
    for (const LinearLayer& layer : model->linear_layers()) layers << QString::fromStdString(layer.name);
  }
  const std::vector<SlotFormat> formats = slot_formats(workbench_.compare_slots());
  if (formats.empty()) {
    status_set(tr("Type a format in at least one slot"), true);
    return;
  }
  auto outcome = std::make_shared<CompareOutcome>();
  outcome->layers = layers;
  for (const SlotFormat& format : formats) outcome->slot_texts << format.text;
  jobs_->cancel(across_id_);
  across_pending_ = outcome;
  across_id_ = jobs_->submit("compare.across", tr("Comparing formats across %n layer(s)", nullptr, int(layers.size())),
                             [model, layers, formats, outcome](JobContext& job) {
                               for (qsizetype i = 0; i < layers.size(); ++i) {
                                 job.progress(double(i) / double(layers.size()),
                                                     "Comparing on " + layers[i].toStdString());
                                 layer_compare(*model, layers[i], formats, job, *outcome);
                                 outcome->tensors.clear();  // the table needs the numbers only
                               }
                             });
  progress_->show();
  buttons_update();
}

void ComparePanel::cancel() {
  jobs_->cancel(across_id_);
  jobs_->cancel(compare_id_);
}

void ComparePanel::status_set(const QString& text, bool error) { status_show(status_, text, error); }

void ComparePanel::buttons_update() {
  const bool row = table_view_->selectionModel()->hasSelection();
  apply_layer_->setEnabled(row);
  apply_selection_->setEnabled(row && !workbench_.selected_layers().isEmpty());
  const bool running = across_id_ != 0;
  across_button_->setEnabled(workbench_.model() != nullptr && !running);
  cancel_button_->setVisible(running);
  progress_->setVisible(running);
}

QJsonObject ComparePanel::state() const {
  return {{"layout", layout_box_->currentIndex()}, {"view", view_box_->currentIndex()}};
}

void ComparePanel::state_restore(const QJsonObject& state) {
  layout_box_->setCurrentIndex(std::clamp(state["layout"].toInt(), 0, layout_box_->count() - 1));
  view_box_->setCurrentIndex(
      std::clamp(state["view"].toInt(int(WeightHistogramPlot::QuantizedView::Error)), 0, view_box_->count() - 1));
}

}  // namespace qs
