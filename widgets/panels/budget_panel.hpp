// What is the best plan for my memory budget? A slider and spin box set the budget in bits per weight
// or model MiB; each value solves the exact allocation over the scanned candidates (allocation_solve in
// a job; while the slider moves, only the value shown when the running solve reports is solved next)
// and the layer table
// previews the chosen formats without the plan changing. Beside it: the predicted loss, how many
// layers get each format, and the nearest uniform plan at the same size. Apply as Plan is one undo step.
#pragma once
#include <QString>
#include <optional>

#include "job_runner.hpp"
#include "panel.hpp"
#include "quantscope/allocate.hpp"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;

namespace qs {

class BudgetPanel : public Panel {
  Q_OBJECT

 public:
  explicit BudgetPanel(Workbench& workbench, QWidget* parent = nullptr);

  QJsonObject state() const override;
  void state_restore(const QJsonObject& state) override;
  QSize sizeHint() const override;
  void cancel() override;

  QSlider* slider() const { return slider_; }
  QDoubleSpinBox* value_box() const { return value_; }
  QComboBox* unit_box() const { return unit_; }
  QPushButton* apply_button() const { return apply_; }
  QLabel* summary_label() const { return summary_; }
  JobRunner* runner() const { return runner_; }
  // The budget the spin box shows, and the allocation solved for it (empty until its solve lands).
  AllocationBudget budget() const;
  const std::optional<Allocation>& allocation() const { return allocation_; }
  // Makes the previewed allocation the plan (one undo step); the reason when there is none.
  QString apply();

 Q_SIGNALS:
  void solved();

 private:
  void problem_show();
  void solve();
  void solve_again();
  void unit_change();
  void summary_show();
  double slider_to_value(int position) const;
  int value_to_slider(double value) const;

  QComboBox* unit_;
  QSlider* slider_;
  QDoubleSpinBox* value_;
  QPushButton* apply_;
  QPushButton* clear_;
  QLabel* range_;
  QLabel* summary_;
  QLabel* status_;
  double lo_ = 0, hi_ = 1;  // the slider's range in the current unit
  JobRunner* runner_;
  JobRunner::JobId id_ = 0;
  bool resolve_ = false;  // the value changed while a solve was out
  // The latest request: what it solves and, once finished, its answer.
  struct SolveJob {
    std::shared_ptr<const AllocationProblem> problem;
    AllocationBudget budget;
    // The problem's frontier: given when known, computed by the first solve of a problem (seconds for a
    // 32-block model), after which each value only picks from it.
    std::shared_ptr<const std::vector<Allocation>> frontier;
    Allocation allocation;
  };
  std::shared_ptr<SolveJob> job_;
  std::shared_ptr<const std::vector<Allocation>> frontier_;  // of problem_
  std::optional<Allocation> allocation_;
  AllocationBudget solved_budget_;
  std::shared_ptr<const AllocationProblem> problem_;  // the one allocation_ was solved for
  double pending_value_ = -1;  // a restored budget waiting for its scans
};

}  // namespace qs
