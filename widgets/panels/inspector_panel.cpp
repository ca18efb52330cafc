// InspectorPanel: the format box and the histogram plot, fed by tagged jobs on the Workbench's runner.
#include "inspector_panel.hpp"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QVBoxLayout>
#include <algorithm>

#include "format_delegate.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/stats.hpp"
#include "weight_histogram_plot.hpp"
#include "preferences.hpp"
#include "workbench.hpp"

namespace qs {

struct InspectorHistogram {
  Histogram histogram;
  TensorStats stats;
};

namespace {

const char* const kLogScaleKey = "histogram/logScale";

int64_t parameters_of(const Model& model, const std::string& layer) {
  const std::vector<int64_t> shape = model.tensor_shape(layer + ".weight");
  return shape.at(0) * shape.at(1);
}

// The preferred number of bins, else what suits the layer's size.
int bins_for(int64_t parameters) {
  const int preferred = preference(preference_key::kHistogramBins).toInt();
  return preferred > 0 ? preferred : WeightHistogramPlot::bins_choose(parameters);
}

}  // namespace

InspectorPanel::InspectorPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  format_edit_ = format_line_edit(this);
  format_edit_->setObjectName("formatEdit");
  format_edit_->setPlaceholderText(tr("Try a format on this layer: kmeans2, int4:g128, quest4, nf4 … (empty: weights)"));
  format_status_ = new QLabel;
  format_status_->setObjectName("formatStatus");
  format_status_->setWordWrap(true);
  format_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  format_status_->hide();
  auto* format_label = new QLabel(tr("&Format"));
  format_label->setBuddy(format_edit_);
  view_box_ = new QComboBox;
  view_box_->setObjectName("quantizedView");
  view_box_->addItems({tr("Values and grid"), tr("Levels used"), tr("Error ŵ − w")});
  view_box_->setToolTip(tr("Values and grid: what the grid or codebook applies to, with its levels drawn over them\n"
                           "Levels used: one bar per level (or code) with the weights that use it\n"
                           "Error: the histogram of ŵ − w"));
  view_box_->setEnabled(false);
  auto* format_row = new QHBoxLayout;
  format_row->addWidget(format_label);
  format_row->addWidget(format_edit_, 1);
  format_row->addWidget(view_box_);

  plot_ = new WeightHistogramPlot;
  plot_->setObjectName("histogramPlot");
  plot_->message_show(tr("Open a model to see the weight histogram of its layers"));
  plot_->log_scale_set(QSettings().value(kLogScaleKey, false).toBool());

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 8, 8, 4);
  layout->addLayout(format_row);
  layout->addWidget(format_status_);
  layout->addWidget(plot_, 1);

  connect(format_edit_, &QLineEdit::textChanged, this, [this] {
    if (format_edit_->text().trimmed().isEmpty()) format_status_set(QString(), false);
    layer_show();
  });
  connect(view_box_, &QComboBox::currentIndexChanged, this, &InspectorPanel::quantized_draw);
  connect(plot_, &WeightHistogramPlot::log_scale_changed, this, [](bool on) { QSettings().setValue(kLogScaleKey, on); });
  connect(&workbench_, &Workbench::selection_changed, this, &InspectorPanel::layer_show);
  connect(&workbench_, &Workbench::model_changed, this, [this] {
    if (workbench_.model() && workbench_.model()->linear_layers().empty())
      plot_->message_show(tr("This model has no linear layers"));
  });
  JobRunner* jobs = workbench_.jobs();
  connect(jobs, &JobRunner::finished, this, &InspectorPanel::job_finished);
  connect(jobs, &JobRunner::failed, this, &InspectorPanel::job_failed);
}

void InspectorPanel::quantized_draw() {
  if (!shown_) return;
  plot_->quantized_show(shown_layer_, *shown_, WeightHistogramPlot::QuantizedView(view_box_->currentIndex()));
}

void InspectorPanel::layer_show() {
  const QString layer = workbench_.selected_layer();
  const QString typed = format_edit_->text().trimmed();
  // A layer a GGUF or packed checkpoint stores quantized shows its own format's grid over its values.
  const QString stored = layer.isEmpty() || !workbench_.model()
                             ? QString()
                             : QString::fromStdString(workbench_.model()->tensor_stored_format(layer.toStdString() + ".weight"));
  if (!typed.isEmpty())
    quantize_request(layer, typed);
  else if (!stored.isEmpty())
    quantize_request(layer, stored);
  else
    histogram_request(layer);
}

void InspectorPanel::histogram_request(const QString& layer) {
  if (layer.isEmpty() || !workbench_.model()) return;
  quantize_id_ = 0;  // the plain histogram replaces a quantization still on its way
  auto result = std::make_shared<InspectorHistogram>();
  const std::shared_ptr<const Model> model = workbench_.model();
  const std::string tensor = layer.toStdString() + ".weight";
  const int bins = bins_for(parameters_of(*model, layer.toStdString()));
  histogram_layer_ = layer;
  histogram_result_ = result;
  requested_for_ = model.get();
  // Tagged: while the user runs through the table, only the latest pending request is computed.
  histogram_id_ = workbench_.jobs()->submit("inspector.histogram", tr("Histogram of %1").arg(layer),
                                            [model, tensor, bins, result](JobContext& job) {
                                              const std::vector<float> values = model->tensor_values(tensor);
                                              job.check_cancelled();
                                              result->stats = stats_compute(values);  // names NaN or Inf weights
                                              result->histogram = histogram_compute(values, bins);
                                            });
}

void InspectorPanel::quantize_request(const QString& layer, const QString& text) {
  FormatSpec spec;
  try {
    spec = format_parse(text.toStdString());
  } catch (const Error& e) {
    // Half-typed specs pass through here on the way to a valid one: the plot keeps what it shows.
    workbench_.jobs()->cancel(quantize_id_);
    quantize_id_ = 0;
    format_status_set(QString::fromStdString(e.what()), true);
    return;
  }
  if (layer.isEmpty() || !workbench_.model()) {
    format_status_set(tr("Select a layer to quantize it as %1").arg(text), false);
    return;
  }
  auto result = std::make_shared<QuantizedTensor>();
  const std::shared_ptr<const Model> model = workbench_.model();
  const std::string name = layer.toStdString();
  const int bins = bins_for(parameters_of(*model, name));
  histogram_id_ = 0;  // the quantized view replaces a plain histogram still on its way
  // A running quantization of an older request stops at its next check; a pending one is replaced
  // through the tag.
  workbench_.jobs()->cancel(quantize_id_);
  quantize_layer_ = layer;
  quantize_result_ = result;
  requested_for_ = model.get();
  quantize_id_ = workbench_.jobs()->submit("inspector.quantize", tr("Quantizing %1 as %2").arg(layer, text),
                                           [model, name, spec, bins, result](JobContext& job) {
                                             job.check_cancelled();
                                             QuantizeOptions options;
                                             options.name = name;
                                             options.histogram_bins = bins;
                                             options.summary_only = true;  // the plot needs no per-weight arrays
                                             options.job = &job;
                                             *result = layer_quantize(*model, name, spec, options);
                                           });
  format_status_set(tr("Quantizing %1 as %2…").arg(layer, QString::fromStdString(format_print(spec))), false);
}

void InspectorPanel::job_finished(JobRunner::JobId id) {
  // A histogram or quantization still on its way when another model opened belongs to that one.
  if (requested_for_ != workbench_.model().get()) return;
  if (id != 0 && id == histogram_id_) {
    histogram_id_ = 0;
    shown_.reset();
    view_box_->setEnabled(false);
    plot_->histogram_show(histogram_layer_, histogram_result_->histogram, histogram_result_->stats);
    histogram_result_.reset();
    Q_EMIT histogram_shown(histogram_layer_);
  } else if (id != 0 && id == quantize_id_) {
    quantize_id_ = 0;
    shown_ = std::move(quantize_result_);
    shown_layer_ = quantize_layer_;
    view_box_->setEnabled(true);
    quantized_draw();
    const int levels = static_cast<int>(shown_->levels.size());
    format_status_set(QString(), false);
    Q_EMIT quantized_shown(quantize_layer_, levels);
  }
}

void InspectorPanel::job_failed(JobRunner::JobId id, const QString& error) {
  if (id != 0 && id == histogram_id_) {
    histogram_id_ = 0;
    histogram_result_.reset();
    plot_->message_show(tr("No histogram for %1:\n%2").arg(histogram_layer_, error));
  } else if (id != 0 && id == quantize_id_) {
    quantize_id_ = 0;
    quantize_result_.reset();
    shown_.reset();
    view_box_->setEnabled(false);
    plot_->message_show(tr("Cannot quantize %1 as %2").arg(quantize_layer_, format_edit_->text().trimmed()));
    format_status_set(error, true);
    Q_EMIT quantize_failed(quantize_layer_, error);
  }
}

void InspectorPanel::cancel() {
  // Only the running quantization: the plot keeps what it shows, and the box says it stopped.
  if (quantize_id_ == 0) return;
  workbench_.jobs()->cancel(quantize_id_);
  quantize_id_ = 0;
  format_status_set(tr("Quantizing %1 cancelled").arg(quantize_layer_), false);
}

void InspectorPanel::format_status_set(const QString& text, bool error) { status_show(format_status_, text, error); }

QJsonObject InspectorPanel::state() const {
  return {{"format", format_edit_->text()}, {"view", view_box_->currentIndex()}};
}

void InspectorPanel::state_restore(const QJsonObject& state) {
  format_edit_->setText(state["format"].toString());
  view_box_->setCurrentIndex(std::clamp(state["view"].toInt(), 0, view_box_->count() - 1));
}

}  // namespace qs
