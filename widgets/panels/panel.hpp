// What every dock panel is: a widget over the Workbench (it observes the document's signals and edits
// through its methods, never through another panel). The table of panels is panel_registry.hpp.
#pragma once
#include <QAction>
#include <QJsonObject>
#include <QKeySequence>
#include <QLabel>
#include <QWidget>

namespace qs {

class Workbench;

class Panel : public QWidget {
  Q_OBJECT

 public:
  // Esc anywhere in the panel cancels its jobs (and only its own).
  explicit Panel(Workbench& workbench, QWidget* parent = nullptr) : QWidget(parent), workbench_(workbench) {
    auto* esc = new QAction(this);
    esc->setShortcut(QKeySequence(Qt::Key_Escape));
    esc->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(esc, &QAction::triggered, this, &Panel::cancel);
    addAction(esc);
  }

  // Stops what the panel is computing; panels without jobs have nothing to stop.
  virtual void cancel() {}

  // Whether the user can see the panel: its dock is open and, when tabbed, its tab is the current one.
  // The window reports it from the dock (isVisible() stays true for a tab behind another), so a panel
  // that computes for the selection can wait until it is looked at.
  bool exposed() const { return exposed_; }
  void exposed_set(bool on) {
    if (on == exposed_) return;
    exposed_ = on;
    if (on) Q_EMIT exposed_now();
  }

  // What a session keeps of the panel (the text typed, the view chosen); not the document, which the
  // Workbench holds. Restoring ignores keys it does not know, so older sessions still open.
  virtual QJsonObject state() const { return {}; }
  virtual void state_restore(const QJsonObject& state) { Q_UNUSED(state); }

 Q_SIGNALS:
  void exposed_now();

 protected:
  // A panel's one-line status: what it is doing in grey, the core's error in red; hidden when empty.
  static void status_show(QLabel* label, const QString& text, bool error) {
    label->setText(text);
    label->setStyleSheet(error ? QStringLiteral("color: #b3261e;") : QStringLiteral("color: #787878;"));
    label->setVisible(!text.isEmpty());
  }

  Workbench& workbench_;

 private:
  bool exposed_ = true;
};

}  // namespace qs
