// MainWindow: docks from the panel table, menus, drag and drop, settings, and the load job.
#include "main_window.hpp"

#include <qcustomplot.h>

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolButton>
#include <QUndoStack>
#include <filesystem>

#include "export_dialog.hpp"
#include "inspector_panel.hpp"
#include "qat_panel.hpp"
#include "panel.hpp"
#include "panel_registry.hpp"
#include "plot_view.hpp"
#include "quantscope/error.hpp"
#include "quantscope/export.hpp"
#include "eval_history_model.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "recent_menu.hpp"
#include "preferences.hpp"
#include "preferences_dialog.hpp"
#include "session_file.hpp"
#include "workbench.hpp"

namespace qs {

// What a load job hands to the UI thread.
struct LoadResult {
  std::shared_ptr<Model> model;
};

namespace {

const char* const kRecentKey = "recentModels";
const char* const kRecentSessionsKey = "recentSessions";
const char* const kSessionSuffix = ".qscope.json";
const char* const kDirectoryKey = "lastDirectory";
const char* const kGeometryKey = "window/geometry";
const char* const kStateKey = "window/state";

std::filesystem::path path_native(const QString& path) { return QFile::encodeName(path).toStdString(); }

// A results.h5 (any .h5 but a training run's run.h5), or a folder holding one.
bool results_file(const QString& path) {
  const QFileInfo info(path);
  if (info.isDir()) return QFileInfo(QDir(path).filePath("results.h5")).isFile();
  return info.isFile() && path.endsWith(".h5", Qt::CaseInsensitive) && info.fileName() != "run.h5";
}

// A training run's folder or its run.h5.
bool run_folder(const QString& path) {
  const QFileInfo info(path);
  return info.isDir() ? QFileInfo(QDir(path).filePath("run.h5")).isFile() : info.fileName() == "run.h5";
}

QString display_name(const QString& path) {
  const QFileInfo info(path);
  return info.fileName().isEmpty() ? QDir(path).dirName() : info.fileName();
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  workbench_ = new Workbench(this);
  loader_ = new JobRunner(this);
  connect(loader_, &JobRunner::progress, this, &MainWindow::load_progress);
  connect(loader_, &JobRunner::finished, this, &MainWindow::load_finished);
  connect(loader_, &JobRunner::failed, this, &MainWindow::load_failed);
  connect(loader_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    if (id == load_id_) load_end(tr("Opening %1 cancelled").arg(display_name(load_path_)));
  });
  exporter_ = new JobRunner(this);
  connect(exporter_, &JobRunner::progress, this, [this](JobRunner::JobId, double fraction, const QString& message) {
    statusBar()->showMessage(tr("Exporting: %1 (%2 %)").arg(message).arg(int(std::max(0.0, fraction) * 100)));
  });
  connect(exporter_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    const std::shared_ptr<ExportReport> report = export_reports_[id];
    export_reports_.erase(id);
    const size_t fallen = report->fallback_layers.size();
    const QString fallback = fallen == 0   ? QString()
                             : fallen == 1 ? tr("; 1 layer in the fallback")
                                           : tr("; %1 layers in the fallback").arg(fallen);
    const QString path = QString::fromStdString(report->path.string());
    statusBar()->showMessage(tr("Exported %1: %2, %3 % of the model in bf16%4")
                                 .arg(path)
                                 .arg(QLocale(QLocale::English).formattedDataSize(qint64(report->bytes), 1))
                                 .arg(100.0 * double(report->bytes) / double(report->bf16_bytes), 0, 'f', 1)
                                 .arg(fallback),
                             15000);
    Q_EMIT exported(path);
  });
  connect(exporter_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    export_reports_.erase(id);
    statusBar()->clearMessage();
    error_show(tr("The export failed"), error);
  });
  connect(exporter_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) {
    export_reports_.erase(id);
    statusBar()->showMessage(tr("Export cancelled; nothing was written"), 8000);
  });
  connect(workbench_, &Workbench::statistics_progress, this, [this](double fraction, const QString& message) {
    if (load_id_ != 0) return;  // a load in progress owns the status bar
    job_label_->setText(message.left(1).toUpper() + message.mid(1));  // core's "weight statistics 3/225: …"
    progress_->setRange(0, 1000);
    progress_->setValue(static_cast<int>(fraction * 1000));
  });
  connect(workbench_, &Workbench::statistics_done, this, &MainWindow::statistics_end);
  connect(workbench_->undo_stack(), &QUndoStack::cleanChanged, this, &MainWindow::title_update);

  docks_create();
  menus_create();
  status_bar_create();
  setAcceptDrops(true);
  title_update();
  settings_restore();
}

MainWindow::~MainWindow() {
  // The workbench is a child, deleted by ~QWidget after this window's own parts are gone, and its undo
  // stack reports cleanChanged as it dies: nothing it says may reach this window by then.
  workbench_->undo_stack()->disconnect(this);
  workbench_->disconnect(this);
}

void MainWindow::docks_create() {
  setDockNestingEnabled(true);
  setDockOptions(AnimatedDocks | AllowNestedDocks | AllowTabbedDocks);
  std::map<Qt::DockWidgetArea, QDockWidget*> first_in_area;
  for (const PanelInfo& info : panels_registered()) {
    Panel* panel = info.make(*workbench_);
    panel->setObjectName(info.id + "Panel");
    auto* dock = new QDockWidget(info.title, this);
    dock->setObjectName(info.id);  // what saveState keys the dock by
    dock->setWidget(panel);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                      QDockWidget::DockWidgetClosable);
    addDockWidget(info.area, dock);
    if (auto it = first_in_area.find(info.area); it != first_in_area.end()) {
      tabifyDockWidget(it->second, dock);
      panel->exposed_set(false);  // a tab behind the first until the user picks it
    } else {
      first_in_area[info.area] = dock;
    }
    connect(dock, &QDockWidget::visibilityChanged, panel, &Panel::exposed_set);
    panels_[info.id] = panel;
    docks_[info.id] = dock;
  }
  // Tabs open on the first panel of each area.
  for (const auto& [area, dock] : first_in_area) dock->raise();
  if (auto* inspector = qobject_cast<InspectorPanel*>(panel("inspector"))) {
    connect(inspector, &InspectorPanel::histogram_shown, this, &MainWindow::histogram_shown);
    connect(inspector, &InspectorPanel::quantized_shown, this, [this, inspector](const QString& layer) {
      if (inspector->format_edit()->text().trimmed().isEmpty()) Q_EMIT histogram_shown(layer);
    });
  }
  if (auto* qat = qobject_cast<QatPanel*>(panel("qat")))
    connect(qat, &QatPanel::result_requested, this,
            [this](const QString& model, const QString& plan, const QString& reference) {
              result_plan_ = plan;
              result_reference_ = reference;
              model_open(model);
            });
  default_layout_ = saveState(kLayoutVersion);
  connect(workbench_, &Workbench::panel_show_requested, this, [this](const QString& id) {
    if (QDockWidget* d = dock(id)) {
      d->show();
      d->raise();
    }
  });
}

PlotView* MainWindow::plot_focused() const {
  for (QWidget* w = QApplication::focusWidget(); w; w = w->parentWidget())
    if (auto* view = qobject_cast<PlotView*>(w)) return view;
  for (QWidget* w = QApplication::widgetAt(QCursor::pos()); w; w = w->parentWidget())
    if (auto* view = qobject_cast<PlotView*>(w)) return view;
  return nullptr;
}

void MainWindow::plot_copy() {
  if (PlotView* view = plot_focused()) {
    view->image_copy();
    statusBar()->showMessage(tr("Plot copied to the clipboard"), 3000);
  } else {
    statusBar()->showMessage(tr("Click a plot first, then copy it"), 3000);
  }
}

Panel* MainWindow::panel(const QString& id) const {
  const auto it = panels_.find(id);
  return it == panels_.end() ? nullptr : it->second;
}

QDockWidget* MainWindow::dock(const QString& id) const {
  const auto it = docks_.find(id);
  return it == docks_.end() ? nullptr : it->second;
}

void MainWindow::dock_sizes_default() {
  // Dock sizes only take once the window has its size, hence on the first show, not at construction.
  resizeDocks({docks_.at("layers"), docks_.at("inspector")}, {width() * 3 / 5, width() * 2 / 5}, Qt::Horizontal);
  resizeDocks({docks_.at("layers"), docks_.at("evaluation")}, {height() * 7 / 10, height() * 3 / 10}, Qt::Vertical);
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  if (!shown_ && !layout_restored_) dock_sizes_default();
  shown_ = true;
}

void MainWindow::layout_restore_default() {
  restoreState(default_layout_, kLayoutVersion);
  dock_sizes_default();
  for (const auto& [id, dock] : docks_) dock->setVisible(true);
  // Raised last to first, so each area's tabs end on its first panel.
  for (auto info = panels_registered().rbegin(); info != panels_registered().rend(); ++info) docks_.at(info->id)->raise();
}

void MainWindow::menus_create() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open_file = file->addAction(tr("&Open File…"), this, &MainWindow::open_file_dialog);
  open_file->setShortcut(QKeySequence::Open);
  open_file->setStatusTip(tr("Open a GGUF file, a llama2.c .bin or a .safetensors file with config.json beside it"));
  QAction* open_folder = file->addAction(tr("Open &Folder…"), this, &MainWindow::open_folder_dialog);
  open_folder->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  open_folder->setStatusTip(
      tr("Open a Hugging Face model directory or a packed Quantscope checkpoint (config.json and safetensors)"));
  recent_models_ = new RecentMenu(tr("Open &Recent"), kRecentKey, tr("No recent models"),
                                  [this](const QString& path) { model_open(path); }, file);
  file->addMenu(recent_models_);
  device_menu_create(file);
  file->addSeparator();
  file->addAction(tr("Open Sess&ion…"), this, &MainWindow::session_open_dialog)
      ->setStatusTip(tr("Open a saved session: model, plan, selection, compare slots, evaluations and layout"));
  recent_sessions_ = new RecentMenu(tr("Recent Sessions"), kRecentSessionsKey, tr("No recent sessions"),
                                    [this](const QString& path) { session_open(path); }, file);
  file->addMenu(recent_sessions_);
  QAction* save_session = file->addAction(tr("Save Sessio&n…"), this, &MainWindow::session_save_dialog);
  save_session->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_S));
  save_session->setStatusTip(tr("Save everything open in the window to a .qscope.json session file"));
  file->addSeparator();
  file->addAction(tr("Open &Results…"), this, &MainWindow::open_results_dialog)
      ->setStatusTip(tr("A results.h5 of quantscope-cli run, sensitivity, allocate or sweep: its scans, frontier and "
                      "evaluations in the analysis panels"));
  file->addAction(tr("Open &Plan…"), this, &MainWindow::open_plan_dialog)
      ->setStatusTip(tr("Load a plan JSON (docs/plans.md) into the layer table; undoable"));
  QAction* save = file->addAction(tr("&Save Plan"), this, [this] {
    if (workbench_->plan_path().isEmpty())
      save_plan_dialog();
    else
      save_plan(workbench_->plan_path());
  });
  save->setShortcut(QKeySequence::Save);
  file->addAction(tr("Save Plan &As…"), this, &MainWindow::save_plan_dialog)->setShortcut(QKeySequence::SaveAs);
  file->addSeparator();
  QAction* export_action = file->addAction(tr("&Export…"), this, &MainWindow::export_dialog_show);
  export_action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  export_action->setStatusTip(tr("Write the model with its plan as llama.cpp (GGUF) or Hugging Face loads it"));
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  QAction* undo = workbench_->undo_stack()->createUndoAction(this, tr("&Undo"));
  undo->setShortcut(QKeySequence::Undo);
  QAction* redo = workbench_->undo_stack()->createRedoAction(this, tr("&Redo"));
  redo->setShortcuts({QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Z), QKeySequence(Qt::CTRL | Qt::Key_Y)});
  edit->addAction(undo);
  edit->addAction(redo);
  edit->addSeparator();
  QAction* copy_plot = edit->addAction(tr("Copy &Plot Image"), this, &MainWindow::plot_copy);
  copy_plot->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
  copy_plot->setStatusTip(tr("Copy the plot last clicked (or under the mouse) to the clipboard as an image"));
  edit->addSeparator();
  QAction* preferences = edit->addAction(tr("Pre&ferences…"), this, &MainWindow::preferences_show);
  preferences->setShortcut(QKeySequence::Preferences);
  preferences->setMenuRole(QAction::PreferencesRole);

  window_menu_ = menuBar()->addMenu(tr("&Window"));
  for (const PanelInfo& info : panels_registered()) {
    QAction* toggle = docks_.at(info.id)->toggleViewAction();
    toggle->setShortcut(info.shortcut);
    window_menu_->addAction(toggle);
  }
  window_menu_->addSeparator();
  window_menu_->addAction(tr("Restore &Default Layout"), this, &MainWindow::layout_restore_default);

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
      loader_->cancel(load_id_);
    else
      workbench_->statistics_cancel();
  });
  model_label_ = new QLabel;
  model_label_->setObjectName("modelLabel");
  jobs_button_ = new QToolButton;
  jobs_button_->setObjectName("jobsButton");
  jobs_button_->setPopupMode(QToolButton::InstantPopup);
  jobs_button_->setAutoRaise(true);
  jobs_button_->setToolTip(tr("Every job running in the window; choose one to cancel it (Esc in a panel cancels "
                              "that panel's jobs)"));
  auto* jobs_menu = new QMenu(jobs_button_);
  connect(jobs_menu, &QMenu::aboutToShow, this, [this, jobs_menu] { jobs_menu_fill(jobs_menu); });
  jobs_button_->setMenu(jobs_menu);
  // Jobs start and end in many panels; a glance twice a second keeps the count honest without
  // wiring every runner to the window.
  auto* jobs_poll = new QTimer(this);
  connect(jobs_poll, &QTimer::timeout, this, [this] {
    size_t running = 0;
    for (const JobRunner* runner : findChildren<JobRunner*>()) running += runner->active_count();
    jobs_button_->setText(running == 0 ? tr("No jobs") : running == 1 ? tr("1 job") : tr("%1 jobs").arg(running));
  });
  jobs_poll->start(500);
  jobs_button_->setText(tr("No jobs"));
  statusBar()->addPermanentWidget(model_label_);
  statusBar()->addPermanentWidget(jobs_button_);
  statusBar()->addPermanentWidget(job_label_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);
  job_widgets_show(false);
  model_label_update();
}

void MainWindow::jobs_menu_fill(QMenu* menu) {
  menu->clear();
  for (JobRunner* runner : findChildren<JobRunner*>())
    for (const auto& [id, title] : runner->active_jobs()) {
      QAction* action = menu->addAction(tr("Cancel: %1").arg(title));
      connect(action, &QAction::triggered, runner, [runner, id] { runner->cancel(id); });
    }
  if (menu->isEmpty()) menu->addAction(tr("Nothing is running"))->setEnabled(false);
}

void MainWindow::model_label_update() {
  const std::shared_ptr<const Model>& model = workbench_->model();
  const QLocale english(QLocale::English);
  if (!model) {
    model_label_->setText(tr("Opens on %1 · %2")
                              .arg(QString::fromLatin1(device_name(device_)).toUpper(),
                                   QString::fromLatin1(compute_type_name(compute_))));
    model_label_->setToolTip(tr("The device and precision the next model opens with (File ▸ Device and Precision)"));
    return;
  }
  model_label_->setText(tr("%1 · %2 · %3 · %4 stored + %5 converted")
                            .arg(QString::fromLatin1(device_name(model->device())).toUpper(),
                                 QString::fromLatin1(compute_type_name(model->compute())),
                                 QString::fromLatin1(residency_name(model->residency())),
                                 english.formattedDataSize(qint64(model->stored_bytes())),
                                 english.formattedDataSize(qint64(model->conversion_bytes()))));
  model_label_->setToolTip(tr("Device and compute precision of the open model; resident or streamed a block at a "
                              "time; the bytes mapped from its file and those its weights take converted for computing"));
}

void MainWindow::device_compute_read() {
  device_ = device_parse(preference(preference_key::kDevice).toString().toStdString()).value_or(Device::Cpu);
  if (device_ == Device::Cuda && !cuda_available()) device_ = Device::Cpu;
  compute_ = compute_type_parse(preference(preference_key::kCompute).toString().toStdString()).value_or(ComputeType::F32);
}

void MainWindow::preferences_show() {
  PreferencesDialog dialog(this);
  if (dialog.exec() != QDialog::Accepted) return;
  device_compute_read();
  for (QAction* action : device_actions_) action->setChecked(action->data().toString() == QString::fromLatin1(device_name(device_)) ||
                                                             action->data().toString() == QString::fromLatin1(compute_type_name(compute_)));
  model_label_update();
}

bool MainWindow::session_reopen_last() {
  const QStringList sessions = recent_sessions_->files();
  if (sessions.isEmpty() || !QFileInfo(sessions.front()).isFile()) return false;
  return session_open(sessions.front()).isEmpty();
}

void MainWindow::device_menu_create(QMenu* file) {
  device_compute_read();
  QMenu* menu = file->addMenu(tr("&Device and Precision"));
  menu->setToolTipsVisible(true);
  auto* devices = new QActionGroup(menu);
  auto* computes = new QActionGroup(menu);
  for (const Device device : {Device::Cpu, Device::Cuda}) {
    QAction* action = menu->addAction(device == Device::Cpu ? tr("&CPU") : tr("C&UDA GPU"));
    action->setData(QString::fromLatin1(device_name(device)));
    device_actions_ << action;
    action->setCheckable(true);
    action->setChecked(device == device_);
    action->setActionGroup(devices);
    if (device == Device::Cuda && !cuda_available()) {
      action->setEnabled(false);
      action->setToolTip(tr("This build or machine has no CUDA device"));
    }
    connect(action, &QAction::triggered, this, [this, device] {
      device_ = device;
      preference_set(preference_key::kDevice, QString::fromLatin1(device_name(device)));
      model_label_update();
    });
  }
  menu->addSeparator();
  for (const ComputeType compute : {ComputeType::F32, ComputeType::BF16}) {
    QAction* action = menu->addAction(compute == ComputeType::F32 ? tr("Compute in &float32") : tr("Compute in &bfloat16"));
    action->setData(QString::fromLatin1(compute_type_name(compute)));
    device_actions_ << action;
    action->setCheckable(true);
    action->setChecked(compute == compute_);
    action->setActionGroup(computes);
    action->setToolTip(compute == ComputeType::F32 ? tr("Exact evaluation; weights take 4 bytes each once converted")
                                                   : tr("Half the memory and faster on GPUs; evaluations differ slightly"));
    connect(action, &QAction::triggered, this, [this, compute] {
      compute_ = compute;
      preference_set(preference_key::kCompute, QString::fromLatin1(compute_type_name(compute)));
      model_label_update();
    });
  }
  menu->addSeparator();
  menu->addAction(tr("&Reopen the Model With These"), this, [this] {
    if (!workbench_->model_path().isEmpty()) model_open(workbench_->model_path());
  });
}

void MainWindow::settings_restore() {
  QSettings settings;
  if (!restoreGeometry(settings.value(kGeometryKey).toByteArray())) resize(1400, 860);
  layout_restored_ = restoreState(settings.value(kStateKey).toByteArray(), kLayoutVersion);  // an older version is ignored
}

void MainWindow::settings_save() const {
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState(kLayoutVersion));
}

void MainWindow::title_update() {
  // "model · plan.json[*] — Quantscope"; [*] shows as "*" while the plan has unsaved edits.
  QStringList names;
  if (workbench_->model()) names << display_name(workbench_->model_path());
  if (!workbench_->plan_path().isEmpty()) names << display_name(workbench_->plan_path());
  setWindowTitle(names.isEmpty() ? tr("Quantscope") : tr("%1[*] — Quantscope").arg(names.join(QStringLiteral(" · "))));
  setWindowModified(!workbench_->undo_stack()->isClean());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  settings_save();
  // A load still running would only delay the exit; JobRunner's destructor waits for it to stop.
  loader_->cancel(load_id_);
  workbench_->statistics_cancel();
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
  const QString path = urls.first().toLocalFile();
  // A session is .qscope.json, a plan other JSON; a model is a folder, a .gguf, a .bin or a .safetensors.
  if (QFileInfo(path).isFile() && path.endsWith(kSessionSuffix, Qt::CaseInsensitive))
    session_open(path);
  else if (QFileInfo(path).isFile() && path.endsWith(".json", Qt::CaseInsensitive))
    plan_open(path);
  else if (results_file(path))
    results_open(path);
  else if (run_folder(path))
    run_open(path);
  else
    model_open(path);
}

QString MainWindow::dialog_directory() const {
  if (!workbench_->model_path().isEmpty()) return QFileInfo(workbench_->model_path()).absolutePath();
  return QSettings().value(kDirectoryKey, QDir::homePath()).toString();
}

void MainWindow::open_file_dialog() {
  const QString path = QFileDialog::getOpenFileName(
      this, tr("Open Model File"), dialog_directory(),
      tr("Model files (*.gguf *.bin *.safetensors);;GGUF files (*.gguf);;llama2.c checkpoints (*.bin);;"
         "safetensors (*.safetensors);;All files (*)"));
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

void MainWindow::open_plan_dialog() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Open Plan"), dialog_directory(), tr("Plans (*.json);;All files (*)"));
  if (!path.isEmpty()) plan_open(path);
}

bool MainWindow::plan_open(const QString& path) {
  try {
    workbench_->plan_open(path);
  } catch (const Error& e) {
    error_show(tr("Could not load the plan %1").arg(display_name(path)), QString::fromStdString(e.what()));
    return false;
  }
  statusBar()->showMessage(tr("Plan %1 loaded (Edit ▸ Undo takes it back)").arg(display_name(path)), 8000);
  title_update();
  return true;
}

void MainWindow::run_open(const QString& path) {
  auto* qat = qobject_cast<QatPanel*>(panel("qat"));
  if (!qat) return;
  const QString error = qat->run_open(path);
  if (!error.isEmpty()) {
    error_show(tr("Could not open the run %1").arg(display_name(path)), error);
    return;
  }
  if (QDockWidget* d = dock("qat")) {
    d->show();
    d->raise();
  }
}

void MainWindow::open_results_dialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Analysis Results"), dialog_directory(),
                                                    tr("Results (results.h5 *.h5);;All files (*)"));
  if (!path.isEmpty()) results_open(path);
}

bool MainWindow::results_open(const QString& path) {
  try {
    workbench_->results_open(path);
  } catch (const Error& e) {
    error_show(tr("Could not open the results %1").arg(display_name(path)), QString::fromStdString(e.what()));
    return false;
  }
  const int scans = int(workbench_->scans().size());
  statusBar()->showMessage(tr("Results %1 open: %n sensitivity scan(s)", nullptr, scans).arg(workbench_->results_path()), 8000);
  if (QDockWidget* d = dock(scans > 0 ? "sensitivity" : "ratedistortion")) {
    d->show();
    d->raise();
  }
  return true;
}

bool MainWindow::save_plan(const QString& path) {
  try {
    workbench_->plan_save(path);
  } catch (const Error& e) {
    error_show(tr("Could not save the plan"), QString::fromStdString(e.what()));
    return false;
  }
  statusBar()->showMessage(tr("Plan saved to %1; quantscope-cli eval --plan reads it").arg(path), 8000);
  title_update();
  return true;
}

bool MainWindow::save_plan_dialog() {
  if (!workbench_->model()) return false;
  QString path = QFileDialog::getSaveFileName(this, tr("Save Plan"), dialog_directory() + "/plan.json",
                                              tr("Plans (*.json)"));
  if (path.isEmpty()) return false;
  if (!path.endsWith(".json", Qt::CaseInsensitive)) path += ".json";
  return save_plan(path);
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

void MainWindow::empty_state_show(const QString& reason) {
  statusBar()->showMessage(tr("No model open: use File ▸ Open or drop a model onto the window"));
  statusBar()->setToolTip(reason);
}

void MainWindow::model_open(const QString& path) {
  if (path.isEmpty()) return;
  const QString absolute = QFileInfo(path).absoluteFilePath();
  loader_->cancel(load_id_);  // the newer request wins over a load still running
  auto result = std::make_shared<LoadResult>();
  const std::filesystem::path native = path_native(absolute);
  LoadOptions options;
  options.device = device_;
  options.compute = compute_;
  load_path_ = absolute;
  load_result_ = result;
  load_id_ = loader_->submit("load", tr("Opening %1").arg(display_name(absolute)),
                             [result, native, options](JobContext& job) { result->model = model_load(native, options, &job); });
  job_label_->setText(tr("Opening %1…").arg(display_name(absolute)));
  progress_->setRange(0, 0);
  job_widgets_show(true);
  statusBar()->clearMessage();
}

void MainWindow::load_progress(JobRunner::JobId id, double fraction, const QString& message) {
  if (id != load_id_) return;
  if (!message.isEmpty()) job_label_->setText(message);
  if (fraction < 0) {
    progress_->setRange(0, 0);
  } else {
    progress_->setRange(0, 1000);
    progress_->setValue(static_cast<int>(fraction * 1000));
  }
}

void MainWindow::load_finished(JobRunner::JobId id) {
  if (id != load_id_) return;
  const std::shared_ptr<LoadResult> result = load_result_;
  const QString path = load_path_;
  load_end(tr("Opened %1").arg(path));
  statusBar()->setToolTip(QString());
  workbench_->model_set(result->model, path);
  job_label_->setText(tr("Weight statistics…"));
  progress_->setRange(0, 0);
  job_widgets_show(true);
  title_update();
  recent_models_->add(path);
  model_label_update();
  session_model_parts_apply();
  // A QAT result: the trained model with the plan it was trained for.
  if (!result_plan_.isEmpty() && QFileInfo(result_plan_).absolutePath() == QFileInfo(path).absoluteFilePath()) {
    plan_open(result_plan_);
    workbench_->reference_set(result_reference_);
  }
  result_plan_.clear();
  result_reference_.clear();
  Q_EMIT model_loaded(path);
}

void MainWindow::load_failed(JobRunner::JobId id, const QString& error) {
  if (id != load_id_) return;
  const QString path = load_path_;
  load_end(tr("Could not open %1").arg(display_name(path)));
  // A recent entry that has gone away is no use in the menu.
  if (!QFileInfo::exists(path)) recent_models_->remove(path);
  error_show(tr("Could not open %1").arg(display_name(path)), error);
  Q_EMIT model_load_failed(error);
}

void MainWindow::export_dialog_show() {
  const std::shared_ptr<const Model> model = workbench_->model();
  if (!model) {
    statusBar()->showMessage(tr("Open a model first: export writes the open model with its plan"), 8000);
    return;
  }
  std::vector<LayerFormat> plan;
  try {
    plan = plan_resolve(workbench_->plan(), *model);
  } catch (const Error& e) {
    error_show(tr("The plan cannot be exported as it is"), QString::fromStdString(e.what()));
    return;
  }
  ExportDialog dialog(model, plan, workbench_->model_path(), this);
  if (dialog.exec() != QDialog::Accepted) return;
  export_run(model, dialog.plan(), dialog.output_path(), dialog.options());
}

void MainWindow::export_run(std::shared_ptr<const Model> model, std::vector<LayerFormat> plan, const QString& path,
                            ExportOptions options) {
  auto report = std::make_shared<ExportReport>();
  const JobRunner::JobId id = exporter_->submit(
      QString(), tr("Exporting %1").arg(display_name(path)),
      [model, plan, options, report, out = path_native(path)](JobContext& context) mutable {
        options.job = &context;
        *report = model_export(*model, plan, out, options);
      });
  export_reports_[id] = report;
}

void MainWindow::job_widgets_show(bool on) {
  for (QWidget* w :
       {static_cast<QWidget*>(job_label_), static_cast<QWidget*>(progress_), static_cast<QWidget*>(cancel_)})
    w->setVisible(on);
}

void MainWindow::load_end(const QString& status) {
  load_id_ = 0;
  load_result_.reset();
  job_widgets_show(workbench_->statistics_running());
  statusBar()->showMessage(status, 8000);
}

void MainWindow::statistics_end(const QString& error) {
  if (!error.isEmpty()) statusBar()->showMessage(tr("No weight statistics: %1").arg(error), 8000);
  job_widgets_show(load_id_ != 0);
  Q_EMIT statistics_shown(error.isEmpty());
}

void MainWindow::error_show(const QString& text, const QString& detail) {
  auto* box = new QMessageBox(QMessageBox::Critical, tr("Quantscope"), text, QMessageBox::Ok, this);
  box->setInformativeText(detail);
  // Core's messages name a full path; without a minimum width the box wraps it into a narrow column.
  box->setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 440px; }");
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();  // window-modal but non-blocking: jobs keep reporting while it is up
}

void MainWindow::session_save(const QString& path) {
  Session session;
  session.model_path = workbench_->model_path();
  if (const auto& model = workbench_->model()) {
    session.device = QString::fromLatin1(device_name(model->device()));
    session.dtype = QString::fromLatin1(compute_type_name(model->compute()));
  }
  if (workbench_->model()) session.plan_json = QString::fromStdString(plan_json(workbench_->plan()));
  session.plan_path = workbench_->plan_path();
  session.selected_layer = workbench_->selected_layer();
  session.selected_layers = workbench_->selected_layers();
  session.compare_slots = workbench_->compare_slots();
  session.history = workbench_->history()->records();
  session.results_path = workbench_->results_path();
  for (const auto& [id, panel] : panels_) session.panels[id] = panel->state();
  session.layout = saveState(kLayoutVersion);
  session.geometry = saveGeometry();
  session_write(session, path);
  session_path_ = path;
  recent_sessions_->add(path);
  statusBar()->showMessage(tr("Session saved to %1").arg(path), 8000);
}

QString MainWindow::session_open(const QString& path) {
  Session session;
  try {
    session = session_read(path);
  } catch (const Error& e) {
    if (!QFileInfo::exists(path)) recent_sessions_->remove(path);
    error_show(tr("Could not open the session %1").arg(display_name(path)), QString::fromStdString(e.what()));
    return QString::fromStdString(e.what());
  }
  session_path_ = path;
  recent_sessions_->add(path);
  restoreGeometry(session.geometry);
  restoreState(session.layout, kLayoutVersion);
  for (const auto& [id, panel] : panels_) panel->state_restore(session.panels[id].toObject());
  workbench_->compare_slots_set(session.compare_slots);
  const bool model_there = !session.model_path.isEmpty() && QFileInfo::exists(session.model_path);
  QString missing;
  if (model_there) {
    // The device the session used, when this machine has it; the CPU otherwise.
    const std::optional<Device> device = device_parse(session.device.toStdString());
    if (device && (*device == Device::Cpu || cuda_available())) device_ = *device;
    compute_ = compute_type_parse(session.dtype.toStdString()).value_or(compute_);
    session_pending_ = std::make_unique<Session>(std::move(session));
    model_open(session_pending_->model_path);
  } else if (!session.model_path.isEmpty()) {
    missing = tr("%1: the model %2 is missing; the layout, compare slots and evaluation history are restored, the "
                 "plan and selection need the model")
                  .arg(path, session.model_path);
    for (EvalRecord& record : session.history) workbench_->history()->record_add(std::move(record));
    error_show(tr("The session's model is missing"), missing);
  }
  return missing;
}

void MainWindow::session_model_parts_apply() {
  if (!session_pending_) return;
  const std::unique_ptr<Session> session = std::move(session_pending_);
  if (QFileInfo(session->model_path).absoluteFilePath() != QFileInfo(workbench_->model_path()).absoluteFilePath()) return;
  QStringList problems;
  if (!session->plan_json.isEmpty()) {
    try {
      workbench_->plan_restore(plan_parse(session->plan_json.toStdString(), session_path_.toStdString()),
                               session->plan_path);
    } catch (const Error& e) {
      problems << QString::fromStdString(e.what());
    }
  }
  for (EvalRecord& record : session->history) workbench_->history()->record_add(std::move(record));
  if (!session->results_path.isEmpty()) {
    try {
      workbench_->results_open(session->results_path);
    } catch (const Error& e) {
      problems << QString::fromStdString(e.what());
    }
  }
  workbench_->layers_select(session->selected_layers);
  if (!session->selected_layer.isEmpty()) workbench_->layer_select(session->selected_layer);
  title_update();
  if (!problems.isEmpty()) error_show(tr("Part of the session could not be restored"), problems.join("\n"));
}

void MainWindow::session_open_dialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Session"), dialog_directory(),
                                                    tr("Quantscope sessions (*.qscope.json);;All files (*)"));
  if (!path.isEmpty()) session_open(path);
}

bool MainWindow::session_save_dialog() {
  QString path = QFileDialog::getSaveFileName(
      this, tr("Save Session"), session_path_.isEmpty() ? QDir(dialog_directory()).filePath("session.qscope.json") : session_path_,
      tr("Quantscope sessions (*.qscope.json)"));
  if (path.isEmpty()) return false;
  if (!path.endsWith(kSessionSuffix, Qt::CaseInsensitive)) path += kSessionSuffix;
  try {
    session_save(path);
    return true;
  } catch (const Error& e) {
    error_show(tr("Could not save the session"), QString::fromStdString(e.what()));
    return false;
  }
}

}  // namespace qs
