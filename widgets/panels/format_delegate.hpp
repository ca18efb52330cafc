// The format column's editor: a line edit completing from the registry's formats; committing sends
// the spec to the Workbench, which refuses one that cannot apply to the layer's shape with the core's
// one-line reason (reported by `refused`), so the table never shows a format the CLI would reject.
#pragma once
#include <QStringList>
#include <QStyledItemDelegate>

class QLineEdit;

namespace qs {

// The one format entry of the workbench: a line edit completing from format_suggestions(), with the
// grammar as its tooltip (the table's editor, the rules panel, the inspector).
QLineEdit* format_line_edit(QWidget* parent = nullptr);
QStringList format_suggestion_list();

class Workbench;

class FormatDelegate : public QStyledItemDelegate {
  Q_OBJECT

 public:
  FormatDelegate(Workbench& workbench, QObject* parent = nullptr);
  QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  void setEditorData(QWidget* editor, const QModelIndex& index) const override;
  void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

  // What committing `text` (empty: back to the plan's rules) on `layer` does; returns the error, or empty.
  QString commit(const QString& layer, const QString& text) const;

 Q_SIGNALS:
  void refused(const QString& error) const;

 private:
  Workbench& workbench_;
};

}  // namespace qs
