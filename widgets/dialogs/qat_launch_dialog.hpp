// New QAT Run: the settings of `quantscope-cli qat` as a form — the plan (the workbench's current plan
// or one format, with an input format), the gradient estimator and its parameter, steps, learning rate,
// batch, context, warm-up, k-means refit interval, the training and held-out texts, device, compute
// precision and output folder — and "Copy as Command", which gives the exact line the run will execute.
#pragma once
#include <QDialog>

#include "qat_process.hpp"

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace qs {

class QatLaunchDialog : public QDialog {
  Q_OBJECT

 public:
  // `plan_file` is the current plan written out, empty when the plan quantizes nothing.
  QatLaunchDialog(const QatLaunch& defaults, const QString& plan_file, QWidget* parent = nullptr);
  QatLaunch launch() const;

 private:
  QatLaunch base_;
  QString plan_file_;
  QComboBox* plan_;
  QLineEdit* format_;
  QLineEdit* act_format_;
  QComboBox* estimator_;
  QDoubleSpinBox* factor_;
  QSpinBox* steps_;
  QDoubleSpinBox* lr_;
  QSpinBox* batch_;
  QSpinBox* ctx_;
  QSpinBox* warmup_;
  QSpinBox* refit_;
  QSpinBox* log_every_;
  QSpinBox* eval_every_;
  QLineEdit* text_;
  QLineEdit* heldout_;
  QComboBox* device_;
  QComboBox* dtype_;
  QLineEdit* out_;
};

}  // namespace qs
