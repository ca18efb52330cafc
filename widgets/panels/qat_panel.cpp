// QatPanel: the runs, how their files are followed (a folder watcher and a one-second poll, each read
// in a job), the dashboard's plots and the launcher.
#include "qat_panel.hpp"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QHBoxLayout>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QTabWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "command_line.hpp"
#include "plot_style.hpp"
#include "plot_view.hpp"
#include "qat_launch_dialog.hpp"
#include "quantscope/device.hpp"
#include "quantscope/error.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

constexpr int kStaleSeconds = 30;  // a "running" file untouched this long, with no process here, has stopped

QString run_file(const QString& dir) { return QDir(dir).filePath("run.h5"); }

QatPanel::MaskGrid mask_grid(const RunTelemetry& t) {
  QatPanel::MaskGrid g;
  const int samples = int(t.samples.size());
  g.rows = int(t.layers.size());
  g.columns = std::min(samples, QatPanel::kGridColumns);
  if (g.columns == 0 || g.rows == 0) return g;
  g.first_step = double(t.samples.front().step);
  g.last_step = double(t.samples.back().step);
  g.weights.assign(size_t(g.columns) * size_t(g.rows), 0.0);
  g.activations = g.weights;
  std::vector<int> weight_n(g.weights.size()), act_n(g.weights.size());
  for (int s = 0; s < samples; ++s) {
    const int column = int(int64_t(s) * g.columns / samples);
    const RunLayerSample& sample = t.samples[size_t(s)];
    for (int l = 0; l < g.rows; ++l) {
      const size_t cell = size_t(column) * size_t(g.rows) + size_t(l);
      if (size_t(l) < sample.weight_masked.size() && std::isfinite(sample.weight_masked[size_t(l)])) {
        g.weights[cell] += sample.weight_masked[size_t(l)];
        ++weight_n[cell];
      }
      if (size_t(l) < sample.act_masked.size() && std::isfinite(sample.act_masked[size_t(l)])) {
        g.activations[cell] += sample.act_masked[size_t(l)];
        ++act_n[cell];
      }
    }
  }
  for (size_t i = 0; i < g.weights.size(); ++i) {
    g.weights[i] = weight_n[i] ? g.weights[i] / weight_n[i] : NAN;
    g.activations[i] = act_n[i] ? g.activations[i] / act_n[i] : NAN;
  }
  return g;
}

QString number(double v, int digits = 4) { return std::isfinite(v) ? QString::number(v, 'f', digits) : QString("–"); }

}  // namespace

QatPanel::QatPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  auto* start = new QPushButton(tr("New Run…"));
  start->setObjectName("qatNew");
  auto* open = new QPushButton(tr("Open Run…"));
  cancel_ = new QPushButton(tr("Cancel Run"));
  cancel_->setEnabled(false);
  result_ = new QPushButton(tr("Open Result"));
  result_->setToolTip(tr("Open the trained model (OUT/final) with its plan in the workbench"));
  result_->setEnabled(false);
  status_ = new QLabel;
  status_->setObjectName("qatStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  list_ = new QListWidget;
  list_->setObjectName("qatRuns");
  list_->setToolTip(tr("Runs followed here; checked runs are overlaid on the curves, the current one fills the "
                       "heatmap and the final table"));
  curves_ = new PlotView;
  curves_->setObjectName("qatCurves");
  curves_->setMinimumSize(160, 60);
  curve_ = new QComboBox;
  curve_->setObjectName("qatCurve");
  curve_->addItems({tr("loss and held-out loss"), tr("learning rate"), tr("gradient norm"), tr("tokens/s")});
  heatmap_ = new PlotView;
  heatmap_->setObjectName("qatHeatmap");
  heatmap_->log_allowed_set(false);
  scale_ = new QCPColorScale(heatmap_->plot());
  scale_->setLabel(tr("masked fraction"));
  heatmap_->plot()->plotLayout()->addElement(0, 1, scale_);
  heatmap_->setMinimumSize(160, 60);
  mask_ = new QComboBox;
  mask_->setObjectName("qatMask");
  mask_->addItems({tr("weights"), tr("activations")});
  layer_curves_ = new PlotView;
  layer_curves_->setObjectName("qatLayerCurves");
  layer_curves_->setMinimumSize(160, 60);
  layer_label_ = new QLabel(tr("Click a heatmap row to see that layer's curves"));
  final_ = new QLabel;
  final_->setObjectName("qatFinal");
  final_->setTextFormat(Qt::RichText);
  final_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  final_->setAlignment(Qt::AlignTop | Qt::AlignLeft);

  auto page = [](QWidget* top, PlotView* plot) {
    auto* w = new QWidget;
    auto* l = new QVBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(top);
    l->addWidget(plot, 1);
    return w;
  };
  auto row_of = [](const QString& label, QComboBox* box) {
    auto* w = new QWidget;
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(new QLabel(label));
    l->addWidget(box);
    l->addStretch(1);
    return w;
  };
  tabs_ = new QTabWidget;
  tabs_->addTab(page(row_of(tr("Curve:"), curve_), curves_), tr("Curves"));
  tabs_->addTab(page(row_of(tr("Masked gradient fraction of"), mask_), heatmap_), tr("Masked Fraction"));
  tabs_->addTab(page(layer_label_, layer_curves_), tr("Layer"));
  tabs_->addTab(final_, tr("QAT vs PTQ"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(start);
  buttons->addWidget(open);
  buttons->addWidget(cancel_);
  buttons->addWidget(result_);
  buttons->addWidget(status_, 1);
  auto* views = new QHBoxLayout;
  list_->setMaximumWidth(fontMetrics().horizontalAdvance("demo-kmeans2 · cancelled at step 1000") + 20);
  list_->setMinimumWidth(120);
  views->addWidget(list_, 1);
  views->addWidget(tabs_, 4);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 6, 8, 4);
  layout->setSpacing(4);
  layout->addLayout(buttons);
  layout->addLayout(views, 1);

  watcher_ = new QFileSystemWatcher(this);
  poll_timer_ = new QTimer(this);
  poll_timer_->setInterval(1000);
  reader_ = new JobRunner(this);
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, &QatPanel::poll);
  connect(watcher_, &QFileSystemWatcher::fileChanged, this, &QatPanel::poll);
  connect(poll_timer_, &QTimer::timeout, this, &QatPanel::poll);
  connect(start, &QPushButton::clicked, this, &QatPanel::launch_dialog);
  connect(open, &QPushButton::clicked, this, [this] {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open QAT Run Folder"));
    if (dir.isEmpty()) return;
    const QString error = run_open(dir);
    if (!error.isEmpty()) status_show(status_, error, true);
  });
  connect(cancel_, &QPushButton::clicked, this, &QatPanel::cancel);
  connect(result_, &QPushButton::clicked, this, [this] {
    const QString error = result_open();
    if (!error.isEmpty()) status_show(status_, error, true);
  });
  connect(list_, &QListWidget::currentRowChanged, this, [this] {
    layer_ = -1;
    draw();
  });
  connect(list_, &QListWidget::itemChanged, this, &QatPanel::curves_draw);
  connect(curve_, &QComboBox::currentIndexChanged, this, &QatPanel::curves_draw);
  connect(mask_, &QComboBox::currentIndexChanged, this, &QatPanel::heatmap_draw);
  connect(curves_, &PlotView::log_y_changed, this, &QatPanel::curves_draw);
  connect(heatmap_->plot(), &QCustomPlot::mouseRelease, this, [this](QMouseEvent* event) {
    const int index = current_run();
    if (index < 0 || !runs_[size_t(index)]->telemetry) return;
    if (!heatmap_->plot()->axisRect()->rect().contains(event->position().toPoint())) return;
    layer_show(int(std::lround(heatmap_->plot()->yAxis->pixelToCoord(event->position().y()))));
  });
  status_show(status_, tr("No runs — New Run… starts a QAT fine-tune of the open model; Open Run… (or a dropped run "
                          "folder) follows one made elsewhere"),
              false);
}

QatPanel::~QatPanel() = default;

QSize QatPanel::sizeHint() const { return {900, 280}; }

int QatPanel::current_run() const { return list_->currentRow(); }

void QatPanel::current_set(int index) { list_->setCurrentRow(index); }

QString QatPanel::run_state(const Run& r) const {
  if (r.process && !r.process_ended) {
    const int64_t step = r.telemetry && !r.telemetry->steps.empty() ? r.telemetry->steps.back().step : 0;
    return tr("running, step %1").arg(step);
  }
  if (!r.process_error.isEmpty() && (!r.telemetry || r.telemetry->status == "running")) return tr("failed: %1").arg(r.process_error);
  if (!r.telemetry) return r.read_error.isEmpty() ? tr("waiting for run.h5") : r.read_error;
  const RunTelemetry& t = *r.telemetry;
  const int64_t step = t.steps.empty() ? 0 : t.steps.back().step;
  if (t.status == "finished") return tr("finished, %1 steps").arg(step);
  if (t.status == "cancelled") return tr("cancelled at step %1").arg(step);
  if (r.file_time.isValid() && r.file_time.secsTo(QDateTime::currentDateTime()) > kStaleSeconds)
    return tr("stopped at step %1 (killed: the file says running, nothing writes it)").arg(step);
  return tr("running elsewhere, step %1").arg(step);
}

QatLaunch QatPanel::launch_defaults() const {
  QatLaunch l;
  l.model = workbench_.model_path();
  if (const auto& model = workbench_.model()) {
    l.device = QString::fromLatin1(device_name(model->device()));
    if (model->compute() != ComputeType::F32) l.dtype = QString::fromLatin1(compute_type_name(model->compute()));
  }
  const QString beside = QDir(workbench_.model_path()).filePath("heldout-sample.txt");
  if (QFileInfo(beside).isFile()) l.text = beside;
  const QString base = QDir::home().filePath("quantscope-runs/" + QFileInfo(workbench_.model_path()).fileName() + "-qat");
  l.out = base;
  for (int n = 2; QFileInfo::exists(l.out); ++n) l.out = base + "-" + QString::number(n);
  return l;
}

QString QatPanel::command(const QatLaunch& launch) { return shell_line(QStringList{"quantscope-cli"} + qat_arguments(launch)); }

void QatPanel::launch_dialog() {
  if (!workbench_.model()) {
    status_show(status_, tr("Open a model first: QAT fine-tunes it"), true);
    return;
  }
  QString plan_file;
  if (workbench_.totals().quantized_layers > 0) {
    try {
      plan_file = plan_file_for(QString::fromStdString(plan_json(workbench_.plan())));
    } catch (const Error& e) {
      status_show(status_, QString::fromStdString(e.what()), true);
    }
  }
  QatLaunchDialog dialog(launch_defaults(), plan_file, this);
  if (dialog.exec() != QDialog::Accepted) return;
  const QString error = launch(dialog.launch());
  if (!error.isEmpty()) status_show(status_, error, true);
}

QString QatPanel::launch(const QatLaunch& launch) {
  if (launch.out.isEmpty()) return tr("Choose an output folder");
  const QString dir = QFileInfo(launch.out).absoluteFilePath();
  for (const auto& r : runs_)
    if (r->dir == dir && r->process && !r->process_ended) return tr("%1 is being trained already").arg(dir);
  auto run = std::make_unique<Run>();
  run->dir = dir;
  run->process = new QatProcess(this);
  QatLaunch absolute = launch;
  absolute.out = dir;
  QatProcess* process = run->process;
  connect(process, &QatProcess::ended, this, [this, process](const QString& error) {
    for (size_t i = 0; i < runs_.size(); ++i) {
      Run& r = *runs_[i];
      if (r.process != process) continue;
      r.process_ended = true;
      r.process_error = error;
      read(int(i));
      list_show();
      if (int(i) == current_run()) draw();
      status_show(status_, error.isEmpty() ? tr("%1 finished").arg(r.dir) : tr("%1: %2").arg(r.dir, error), !error.isEmpty() && error != tr("cancelled"));
      Q_EMIT run_ended(int(i), error);
    }
  });
  runs_.push_back(std::move(run));
  QDir().mkpath(QFileInfo(dir).absolutePath());
  watcher_->addPath(QFileInfo(dir).absolutePath());
  process->start(absolute);
  poll_timer_->start();
  list_show();
  current_set(int(runs_.size()) - 1);
  status_show(status_, tr("Started: %1").arg(command(absolute)), false);
  return {};
}

QString QatPanel::run_open(const QString& path) {
  const QFileInfo info(path);
  const QString dir = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
  if (!QFileInfo(run_file(dir)).isFile()) return tr("%1: no run.h5 (not a training run folder)").arg(path);
  for (size_t i = 0; i < runs_.size(); ++i)
    if (runs_[i]->dir == dir) {
      current_set(int(i));
      return {};
    }
  auto run = std::make_unique<Run>();
  run->dir = dir;
  runs_.push_back(std::move(run));
  watcher_->addPath(dir);
  poll_timer_->start();
  list_show();
  current_set(int(runs_.size()) - 1);
  read(int(runs_.size()) - 1);
  return {};
}

void QatPanel::poll() {
  for (size_t i = 0; i < runs_.size(); ++i) {
    Run& r = *runs_[i];
    const QFileInfo info(run_file(r.dir));
    if (!info.exists()) continue;
    if (!watcher_->directories().contains(r.dir)) watcher_->addPath(r.dir);  // made by the run after it started
    if (info.lastModified() != r.file_time || info.size() != r.file_size) read(int(i));
  }
  // A run stopped elsewhere turns "stopped" without its file changing.
  for (int i = 0; i < list_->count() && i < int(runs_.size()); ++i)
    if (list_->item(i)->toolTip() != run_state(*runs_[size_t(i)])) {
      list_show();
      break;
    }
}

void QatPanel::read(int index) {
  Run& r = *runs_[size_t(index)];
  const QFileInfo info(run_file(r.dir));
  r.file_time = info.lastModified();
  r.file_size = info.size();
  auto out = std::make_shared<RunTelemetry>();
  auto grid = std::make_shared<MaskGrid>();
  const std::filesystem::path file = QFile::encodeName(run_file(r.dir)).toStdString();
  const QString dir = r.dir;
  // Tagged by run: a newer read of the same file replaces one not yet started.
  const JobRunner::JobId id = reader_->submit("read " + dir, tr("Reading %1").arg(run_file(dir)),
                                              [file, out, grid](JobContext&) {
                                                *out = run_file_read(file);
                                                *grid = mask_grid(*out);
                                              });
  auto done = std::make_shared<QMetaObject::Connection>();
  auto failed = std::make_shared<QMetaObject::Connection>();
  auto disconnect = [done, failed] {
    QObject::disconnect(*done);
    QObject::disconnect(*failed);
  };
  *done = connect(reader_, &JobRunner::finished, this, [this, id, dir, out, grid, disconnect](JobRunner::JobId finished) {
    if (finished != id) return;
    disconnect();
    for (size_t i = 0; i < runs_.size(); ++i)
      if (runs_[i]->dir == dir) {
        runs_[i]->telemetry = out;
        runs_[i]->grid = grid;
        runs_[i]->read_error.clear();
        list_show();
        if (int(i) == current_run()) draw();
        else curves_draw();
        Q_EMIT run_updated(int(i));
      }
  });
  *failed = connect(reader_, &JobRunner::failed, this, [this, id, dir, disconnect](JobRunner::JobId failed_id, const QString& error) {
    if (failed_id != id) return;
    disconnect();
    for (auto& run : runs_)
      if (run->dir == dir) run->read_error = error;  // kept: the next rename brings a whole file
    list_show();
  });
  connect(reader_, &JobRunner::cancelled, this, [id, disconnect](JobRunner::JobId cancelled) {
    if (cancelled == id) disconnect();
  }, Qt::SingleShotConnection);
}

void QatPanel::list_show() {
  const QSignalBlocker block(list_);
  const int current = list_->currentRow();
  while (list_->count() > int(runs_.size())) delete list_->takeItem(list_->count() - 1);
  for (size_t i = 0; i < runs_.size(); ++i) {
    if (int(i) >= list_->count()) {
      auto* item = new QListWidgetItem;
      item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
      item->setCheckState(Qt::Checked);
      list_->addItem(item);
    }
    const Run& r = *runs_[i];
    QListWidgetItem* item = list_->item(int(i));
    const QString state = run_state(r);
    item->setText(QFileInfo(r.dir).fileName() + " · " + state);
    item->setToolTip(state);
  }
  list_->setCurrentRow(current < 0 && !runs_.empty() ? 0 : current);
  const int c = current_run();
  const Run* run = c >= 0 ? runs_[size_t(c)].get() : nullptr;
  cancel_->setEnabled(run && run->process && !run->process_ended);
  result_->setEnabled(run && QFileInfo(QDir(run->dir).filePath("final/plan.json")).isFile() && run->telemetry &&
                      run->telemetry->status == "finished");
}

void QatPanel::draw() {
  list_show();
  curves_draw();
  heatmap_draw();
  layer_draw();
  final_show();
}

void QatPanel::curves_draw() {
  QCustomPlot& plot = *curves_->plot();
  plot.clearGraphs();
  const int which = curve_->currentIndex();
  std::vector<PlotSeries> series;
  for (size_t i = 0; i < runs_.size(); ++i) {
    if (int(i) >= list_->count() || list_->item(int(i))->checkState() != Qt::Checked || !runs_[i]->telemetry) continue;
    const RunTelemetry& t = *runs_[i]->telemetry;
    const QString name = QFileInfo(runs_[i]->dir).fileName();
    PlotSeries s{name + (which == 0 ? tr(" loss") : QString()), {}, {}}, held{name + tr(" held-out"), {}, {}};
    for (const RunStep& step : t.steps) {
      const double v = which == 0 ? step.loss : which == 1 ? step.lr : which == 2 ? step.grad_norm : step.tokens_per_second;
      if (std::isfinite(v)) {
        s.x << double(step.step);
        s.y << v;
      }
      if (which == 0 && std::isfinite(step.heldout_loss)) {
        held.x << double(step.step);
        held.y << step.heldout_loss;
      }
    }
    series.push_back(std::move(s));
    if (!held.x.isEmpty()) series.push_back(std::move(held));
  }
  series_draw(plot, series, true, curve_->currentText());
  plot.xAxis->setLabel(tr("step"));
  plot.yAxis->setLabel(which == 0 ? tr("loss, nats/token") : curve_->currentText());
  plot_grids_set(plot);
  if (!series.empty()) {
    plot.rescaleAxes();
    axis_pad(plot.yAxis);
  }
  curves_->home_save();
  plot.replot();
}

void QatPanel::heatmap_draw() {
  QCustomPlot& plot = *heatmap_->plot();
  plot.clearPlottables();
  const int c = current_run();
  const MaskGrid* g = c >= 0 ? runs_[size_t(c)]->grid.get() : nullptr;
  if (!g || g->columns == 0 || g->rows == 0) {
    plot.replot();
    return;
  }
  const bool weights = mask_->currentIndex() == 0;
  auto* map = new QCPColorMap(plot.xAxis, plot.yAxis);
  map->setName(weights ? tr("masked fraction of weight gradients") : tr("masked fraction of input gradients"));
  map->data()->setSize(g->columns, g->rows);
  const double last = g->columns > 1 ? g->last_step : g->first_step + 1;
  map->data()->setRange(QCPRange(g->first_step, last), QCPRange(0, std::max(1, g->rows - 1)));
  const std::vector<double>& values = weights ? g->weights : g->activations;
  for (int column = 0; column < g->columns; ++column)
    for (int l = 0; l < g->rows; ++l) map->data()->setCell(column, l, values[size_t(column) * size_t(g->rows) + size_t(l)]);
  // Fractions are often a few percent: the colours span what the run has, from 0.
  double top = 0;
  for (const double v : values)
    if (std::isfinite(v)) top = std::max(top, v);
  map->setGradient(QCPColorGradient::gpThermal);
  map->setColorScale(scale_);
  map->setDataRange(QCPRange(0, top > 0 ? top : 1));
  map->setInterpolate(false);
  plot.xAxis->setLabel(g->columns < int(runs_[size_t(c)]->telemetry->samples.size())
                           ? tr("step (each column the mean of the logged steps it covers)")
                           : tr("step"));
  plot.yAxis->setLabel(tr("layer (click a row)"));
  plot.xAxis->setRange(g->first_step, last);
  plot.yAxis->setRange(-0.5, g->rows - 0.5);
  heatmap_->home_save();
  plot.replot();
}

void QatPanel::layer_show(int layer) {
  const int c = current_run();
  if (c < 0 || !runs_[size_t(c)]->telemetry || layer < 0 || layer >= int(runs_[size_t(c)]->telemetry->layers.size())) return;
  layer_ = layer;
  layer_draw();
  tabs_->setCurrentIndex(2);
}

void QatPanel::layer_draw() {
  QCustomPlot& plot = *layer_curves_->plot();
  plot.clearGraphs();
  const int c = current_run();
  if (c < 0 || layer_ < 0 || !runs_[size_t(c)]->telemetry) {
    layer_label_->setText(tr("Click a heatmap row to see that layer's curves"));
    plot.replot();
    return;
  }
  const RunTelemetry& t = *runs_[size_t(c)]->telemetry;
  const QString name = QString::fromStdString(t.layers[size_t(layer_)]);
  PlotSeries error{tr("weight error ‖q(w) − w‖²/‖w‖²"), {}, {}}, drift{tr("codebook drift (RMS)"), {}, {}};
  for (const RunLayerSample& s : t.samples) {
    const size_t l = size_t(layer_);
    if (l < s.weight_error.size() && std::isfinite(s.weight_error[l])) {
      error.x << double(s.step);
      error.y << s.weight_error[l];
    }
    if (l < s.codebook_drift.size() && std::isfinite(s.codebook_drift[l])) {
      drift.x << double(s.step);
      drift.y << s.codebook_drift[l];
    }
  }
  std::vector<PlotSeries> series{error};
  if (!drift.x.isEmpty()) series.push_back(drift);
  series_draw(plot, series, true, QString());
  plot.xAxis->setLabel(tr("step"));
  plot_grids_set(plot);
  plot.rescaleAxes();
  axis_pad(plot.yAxis);
  layer_label_->setText(tr("%1 (row %2)").arg(name).arg(layer_));
  layer_curves_->home_save();
  plot.replot();
}

void QatPanel::final_show() {
  const int c = current_run();
  if (c < 0 || !runs_[size_t(c)]->telemetry || !runs_[size_t(c)]->telemetry->final.done) {
    final_->setText(tr("The final evaluation appears when a run finishes: the quantized model after QAT against "
                       "post-training quantization of the model it started from."));
    return;
  }
  const RunFinal& f = runs_[size_t(c)]->telemetry->final;
  final_->setText(
      tr("<table cellpadding=3><tr><th align=left></th><th align=right>perplexity</th><th align=right>KL vs "
         "reference</th><th align=right>same top token</th></tr>"
         "<tr><td>reference (%1)</td><td align=right>%2</td><td></td><td></td></tr>"
         "<tr><td>post-training quantization</td><td align=right>%3</td><td align=right>%4</td><td></td></tr>"
         "<tr><td>QAT latent weights</td><td align=right>%5</td><td></td><td></td></tr>"
         "<tr><td><b>QAT quantized</b></td><td align=right><b>%6</b></td><td align=right><b>%7</b></td><td "
         "align=right>%8 %</td></tr></table><p>on %9 tokens of %10; reproduce with <code>%11</code></p>")
          .arg(QString::fromStdString(f.reference).toHtmlEscaped(), number(f.reference_perplexity, 3),
               number(f.ptq_perplexity, 3), number(f.ptq_kl_mean), number(f.latent_perplexity, 3),
               number(f.perplexity, 3), number(f.kl_mean), number(100 * f.top1_agreement, 1))
          .arg(f.tokens)
          .arg(QString::fromStdString(f.heldout_text).toHtmlEscaped(), QString::fromStdString(f.command).toHtmlEscaped()));
}

void QatPanel::cancel() {
  const int c = current_run();
  if (c < 0) return;
  Run& r = *runs_[size_t(c)];
  if (r.process && !r.process_ended) {
    r.process->cancel();
    status_show(status_, tr("Cancelling %1…").arg(r.dir), false);
  }
}

QString QatPanel::result_open() {
  const int c = current_run();
  if (c < 0) return tr("No run");
  const QString final_dir = QDir(runs_[size_t(c)]->dir).filePath("final");
  const QString plan = QDir(final_dir).filePath("plan.json");
  if (!QFileInfo(plan).isFile()) return tr("%1: no trained model with a plan yet (the run has not finished)").arg(final_dir);
  QString reference;
  if (const auto& t = runs_[size_t(c)]->telemetry)
    reference = QJsonDocument::fromJson(QByteArray::fromStdString(t->config_json)).object()["init_model"].toString();
  Q_EMIT result_requested(final_dir, plan, reference);
  return {};
}

QJsonObject QatPanel::state() const {
  QJsonArray runs;
  for (const auto& r : runs_) runs.append(r->dir);
  return {{"runs", runs}, {"current", current_run()}, {"curve", curve_->currentIndex()}, {"mask", mask_->currentIndex()}};
}

void QatPanel::state_restore(const QJsonObject& state) {
  for (const QJsonValue& dir : state["runs"].toArray()) run_open(dir.toString());
  if (state.contains("current")) current_set(state["current"].toInt());
  if (state.contains("curve")) curve_->setCurrentIndex(state["curve"].toInt());
  if (state.contains("mask")) mask_->setCurrentIndex(state["mask"].toInt());
}

}  // namespace qs
