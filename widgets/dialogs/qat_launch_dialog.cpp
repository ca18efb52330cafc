// QatLaunchDialog: the form, its defaults and the command it makes.
#include "qat_launch_dialog.hpp"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "command_line.hpp"
#include "quantscope/device.hpp"

namespace qs {
namespace {

QSpinBox* spin(int lo, int hi, int value, const QString& tip) {
  auto* box = new QSpinBox;
  box->setRange(lo, hi);
  box->setValue(value);
  box->setToolTip(tip);
  return box;
}

}  // namespace

QatLaunchDialog::QatLaunchDialog(const QatLaunch& d, const QString& plan_file, QWidget* parent)
    : QDialog(parent), base_(d), plan_file_(plan_file) {
  setWindowTitle(tr("New QAT Run"));
  plan_ = new QComboBox;
  if (!plan_file.isEmpty()) plan_->addItem(tr("the current plan"));
  plan_->addItem(tr("one format for every decoder linear layer"));
  format_ = new QLineEdit(d.format.isEmpty() ? QStringLiteral("int4:g64") : d.format);
  act_format_ = new QLineEdit(d.act_format);
  act_format_->setPlaceholderText(tr("none (weights only); quest4 for W4A4"));
  estimator_ = new QComboBox;
  estimator_->addItems({"trust", "clip", "ste"});
  estimator_->setCurrentText(d.estimator);
  estimator_->setToolTip(tr("trust: QuEST's trust estimator (gradients kept where |q(x) − x| ≤ T half-steps); clip: "
                            "kept inside C times the grid's range; ste: straight through"));
  factor_ = new QDoubleSpinBox;
  factor_->setRange(1e-3, 1000);
  factor_->setDecimals(3);
  factor_->setValue(d.estimator == "clip" ? d.clip_factor : d.trust_factor);
  steps_ = spin(1, 10000000, d.steps, tr("Optimizer steps"));
  lr_ = new QDoubleSpinBox;
  lr_->setDecimals(7);
  lr_->setRange(1e-9, 1);
  lr_->setSingleStep(1e-5);
  lr_->setValue(d.lr);
  batch_ = spin(1, 4096, d.batch, tr("Windows per step"));
  ctx_ = spin(2, 131072, d.ctx, tr("Tokens per window"));
  warmup_ = spin(0, 1000000, d.warmup, tr("Learning-rate warm-up steps"));
  refit_ = spin(0, 1000000, d.kmeans_refit, tr("Refit every k-means codebook every N steps (0: never)"));
  log_every_ = spin(1, 1000000, d.log_every, tr("A point on the dashboard every N steps"));
  eval_every_ = spin(0, 1000000, d.eval_every, tr("Held-out loss every N steps (0: before and after only)"));
  text_ = new QLineEdit(d.text);
  heldout_ = new QLineEdit(d.heldout);
  heldout_->setPlaceholderText(tr("none: the last 2 % of the training text"));
  device_ = new QComboBox;
  device_->addItem("cpu");
  if (cuda_available()) device_->addItem("cuda");
  device_->setCurrentText(d.device);
  dtype_ = new QComboBox;
  dtype_->addItem(tr("float32"), "f32");
  dtype_->addItem(tr("bfloat16"), "bf16");
  dtype_->setCurrentIndex(d.dtype == "bf16" ? 1 : 0);
  dtype_->setToolTip(tr("Compute precision of the forward and backward passes (quantscope-cli qat --dtype); the latent "
                        "weights and AdamW's state stay float32"));
  out_ = new QLineEdit(d.out);

  auto* form = new QFormLayout;
  form->addRow(tr("&Plan:"), plan_);
  form->addRow(tr("&Format:"), format_);
  form->addRow(tr("&Input format:"), act_format_);
  form->addRow(tr("&Estimator:"), estimator_);
  form->addRow(tr("Trust/clip &factor:"), factor_);
  form->addRow(tr("&Steps:"), steps_);
  form->addRow(tr("&Learning rate:"), lr_);
  form->addRow(tr("&Batch:"), batch_);
  form->addRow(tr("&Context:"), ctx_);
  form->addRow(tr("&Warm-up:"), warmup_);
  form->addRow(tr("k-means &refit:"), refit_);
  form->addRow(tr("Log every:"), log_every_);
  form->addRow(tr("Held-out every:"), eval_every_);
  form->addRow(tr("&Training text:"), text_);
  form->addRow(tr("&Held-out text:"), heldout_);
  form->addRow(tr("&Device:"), device_);
  form->addRow(tr("Com&pute:"), dtype_);
  form->addRow(tr("&Output folder:"), out_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Start"));
  QPushButton* copy = buttons->addButton(tr("Copy as Command"), QDialogButtonBox::ActionRole);
  connect(copy, &QPushButton::clicked, this,
          [this] { QApplication::clipboard()->setText(shell_line(QStringList{"quantscope-cli"} + qat_arguments(launch()))); });
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto update = [this] {
    const bool one_format = plan_file_.isEmpty() || plan_->currentIndex() == 1;
    format_->setEnabled(one_format);
    act_format_->setEnabled(one_format);
    factor_->setEnabled(estimator_->currentText() != "ste");
  };
  connect(plan_, &QComboBox::currentIndexChanged, this, update);
  connect(estimator_, &QComboBox::currentIndexChanged, this, update);
  update();
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
}

QatLaunch QatLaunchDialog::launch() const {
  QatLaunch l = base_;
  const bool one_format = plan_file_.isEmpty() || plan_->currentIndex() == 1;
  l.plan_file = one_format ? QString() : plan_file_;
  l.format = one_format ? format_->text().trimmed() : QString();
  l.act_format = one_format ? act_format_->text().trimmed() : QString();
  l.estimator = estimator_->currentText();
  l.trust_factor = l.estimator == "trust" ? factor_->value() : 1.0;
  l.clip_factor = l.estimator == "clip" ? factor_->value() : 1.0;
  l.steps = steps_->value();
  l.lr = lr_->value();
  l.batch = batch_->value();
  l.ctx = ctx_->value();
  l.warmup = warmup_->value();
  l.kmeans_refit = refit_->value();
  l.log_every = log_every_->value();
  l.eval_every = eval_every_->value();
  l.text = text_->text().trimmed();
  l.heldout = heldout_->text().trimmed();
  l.device = device_->currentText();
  l.dtype = dtype_->currentData().toString() == "f32" ? QString() : dtype_->currentData().toString();
  l.out = out_->text().trimmed();
  return l;
}

}  // namespace qs
