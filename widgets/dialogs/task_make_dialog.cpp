// TaskMakeDialog and task_make_write: the generators of core/tasks.hpp behind a form.
#include "task_make_dialog.hpp"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>

#include "command_line.hpp"
#include "quantscope/error.hpp"
#include "quantscope/file_read.hpp"
#include "quantscope/tasks.hpp"

namespace qs {
namespace {

std::filesystem::path native(const QString& path) { return QFile::encodeName(path).toStdString(); }

QString out_default(const QString& text, const QString& kind) {
  if (text.isEmpty()) return {};
  const QFileInfo info(text);
  return info.absoluteDir().filePath(info.completeBaseName() + "-" + kind + ".jsonl");
}

}  // namespace

void task_make_write(const TaskMakeRequest& r) {
  if (QFileInfo(r.out).absoluteFilePath() == QFileInfo(r.text).absoluteFilePath())
    throw Error(ErrorKind::Invalid, r.out.toStdString() + ": the task file would overwrite its text");
  const std::string text = file_read(native(r.text));
  TaskMakeOptions options;
  options.count = r.count;
  options.seed = uint64_t(r.seed);
  TaskSet set = r.kind == "choice" ? task_make_choice(text, options) : task_make_cloze(text, options);
  if (set.items.empty())
    throw Error(ErrorKind::Invalid, r.text.toStdString() + ": no " + r.kind.toStdString() + " item could be made from it");
  task_file_save(set, native(r.out));
}

QString task_make_command(const TaskMakeRequest& r) {
  return shell_line({"quantscope-cli", "tasks", "make", "--kind", r.kind, "--text", r.text, "--out", r.out, "--count",
                     QString::number(r.count), "--seed", QString::number(r.seed)});
}

TaskMakeDialog::TaskMakeDialog(const QString& text, QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Make Task Files"));
  text_ = new QLineEdit(text);
  auto* browse = new QPushButton(tr("Browse…"));
  kind_ = new QComboBox;
  kind_->addItem(tr("cloze: the passage's last word"), "cloze");
  kind_->addItem(tr("4-way choice: the true next sentence"), "choice");
  count_ = new QSpinBox;
  count_->setRange(1, 1000000);
  count_->setValue(200);
  count_->setToolTip(tr("At most this many items"));
  seed_ = new QSpinBox;
  seed_->setRange(0, 1 << 30);
  seed_->setToolTip(tr("Which passages become items and where the right choice goes: the same seed gives the same file"));
  out_ = new QLineEdit(out_default(text, "cloze"));
  auto* text_row = new QHBoxLayout;
  text_row->addWidget(text_, 1);
  text_row->addWidget(browse);
  auto* form = new QFormLayout;
  form->addRow(tr("&Text:"), text_row);
  form->addRow(tr("&Kind:"), kind_);
  form->addRow(tr("&Count:"), count_);
  form->addRow(tr("&Seed:"), seed_);
  form->addRow(tr("&Output file:"), out_);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Make"));
  QPushButton* copy = buttons->addButton(tr("Copy as Command"), QDialogButtonBox::ActionRole);
  connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(task_make_command(request())); });
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(browse, &QPushButton::clicked, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Text to Make Tasks From"), QFileInfo(text_->text()).absolutePath(),
                                                      tr("Text (*.txt);;All files (*)"));
    if (!path.isEmpty()) text_->setText(path);
  });
  auto follow = [this] { out_->setText(out_default(text_->text(), kind_->currentData().toString())); };
  connect(text_, &QLineEdit::textEdited, this, follow);
  connect(browse, &QPushButton::clicked, this, follow);
  connect(kind_, &QComboBox::currentIndexChanged, this, follow);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
}

TaskMakeRequest TaskMakeDialog::request() const {
  return {text_->text().trimmed(), out_->text().trimmed(), kind_->currentData().toString(), count_->value(), seed_->value()};
}

}  // namespace qs
