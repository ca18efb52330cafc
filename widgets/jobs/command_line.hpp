// The `quantscope-cli` lines the workbench shows ("Copy as Command") and the QAT runs it starts: one
// quoting rule for every line a user pastes into a POSIX shell, and one place where a plan that is not
// saved anywhere gets a file the line can name.
#pragma once
#include <QString>
#include <QStringList>

namespace qs {

// `text` as one shell word: unchanged when it is plain, else in single quotes.
QString shell_quoted(const QString& text);
// The words quoted and joined by spaces.
QString shell_line(const QStringList& words);
// The plan (as plan_json wrote it) in a file named by its content under the cache folder, written when
// missing. Throws qs::Error naming the file.
QString plan_file_for(const QString& plan_json);

}  // namespace qs
