// PreferencesDialog: editors generated from the preference table.
#include "preferences_dialog.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "preferences.hpp"

namespace qs {
namespace {

// A line edit with a Browse… button; several files are separated by ';'.
QWidget* file_editor(const QString& value, bool several, QWidget* parent) {
  auto* row = new QWidget(parent);
  auto* layout = new QHBoxLayout(row);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* edit = new QLineEdit(value);
  edit->setClearButtonEnabled(true);
  auto* browse = new QPushButton(QObject::tr("Browse…"));
  layout->addWidget(edit, 1);
  layout->addWidget(browse);
  QObject::connect(browse, &QPushButton::clicked, row, [row, edit, several] {
    if (several) {
      const QStringList files = QFileDialog::getOpenFileNames(row, QObject::tr("Task Files"), {}, QObject::tr("Task files (*.jsonl);;All files (*)"));
      if (!files.isEmpty()) edit->setText(files.join(';'));
    } else {
      const QString file = QFileDialog::getOpenFileName(row, QObject::tr("Text"), {}, QObject::tr("Text (*.txt);;All files (*)"));
      if (!file.isEmpty()) edit->setText(file);
    }
  });
  row->setFocusProxy(edit);
  return row;
}

}  // namespace

PreferencesDialog::PreferencesDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Preferences"));
  auto* form = new QFormLayout;
  for (const Preference& p : preferences_declared()) {
    const QVariant value = preference(p.key);
    QWidget* editor = nullptr;
    switch (p.kind) {
      case Preference::Kind::Choice: {
        auto* box = new QComboBox;
        box->addItems(p.choices);
        box->setCurrentText(value.toString());
        editor = box;
        break;
      }
      case Preference::Kind::Integer: {
        auto* box = new QSpinBox;
        box->setRange(p.minimum, p.maximum);
        box->setValue(value.toInt());
        editor = box;
        break;
      }
      case Preference::Kind::File:
        editor = file_editor(value.toString(), false, this);
        break;
      case Preference::Kind::Files:
        editor = file_editor(value.toStringList().join(';'), true, this);
        break;
      case Preference::Kind::Flag: {
        auto* box = new QCheckBox;
        box->setChecked(value.toBool());
        editor = box;
        break;
      }
    }
    editor->setToolTip(p.help);
    editors_[p.key] = editor;
    form->addRow(p.label + ":", editor);
  }
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    store();
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
}

void PreferencesDialog::store() const {
  for (const Preference& p : preferences_declared()) {
    QWidget* editor = editors_.value(p.key);
    switch (p.kind) {
      case Preference::Kind::Choice: preference_set(p.key, qobject_cast<QComboBox*>(editor)->currentText()); break;
      case Preference::Kind::Integer: preference_set(p.key, qobject_cast<QSpinBox*>(editor)->value()); break;
      case Preference::Kind::File: preference_set(p.key, editor->findChild<QLineEdit*>()->text().trimmed()); break;
      case Preference::Kind::Files:
        preference_set(p.key, editor->findChild<QLineEdit*>()->text().split(';', Qt::SkipEmptyParts));
        break;
      case Preference::Kind::Flag: preference_set(p.key, qobject_cast<QCheckBox*>(editor)->isChecked()); break;
    }
  }
}

}  // namespace qs
