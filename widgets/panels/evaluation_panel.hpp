// Evaluation of the current plan against the base model (F5): the plan is applied to a copy of the
// model and measured on a text (perplexity, bits per byte, KL divergence of the next-token
// distributions, top-1 agreement), as `quantscope-cli eval --plan` measures it. The base model's side
// is prepared once per text and reused. Every evaluation lands in a history table; two selected rows
// show their difference, and "Copy as Command" gives the CLI line that prints the same numbers.
#pragma once
#include <memory>

#include "job_runner.hpp"
#include "panel.hpp"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace qs {

class EvalHistoryModel;
class KlReference;
class Model;
struct EvalRecord;
struct EvaluationJob;

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

 private:
  void model_show();
  void selection_show();
  void status_set(const QString& text, bool error);
  void job_end();

  QLineEdit* text_edit_;
  QSpinBox* max_tokens_;
  QPushButton* evaluate_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* status_;
  QTableView* view_;
  EvalHistoryModel* history_;
  QLabel* difference_;
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
