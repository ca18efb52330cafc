// MainWindow: menus, drag and drop, settings, and the wiring of jobs to the layer table, the format box
// and the plot.
#include "main_window.hpp"

#include <qcustomplot.h>

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStatusBar>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>
#include <filesystem>
#include <vector>

#include "layer_table_model.hpp"
#include "quantscope/dtype.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/stats.hpp"
#include "quantscope/weight_statistics.hpp"
#include "weight_histogram_plot.hpp"

namespace qs {

// What a load job hands to the UI thread.
struct LoadResult {
  std::shared_ptr<Model> model;
  std::vector<LayerRow> rows;
};

struct HistogramResult {
  Histogram histogram;
  TensorStats stats;
};

struct QuantizeResult {
  QuantizedTensor tensor;
};

namespace {

const char* const kRecentKey = "recentModels";
const char* const kDirectoryKey = "lastDirectory";
const char* const kGeometryKey = "window/geometry";
const char* const kStateKey = "window/state";
const char* const kSplitterKey = "window/splitter";
const char* const kLogScaleKey = "histogram/logScale";

std::filesystem::path path_native(const QString& path) { return QFile::encodeName(path).toStdString(); }

QString parameters_format(int64_t n) {
  const double v = static_cast<double>(n);
  if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + " B";
  if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + " M";
  if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + " K";
  return QString::number(n);
}

QString display_name(const QString& path) {
  const QFileInfo info(path);
  return info.fileName().isEmpty() ? QDir(path).dirName() : info.fileName();
}

// "BF16", or "BF16 + F32" for a checkpoint that mixes dtypes.
QString dtypes_text(const Model& model) {
  QStringList names;
  for (const DType dtype : model.stored_dtypes()) names << QString::fromLatin1(dtype_name(dtype));
  return names.join(QStringLiteral(" + "));
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  runner_ = new JobRunner(this);
  connect(runner_, &JobRunner::progress, this, &MainWindow::job_progress);
  connect(runner_, &JobRunner::finished, this, &MainWindow::job_finished);
  connect(runner_, &JobRunner::failed, this, &MainWindow::job_failed);
  connect(runner_, &JobRunner::cancelled, this, &MainWindow::job_cancelled);
  statistics_runner_ = new JobRunner(this);
  connect(statistics_runner_, &JobRunner::progress, this, [this](JobRunner::JobId id, double fraction, const QString& message) {
    if (id != statistics_id_ || load_id_ != 0) return;  // a load in progress owns the status bar
    job_label_->setText(message.left(1).toUpper() + message.mid(1));  // core's "weight statistics 3/225: …"
    progress_->setRange(0, 1000);
    progress_->setValue(static_cast<int>(fraction * 1000));
  });
  connect(statistics_runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    if (id != statistics_id_) return;
    table_->statistics_set(*statistics_result_);
    view_->resizeColumnsToContents();
    statistics_end(QString());
  });
  connect(statistics_runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    if (id == statistics_id_) statistics_end(error);
  });
  connect(statistics_runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id == statistics_id_) statistics_end(tr("The statistics were cancelled"));
  });

  // Left: the model's name and summary, a filter box and the layer table.
  model_title_ = new QLabel(tr("No model open"));
  QFont title_font = model_title_->font();
  title_font.setPointSizeF(title_font.pointSizeF() * 1.25);
  title_font.setBold(true);
  model_title_->setFont(title_font);
  model_summary_ = new QLabel(tr("File ▸ Open File… or Open Folder…, or drop a model onto this window"));
  model_summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  model_summary_->setWordWrap(true);

  filter_ = new QLineEdit;
  filter_->setObjectName("layerFilter");
  filter_->setPlaceholderText(tr("Filter layers (e.g. mlp, q_proj, layers.3.*)"));
  filter_->setClearButtonEnabled(true);
  filter_->setAcceptDrops(false);  // a dropped model opens; it is not text to filter by
  layer_count_ = new QLabel;

  table_ = new LayerTableModel(this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(table_);
  proxy_->setSortRole(LayerTableModel::SortRole);
  proxy_->setFilterKeyColumn(LayerTableModel::Name);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);

  view_ = new QTableView;
  view_->setObjectName("layerTable");
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(LayerTableModel::Name, Qt::AscendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setAlternatingRowColors(true);
  view_->setWordWrap(false);
  view_->setCornerButtonEnabled(false);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->horizontalHeader()->setStretchLastSection(false);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  view_->resizeColumnsToContents();  // with no rows yet, to the headers

  auto* filter_row = new QHBoxLayout;
  filter_row->addWidget(filter_, 1);
  filter_row->addWidget(layer_count_);
  auto* left = new QWidget;
  auto* left_layout = new QVBoxLayout(left);
  left_layout->setContentsMargins(10, 10, 6, 6);
  left_layout->addWidget(model_title_);
  left_layout->addWidget(model_summary_);
  left_layout->addSpacing(4);
  left_layout->addLayout(filter_row);
  left_layout->addWidget(view_, 1);

  // Right: a format box and the histogram of the selected layer, plain or quantized in that format.
  format_edit_ = new QLineEdit;
  format_edit_->setObjectName("formatEdit");
  format_edit_->setPlaceholderText(tr("Quantization format: kmeans2, int4:g128, quest4, nf4 … (empty: weights)"));
  format_edit_->setToolTip(QString::fromStdString(format_grammar()));
  format_edit_->setClearButtonEnabled(true);
  format_edit_->setAcceptDrops(false);
  format_status_ = new QLabel;
  format_status_->setObjectName("formatStatus");
  format_status_->setWordWrap(true);
  format_status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  format_status_->hide();
  auto* format_label = new QLabel(tr("&Format"));
  format_label->setBuddy(format_edit_);
  auto* format_row = new QHBoxLayout;
  format_row->addWidget(format_label);
  format_row->addWidget(format_edit_, 1);

  plot_ = new WeightHistogramPlot;
  plot_->setObjectName("histogramPlot");
  plot_->message_show(tr("Open a model to see the weight histogram of its layers"));

  auto* right = new QWidget;
  auto* right_layout = new QVBoxLayout(right);
  right_layout->setContentsMargins(6, 10, 10, 6);
  right_layout->addLayout(format_row);
  right_layout->addWidget(format_status_);
  right_layout->addWidget(plot_, 1);

  splitter_ = new QSplitter(Qt::Horizontal);
  splitter_->addWidget(left);
  splitter_->addWidget(right);
  splitter_->setStretchFactor(0, 5);
  splitter_->setStretchFactor(1, 6);
  splitter_->setChildrenCollapsible(false);
  setCentralWidget(splitter_);

  connect(filter_, &QLineEdit::textChanged, this, [this](const QString& text) {
    proxy_->setFilterWildcard(text);
    layer_count_update();
  });
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& current) { layer_show(current); });
  connect(format_edit_, &QLineEdit::textChanged, this, &MainWindow::format_changed);
  connect(plot_, &WeightHistogramPlot::log_scale_changed, this,
          [](bool on) { QSettings().setValue(kLogScaleKey, on); });

  menus_create();
  status_bar_create();
  setAcceptDrops(true);
  setWindowTitle(tr("Quantscope"));
  settings_restore();
  layer_count_update();
}

MainWindow::~MainWindow() = default;

void MainWindow::menus_create() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open_file = file->addAction(tr("&Open File…"), this, &MainWindow::open_file_dialog);
  open_file->setShortcut(QKeySequence::Open);
  open_file->setStatusTip(tr("Open a llama2.c .bin or a .safetensors file with config.json beside it"));
  QAction* open_folder = file->addAction(tr("Open &Folder…"), this, &MainWindow::open_folder_dialog);
  open_folder->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  open_folder->setStatusTip(tr("Open a Hugging Face model directory (config.json and safetensors)"));
  recent_menu_ = file->addMenu(tr("Open &Recent"));
  recent_menu_update();
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About Quantscope"), this, &MainWindow::about_show);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::status_bar_create() {
  job_label_ = new QLabel;
  progress_ = new QProgressBar;
  progress_->setFixedWidth(180);
  progress_->setMaximumHeight(statusBar()->fontMetrics().height() + 4);
  progress_->setTextVisible(false);
  cancel_ = new QToolButton;
  cancel_->setText(tr("Cancel"));
  cancel_->setToolTip(tr("Stop loading the model, or computing its weight statistics"));
  connect(cancel_, &QToolButton::clicked, this, [this] {
    if (load_id_ != 0)
      runner_->cancel(load_id_);
    else
      statistics_runner_->cancel(statistics_id_);
  });
  statusBar()->addPermanentWidget(job_label_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);
  for (QWidget* w :
       {static_cast<QWidget*>(job_label_), static_cast<QWidget*>(progress_), static_cast<QWidget*>(cancel_)})
    w->hide();
}

void MainWindow::settings_restore() {
  QSettings settings;
  if (!restoreGeometry(settings.value(kGeometryKey).toByteArray())) resize(1360, 820);
  restoreState(settings.value(kStateKey).toByteArray());
  if (!splitter_->restoreState(settings.value(kSplitterKey).toByteArray())) splitter_->setSizes({730, 630});
  plot_->log_scale_set(settings.value(kLogScaleKey, false).toBool());
}

void MainWindow::settings_save() const {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
  settings.setValue(kSplitterKey, splitter_->saveState());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  settings_save();
  // A load still running would only delay the exit; JobRunner's destructor waits for it to stop.
  runner_->cancel(load_id_);
  statistics_runner_->cancel(statistics_id_);
  QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.size() == 1 && urls.first().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.size() != 1 || !urls.first().isLocalFile()) return;
  event->acceptProposedAction();
  model_open(urls.first().toLocalFile());
}

QString MainWindow::dialog_directory() const {
  if (!model_path_.isEmpty()) return QFileInfo(model_path_).absolutePath();
  return QSettings().value(kDirectoryKey, QDir::homePath()).toString();
}

void MainWindow::open_file_dialog() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open Model File"), dialog_directory(),
      tr("Model files (*.bin *.safetensors);;llama2.c checkpoints (*.bin);;safetensors (*.safetensors);;"
         "All files (*)"));
  if (path.isEmpty()) return;
  QSettings().setValue(kDirectoryKey, QFileInfo(path).absolutePath());
  model_open(path);
}

void MainWindow::open_folder_dialog() {
  const QString path =
      QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Model Folder"), dialog_directory());
  if (path.isEmpty()) return;
  QSettings().setValue(kDirectoryKey, QFileInfo(path).absolutePath());
  model_open(path);
}

void MainWindow::about_show() {
  QMessageBox::about(
      this, tr("About Quantscope"),
      tr("<h3>Quantscope %1</h3>"
         "<p>A workbench for studying the quantization of large language models layer by layer.</p>"
         "<p>Opens Hugging Face Llama-family models and llama2.c checkpoints, lists every linear "
         "layer with its weight statistics, and plots the weight distribution of each.</p>"
         "<p><small>Qt %2 · QCustomPlot %3</small></p>")
          .arg(QStringLiteral(QS_VERSION), QString::fromLatin1(qVersion()),
               QStringLiteral(QCUSTOMPLOT_VERSION_STR)));
}

QStringList MainWindow::recent_files() const { return QSettings().value(kRecentKey).toStringList(); }

void MainWindow::recent_add(const QString& path) {
  QStringList files = recent_files();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kRecentMax) files.removeLast();
  QSettings().setValue(kRecentKey, files);
  recent_menu_update();
}

void MainWindow::recent_remove(const QString& path) {
  QStringList files = recent_files();
  if (files.removeAll(path) == 0) return;
  QSettings().setValue(kRecentKey, files);
  recent_menu_update();
}

void MainWindow::recent_menu_update() {
  recent_menu_->clear();
  const QStringList files = recent_files();
  for (int i = 0; i < files.size(); ++i) {
    const QString& path = files[i];
    const QString label = fontMetrics().elidedText(path, Qt::ElideMiddle, 480);
    QAction* action = recent_menu_->addAction(QString("&%1  %2").arg((i + 1) % 10).arg(label));
    action->setToolTip(path);
    connect(action, &QAction::triggered, this, [this, path] { model_open(path); });
  }
  if (files.isEmpty()) recent_menu_->addAction(tr("No recent models"))->setEnabled(false);
  recent_menu_->addSeparator();
  QAction* clear = recent_menu_->addAction(tr("&Clear Menu"), this, [this] {
    QSettings().remove(kRecentKey);
    recent_menu_update();
  });
  clear->setEnabled(!files.isEmpty());
}

void MainWindow::empty_state_show(const QString& reason) {
  statusBar()->showMessage(tr("No model open: use File ▸ Open or drop a model onto the window"));
  statusBar()->setToolTip(reason);
}

void MainWindow::model_open(const QString& path) {
  if (path.isEmpty()) return;
  const QString absolute = QFileInfo(path).absoluteFilePath();
  runner_->cancel(load_id_);  // the newer request wins over a load still running
  auto result = std::make_shared<LoadResult>();
  const std::filesystem::path native = path_native(absolute);
  load_path_ = absolute;
  load_result_ = result;
  load_id_ = runner_->submit("load", tr("Opening %1").arg(display_name(absolute)),
                             [result, native](JobContext& job) {
                               result->model = model_load(native, {}, &job);
                               result->rows = LayerTableModel::rows_of(*result->model);
                             });
  job_label_->setText(tr("Opening %1…").arg(display_name(absolute)));
  progress_->setRange(0, 0);
  job_widgets_show(true);
  statusBar()->clearMessage();
}

void MainWindow::job_progress(JobRunner::JobId id, double fraction, const QString& message) {
  if (id != load_id_) return;
  if (!message.isEmpty()) job_label_->setText(message);
  if (fraction < 0) {
    progress_->setRange(0, 0);
  } else {
    progress_->setRange(0, 1000);
    progress_->setValue(static_cast<int>(fraction * 1000));
  }
}

void MainWindow::job_finished(JobRunner::JobId id) {
  if (id == load_id_) {
    model_show(load_path_);
  } else if (id == histogram_id_) {
    histogram_id_ = 0;
    plot_->histogram_show(histogram_layer_, histogram_result_->histogram, histogram_result_->stats);
    histogram_result_.reset();
    Q_EMIT histogram_shown(histogram_layer_);
  } else if (id == quantize_id_) {
    quantize_id_ = 0;
    plot_->quantized_show(quantize_layer_, quantize_result_->tensor);
    const int levels = static_cast<int>(quantize_result_->tensor.levels.size());
    quantize_result_.reset();
    format_status_set(QString(), false);
    Q_EMIT quantized_shown(quantize_layer_, levels);
  }
}

void MainWindow::job_failed(JobRunner::JobId id, const QString& error) {
  if (id == load_id_) {
    const QString path = load_path_;
    load_end(tr("Could not open %1").arg(display_name(path)));
    // A recent entry that has gone away is no use in the menu.
    if (!QFileInfo::exists(path)) recent_remove(path);
    error_show(tr("Could not open %1").arg(display_name(path)), error);
    Q_EMIT model_load_failed(error);
  } else if (id == histogram_id_) {
    histogram_id_ = 0;
    histogram_result_.reset();
    plot_->message_show(tr("No histogram for %1:\n%2").arg(histogram_layer_, error));
  } else if (id == quantize_id_) {
    quantize_id_ = 0;
    quantize_result_.reset();
    plot_->message_show(tr("Cannot quantize %1 as %2").arg(quantize_layer_, format_edit_->text().trimmed()));
    format_status_set(error, true);
    Q_EMIT quantize_failed(quantize_layer_, error);
  }
}

void MainWindow::job_cancelled(JobRunner::JobId id) {
  if (id == load_id_) load_end(tr("Opening %1 cancelled").arg(display_name(load_path_)));
  // A cancelled histogram or quantization was replaced by a newer request, whose result is on its way.
}

void MainWindow::job_widgets_show(bool on) {
  for (QWidget* w :
       {static_cast<QWidget*>(job_label_), static_cast<QWidget*>(progress_), static_cast<QWidget*>(cancel_)})
    w->setVisible(on);
}

void MainWindow::load_end(const QString& status) {
  load_id_ = 0;
  load_result_.reset();
  job_widgets_show(statistics_id_ != 0);
  statusBar()->showMessage(status, 8000);
}

void MainWindow::statistics_request() {
  statistics_runner_->cancel(statistics_id_);  // they belong to the previous model
  auto result = std::make_shared<WeightStatistics>();
  const std::shared_ptr<const Model> model = model_;
  statistics_result_ = result;
  statistics_id_ = statistics_runner_->submit("statistics", tr("Weight statistics"), [model, result](JobContext& job) {
    *result = weight_statistics_compute(*model, weight_statistics_cache_dir(), &job);
  });
  job_label_->setText(tr("Weight statistics…"));
  progress_->setRange(0, 0);
  job_widgets_show(true);
}

void MainWindow::statistics_end(const QString& error) {
  statistics_id_ = 0;
  statistics_result_.reset();
  if (!error.isEmpty()) {
    table_->statistics_fail(error);
    statusBar()->showMessage(tr("No weight statistics: %1").arg(error), 8000);
  }
  job_widgets_show(load_id_ != 0);
  Q_EMIT statistics_shown(error.isEmpty());
}

void MainWindow::model_show(const QString& path) {
  std::shared_ptr<LoadResult> result = load_result_;
  load_end(tr("Opened %1").arg(path));
  statusBar()->setToolTip(QString());
  model_ = result->model;
  model_path_ = path;
  histogram_id_ = 0;  // a histogram or quantization still on its way belongs to the previous model
  quantize_id_ = 0;
  table_->rows_set(std::move(result->rows));
  view_->resizeColumnsToContents();
  layer_count_update();
  statistics_request();

  const ModelConfig& config = model_->config();
  model_title_->setText(display_name(path));
  model_title_->setToolTip(path);
  const QString format =
      model_->source_format() == "llama2c" ? tr("llama2.c checkpoint") : tr("Hugging Face");
  // Architecture on the first line, size and origin on the second.
  model_summary_->setText(
      tr("%1 · %2 blocks · hidden %3 · %4 heads (%5 KV) · vocabulary %6\n%7 parameters · %8 %9 · %10")
          .arg(QString::fromStdString(config.model_type))
          .arg(config.num_hidden_layers)
          .arg(config.hidden_size)
          .arg(config.num_attention_heads)
          .arg(config.num_key_value_heads)
          .arg(config.vocab_size)
          .arg(parameters_format(model_->parameter_count()))
          .arg(QLocale(QLocale::English).formattedDataSize(static_cast<qint64>(model_->stored_bytes()), 1))
          .arg(dtypes_text(*model_))
          .arg(format));
  setWindowTitle(tr("%1 — Quantscope").arg(display_name(path)));
  recent_add(path);

  if (proxy_->rowCount() > 0) {
    view_->setCurrentIndex(proxy_->index(0, LayerTableModel::Name));
  } else {
    plot_->message_show(tr("This model has no linear layers"));
  }
  Q_EMIT model_loaded(path);
}

void MainWindow::error_show(const QString& text, const QString& detail) {
  auto* box = new QMessageBox(QMessageBox::Critical, tr("Quantscope"), text, QMessageBox::Ok, this);
  box->setInformativeText(detail);
  // Core's messages name a full path; without a minimum width the box wraps it into a narrow column.
  box->setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 440px; }");
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();  // window-modal but non-blocking: jobs keep reporting while it is up
}

void MainWindow::layer_show(const QModelIndex& proxy_index) {
  if (format_edit_->text().trimmed().isEmpty())
    histogram_request(proxy_index);
  else
    quantize_request(proxy_index);
}

void MainWindow::histogram_request(const QModelIndex& proxy_index) {
  if (!proxy_index.isValid() || !model_) return;
  quantize_id_ = 0;  // the plain histogram replaces a quantization still on its way
  const LayerRow& layer_row = table_->row_at(proxy_->mapToSource(proxy_index).row());
  const QString name = QString::fromStdString(layer_row.layer.name);
  auto result = std::make_shared<HistogramResult>();
  const std::shared_ptr<const Model> model = model_;
  const std::string tensor = layer_row.layer.name + ".weight";
  const int bins = WeightHistogramPlot::bins_choose(layer_row.layer.parameters());
  histogram_layer_ = name;
  histogram_result_ = result;
  // Tagged: while the user runs through the table, only the latest pending request is computed.
  histogram_id_ = runner_->submit("histogram", tr("Histogram of %1").arg(name),
                                  [model, tensor, bins, result](JobContext& job) {
                                    const std::vector<float> values = model->tensor_values(tensor);
                                    job.check_cancelled();
                                    result->stats = stats_compute(values);  // names NaN or Inf weights
                                    result->histogram = histogram_compute(values, bins);
                                  });
}

void MainWindow::format_changed() {
  if (format_edit_->text().trimmed().isEmpty()) format_status_set(QString(), false);
  layer_show(view_->currentIndex());
}

void MainWindow::quantize_request(const QModelIndex& proxy_index) {
  const QString text = format_edit_->text().trimmed();
  FormatSpec spec;
  try {
    spec = format_parse(text.toStdString());
  } catch (const Error& e) {
    // Half-typed specs pass through here on the way to a valid one: the plot keeps what it shows.
    runner_->cancel(quantize_id_);
    quantize_id_ = 0;
    format_status_set(QString::fromStdString(e.what()), true);
    return;
  }
  if (!proxy_index.isValid() || !model_) {
    format_status_set(tr("Select a layer to quantize it as %1").arg(text), false);
    return;
  }
  const LayerRow& layer_row = table_->row_at(proxy_->mapToSource(proxy_index).row());
  const QString name = QString::fromStdString(layer_row.layer.name);
  auto result = std::make_shared<QuantizeResult>();
  const std::shared_ptr<const Model> model = model_;
  const LinearLayer layer = layer_row.layer;
  const int bins = WeightHistogramPlot::bins_choose(layer.parameters());
  histogram_id_ = 0;  // the quantized view replaces a plain histogram still on its way
  // A running quantization of an older request may stop at its next check; a pending one is replaced
  // through the tag.
  runner_->cancel(quantize_id_);
  quantize_layer_ = name;
  quantize_result_ = result;
  quantize_id_ = runner_->submit("quantize", tr("Quantizing %1 as %2").arg(name, text),
                                 [model, layer, spec, bins, result](JobContext& job) {
                                   job.check_cancelled();
                                   QuantizeOptions options;
                                   options.name = layer.name;
                                   options.histogram_bins = bins;
                                   options.summary_only = true;  // the plot needs no per-weight arrays
                                   result->tensor = layer_quantize(*model, layer.name, spec, options);
                                 });
  format_status_set(tr("Quantizing %1 as %2…").arg(name, QString::fromStdString(format_print(spec))), false);
}

void MainWindow::format_status_set(const QString& text, bool error) {
  format_status_->setText(text);
  format_status_->setStyleSheet(error ? QStringLiteral("color: #b3261e;") : QStringLiteral("color: #787878;"));
  format_status_->setVisible(!text.isEmpty());
}

void MainWindow::layer_count_update() {
  const int total = table_->rowCount();
  const int shown = proxy_->rowCount();
  if (total == 0)
    layer_count_->clear();
  else if (shown != total)
    layer_count_->setText(tr("%1 of %2 layers").arg(shown).arg(total));
  else
    layer_count_->setText(total == 1 ? tr("1 linear layer") : tr("%1 linear layers").arg(total));
}

}  // namespace qs
