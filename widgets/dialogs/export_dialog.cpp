// See export_dialog.hpp.
#include "export_dialog.hpp"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "quantscope/error.hpp"
#include "quantscope/model.hpp"
#include "quantscope/output_dir.hpp"

namespace qs {
namespace {

QString bytes_text(uint64_t bytes) { return QLocale(QLocale::English).formattedDataSize(qint64(bytes), 1); }

// The fallbacks offered: llama.cpp's types from the most faithful down, and the float formats.
const QStringList kFallbacks = {"q8_0", "q6_k", "q5_k", "q4_k", "q4_0", "iq4_nl", "q3_k", "q2_k", "bf16", "f16", "f32"};

// What a new output folder is called after the model, by target.
QString folder_suffix(ExportTarget target) {
  switch (target) {
    case ExportTarget::Hf: return "-hf";
    case ExportTarget::CompressedTensors: return "-compressed";
    default: return "-packed";
  }
}

}  // namespace

ExportDialog::ExportDialog(std::shared_ptr<const Model> model, std::vector<LayerFormat> plan, const QString& model_path,
                           QWidget* parent)
    : QDialog(parent), model_(std::move(model)), plan_(std::move(plan)), model_path_(model_path) {
  setWindowTitle(tr("Export Model"));
  target_ = new QComboBox(this);
  target_->addItem(tr("GGUF for llama.cpp (one file)"), int(ExportTarget::Gguf));
  target_->addItem(tr("Quantscope packed folder (every format, reopens here)"), int(ExportTarget::Quantscope));
  target_->addItem(tr("compressed-tensors folder for vLLM (4- and 8-bit integers)"),
                   int(ExportTarget::CompressedTensors));
  target_->addItem(tr("Hugging Face folder, dequantized (float weights)"), int(ExportTarget::Hf));
  path_ = new QLineEdit(this);
  path_->setPlaceholderText(tr("Where to write it"));
  auto* browse = new QPushButton(tr("Browse…"), this);
  auto* path_row = new QHBoxLayout;
  path_row->addWidget(path_, 1);
  path_row->addWidget(browse);
  fallback_ = new QComboBox(this);
  fallback_->addItem(tr("None: refuse them"), QString());
  for (const QString& f : kFallbacks) fallback_->addItem(f, f);
  fallback_->setToolTip(tr("The format the layers the target cannot hold are stored in instead"));
  float_dtype_ = new QComboBox(this);
  float_dtype_->addItem(tr("As stored"), -1);
  float_dtype_->addItem("f32", int(DType::F32));
  float_dtype_->addItem("bf16", int(DType::BF16));
  float_dtype_->addItem("f16", int(DType::F16));
  float_dtype_->setToolTip(
      tr("The dtype of the tensors the plan leaves alone (for a Hugging Face folder, of every "
         "tensor; as stored means f32 there, which keeps the dequantized values exactly)"));
  problems_label_ = new QLabel(this);
  problems_label_->setWordWrap(true);
  problems_ = new QTableWidget(0, 3, this);
  problems_->setHorizontalHeaderLabels({tr("Layer"), tr("Format"), tr("Why the target cannot hold it")});
  problems_->horizontalHeader()->setStretchLastSection(true);
  problems_->verticalHeader()->hide();
  problems_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  problems_->setSelectionBehavior(QAbstractItemView::SelectRows);
  size_ = new QLabel(this);
  size_->setWordWrap(true);

  auto* form = new QFormLayout;
  form->addRow(tr("&Target:"), target_);
  auto* path_label = new QLabel(tr("&Output:"), this);
  path_label->setBuddy(path_);  // a layout cannot be a buddy, so the row's label names the line edit
  form->addRow(path_label, path_row);
  form->addRow(tr("&Fallback:"), fallback_);
  form->addRow(tr("F&loat tensors:"), float_dtype_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
  export_ = buttons->addButton(tr("&Export"), QDialogButtonBox::AcceptRole);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(problems_label_);
  layout->addWidget(problems_, 1);
  layout->addWidget(size_);
  layout->addWidget(buttons);
  resize(760, 460);

  connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  for (QComboBox* box : {target_, fallback_, float_dtype_})
    connect(box, &QComboBox::currentIndexChanged, this, &ExportDialog::refresh);
  connect(path_, &QLineEdit::textChanged, this, &ExportDialog::refresh);
  refresh();
}

QString ExportDialog::output_path() const { return path_->text().trimmed(); }

ExportOptions ExportDialog::options() const {
  ExportOptions o;
  o.target = ExportTarget(target_->currentData().toInt());
  const QString fallback = fallback_->currentData().toString();
  if (!fallback.isEmpty()) o.fallback = format_parse(fallback.toStdString());
  if (float_dtype_->currentData().toInt() >= 0) o.float_dtype = DType(float_dtype_->currentData().toInt());
  // The file dialog asked before a file was chosen over an existing one; a folder an earlier export
  // made is replaced as a file would be.
  o.force = QFileInfo(output_path()).isFile() || output_dir_owned(output_path().toStdString(), OutputKind::Model);
  return o;
}

int ExportDialog::problem_count() const { return problems_->rowCount(); }
QString ExportDialog::size_text() const { return size_->text(); }
bool ExportDialog::ready() const { return ready_; }

void ExportDialog::target_set(ExportTarget target) { target_->setCurrentIndex(target_->findData(int(target))); }
void ExportDialog::fallback_set(const QString& spec) {
  fallback_->setCurrentIndex(std::max(0, fallback_->findData(spec)));
}
void ExportDialog::output_path_set(const QString& path) { path_->setText(path); }

void ExportDialog::browse() {
  const bool gguf = ExportTarget(target_->currentData().toInt()) == ExportTarget::Gguf;
  const QString base = QFileInfo(model_path_).completeBaseName();
  const QString start = output_path().isEmpty() ? QFileInfo(model_path_).absolutePath() + "/" + base : output_path();
  const QString path =
      gguf ? QFileDialog::getSaveFileName(this, tr("Export GGUF"), start + (output_path().isEmpty() ? ".gguf" : ""),
                                          tr("GGUF files (*.gguf);;All files (*)"))
           : QFileDialog::getSaveFileName(this, tr("Export to a New Folder"),
                                          start + folder_suffix(ExportTarget(target_->currentData().toInt())),
                                          QString(), nullptr,
                                          QFileDialog::ShowDirsOnly);
  if (!path.isEmpty()) path_->setText(path);
}

void ExportDialog::refresh() {
  const ExportOptions o = options();
  const std::vector<ExportProblem> problems = export_problems(*model_, plan_, o.target);
  problems_->setRowCount(int(problems.size()));
  for (int r = 0; r < int(problems.size()); ++r) {
    const ExportProblem& p = problems[size_t(r)];
    problems_->setItem(r, 0, new QTableWidgetItem(QString::fromStdString(p.layer)));
    problems_->setItem(r, 1, new QTableWidgetItem(QString::fromStdString(format_print(p.format))));
    problems_->setItem(r, 2, new QTableWidgetItem(QString::fromStdString(p.why)));
  }
  problems_->resizeColumnsToContents();
  problems_->setVisible(!problems.empty());
  fallback_->setEnabled(!problems.empty());
  const QString target =
      QString::fromUtf8(export_target_name(o.target).data(), int(export_target_name(o.target).size()));
  problems_label_->setText(
      problems.empty() ? tr("The target holds every layer of the plan in its format.")
      : problems.size() == 1
          ? tr("1 layer of the plan has a format %1 cannot hold:").arg(target)
          : tr("%1 layers of the plan have formats %2 cannot hold:").arg(problems.size()).arg(target));
  ready_ = false;
  try {
    const uint64_t bytes = export_size(*model_, plan_, o);
    const uint64_t bf16 = uint64_t(model_->parameter_count()) * 2;
    size_->setText(tr("Size: %1 (%2 % of the model in bf16, %3)")
                       .arg(bytes_text(bytes))
                       .arg(100.0 * double(bytes) / double(bf16), 0, 'f', 1)
                       .arg(bytes_text(bf16)));
    ready_ = !output_path().isEmpty();
  } catch (const Error& e) {
    size_->setText(problems.empty() ? QString::fromStdString(e.what())
                                    : tr("Choose a fallback, or change those layers' formats in the plan."));
  }
  export_->setEnabled(ready_);
}

}  // namespace qs
