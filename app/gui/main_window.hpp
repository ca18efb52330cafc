// The workbench window: the docks of panels_registered() around one Workbench document, the menus
// (File: models, plans, sessions, recent; Edit: undo and redo of plan edits; Window: each panel and the default
// layout), drag and drop (a model opens, a plan JSON loads), and the status bar with the running
// jobs. Loading runs as a job; the window submits it and hands the model to the Workbench.
#pragma once
#include <QByteArray>
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <map>
#include <memory>

#include "job_runner.hpp"
#include "quantscope/device.hpp"
#include "quantscope/export.hpp"

class QLabel;
class QMenu;
class QProgressBar;
class QToolButton;

namespace qs {

class Model;
class Panel;
class PlotView;
class RecentMenu;
class Workbench;
struct LoadResult;
struct Session;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // Bumped whenever the set of panels changes, so an older saved layout is ignored.
  static constexpr int kLayoutVersion = 6;

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens a model (HF directory, .safetensors with config.json beside it, or llama2.c .bin) in a job.
  // The open model stays until the new one has loaded; a failure is shown in a non-blocking message box.
  void model_open(const QString& path);
  // Loads a plan file as one undo step; a failure is shown in a message box. True when it loaded.
  bool plan_open(const QString& path);
  // Opens a results.h5 (or the folder of one) in the analysis panels; a failure is shown in a message
  // box. True when it opened.
  bool results_open(const QString& path);
  // Follows a training run folder (or its run.h5) in the QAT panel.
  void run_open(const QString& path);
  // Sessions (.qscope.json, session_file.hpp). Saving throws qs::Error naming the file. Opening shows
  // a message box when the file cannot be read; otherwise it restores the layout, panels and compare
  // slots at once and loads the model, then restores the plan, selection and evaluation history; a
  // session whose model is missing opens without them and says so. Returns what was missing (empty
  // when nothing was).
  void session_save(const QString& path);
  QString session_open(const QString& path);
  // Opens the newest recent session (Preferences ▸ Reopen the last session at start); false when there
  // is none or it could not be read.
  bool session_reopen_last();
  void preferences_show();

  // Shows that no model is open, with `reason` (e.g. why the demo model could not be found).
  void empty_state_show(const QString& reason);

  Workbench& workbench() const { return *workbench_; }
  // The panel of a registered id (panel_registry.cpp: "layers", "inspector", "compare", …), and its dock.
  Panel* panel(const QString& id) const;
  QDockWidget* dock(const QString& id) const;
  void layout_restore_default();
  // The plot Ctrl+Shift+C copies: the one holding the keyboard focus (a click focuses a plot), else
  // the one under the mouse; null when neither is a plot.
  PlotView* plot_focused() const;
  void plot_copy();
  // Writes `model` with `plan` (File ▸ Export…) as a job beside the selection's work: progress in the
  // status bar, cancelled from the Jobs menu, a failure in a message box, `exported` at the end.
  void export_run(std::shared_ptr<const Model> model, std::vector<LayerFormat> plan, const QString& path,
                  ExportOptions options);

 Q_SIGNALS:
  void model_loaded(const QString& path);
  void model_load_failed(const QString& error);
  // The table's statistics columns are filled (or say why not, when `ok` is false).
  void statistics_shown(bool ok);
  // The inspector's histogram of `layer` is on screen: its weights, or for a layer a checkpoint stores
  // quantized, its values over its format's grid.
  void histogram_shown(const QString& layer);
  void exported(const QString& path);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void showEvent(QShowEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void docks_create();
  void dock_sizes_default();
  void menus_create();
  void status_bar_create();
  void device_menu_create(QMenu* file);
  void device_compute_read();
  void model_label_update();
  void jobs_menu_fill(QMenu* menu);
  void settings_restore();
  void settings_save() const;
  void open_file_dialog();
  void open_folder_dialog();
  void open_plan_dialog();
  void open_results_dialog();
  bool save_plan(const QString& path);
  bool save_plan_dialog();
  void about_show();
  void session_open_dialog();
  bool session_save_dialog();
  // The parts of a pending session that need its model, once the model has loaded.
  void session_model_parts_apply();
  QString dialog_directory() const;
  void title_update();

  void export_dialog_show();
  void load_progress(JobRunner::JobId id, double fraction, const QString& message);
  void load_finished(JobRunner::JobId id);
  void load_failed(JobRunner::JobId id, const QString& error);
  void load_end(const QString& status);
  void statistics_end(const QString& error);
  void job_widgets_show(bool on);
  void error_show(const QString& text, const QString& detail);

  Workbench* workbench_;
  JobRunner* loader_;
  JobRunner* exporter_;  // exports, beside the selection's work rather than queued behind it
  std::map<JobRunner::JobId, std::shared_ptr<ExportReport>> export_reports_;  // filled by the running exports
  std::map<QString, Panel*> panels_;
  std::map<QString, QDockWidget*> docks_;
  QByteArray default_layout_;
  bool layout_restored_ = false;  // the user's layout came back from the settings
  bool shown_ = false;
  RecentMenu* recent_models_ = nullptr;
  RecentMenu* recent_sessions_ = nullptr;
  QString session_path_;
  // A QAT result being opened: its plan and the model it started from, applied once it has loaded.
  QString result_plan_, result_reference_;
  QList<QAction*> device_actions_;  // File ▸ Device and Precision, each with its device or compute name                      // the session last opened or saved
  std::unique_ptr<Session> session_pending_;  // opened, waiting for its model
  QMenu* window_menu_ = nullptr;
  QLabel* job_label_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QToolButton* cancel_ = nullptr;

  QLabel* model_label_ = nullptr;
  QToolButton* jobs_button_ = nullptr;
  // How the next model opens (File ▸ Device and Precision); kept in the settings and in sessions.
  Device device_ = Device::Cpu;
  ComputeType compute_ = ComputeType::F32;

  JobRunner::JobId load_id_ = 0;
  QString load_path_;
  std::shared_ptr<LoadResult> load_result_;
};

}  // namespace qs
