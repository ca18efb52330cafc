// LayersPanel: the table, its filter, the format editor, the totals strip and the row menu.
#include "layers_panel.hpp"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <set>

#include "format_delegate.hpp"
#include "plan_table_model.hpp"
#include "table_copy.hpp"
#include "quantscope/dtype.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/quantize.hpp"
#include "quantscope/weight_statistics.hpp"
#include "workbench.hpp"

namespace qs {

namespace {

QString parameters_format(int64_t n) {
  const double v = static_cast<double>(n);
  if (v >= 1e9) return QString::number(v / 1e9, 'f', 2) + " B";
  if (v >= 1e6) return QString::number(v / 1e6, 'f', 2) + " M";
  if (v >= 1e3) return QString::number(v / 1e3, 'f', 1) + " K";
  return QString::number(n);
}

QString bytes_format(uint64_t bytes) {
  return QLocale(QLocale::English).formattedDataSize(static_cast<qint64>(bytes), 2);
}

QString display_name(const QString& path) {
  const QFileInfo info(path);
  return info.fileName().isEmpty() ? QDir(path).dirName() : info.fileName();
}

// "BF16", or "BF16 + F32" for a checkpoint that mixes dtypes; a quantized checkpoint's formats first
// ("q4_K + q6_K + F32").
QString dtypes_text(const Model& model) {
  QStringList names;
  for (const LinearLayer& layer : model.linear_layers())
    if (!layer.stored_format.empty() && !names.contains(QString::fromStdString(layer.stored_format)))
      names << QString::fromStdString(layer.stored_format);
  for (const DType dtype : model.stored_dtypes()) names << QString::fromLatin1(dtype_name(dtype));
  return names.join(QStringLiteral(" + "));
}

}  // namespace

LayersPanel::LayersPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  title_ = new QLabel(tr("No model open"));
  QFont title_font = title_->font();
  title_font.setPointSizeF(title_font.pointSizeF() * 1.25);
  title_font.setBold(true);
  title_->setFont(title_font);
  summary_ = new QLabel(tr("File ▸ Open File… or Open Folder…, or drop a model onto this window"));
  summary_->setObjectName("modelSummary");
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  summary_->setWordWrap(true);

  filter_ = new QLineEdit;
  filter_->setObjectName("layerFilter");
  filter_->setPlaceholderText(tr("Filter layers (e.g. mlp, q_proj, layers.3.*)"));
  filter_->setClearButtonEnabled(true);
  filter_->setAcceptDrops(false);  // a dropped model opens; it is not text to filter by
  count_ = new QLabel;

  table_ = new PlanTableModel(this);
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(table_);
  proxy_->setSortRole(PlanTableModel::SortRole);
  proxy_->setFilterKeyColumn(PlanTableModel::Name);
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);

  view_ = new QTableView;
  view_->setObjectName("layerTable");
  view_->setModel(proxy_);
  view_->setSortingEnabled(true);
  view_->sortByColumn(PlanTableModel::Name, Qt::AscendingOrder);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  view_->setAlternatingRowColors(true);
  view_->setWordWrap(false);
  view_->setCornerButtonEnabled(false);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setHighlightSections(false);
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  delegate_ = new FormatDelegate(workbench_, this);
  view_->setItemDelegateForColumn(PlanTableModel::Format, delegate_);
  view_->resizeColumnsToContents();

  totals_ = new QLabel;
  totals_->setObjectName("planTotals");
  totals_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  totals_->setToolTip(tr("Bits per weight averaged over the quantized layers; model bytes with every quantized "
                         "weight at its exact size and every other tensor as stored; the ratio to the whole "
                         "model in bf16; layers whose format was set by name"));
  message_ = new QLabel;
  message_->setObjectName("planMessage");
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->setStyleSheet("color: #b3261e;");
  message_->hide();

  auto* filter_row = new QHBoxLayout;
  filter_row->addWidget(filter_, 1);
  filter_row->addWidget(count_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 8, 4, 4);
  layout->addWidget(title_);
  layout->addWidget(summary_);
  layout->addSpacing(4);
  layout->addLayout(filter_row);
  layout->addWidget(view_, 1);
  layout->addWidget(message_);
  layout->addWidget(totals_);

  auto* set_format = new QAction(tr("Set Format for Selection…"), this);
  set_format->setObjectName("setFormatAction");
  set_format->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
  set_format->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  connect(set_format, &QAction::triggered, this, &LayersPanel::format_dialog);
  addAction(set_format);
  table_copy_install(*view_);

  metrics_runner_ = new JobRunner(this);
  metrics_timer_.setSingleShot(true);
  metrics_timer_.setInterval(80);
  connect(&metrics_timer_, &QTimer::timeout, this, &LayersPanel::metrics_request);
  const auto metrics_later = [this] { metrics_timer_.start(); };
  connect(view_->verticalScrollBar(), &QScrollBar::valueChanged, this, metrics_later);
  connect(proxy_, &QAbstractItemModel::layoutChanged, this, metrics_later);  // sorting
  // Results are kept by what they were computed for, whatever the plan has become since.
  connect(metrics_runner_, &JobRunner::finished, this, [this](JobRunner::JobId id) {
    const auto it = metrics_jobs_.find(id);
    if (it == metrics_jobs_.end()) return;
    table_->metrics_set(it->second.layer, it->second.format, *it->second.result);
    Q_EMIT metrics_shown(it->second.layer, it->second.format);
    metrics_jobs_.erase(it);
  });
  connect(metrics_runner_, &JobRunner::failed, this, [this](JobRunner::JobId id, const QString& error) {
    const auto it = metrics_jobs_.find(id);
    if (it == metrics_jobs_.end()) return;
    table_->metrics_fail(it->second.layer, it->second.format, error);
    Q_EMIT metrics_shown(it->second.layer, it->second.format);
    metrics_jobs_.erase(it);
  });
  connect(metrics_runner_, &JobRunner::cancelled, this, [this](JobRunner::JobId id) { metrics_jobs_.erase(id); });

  connect(filter_, &QLineEdit::textChanged, this, [this, metrics_later](const QString& text) {
    proxy_->setFilterWildcard(text);
    count_update();
    metrics_later();
  });
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
    if (current.isValid()) workbench_.layer_select(current.data(PlanTableModel::LayerRole).toString());
  });
  connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          [this] { workbench_.layers_select(selected_layers()); });
  connect(view_, &QWidget::customContextMenuRequested, this, &LayersPanel::context_menu);
  connect(delegate_, &FormatDelegate::refused, this, &LayersPanel::message_show);
  connect(&workbench_, &Workbench::model_changed, this, &LayersPanel::model_show);
  connect(&workbench_, &Workbench::plan_changed, this, &LayersPanel::plan_show);
  connect(&workbench_, &Workbench::plan_preview_changed, this, &LayersPanel::preview_show);
  connect(&workbench_, &Workbench::statistics_done, this, &LayersPanel::statistics_show);
  connect(&workbench_, &Workbench::selection_changed, this, [this](const QString& layer) {
    const int row = table_->row_of(layer);
    if (row < 0) return;
    const QModelIndex index = proxy_->mapFromSource(table_->index(row, PlanTableModel::Name));
    if (index.isValid() && index.row() != view_->currentIndex().row()) view_->setCurrentIndex(index);
  });
  count_update();
  plan_show();
}

void LayersPanel::model_show() {
  message_show(QString());
  const std::shared_ptr<const Model>& model = workbench_.model();
  table_->rows_set(model ? PlanTableModel::rows_of(*model) : std::vector<LayerRow>{});
  if (!model) {
    title_->setText(tr("No model open"));
    return;
  }
  const QString path = workbench_.model_path();
  const ModelConfig& config = model->config();
  title_->setText(display_name(path));
  title_->setToolTip(path);
  const std::string source = model->source_format();
  const QString format = source == "llama2c"      ? tr("llama2.c checkpoint")
                         : source == "gguf"       ? tr("GGUF")
                         : source == "quantscope" ? tr("Quantscope packed checkpoint")
                                                  : tr("Hugging Face");
  // Architecture on the first line, size and origin on the second.
  summary_->setText(tr("%1 · %2 blocks · hidden %3 · %4 heads (%5 KV) · vocabulary %6\n%7 parameters · %8 %9 · %10")
                        .arg(QString::fromStdString(config.model_type))
                        .arg(config.num_hidden_layers)
                        .arg(config.hidden_size)
                        .arg(config.num_attention_heads)
                        .arg(config.num_key_value_heads)
                        .arg(config.vocab_size)
                        .arg(parameters_format(model->parameter_count()))
                        .arg(bytes_format(model->stored_bytes()))
                        .arg(dtypes_text(*model))
                        .arg(format));
  view_->resizeColumnsToContents();
  count_update();
  // The first decoder layer, not the embedding: that is what a user inspects first.
  const int first = std::min(1, table_->rowCount() - 1);
  if (first >= 0) view_->setCurrentIndex(proxy_->mapFromSource(table_->index(first, PlanTableModel::Name)));
}

void LayersPanel::plan_show() {
  if (workbench_.model() && table_->rowCount() > 0) table_->plan_set(workbench_.plan(), workbench_.assignment());
  preview_show();
  totals_->setText(totals_text());
  metrics_timer_.start();
}

void LayersPanel::preview_show() {
  const std::shared_ptr<const Model> model = workbench_.model();
  if (!model || table_->rowCount() == 0) return;
  if (!workbench_.plan_preview()) {
    table_->preview_set(nullptr);
    return;
  }
  const PlanAssignment preview = plan_assign(*workbench_.plan_preview(), *model);
  table_->preview_set(&preview);
}

void LayersPanel::metrics_request() {
  const std::shared_ptr<const Model> model = workbench_.model();
  if (!model) return;
  // The rows in view, a few beyond, in the order they are shown.
  int first = view_->rowAt(0), last = view_->rowAt(view_->viewport()->height() - 1);
  if (first < 0) first = 0;
  if (last < 0) last = proxy_->rowCount() - 1;
  last = std::min(proxy_->rowCount() - 1, last + 4);
  std::set<std::pair<QString, QString>> wanted;
  std::vector<std::pair<QString, QString>> order;
  for (int r = first; r <= last; ++r) {
    const int source = proxy_->mapToSource(proxy_->index(r, 0)).row();
    if (!table_->metrics_missing(source)) continue;
    const LayerRow& row = table_->row_at(source);
    const std::pair<QString, QString> key{QString::fromStdString(row.layer.name),
                                          QString::fromStdString(format_print(row.plan.format.format))};
    wanted.insert(key);
    order.push_back(key);
  }
  // Jobs for rows no longer wanted stop (a running quantization within a second).
  for (const auto& [id, job] : metrics_jobs_)
    if (!wanted.count({job.layer, job.format})) metrics_runner_->cancel(id);
  for (const auto& [id, job] : metrics_jobs_) wanted.erase({job.layer, job.format});
  for (const auto& key : order) {
    if (!wanted.count(key)) continue;  // already on its way
    const std::string layer = key.first.toStdString();
    const FormatSpec spec = format_parse(key.second.toStdString());
    auto metrics = std::make_shared<TensorMetrics>();
    const JobRunner::JobId id = metrics_runner_->submit(
        QString(), tr("Metrics of %1 as %2").arg(key.first, key.second), [model, layer, spec, metrics](JobContext& job) {
          job.check_cancelled();
          QuantizeOptions options;
          options.name = layer;
          options.summary_only = true;
          options.histogram_bins = 1;
          options.job = &job;
          *metrics = layer_quantize(*model, layer, spec, options).metrics;
        });
    metrics_jobs_[id] = MetricsJob{key.first, key.second, metrics};
  }
}

QString LayersPanel::totals_text() const {
  if (!workbench_.model()) return tr("No plan: open a model to give its layers formats");
  const PlanTotals& t = workbench_.totals();
  const double ratio = t.bf16_bytes ? double(t.model_bytes) / double(t.bf16_bytes) : 0.0;
  const QString bits = t.quantized_layers > 0
                           ? tr("%1 bits/weight over %2 layers").arg(t.bits_per_weight, 0, 'f', 3).arg(t.quantized_layers)
                           : tr("every layer as stored");
  return tr("Plan: %1 · model %2 (%3× bf16) · %4 edited")
      .arg(bits, bytes_format(t.model_bytes))
      .arg(ratio, 0, 'f', 3)
      .arg(workbench_.edited_count());
}

void LayersPanel::statistics_show(const QString& error) {
  if (!error.isEmpty()) {
    table_->statistics_fail(error);
    return;
  }
  try {
    table_->statistics_set(*workbench_.statistics());
  } catch (const Error&) {  // statistics of a model since replaced: the next job brings the right ones
    return;
  }
  view_->resizeColumnsToContents();
}

void LayersPanel::message_show(const QString& text) {
  message_->setText(text);
  message_->setVisible(!text.isEmpty());
}

void LayersPanel::count_update() {
  const int total = table_->rowCount();
  const int shown = proxy_->rowCount();
  if (total == 0)
    count_->clear();
  else if (shown != total)
    count_->setText(tr("%1 of %2 layers").arg(shown).arg(total));
  else
    count_->setText(tr("%1 layers").arg(total));
}

QStringList LayersPanel::selected_layers() const {
  QStringList layers;
  for (const QModelIndex& index : view_->selectionModel()->selectedRows(PlanTableModel::Name))
    layers << index.data(PlanTableModel::LayerRole).toString();
  return layers;
}

QString LayersPanel::selection_format_set(const QString& text) {
  const QStringList layers = selected_layers();
  QString error;
  if (layers.isEmpty()) {
    error = tr("Select the layers to give a format first");
  } else if (text.trimmed().isEmpty()) {
    error = workbench_.layers_format_set(layers, std::nullopt);
  } else {
    try {
      error = workbench_.layers_format_set(layers, format_parse(text.trimmed().toStdString()));
    } catch (const Error& e) {
      error = QString::fromStdString(e.what());
    }
  }
  message_show(error);
  return error;
}

QString LayersPanel::selection_tsv() const { return table_rows_tsv(*view_); }

void LayersPanel::format_dialog() {
  const QStringList layers = selected_layers();
  if (layers.isEmpty()) return;
  auto* dialog = new QInputDialog(this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->setWindowTitle(tr("Set Format"));
  dialog->setLabelText(tr("Format for %n layer(s) (empty: back to the plan's rules):", nullptr, int(layers.size())));
  dialog->setComboBoxItems(format_suggestion_list());
  dialog->setComboBoxEditable(true);
  dialog->setTextValue(view_->currentIndex().siblingAtColumn(PlanTableModel::Format).data(Qt::EditRole).toString());
  connect(dialog, &QInputDialog::textValueSelected, this, [this](const QString& text) { selection_format_set(text); });
  dialog->open();  // window-modal, not a nested event loop: jobs keep reporting
}

void LayersPanel::context_menu(const QPoint& position) {
  const QModelIndex index = view_->indexAt(position);
  if (!index.isValid()) return;
  QMenu menu(this);
  const int n = int(selected_layers().size());
  menu.addAction(tr("Set Format for %n Layer(s)…", nullptr, n), this, &LayersPanel::format_dialog);
  menu.addAction(tr("Reset %n Layer(s) to the Plan's Rules", nullptr, n), this,
                 [this] { selection_format_set(QString()); });
  const QString name = index.data(PlanTableModel::LayerRole).toString();
  menu.addAction(tr("Compare Formats on This Layer"), this, [this, name] {
    workbench_.layer_select(name);
    workbench_.panel_show("compare");
  });
  menu.addSeparator();
  menu.addAction(tr("Copy Layer Name"), this, [name] { QApplication::clipboard()->setText(name); });
  menu.addAction(tr("Copy Rows"), this, [this] { QApplication::clipboard()->setText(selection_tsv()); });
  menu.exec(view_->viewport()->mapToGlobal(position));
}

QJsonObject LayersPanel::state() const { return {{"filter", filter_->text()}}; }

void LayersPanel::state_restore(const QJsonObject& state) { filter_->setText(state["filter"].toString()); }

}  // namespace qs
