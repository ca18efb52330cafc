// RulesPanel: a form over Workbench's rule edits.
#include "rules_panel.hpp"

#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include "format_delegate.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "rule_table_model.hpp"
#include "table_copy.hpp"
#include "workbench.hpp"

namespace qs {

RulesPanel::RulesPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  default_edit_ = format_line_edit(this);
  default_edit_->setObjectName("defaultFormat");
  default_edit_->setPlaceholderText(tr("none: decoder layers no rule names stay as stored"));

  rules_ = new RuleTableModel(this);
  view_ = new QTableView;
  view_->setObjectName("ruleTable");
  view_->setModel(rules_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->verticalHeader()->hide();
  table_copy_install(*view_);
  view_->horizontalHeader()->setStretchLastSection(true);

  match_edit_ = new QLineEdit;
  match_edit_->setObjectName("ruleMatch");
  match_edit_->setPlaceholderText(tr("model.layers.*.mlp.down_proj"));
  format_edit_ = format_line_edit(this);
  format_edit_->setObjectName("ruleFormat");
  format_edit_->setPlaceholderText(tr("int4:g64"));
  auto* apply = new QPushButton(tr("Add / Replace"));
  auto* remove = new QPushButton(tr("Remove"));
  auto* up = new QPushButton(tr("Up"));
  auto* down = new QPushButton(tr("Down"));
  message_ = new QLabel;
  message_->setObjectName("rulesMessage");
  message_->setWordWrap(true);
  message_->setStyleSheet("color: #b3261e;");
  message_->hide();

  auto* form = new QFormLayout;
  form->addRow(tr("&Default format:"), default_edit_);
  auto* edit_row = new QHBoxLayout;
  edit_row->addWidget(match_edit_, 3);
  edit_row->addWidget(format_edit_, 2);
  edit_row->addWidget(apply);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(up);
  buttons->addWidget(down);
  buttons->addWidget(remove);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 4, 4);
  layout->addLayout(form);
  layout->addWidget(view_, 1);
  layout->addLayout(buttons);
  layout->addLayout(edit_row);
  layout->addWidget(message_);

  connect(default_edit_, &QLineEdit::editingFinished, this, [this] { default_apply(default_edit_->text()); });
  connect(apply, &QPushButton::clicked, this, [this] { rule_apply(match_edit_->text(), format_edit_->text()); });
  connect(format_edit_, &QLineEdit::returnPressed, this, [this] { rule_apply(match_edit_->text(), format_edit_->text()); });
  connect(remove, &QPushButton::clicked, this, [this] { rule_remove_selected(); });
  connect(up, &QPushButton::clicked, this, [this] { rule_move_selected(-1); });
  connect(down, &QPushButton::clicked, this, [this] { rule_move_selected(1); });
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &RulesPanel::selection_show);
  connect(&workbench_, &Workbench::plan_changed, this, &RulesPanel::plan_show);
  plan_show();
}

void RulesPanel::plan_show() {
  const int selected = selected_rule();
  rules_->plan_set(workbench_.plan(), workbench_.assignment());
  view_->resizeColumnsToContents();
  const std::optional<FormatSpec>& d = workbench_.plan().default_weight;
  if (!default_edit_->hasFocus()) default_edit_->setText(d ? QString::fromStdString(format_print(*d)) : QString());
  const int row = rules_->row_of(selected);
  if (selected >= 0 && row < rules_->rowCount()) view_->selectRow(row);
}

int RulesPanel::selected_rule() const {
  const QModelIndex current = view_->currentIndex();
  return current.isValid() ? rules_->rule_of(current.row()) : -1;
}

void RulesPanel::selection_show() {
  const int rule = selected_rule();
  if (rule < 0) return;
  const PlanRule& r = workbench_.plan().rules.at(size_t(rule));
  match_edit_->setText(QString::fromStdString(r.match));
  format_edit_->setText(QString::fromStdString(format_print(r.weight)));
}

QString RulesPanel::report(const QString& error) {
  message_->setText(error);
  message_->setVisible(!error.isEmpty());
  return error;
}

QString RulesPanel::default_apply(const QString& format) {
  const QString text = format.trimmed();
  const std::optional<FormatSpec>& current = workbench_.plan().default_weight;
  if (text.isEmpty()) return report(current ? workbench_.default_set(std::nullopt) : QString());
  try {
    return report(workbench_.default_set(format_parse(text.toStdString())));
  } catch (const Error& e) {
    return report(QString::fromStdString(e.what()));
  }
}

QString RulesPanel::rule_apply(const QString& match, const QString& format) {
  const std::string glob = match.trimmed().toStdString();
  if (glob.empty()) return report(tr("Type the layers the rule matches (a name or a glob)"));
  PlanRule rule;
  rule.match = glob;
  try {
    rule.weight = format_parse(format.trimmed().toStdString());
  } catch (const Error& e) {
    return report(QString::fromStdString(e.what()));
  }
  const std::vector<PlanRule>& rules = workbench_.plan().rules;
  int index = int(rules.size());
  for (size_t i = 0; i < rules.size(); ++i)
    if (rules[i].match == glob) index = int(i);
  return report(workbench_.rule_set(index, rule));
}

QString RulesPanel::rule_remove_selected() {
  const int rule = selected_rule();
  if (rule < 0) return report(rules_->has_default() && view_->currentIndex().isValid()
                                  ? workbench_.default_set(std::nullopt)
                                  : tr("Select a rule to remove"));
  return report(workbench_.rule_remove(rule));
}

QString RulesPanel::rule_move_selected(int delta) {
  const int rule = selected_rule();
  if (rule < 0) return report(tr("Select a rule to move"));
  const int to = rule + delta;
  if (to < 0 || to >= int(workbench_.plan().rules.size())) return report(QString());
  const QString error = workbench_.rule_move(rule, to);
  if (error.isEmpty()) view_->selectRow(rules_->row_of(to));
  return report(error);
}

}  // namespace qs
