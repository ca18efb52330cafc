// Evaluation of the current plan against the base model (F5): the plan is applied to a copy of the
// model and measured on a text (perplexity with its standard error, bits per byte, KL divergence of the
// next-token distributions, top-1 agreement) and on task files (accuracy with its standard error), as
// `quantscope-cli eval --plan --tasks` measures it. The base model's side is prepared once per text and
// reused. Every evaluation lands in a history table, drawn beside it as a rate–distortion plot with its
// Pareto front, so the plans worth keeping stand out; two selected rows show their difference, and
// "Copy as Command" gives the CLI line that prints the same numbers.
#pragma once
#include <QList>
#include <QStringList>
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"

class QCPItemText;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QToolButton;

namespace qs {

class EvalHistoryModel;
class KlReference;
class Model;
class PlotView;
struct EvalRecord;
struct EvaluationJob;
struct TaskMakeRequest;

class EvaluationPanel : public Panel {
  Q_OBJECT

 public:
  explicit EvaluationPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;

  EvalHistoryModel* history() const { return history_; }
  QTableView* history_view() const { return view_; }
  QLineEdit* text_edit() const { return text_edit_; }
  QSpinBox* max_tokens_box() const { return max_tokens_; }
  QSpinBox* ctx_box() const { return ctx_; }
  // The task files every evaluation scores (quantscope-cli eval --tasks); the demo model's bundled ones
  // when it opens.
  const QStringList& task_paths() const { return task_paths_; }
  void task_paths_set(const QStringList& paths);
  // Makes a task file in a job (the Tasks menu's "Make Task Files From a Text…") and adds it to
  // task_paths(); tasks_made reports it (an empty path when it failed, the error in the status).
  void tasks_make(const TaskMakeRequest& request);
  // The rate–distortion plot of the history and its axes (columns of EvalHistoryModel).
  PlotView* history_plot() const { return plot_; }
  QComboBox* plot_x_box() const { return plot_x_; }
  QComboBox* plot_y_box() const { return plot_y_; }
  // Starts an evaluation of the current plan (replacing one still waiting); false, with the reason
  // shown, when there is no model or no text.
  bool evaluate();
  void cancel() override;
  bool running() const { return id_ != 0; }
  // The CLI line for a history row; the plan is written to a file first when it is not the saved one.
  QString command(int row) const;
  // The difference of two history rows, as shown when two are selected.
  QString difference(int a, int b) const;
  QSize sizeHint() const override;

 Q_SIGNALS:
  void evaluated(int row);
  void evaluation_failed(const QString& error);
  void tasks_made(const QString& path);

 private:
  void model_show();
  void selection_show();
  void status_set(const QString& text, bool error);
  void job_end();
  void tasks_choose();
  void tasks_make_dialog();
  void plot_draw();

  QLineEdit* text_edit_;
  QSpinBox* max_tokens_;
  QSpinBox* ctx_;
  QToolButton* tasks_button_;
  QStringList task_paths_;
  QPushButton* evaluate_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QTableView* view_;
  EvalHistoryModel* history_;
  QLabel* difference_;
  PlotView* plot_;
  QComboBox* plot_x_;
  QComboBox* plot_y_;
  QList<QCPItemText*> plot_labels_;  // one per point, removed on redraw (the view's readout stays)
  QString plot_hint_;                // the view's own tooltip (how to zoom, copy), after the plot's
  JobRunner* runner_;  // of its own: an evaluation takes seconds to minutes
  JobRunner::JobId id_ = 0;
  std::shared_ptr<EvaluationJob> job_;
  // The base model's side for one text, reused while the model and the text stay.
  std::shared_ptr<const KlReference> reference_;
  std::shared_ptr<const Model> reference_model_;
  QString reference_key_;
  int plan_count_ = 0;
};

}  // namespace qs
