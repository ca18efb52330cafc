// The workbench's document: the open model, the quantization plan being edited (with its undo stack),
// how that plan applies to each layer, and the selected layer. Panels observe it through its signals
// and change it through its methods, never through each other, so a panel can be added or removed
// without touching the others. Every plan edit is one undoable command.
#pragma once
#include <QObject>
#include <QtGlobal>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>

#include "quantscope/allocate.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/results.hpp"

class QUndoStack;

namespace qs {

class EvalHistoryModel;
class JobRunner;
class Model;
struct WeightStatistics;

class Workbench : public QObject {
  Q_OBJECT

 public:
  explicit Workbench(QObject* parent = nullptr);
  ~Workbench() override;

  // A new model starts with an empty plan (every layer as stored) and an empty undo history.
  void model_set(std::shared_ptr<const Model> model, const QString& path);
  const std::shared_ptr<const Model>& model() const { return model_; }
  // Work a panel asks for about the selection (histograms, quantizations): tagged, so a newer request
  // replaces a pending one.
  JobRunner* jobs() const { return jobs_; }

  // The weight statistics of every linear layer: a job of their own (minutes for an 8B model, so a
  // layer's histogram never queues behind them), started by model_set. Null until they are in.
  const std::shared_ptr<const WeightStatistics>& statistics() const { return statistics_; }
  bool statistics_running() const { return statistics_id_ != 0; }
  void statistics_cancel();
  const QString& model_path() const { return model_path_; }

  const QuantPlan& plan() const { return plan_; }
  // How the plan applies to each layer (embedding, linear layers, head), with each layer's and rule's
  // problem; recomputed on every edit from the checkpoint's headers alone.
  const PlanAssignment& assignment() const { return assignment_; }
  const PlanTotals& totals() const { return totals_; }
  // The plan file it was last opened from or saved to; empty for a new plan.
  const QString& plan_path() const { return plan_path_; }
  QUndoStack* undo_stack() const { return undo_; }
  // Layers whose format was set by name (an exact-name rule) rather than by a glob or the default.
  int edited_count() const;

  // Each returns the one-line reason the edit cannot apply (nothing changes then), or an empty string
  // once it is on the undo stack. `layers` are names from assignment(); nullopt resets them to what
  // the plan's globs and default give.
  QString layers_format_set(const QStringList& layers, const std::optional<FormatSpec>& format);
  // Replaces the whole plan (loading a file, applying an allocation); `label` names the undo entry.
  QString plan_replace(const QuantPlan& plan, const QString& label);
  QString rule_set(int index, const PlanRule& rule);  // index == rules.size() appends
  QString rule_remove(int index);
  QString rule_move(int from, int to);
  QString default_set(const std::optional<FormatSpec>& format);

  // A session's plan: applied without an undo entry, the history emptied and the plan clean.
  void plan_restore(const QuantPlan& plan, const QString& plan_path);

  // Plan files (docs/plans.md). Both throw qs::Error; opening is one undoable step.
  void plan_open(const QString& path);
  void plan_save(const QString& path);

  // The current layer (what the inspector and compare show) and the rows selected in the layer table
  // (what "Apply to Selection" and "Compare Across Layers" act on).
  const QString& selected_layer() const { return selected_; }
  void layer_select(const QString& layer);
  const QStringList& selected_layers() const { return selected_layers_; }
  void layers_select(const QStringList& layers);

  // The formats in the compare panel's slots (kCompareSlots of them; empty text for an unused slot).
  static constexpr int kCompareSlots = 4;
  const QStringList& compare_slots() const { return compare_slots_; }
  void compare_slots_set(const QStringList& slot_texts);

  // Every plan evaluated on this model, in the order evaluated; cleared when another model opens.
  EvalHistoryModel* history() const { return history_; }

  // The analysis results the sensitivity, budget and rate–distortion panels show: a scan made in the
  // window or a batch run's results.h5 (`path`, empty when not from a file). A new model keeps them, so
  // another model's frontier can be compared at equal size; the allocation is then refused.
  void results_set(std::shared_ptr<const ResultSet> results, const QString& path);
  const std::shared_ptr<const ResultSet>& results() const { return results_; }
  // Reads a results.h5, or the one in a `quantscope-cli run`/`sensitivity` output folder, and sets it.
  // Throws qs::Error naming the file.
  void results_open(const QString& path);
  const QString& results_path() const { return results_path_; }
  // The sensitivity scans in the results (sensitivity_scans_from_results), in their order.
  const std::vector<SensitivityScan>& scans() const { return scans_; }
  // The allocation the scans pose for the open model: null without scans, or when they do not fit it
  // (allocation_error says why).
  const std::shared_ptr<const AllocationProblem>& allocation() const { return allocation_; }
  const QString& allocation_error() const { return allocation_error_; }

  // A plan the layer table shows beside the plan without it being the plan (the budget slider's
  // allocation while it moves); nullopt when none. A new model or results clear it.
  void plan_preview_set(std::optional<QuantPlan> preview);
  const std::optional<QuantPlan>& plan_preview() const { return preview_; }

  // The model evaluations measure KL against: empty for the open model as stored, or the model a QAT
  // result was trained from. A new model clears it.
  void reference_set(const QString& path);
  const QString& reference_path() const { return reference_path_; }

  // Asks the evaluation panel to evaluate the current plan (as F5 does), e.g. "Evaluate This Point".
  void evaluation_request() { Q_EMIT evaluation_requested(); }

  // Asks the window to show and raise a panel (panel_registry's id), e.g. "Compare" in the table's menu.
  void panel_show(const QString& id) { Q_EMIT panel_show_requested(id); }

 Q_SIGNALS:
  void model_changed();
  void plan_changed();
  void selection_changed(const QString& layer);
  void layers_selection_changed(const QStringList& layers);
  void compare_slots_changed(const QStringList& slot_texts);
  void panel_show_requested(const QString& id);
  void results_changed();
  void evaluation_requested();
  void reference_changed();
  void plan_preview_changed();
  void statistics_progress(double fraction, const QString& message);
  // statistics() is set, or `error` says why there are none.
  void statistics_done(const QString& error);

 private:
  friend class PlanEdit;
  // The undo commands' one way in: sets the plan and recomputes the assignment.
  void plan_apply(const QuantPlan& plan);
  void allocation_update();
  // Validates `next` (the whole plan must resolve except for rules that match nothing while they are
  // being written) and pushes it.
  QString plan_push(const QuantPlan& next, const QString& label);

  std::shared_ptr<const Model> model_;
  QString model_path_;
  QuantPlan plan_;
  PlanAssignment assignment_;
  PlanTotals totals_;
  QString plan_path_;
  QUndoStack* undo_;
  QString selected_;
  QStringList selected_layers_;
  QStringList compare_slots_;
  EvalHistoryModel* history_;
  std::shared_ptr<const ResultSet> results_;
  QString results_path_;
  QString reference_path_;
  std::vector<SensitivityScan> scans_;
  std::shared_ptr<const AllocationProblem> allocation_;
  QString allocation_error_;
  std::optional<QuantPlan> preview_;
  JobRunner* jobs_;
  JobRunner* statistics_jobs_;
  quint64 statistics_id_ = 0;
  std::shared_ptr<const WeightStatistics> statistics_;
  std::shared_ptr<WeightStatistics> statistics_pending_;  // filled by the running job
};

}  // namespace qs
