// What every dock panel is: a widget over the Workbench (it observes the document's signals and edits
// through its methods, never through another panel) that can save and restore its own state in a
// session. The table of panels is panel_registry.hpp.
#pragma once
#include <QJsonObject>
#include <QWidget>

namespace qs {

class Workbench;

class Panel : public QWidget {
  Q_OBJECT

 public:
  explicit Panel(Workbench& workbench, QWidget* parent = nullptr) : QWidget(parent), workbench_(workbench) {}
  virtual QJsonObject state_save() const { return {}; }
  virtual void state_restore(const QJsonObject&) {}

 protected:
  Workbench& workbench_;
};

}  // namespace qs
