// table_copy: one TSV copy for every table.
#include "table_copy.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QItemSelectionModel>
#include <QTableView>
#include <algorithm>

namespace qs {

QString table_rows_tsv(const QTableView& view) {
  const QAbstractItemModel* model = view.model();
  QStringList lines, header;
  for (int c = 0; c < model->columnCount(); ++c) header << model->headerData(c, Qt::Horizontal).toString();
  lines << header.join('\t');
  QModelIndexList rows = view.selectionModel()->selectedRows();
  std::sort(rows.begin(), rows.end(), [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
  for (const QModelIndex& row : rows) {
    QStringList cells;
    for (int c = 0; c < model->columnCount(); ++c) cells << model->index(row.row(), c).data().toString();
    lines << cells.join('\t');
  }
  return lines.join('\n') + '\n';
}

void table_copy_install(QTableView& view) {
  auto* copy = new QAction(QObject::tr("Copy Rows"), &view);
  copy->setShortcut(QKeySequence::Copy);
  copy->setShortcutContext(Qt::WidgetShortcut);
  QObject::connect(copy, &QAction::triggered, &view,
                   [&view] { QApplication::clipboard()->setText(table_rows_tsv(view)); });
  view.addAction(copy);
}

}  // namespace qs
