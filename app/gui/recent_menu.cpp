// RecentMenu: a QSettings-backed list of recent files as a menu.
#include "recent_menu.hpp"

#include <QSettings>

namespace qs {

RecentMenu::RecentMenu(const QString& title, const QString& settings_key, const QString& empty_text,
                       std::function<void(const QString&)> open, QWidget* parent)
    : QMenu(title, parent), key_(settings_key), empty_text_(empty_text), open_(std::move(open)) {
  rebuild();
}

QStringList RecentMenu::files() const { return QSettings().value(key_).toStringList(); }

void RecentMenu::add(const QString& path) {
  QStringList list = files();
  list.removeAll(path);
  list.prepend(path);
  while (list.size() > kMax) list.removeLast();
  QSettings().setValue(key_, list);
  rebuild();
}

void RecentMenu::remove(const QString& path) {
  QStringList list = files();
  if (list.removeAll(path) == 0) return;
  QSettings().setValue(key_, list);
  rebuild();
}

void RecentMenu::rebuild() {
  clear();
  const QStringList list = files();
  for (int i = 0; i < list.size(); ++i) {
    const QString path = list[i];
    const QString label = fontMetrics().elidedText(path, Qt::ElideMiddle, 480);
    QAction* action = addAction(QString("&%1  %2").arg((i + 1) % 10).arg(label));
    action->setToolTip(path);
    connect(action, &QAction::triggered, this, [this, path] { open_(path); });
  }
  if (list.isEmpty()) addAction(empty_text_)->setEnabled(false);
  addSeparator();
  QAction* clear_all = addAction(tr("&Clear Menu"), this, [this] {
    QSettings().remove(key_);
    rebuild();
  });
  clear_all->setEnabled(!list.isEmpty());
}

}  // namespace qs
