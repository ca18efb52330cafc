// What every dock panel is: a widget over the Workbench (it observes the document's signals and edits
// through its methods, never through another panel). The table of panels is panel_registry.hpp.
#pragma once
#include <QJsonObject>
#include <QWidget>

namespace qs {

class Workbench;

class Panel : public QWidget {
  Q_OBJECT

 public:
  explicit Panel(Workbench& workbench, QWidget* parent = nullptr) : QWidget(parent), workbench_(workbench) {}

  // What a session keeps of the panel (the text typed, the view chosen); not the document, which the
  // Workbench holds. Restoring ignores keys it does not know, so older sessions still open.
  virtual QJsonObject state() const { return {}; }
  virtual void state_restore(const QJsonObject& state) { Q_UNUSED(state); }

 protected:
  Workbench& workbench_;
};

}  // namespace qs
