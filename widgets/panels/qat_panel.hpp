// Does QAT recover what quantization lost? Runs of `quantscope-cli qat` started here (New Run: the
// launcher, with "Copy as Command") or opened from a run folder or run.h5 (also by drag and drop),
// finished, cancelled, killed or still going. The dashboard follows each run file as the trainer
// renames a new one over it at every logged step: loss and held-out loss, learning rate, gradient norm
// and tokens/s (the checked runs overlaid), a heatmap of the masked gradient fraction (step × layer,
// weights or activations; a click on a row shows that layer's weight error and codebook drift), and
// the final table of QAT against post-training quantization. Open Result makes the trained model with
// its plan the workbench's model.
#pragma once
#include <QDateTime>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "job_runner.hpp"
#include "panel.hpp"
#include "qat_process.hpp"
#include "quantscope/run_file.hpp"

class QCPColorScale;
class QComboBox;
class QFileSystemWatcher;
class QLabel;
class QListWidget;
class QPushButton;
class QTabWidget;
class QTimer;

namespace qs {

class PlotView;

class QatPanel : public Panel {
  Q_OBJECT

 public:
  explicit QatPanel(Workbench& workbench, QWidget* parent = nullptr);
  ~QatPanel() override;

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;
  QSize sizeHint() const override;

  // The masked fractions as the heatmap draws them: at most kGridColumns columns, each the mean of the
  // logged steps it covers, computed with the read so that a long run does not stall the window.
  static constexpr int kGridColumns = 1000;
  struct MaskGrid {
    double first_step = 0, last_step = 0;
    int columns = 0, rows = 0;              // rows: the run's layers
    std::vector<double> weights, activations;  // columns × rows, column after column; NaN where none
  };
  struct Run {
    QString dir;                  // the run folder; run.h5 inside it
    std::shared_ptr<const RunTelemetry> telemetry;  // as last read; null until then
    std::shared_ptr<const MaskGrid> grid;           // of that telemetry
    QString read_error;           // why the file could not be read, when it could not
    QatProcess* process = nullptr;  // set for runs started here
    QString process_error;        // how a run started here ended, when it failed
    bool process_ended = false;
    QDateTime file_time;          // the run file's modification time when last read
    int64_t file_size = -1;
  };
  const std::vector<std::unique_ptr<Run>>& runs() const { return runs_; }
  // The run the heatmap, layer curves and final table show (the list's current row), or -1.
  int current_run() const;
  void current_set(int index);
  // What the list says of a run: running (step n of N), finished, cancelled at step n, failed: …,
  // or stopped at step n when the file says running and nothing has written it for a while.
  QString run_state(const Run& run) const;

  // Starts `quantscope-cli qat` with these settings; the reason when it cannot start.
  QString launch(const QatLaunch& launch);
  // Adds a run folder (or the folder of a run.h5) and follows it; the reason when it is none.
  QString run_open(const QString& path);
  void cancel() override;  // the current run, when it was started here
  // The settings the launcher opens with: the current plan (or one format) on the open model.
  QatLaunch launch_defaults() const;
  // The CLI line of a launch, as "Copy as Command" gives it.
  static QString command(const QatLaunch& launch);
  // Makes the current run's trained model (OUT/final) with its plan the workbench's model, evaluated
  // against the model the run started from.
  QString result_open();

  PlotView* curves_plot() const { return curves_; }
  PlotView* heatmap_plot() const { return heatmap_; }
  PlotView* layer_plot() const { return layer_curves_; }
  QComboBox* curve_box() const { return curve_; }
  QComboBox* mask_box() const { return mask_; }
  QListWidget* run_list() const { return list_; }
  QLabel* final_label() const { return final_; }
  QLabel* status_label() const { return status_; }
  // Curves, Masked Fraction, Layer, QAT vs PTQ.
  QTabWidget* tabs() const { return tabs_; }
  // The layer whose curves show (a heatmap row), or -1.
  int layer_shown() const { return layer_; }
  void layer_show(int layer);

 Q_SIGNALS:
  // A run's file was read again (its index in runs()).
  void run_updated(int index);
  // A run started here ended; error empty when it finished.
  void run_ended(int index, const QString& error);
  // Open Result: the window opens `model` and then the plan file, as one model of the workbench, and
  // evaluates it against `reference`, the model the run started from (empty when it started fresh).
  void result_requested(const QString& model, const QString& plan, const QString& reference);

 private:
  void poll();
  void read(int index);
  void list_show();
  void draw();
  void curves_draw();
  void heatmap_draw();
  void layer_draw();
  void final_show();
  void launch_dialog();

  std::vector<std::unique_ptr<Run>> runs_;
  QListWidget* list_;
  QTabWidget* tabs_;
  PlotView* curves_;
  QComboBox* curve_;
  PlotView* heatmap_;
  QCPColorScale* scale_;
  QComboBox* mask_;
  PlotView* layer_curves_;
  QLabel* layer_label_;
  QLabel* final_;
  QLabel* status_;
  QPushButton* cancel_;
  QPushButton* result_;
  QFileSystemWatcher* watcher_;
  QTimer* poll_timer_;
  JobRunner* reader_;
  int layer_ = -1;
};

}  // namespace qs
