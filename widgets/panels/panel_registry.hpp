// The one table of the workbench's panels: id (the dock's objectName, which saved layouts and sessions
// refer to), title, default dock area, the Window menu's shortcut, and how to make one. The window
// builds its docks and its Window menu from this table alone; a new panel is a new file and a row here.
#pragma once
#include <QKeySequence>
#include <QString>
#include <functional>
#include <vector>

namespace qs {

class Panel;
class Workbench;

struct PanelInfo {
  QString id;
  QString title;
  Qt::DockWidgetArea area;
  QKeySequence shortcut;
  std::function<Panel*(Workbench&)> make;
};

// In the order the Window menu lists them; panels of one area after the first are tabbed with it.
const std::vector<PanelInfo>& panels_registered();

}  // namespace qs
