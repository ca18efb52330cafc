// EvalHistoryModel: the numbers of each evaluation, formatted as the CLI's `eval` prints them.
#include "eval_history_model.hpp"

#include <QLocale>
#include <cmath>
#include <limits>

namespace qs {

EvalHistoryModel::EvalHistoryModel(QObject* parent) : QAbstractTableModel(parent) {}

void EvalHistoryModel::record_add(EvalRecord record) {
  QStringList added;
  for (const TaskScore& score : record.metrics.tasks) {
    const QString name = QString::fromStdString(score.name);
    if (!task_names_.contains(name) && !added.contains(name)) added << name;
  }
  if (!added.isEmpty()) {
    const int first = columnCount();
    beginInsertColumns({}, first, first + int(added.size()) - 1);
    task_names_ += added;
    endInsertColumns();
  }
  const int row = rowCount();
  beginInsertRows({}, row, row);
  records_.push_back(std::move(record));
  endInsertRows();
}

void EvalHistoryModel::clear() {
  beginResetModel();
  records_.clear();
  task_names_.clear();
  endResetModel();
}

int EvalHistoryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(records_.size()); }

int EvalHistoryModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount + int(task_names_.size());
}

int EvalHistoryModel::task_column(const QString& name) const {
  const qsizetype i = task_names_.indexOf(name);
  return i < 0 ? -1 : ColumnCount + int(i);
}

const TaskScore* EvalHistoryModel::task_score(const EvalRecord& r, int column) const {
  if (column < ColumnCount || column >= columnCount()) return nullptr;
  const std::string name = task_names_[column - ColumnCount].toStdString();
  for (const TaskScore& score : r.metrics.tasks)
    if (score.name == name) return &score;
  return nullptr;
}

double EvalHistoryModel::value(const EvalRecord& r, int column) const {
  const PlanMetrics& m = r.metrics;
  if (column >= ColumnCount) {
    const TaskScore* score = task_score(r, column);
    return score ? 100.0 * score->accuracy : std::numeric_limits<double>::quiet_NaN();
  }
  switch (column) {
    case BitsPerWeight: return m.bits_per_weight;
    case ModelBytes: return double(m.model_bytes);
    case Perplexity: return m.kl.model.perplexity;
    case PerplexityError: return m.kl.model.perplexity_standard_error;
    case BaseDelta: return m.kl.model.perplexity - m.kl.reference.perplexity;
    case BitsPerByte: return m.kl.model.bits_per_byte;
    case KlMean: return m.kl.mean;
    case KlMedian: return m.kl.median;
    case KlP99: return m.kl.p99;
    case KlMax: return m.kl.max;
    case Top1: return 100.0 * m.kl.top1_agreement;
    case Tokens: return double(m.kl.tokens);
    default: return std::numeric_limits<double>::quiet_NaN();
  }
}

QVariant EvalHistoryModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const EvalRecord& r = records_[size_t(index.row())];
  const int column = index.column();
  if (role == SortRole) return column == Label ? QVariant(index.row()) : QVariant(value(r, column));
  if (role == Qt::TextAlignmentRole) return int((column == Label ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    if (column == Label) return tr("%1\non %2%3").arg(r.plan_json.trimmed(), r.text_path,
                                                     r.max_tokens > 0 ? tr(" (first %1 tokens)").arg(r.max_tokens) : QString());
    if (const TaskScore* score = task_score(r, column))
      return tr("%1 of %2 items right in %3\n\n%4")
          .arg(score->correct)
          .arg(score->items)
          .arg(r.task_paths.value(int(score - r.metrics.tasks.data())),
               headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString());
    return headerData(column, Qt::Horizontal, Qt::ToolTipRole);
  }
  if (role != Qt::DisplayRole) return {};
  if (column >= ColumnCount) {
    const TaskScore* score = task_score(r, column);
    if (!score) return {};
    return QStringLiteral("%1 ± %2 %")
        .arg(QString::number(100 * score->accuracy, 'f', 2), QString::number(100 * score->standard_error, 'f', 2));
  }
  const double v = value(r, column);
  switch (column) {
    case Label: return r.label;
    case BitsPerWeight: return std::isnan(v) ? tr("as stored") : QString::number(v, 'f', 3);
    case ModelBytes: return QLocale(QLocale::English).formattedDataSize(qint64(v), 2);
    case Perplexity:
    case PerplexityError:
    case BitsPerByte: return QString::number(v, 'f', 4);
    case BaseDelta: return (v >= 0 ? "+" : "") + QString::number(v, 'f', 4);
    case KlMean:
    case KlMedian:
    case KlP99:
    case KlMax: return QString::number(v, 'f', 6);
    case Top1: return QString::number(v, 'f', 2) + " %";
    case Tokens: return QLocale(QLocale::English).toString(qlonglong(v));
    default: return {};
  }
}

QVariant EvalHistoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return {};
  if (section >= ColumnCount && section < columnCount()) {
    const QString& name = task_names_[section - ColumnCount];
    if (role == Qt::DisplayRole) return name;
    if (role == Qt::ToolTipRole)
      return tr("Accuracy on the task %1 ± its standard error √(p (1 − p) / (n − 1)), percent of its items: a "
                "generate item counts when the greedy answer matches (trimmed, lower-cased, outer punctuation "
                "removed), a choice item when the right choice has the highest log-likelihood per byte "
                "(quantscope-cli eval --tasks, docs/tasks.md)")
          .arg(name);
  }
  if (role == Qt::DisplayRole) {
    switch (section) {
      case Label: return tr("Plan");
      case BitsPerWeight: return tr("Bits/w");
      case ModelBytes: return tr("Model");
      case Perplexity: return tr("Perplexity");
      case PerplexityError: return tr("± ppl");
      case BaseDelta: return tr("Δ base");
      case BitsPerByte: return tr("Bits/byte");
      case KlMean: return tr("KL mean");
      case KlMedian: return tr("KL median");
      case KlP99: return tr("KL p99");
      case KlMax: return tr("KL max");
      case Top1: return tr("Top-1");
      case Tokens: return tr("Tokens");
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case BitsPerWeight: return tr("Storage bits per weight over the layers the plan quantizes");
      case ModelBytes: return tr("Every tensor, each quantized weight at its exact size");
      case Perplexity: return tr("exp(mean negative log-likelihood per token) of the quantized model on the text");
      case PerplexityError:
        return tr("Standard error of the perplexity: perplexity × the sample standard deviation of the per-token "
                  "negative log-likelihood / √tokens (delta method). Tokens of a running text are not "
                  "independent, so it is a lower bound on the uncertainty");
      case BaseDelta: return tr("Perplexity of the quantized model minus the base model's on the same tokens");
      case BitsPerByte: return tr("Total negative log-likelihood in bits over the text's UTF-8 bytes");
      case KlMean: return tr("Mean per-token KL(base ‖ quantized) of the next-token distributions, nats");
      case KlMedian: return tr("Median per-token KL divergence, nats");
      case KlP99: return tr("99th percentile of the per-token KL divergence, nats");
      case KlMax: return tr("Largest per-token KL divergence, nats");
      case Top1: return tr("Tokens where the quantized and the base model's most likely next token agree");
      case Tokens: return tr("Tokens scored");
      default: return {};
    }
  }
  if (role == Qt::TextAlignmentRole) return int((section == Label ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignVCenter);
  return {};
}

}  // namespace qs
