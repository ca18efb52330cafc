// The plan as its rules: the default format for decoder layers and the glob rules in order, with how
// many layers each matches and what is wrong with one; add, replace, remove and reorder them, each an
// undo step. Rules the layer table writes (a rule naming one layer) appear here too.
#pragma once
#include "panel.hpp"

class QLabel;
class QLineEdit;
class QTableView;

namespace qs {

class RuleTableModel;

class RulesPanel : public Panel {
  Q_OBJECT

 public:
  explicit RulesPanel(Workbench& workbench, QWidget* parent = nullptr);

  RuleTableModel* rules() const { return rules_; }
  // The actions of the buttons, for tests and shortcuts; each returns the error it showed, or empty.
  QString default_apply(const QString& format);
  QString rule_apply(const QString& match, const QString& format);  // adds, or replaces the rule for `match`
  QString rule_remove_selected();
  QString rule_move_selected(int delta);

 private:
  void plan_show();
  void selection_show();
  int selected_rule() const;
  QString report(const QString& error);

  QLineEdit* default_edit_;
  QTableView* view_;
  RuleTableModel* rules_;
  QLineEdit* match_edit_;
  QLineEdit* format_edit_;
  QLabel* message_;
};

}  // namespace qs
