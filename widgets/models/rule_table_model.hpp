// The plan's rules in order (glob, weight format, input format) with how many layers each matches and
// what is wrong with it, for the rules view. Widget-free; edits go through the Workbench.
#pragma once
#include <QAbstractTableModel>

#include "quantscope/plan.hpp"

namespace qs {

class RuleTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Column { Match, Weight, Activation, Layers, Problem, ColumnCount };

  explicit RuleTableModel(QObject* parent = nullptr);
  // The default, when the plan has one, is the first row ("default", decoder layers no rule matches).
  void plan_set(const QuantPlan& plan, const PlanAssignment& assignment);
  bool has_default() const { return plan_.default_weight.has_value(); }
  // The rule index of a row, or -1 for the default's row; and the row of a rule.
  int rule_of(int row) const { return has_default() ? row - 1 : row; }
  int row_of(int rule) const { return has_default() ? rule + 1 : rule; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  QuantPlan plan_;
  PlanAssignment assignment_;
  int64_t default_count_ = 0;
};

}  // namespace qs
