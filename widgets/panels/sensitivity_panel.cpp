// SensitivityPanel: the scan job (experiment_run with sensitivity formats only), the bars, the worst
// list, the table, the proxy scatter and the CSV.
#include "sensitivity_panel.hpp"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QCryptographicHash>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <qcustomplot.h>

#include "command_line.hpp"
#include "plot_style.hpp"
#include "preferences.hpp"
#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "quantscope/experiment.hpp"
#include "quantscope/model.hpp"
#include "quantscope/weight_statistics.hpp"
#include "sensitivity_model.hpp"
#include "sensitivity_plot.hpp"
#include "table_copy.hpp"
#include "workbench.hpp"

namespace qs {
namespace {

std::filesystem::path path_native(const QString& path) { return QFile::encodeName(path).toStdString(); }

QStringList format_list(const QString& text) {
  QStringList out;
  for (const QString& part : text.split(',', Qt::SkipEmptyParts))
    if (!part.trimmed().isEmpty()) out << part.trimmed();
  return out;
}

QLineEdit* file_edit(const QString& name, const QString& placeholder) {
  auto* edit = new QLineEdit;
  edit->setObjectName(name);
  edit->setPlaceholderText(placeholder);
  edit->setClearButtonEnabled(true);
  return edit;
}

}  // namespace

SensitivityPanel::SensitivityPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  formats_ = new QLineEdit("int2:g64,int3:g64,int4:g64");
  formats_->setObjectName("sensitivityFormats");
  formats_->setToolTip(tr("Candidate formats, comma-separated (quantscope-cli formats); each is scanned over every "
                          "decoder linear layer, and together they are the budget's candidates"));
  calibration_ = file_edit("sensitivityCalibration", tr("calibration text (ΔKL and proxies)"));
  evaluation_ = file_edit("sensitivityEvaluation", tr("evaluation text (plans)"));
  max_tokens_ = new QSpinBox;
  max_tokens_->setObjectName("sensitivityMaxTokens");
  max_tokens_->setRange(2, 100000000);
  max_tokens_->setSingleStep(1024);
  max_tokens_->setValue(4096);
  max_tokens_->setToolTip(tr("Tokens read from the start of each text (quantscope-cli sensitivity --max-tokens)"));
  proxies_ = new QCheckBox(tr("Proxies"));
  proxies_->setChecked(true);
  proxies_->setToolTip(tr("Also collect input moments and Fisher information on the calibration text (one backward "
                          "pass per window) for the proxy SQNRs"));
  scan_ = new QPushButton(tr("Run Scan (Ctrl+R)"));
  scan_->setObjectName("sensitivityScan");
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setEnabled(false);
  progress_ = new QProgressBar;
  progress_->setTextVisible(false);
  progress_->setFixedWidth(120);
  progress_->hide();
  auto* copy = new QPushButton(tr("Copy as Command"));
  copy->setToolTip(tr("The quantscope-cli sensitivity line that makes this scan into the same folder (and cache)"));
  auto* csv = new QPushButton(tr("Export CSV…"));
  csv->setObjectName("sensitivityCsv");
  status_ = new QLabel;
  status_->setObjectName("sensitivityStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  status_->hide();
  source_ = new QLabel;
  source_->setObjectName("sensitivitySource");
  source_->setStyleSheet("color: #787878;");
  source_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  source_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // a long path must not widen the dock

  model_ = new SensitivityModel(this);
  worst_ = new QListWidget;
  worst_->setObjectName("sensitivityWorst");
  worst_->setToolTip(tr("The layers whose ΔKL is largest under any scanned format, worst first; click one to select "
                        "it in every panel"));
  bars_ = new PlotView;
  bars_->setObjectName("sensitivityBars");
  bars_->setMinimumSize(160, 60);
  order_ = new QComboBox;
  order_->setObjectName("sensitivityOrder");
  order_->addItem(tr("depth order"));
  order_->addItem(tr("sorted by ΔKL"));
  table_ = new QTableView;
  table_->setObjectName("sensitivityTable");
  auto* sorted = new QSortFilterProxyModel(this);
  sorted->setSourceModel(model_);
  sorted->setSortRole(SensitivityModel::SortRole);
  table_->setModel(sorted);
  table_->setSortingEnabled(true);
  table_->sortByColumn(SensitivityModel::Layer, Qt::AscendingOrder);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
  table_copy_install(*table_);
  proxy_ = new PlotView;
  proxy_->setObjectName("sensitivityProxy");
  proxy_->setMinimumSize(160, 60);
  proxy_format_ = new QComboBox;
  proxy_format_->setObjectName("sensitivityProxyFormat");
  proxy_kind_ = new QComboBox;
  proxy_kind_->setObjectName("sensitivityProxyKind");
  for (auto p : {SensitivityModel::Proxy::WeightSqnr, SensitivityModel::Proxy::InputSqnr,
                 SensitivityModel::Proxy::FisherSqnr, SensitivityModel::Proxy::FisherLoss})
    proxy_kind_->addItem(SensitivityModel::proxy_name(p), int(p));
  proxy_rho_ = new QLabel;
  proxy_rho_->setObjectName("sensitivityRho");
  proxy_rho_->setToolTip(tr("Spearman's rank correlation between the proxy's predicted harm and the measured ΔKL over "
                            "the layers: 1 ranks the layers exactly as measured"));

  auto* bars_page = new QWidget;
  auto* bars_layout = new QVBoxLayout(bars_page);
  bars_layout->setContentsMargins(0, 0, 0, 0);
  auto* bars_row = new QHBoxLayout;
  bars_row->addWidget(new QLabel(tr("Bars in")));
  bars_row->addWidget(order_);
  bars_row->addStretch(1);
  bars_layout->addLayout(bars_row);
  bars_layout->addWidget(bars_, 1);
  auto* proxy_page = new QWidget;
  auto* proxy_layout = new QVBoxLayout(proxy_page);
  proxy_layout->setContentsMargins(0, 0, 0, 0);
  auto* proxy_row = new QHBoxLayout;
  proxy_row->addWidget(new QLabel(tr("Measured ΔKL against")));
  proxy_row->addWidget(proxy_kind_);
  proxy_row->addWidget(new QLabel(tr("of")));
  proxy_row->addWidget(proxy_format_);
  proxy_row->addSpacing(8);
  proxy_row->addWidget(proxy_rho_, 1);
  proxy_layout->addLayout(proxy_row);
  proxy_layout->addWidget(proxy_, 1);
  // The scan's inputs are a tab of their own, so the panel fits a short bottom dock.
  auto* setup_page = new QWidget;
  auto* setup = new QGridLayout(setup_page);
  setup->setContentsMargins(4, 4, 4, 4);
  setup->addWidget(new QLabel(tr("Formats:")), 0, 0);
  setup->addWidget(formats_, 0, 1);
  auto* options = new QHBoxLayout;
  options->addWidget(new QLabel(tr("Tokens:")));
  options->addWidget(max_tokens_);
  options->addWidget(proxies_);
  setup->addLayout(options, 0, 2);
  setup->addWidget(new QLabel(tr("Calibration:")), 1, 0);
  setup->addWidget(calibration_, 1, 1, 1, 2);
  setup->addWidget(new QLabel(tr("Evaluation:")), 2, 0);
  setup->addWidget(evaluation_, 2, 1, 1, 2);
  setup->setColumnStretch(1, 1);
  setup->setRowStretch(3, 1);
  tabs_ = new QTabWidget;
  tabs_->addTab(setup_page, tr("Scan"));
  tabs_->addTab(bars_page, tr("ΔKL per Layer"));
  tabs_->addTab(table_, tr("Table"));
  tabs_->addTab(proxy_page, tr("Proxies"));
  auto* worst_box = new QWidget;
  worst_box->setMaximumWidth(fontMetrics().horizontalAdvance("model.layers.00.self_attn.o_proj") + 40);
  worst_box->setMinimumWidth(120);
  auto* worst_layout = new QVBoxLayout(worst_box);
  worst_layout->setContentsMargins(0, 0, 0, 0);
  worst_layout->addWidget(new QLabel(tr("Worst layers")));
  worst_layout->addWidget(worst_, 1);
  auto* views = new QHBoxLayout;
  views->addWidget(worst_box, 1);
  views->addWidget(tabs_, 4);

  auto* row = new QHBoxLayout;
  row->addWidget(scan_);
  row->addWidget(cancel_);
  row->addWidget(progress_);
  row->addWidget(source_, 1);
  row->addWidget(copy);
  row->addWidget(csv);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 6, 8, 4);
  layout->setSpacing(4);
  layout->addLayout(row);
  layout->addWidget(status_);
  layout->addLayout(views, 1);

  auto* ctrl_r = new QAction(tr("Run Sensitivity Scan"), this);
  ctrl_r->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  ctrl_r->setShortcutContext(Qt::ApplicationShortcut);
  connect(ctrl_r, &QAction::triggered, this, [this] { scan(); });
  addAction(ctrl_r);

  runner_ = new JobRunner(this);
  connect(runner_, &JobRunner::progress, this, [this](JobRunner::JobId id, double fraction, const QString& message) {
    if (id != id_) return;
    progress_->setRange(0, fraction < 0 ? 0 : 1000);
    progress_->setValue(int(std::max(0.0, fraction) * 1000));
    if (!message.isEmpty()) status_show(status_, message, false);
  });
  connect(runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    job_end();
    try {
      workbench_.results_open(scan_dir());
      status_show(status_, tr("Scan done: %1").arg(model_->formats().join(", ")), false);
      tabs_->setCurrentIndex(1);
      Q_EMIT scan_finished();
    } catch (const Error& e) {
      status_show(status_, QString::fromStdString(e.what()), true);
      Q_EMIT scan_failed(status_->text());
    }
  });
  connect(runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id != id_) return;
    job_end();
    status_show(status_, error, true);
    Q_EMIT scan_failed(error);
  });
  connect(runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id != id_) return;
    job_end();
    status_show(status_, tr("Scan cancelled; the layers measured so far are kept in the cache"), false);
  });
  connect(scan_, &QPushButton::clicked, this, [this] { scan(); });
  connect(cancel_, &QPushButton::clicked, this, &SensitivityPanel::cancel);
  connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(command()); });
  connect(csv, &QPushButton::clicked, this, [this] {
    if (model_->rowCount() == 0) return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Sensitivity Table"), "sensitivity.csv", tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    try {
      csv_write(path);
      status_show(status_, tr("Wrote %1").arg(path), false);
    } catch (const Error& e) {
      status_show(status_, QString::fromStdString(e.what()), true);
    }
  });
  connect(order_, &QComboBox::currentIndexChanged, this, &SensitivityPanel::bars_draw);
  connect(proxy_format_, &QComboBox::currentIndexChanged, this, &SensitivityPanel::proxy_draw);
  connect(proxy_kind_, &QComboBox::currentIndexChanged, this, &SensitivityPanel::proxy_draw);
  connect(worst_, &QListWidget::currentTextChanged, this, [this](const QString& layer) {
    if (layer.isEmpty()) return;
    workbench_.layer_select(layer);
    workbench_.layers_select({layer});
  });
  connect(bars_->plot(), &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable* plottable, int index, QMouseEvent*) {
    auto* bars = qobject_cast<QCPBars*>(plottable);
    if (!bars || index < 0 || index >= bars->data()->size()) return;
    const QString layer = bar_layer(int(std::lround(bars->data()->at(index)->key)));
    if (layer.isEmpty()) return;
    workbench_.layer_select(layer);
    workbench_.layers_select({layer});
  });
  connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
    const QString layer = current.data(SensitivityModel::LayerRole).toString();
    if (!layer.isEmpty()) workbench_.layer_select(layer);
  });
  connect(&workbench_, &Workbench::results_changed, this, &SensitivityPanel::results_show);
  connect(&workbench_, &Workbench::model_changed, this, &SensitivityPanel::model_show);
  results_show();
}

QSize SensitivityPanel::sizeHint() const { return {900, 260}; }

void SensitivityPanel::model_show() {
  cancel();
  // The preferred texts, else the held-out text the demo model ships beside it: a first scan needs no
  // browsing.
  const QString beside = QDir(workbench_.model_path()).filePath("heldout-sample.txt");
  QString evaluation = preference(preference_key::kEvaluationText).toString();
  if (evaluation.isEmpty() && QFileInfo(beside).isFile()) evaluation = beside;
  QString calibration = preference(preference_key::kCalibrationText).toString();
  if (calibration.isEmpty()) calibration = evaluation;
  if (calibration_->text().isEmpty()) calibration_->setText(calibration);
  if (evaluation_->text().isEmpty()) evaluation_->setText(evaluation);
  if (model_->rowCount() == 0) results_show();
}

QString SensitivityPanel::scan_dir() const {
  const QByteArray key = QCryptographicHash::hash(QFileInfo(workbench_.model_path()).absoluteFilePath().toUtf8(),
                                                  QCryptographicHash::Sha256)
                             .toHex()
                             .left(16);
  const QString base = QString::fromStdString(weight_statistics_cache_dir().parent_path().string());
  return base + "/scans/" + QFileInfo(workbench_.model_path()).fileName() + "-" + QString::fromLatin1(key);
}

Experiment SensitivityPanel::experiment() const {
  const std::shared_ptr<const Model> model = workbench_.model();
  Experiment e;
  e.file = path_native(workbench_.model_path());
  e.title = workbench_.model_path().toStdString();
  e.model = path_native(workbench_.model_path());
  e.device = model->device();
  e.evaluation.file = path_native(QFileInfo(evaluation_->text().trimmed()).absoluteFilePath());
  e.evaluation.max_tokens = max_tokens_->value();
  e.calibration = e.evaluation;
  e.calibration.file = path_native(QFileInfo(calibration_->text().trimmed()).absoluteFilePath());
  for (const QString& f : format_list(formats_->text())) e.sensitivity.push_back(f.toStdString());
  e.proxies = proxies_->isChecked();
  return e;
}

bool SensitivityPanel::scan() {
  const std::shared_ptr<const Model> model = workbench_.model();
  if (!model) {
    status_show(status_, tr("Open a model first"), true);
    return false;
  }
  if (format_list(formats_->text()).isEmpty()) {
    status_show(status_, tr("Give at least one format to scan"), true);
    return false;
  }
  for (QLineEdit* edit : {calibration_, evaluation_}) {
    const QString path = edit->text().trimmed();
    if (path.isEmpty() || !QFileInfo(path).isFile()) {
      status_show(status_, path.isEmpty() ? tr("Choose the %1 text").arg(edit == calibration_ ? tr("calibration") : tr("evaluation"))
                                          : tr("%1: no such file").arg(path),
                  true);
      return false;
    }
  }
  Experiment e = experiment();
  try {
    for (const std::string& f : e.sensitivity) format_parse(f);
    experiment_check(e, *model);
  } catch (const Error& error) {
    status_show(status_, QString::fromStdString(error.what()), true);
    return false;
  }
  runner_->cancel(id_);
  const std::filesystem::path dir = path_native(scan_dir());
  id_ = runner_->submit("sensitivity", tr("Sensitivity scan of %1").arg(format_list(formats_->text()).join(", ")),
                        [e, dir, model](JobContext& job) {
                          ExperimentCounts counts;
                          const ResultSet results = experiment_run(e, dir, &job, {}, &counts, model);
                          results_write(results, dir / "results.h5");
                        });
  scan_->setEnabled(false);
  cancel_->setEnabled(true);
  progress_->setRange(0, 0);
  progress_->show();
  status_show(status_, tr("Scanning…"), false);
  return true;
}

void SensitivityPanel::cancel() { runner_->cancel(id_); }

void SensitivityPanel::job_end() {
  id_ = 0;
  scan_->setEnabled(true);
  cancel_->setEnabled(false);
  progress_->hide();
}

QString SensitivityPanel::command() const {
  QString line = QStringLiteral("quantscope-cli sensitivity %1 --format %2 --text %3")
                     .arg(shell_quoted(workbench_.model_path()), shell_quoted(format_list(formats_->text()).join(',')),
                          shell_quoted(evaluation_->text().trimmed()));
  if (calibration_->text().trimmed() != evaluation_->text().trimmed())
    line += " --calib " + shell_quoted(calibration_->text().trimmed());
  line += QStringLiteral(" --max-tokens %1").arg(max_tokens_->value());
  if (workbench_.model() && workbench_.model()->device() != Device::Cpu)
    line += " --device " + QString::fromLatin1(device_name(workbench_.model()->device()));
  if (!proxies_->isChecked()) line += " --no-proxies";
  return line + " --out " + shell_quoted(scan_dir());
}

void SensitivityPanel::csv_write(const QString& path) const {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly) || file.write(model_->csv()) < 0 || !file.commit())
    throw Error(ErrorKind::Io, path.toStdString() + ": cannot write (" + file.errorString().toStdString() + ")");
}

QString SensitivityPanel::bar_layer(int key) const {
  return key >= 1 && key <= bar_layers_.size() ? bar_layers_[key - 1] : QString();
}

void SensitivityPanel::results_show() {
  model_->scans_set(workbench_.scans());
  const QString path = workbench_.results_path();
  if (!workbench_.results()) {
    source_->setText(tr("No scan yet — choose the formats and texts, then Run Scan (Ctrl+R), or File ▸ Open Results "
                        "for a batch run's results.h5"));
  } else if (workbench_.scans().empty()) {
    source_->setText(tr("%1 holds no sensitivity scan").arg(path));
  } else {
    source_->setText(tr("%1 formats × %2 layers from %3").arg(model_->formats().size()).arg(model_->rowCount()).arg(path));
  }
  if (!workbench_.allocation_error().isEmpty() && workbench_.results())
    status_show(status_, workbench_.allocation_error(), true);
  worst_->blockSignals(true);
  worst_->clear();
  for (const QString& layer : model_->worst(12)) worst_->addItem(layer);
  worst_->blockSignals(false);
  const QString chosen = proxy_format_->currentText();
  proxy_format_->blockSignals(true);
  proxy_format_->clear();
  proxy_format_->addItems(model_->formats());
  if (const int i = proxy_format_->findText(chosen); i >= 0) proxy_format_->setCurrentIndex(i);
  proxy_format_->blockSignals(false);
  table_->resizeColumnsToContents();
  bars_draw();
  proxy_draw();
}

void SensitivityPanel::bars_draw() {
  QCustomPlot& plot = *bars_->plot();
  plot.clearPlottables();
  const auto& scans = model_->scans();
  std::vector<int> order(size_t(model_->rowCount()));
  std::iota(order.begin(), order.end(), 0);
  if (order_->currentIndex() == 1 && !scans.empty()) {
    // Sorted by the worst format's ΔKL, worst first.
    auto worst = [&](int r) {
      double w = -INFINITY;
      for (const SensitivityScan& s : scans) w = std::max(w, s.layers[size_t(r)].delta_kl);
      return w;
    };
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return worst(a) > worst(b); });
  }
  bar_layers_.clear();
  for (int r : order) bar_layers_ << model_->layer_name(r);
  std::vector<SensitivityBars> groups;
  for (const SensitivityScan& s : scans) {
    SensitivityBars g{QString::fromStdString(format_print(s.format)), {}};
    for (int r : order) g.values << s.layers[size_t(r)].delta_kl;
    groups.push_back(std::move(g));
  }
  sensitivity_bars_draw(plot, bar_layers_, groups, tr("ΔKL, nats/token"));
  bars_->home_save();
  plot.replot();
}

void SensitivityPanel::proxy_draw() {
  QCustomPlot& plot = *proxy_->plot();
  plot.clearGraphs();
  proxy_rho_->clear();
  const int f = proxy_format_->currentIndex();
  if (f < 0 || f >= int(model_->scans().size())) {
    plot.replot();
    return;
  }
  const SensitivityScan& scan = model_->scans()[size_t(f)];
  const auto proxy = SensitivityModel::Proxy(proxy_kind_->currentData().toInt());
  PlotSeries points{tr("layers"), {}, {}};
  for (const LayerSensitivity& l : scan.layers) {
    const double x = SensitivityModel::proxy_harm(l, proxy), y = l.delta_kl;
    if (std::isfinite(x) && std::isfinite(y)) {
      points.x << x;
      points.y << y;
    }
  }
  series_draw(plot, {points}, false, tr("layers"));
  plot.legend->setVisible(false);
  const bool loss = proxy == SensitivityModel::Proxy::FisherLoss;
  plot.xAxis->setLabel(loss ? tr("Fisher loss estimate, nats/token") : tr("−%1, dB").arg(SensitivityModel::proxy_name(proxy)));
  plot.yAxis->setLabel(tr("measured ΔKL, nats/token"));
  plot.rescaleAxes();
  axis_pad(plot.xAxis);
  axis_pad(plot.yAxis);
  const double rho = SensitivityModel::proxy_spearman(scan, proxy);
  proxy_rho_->setText(points.x.isEmpty() ? tr("No proxies in this scan (run it with Proxies on)")
                                         : tr("Spearman ρ = %1 over %2 layers")
                                               .arg(std::isfinite(rho) ? QString::number(rho, 'f', 3) : QString("–"))
                                               .arg(points.x.size()));
  proxy_->home_save();
  plot.replot();
}

QJsonObject SensitivityPanel::state() const {
  return {{"formats", formats_->text()}, {"calibration", calibration_->text()}, {"evaluation", evaluation_->text()},
          {"max_tokens", max_tokens_->value()}, {"proxies", proxies_->isChecked()}, {"order", order_->currentIndex()}};
}

void SensitivityPanel::state_restore(const QJsonObject& state) {
  if (state.contains("formats")) formats_->setText(state["formats"].toString());
  if (state.contains("calibration")) calibration_->setText(state["calibration"].toString());
  if (state.contains("evaluation")) evaluation_->setText(state["evaluation"].toString());
  if (state.contains("max_tokens")) max_tokens_->setValue(state["max_tokens"].toInt());
  if (state.contains("proxies")) proxies_->setChecked(state["proxies"].toBool());
  if (state.contains("order")) order_->setCurrentIndex(state["order"].toInt());
}

}  // namespace qs
