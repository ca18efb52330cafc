// shell_quoted, shell_line, plan_file_for.
#include "command_line.hpp"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>

#include "quantscope/plan.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {

QString shell_quoted(const QString& text) {
  static const QRegularExpression plain("^[A-Za-z0-9_./:=@%+,-]+$");
  return plain.match(text).hasMatch() ? text : "'" + QString(text).replace("'", "'\\''") + "'";
}

QString shell_line(const QStringList& words) {
  QStringList out;
  for (const QString& w : words) out << shell_quoted(w);
  return out.join(' ');
}

QString plan_file_for(const QString& plan_json) {
  const QByteArray hash = QCryptographicHash::hash(plan_json.toUtf8(), QCryptographicHash::Sha256).toHex().left(12);
  const QString dir = QString::fromStdString(weight_statistics_cache_dir().parent_path().string()) + "/plans";
  QDir().mkpath(dir);
  const QString path = dir + "/plan-" + QString::fromLatin1(hash) + ".json";
  if (!QFileInfo(path).isFile())
    plan_save(plan_parse(plan_json.toStdString(), "plan"), QFile::encodeName(path).toStdString());
  return path;
}

}  // namespace qs
