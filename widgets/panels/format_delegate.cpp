// FormatDelegate: parse, then let the Workbench check the format against the layer and push the edit.
#include "format_delegate.hpp"

#include <QCompleter>
#include <QLineEdit>

#include "plan_table_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "workbench.hpp"

namespace qs {

QStringList format_suggestion_list() {
  QStringList list;
  for (const std::string& s : format_suggestions()) list << QString::fromStdString(s);
  return list;
}

QLineEdit* format_line_edit(QWidget* parent) {
  auto* edit = new QLineEdit(parent);
  auto* completer = new QCompleter(format_suggestion_list(), edit);
  completer->setCaseSensitivity(Qt::CaseInsensitive);
  edit->setCompleter(completer);
  edit->setToolTip(QString::fromStdString(format_grammar()));
  edit->setClearButtonEnabled(true);
  edit->setAcceptDrops(false);  // a dropped file opens; it is not text
  return edit;
}

FormatDelegate::FormatDelegate(Workbench& workbench, QObject* parent) : QStyledItemDelegate(parent), workbench_(workbench) {}

QWidget* FormatDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const {
  QLineEdit* edit = format_line_edit(parent);
  edit->setObjectName("formatEditor");
  edit->setClearButtonEnabled(false);
  edit->setPlaceholderText(tr("as stored"));
  return edit;
}

void FormatDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
  static_cast<QLineEdit*>(editor)->setText(index.data(Qt::EditRole).toString());
}

void FormatDelegate::setModelData(QWidget* editor, QAbstractItemModel*, const QModelIndex& index) const {
  const QString error = commit(index.data(PlanTableModel::LayerRole).toString(), static_cast<QLineEdit*>(editor)->text());
  if (!error.isEmpty()) Q_EMIT refused(error);
}

QString FormatDelegate::commit(const QString& layer, const QString& text) const {
  const QString spec = text.trimmed();
  if (spec.isEmpty()) return workbench_.layers_format_set({layer}, std::nullopt);
  try {
    return workbench_.layers_format_set({layer}, format_parse(spec.toStdString()));
  } catch (const Error& e) {
    return QString::fromStdString(e.what());
  }
}

}  // namespace qs
