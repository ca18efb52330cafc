// What every dock panel is: a widget over the Workbench (it observes the document's signals and edits
// through its methods, never through another panel). The table of panels is panel_registry.hpp.
#pragma once
#include <QWidget>

namespace qs {

class Workbench;

class Panel : public QWidget {
  Q_OBJECT

 public:
  explicit Panel(Workbench& workbench, QWidget* parent = nullptr) : QWidget(parent), workbench_(workbench) {}

 protected:
  Workbench& workbench_;
};

}  // namespace qs
