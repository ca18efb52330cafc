// Ctrl+C in every table of the workbench: the selected rows, in view order, as tab-separated text with
// a header line, the way spreadsheets and the CLI's --json consumers take them.
#pragma once
#include <QString>

class QTableView;

namespace qs {

// The selected rows of `view` (what its model shows, sorted and filtered as on screen).
QString table_rows_tsv(const QTableView& view);
// Adds a Ctrl+C action to `view` that puts table_rows_tsv on the clipboard.
void table_copy_install(QTableView& view);

}  // namespace qs
