// RuleTableModel: a plan's rules as rows, with the counts and errors plan_assign gives.
#include "rule_table_model.hpp"

#include <QColor>

#include "quantscope/format.hpp"

namespace qs {

RuleTableModel::RuleTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void RuleTableModel::plan_set(const QuantPlan& plan, const PlanAssignment& assignment) {
  beginResetModel();
  plan_ = plan;
  assignment_ = assignment;
  default_count_ = 0;
  for (const PlanLayer& layer : assignment_.layers)
    if (layer.rule == PlanLayer::kDefault) ++default_count_;
  endResetModel();
}

int RuleTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(plan_.rules.size()) + (has_default() ? 1 : 0);
}

int RuleTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant RuleTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const int rule = rule_of(index.row());
  const bool is_default = rule < 0;
  const FormatSpec weight = is_default ? *plan_.default_weight : plan_.rules[size_t(rule)].weight;
  const std::optional<FormatSpec>& act = is_default ? plan_.default_activation : plan_.rules[size_t(rule)].activation;
  const QString problem =
      is_default || size_t(rule) >= assignment_.rule_errors.size() ? QString()
                                                                   : QString::fromStdString(assignment_.rule_errors[size_t(rule)]);
  if (role == Qt::DisplayRole || role == Qt::EditRole) {
    switch (index.column()) {
      case Match: return is_default ? tr("(default)") : QString::fromStdString(plan_.rules[size_t(rule)].match);
      case Weight: return QString::fromStdString(format_print(weight));
      case Activation: return act ? QString::fromStdString(format_print(*act)) : QString();
      case Layers:
        return static_cast<qlonglong>(is_default ? default_count_
                                                 : size_t(rule) < assignment_.rule_matches.size()
                                                     ? assignment_.rule_matches[size_t(rule)]
                                                     : 0);
      case Problem: return problem;
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == Match)
      return is_default ? tr("Every decoder linear layer that no rule matches")
                        : tr("A glob over layer names (* any run, ? one character); a name without wildcards beats "
                             "any glob, and among globs the one with more literal characters wins");
    if (index.column() == Layers) return tr("Layers this rule matches (a more specific rule may win some of them)");
    if (index.column() == Problem) return problem;
  }
  if (role == Qt::ForegroundRole && !problem.isEmpty()) return QColor(0xb3, 0x26, 0x1e);
  if (role == Qt::TextAlignmentRole)
    return int((index.column() == Layers ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
  return {};
}

QVariant RuleTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case Match: return tr("Layers matching");
    case Weight: return tr("Weight format");
    case Activation: return tr("Input format");
    case Layers: return tr("Matches");
    case Problem: return tr("Problem");
    default: return {};
  }
}

}  // namespace qs
