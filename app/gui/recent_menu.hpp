// "Open Recent" menus (models, sessions): the last few paths kept in QSettings under a key, newest
// first, each opening through a callback; an entry whose file has gone is dropped when it fails.
#pragma once
#include <QMenu>
#include <QString>
#include <QStringList>
#include <functional>

namespace qs {

class RecentMenu : public QMenu {
  Q_OBJECT

 public:
  static constexpr int kMax = 10;

  RecentMenu(const QString& title, const QString& settings_key, const QString& empty_text,
             std::function<void(const QString&)> open, QWidget* parent = nullptr);

  QStringList files() const;
  void add(const QString& path);
  void remove(const QString& path);

 private:
  void rebuild();

  QString key_;
  QString empty_text_;
  std::function<void(const QString&)> open_;
};

}  // namespace qs
