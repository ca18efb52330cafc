// Edit ▸ Preferences: one row per declared preference (preferences.hpp), its editor chosen by its kind;
// OK stores them all.
#pragma once
#include <QDialog>
#include <QMap>
#include <QWidget>

namespace qs {

class PreferencesDialog : public QDialog {
  Q_OBJECT

 public:
  explicit PreferencesDialog(QWidget* parent = nullptr);
  // The editor of a key (tests set values through it).
  QWidget* editor(const QString& key) const { return editors_.value(key); }
  // Stores what the editors show.
  void store() const;

 private:
  QMap<QString, QWidget*> editors_;
};

}  // namespace qs
