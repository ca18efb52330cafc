// JobsPanel: the job table and its buttons.
#include "jobs_panel.hpp"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include "job_list_model.hpp"
#include "table_copy.hpp"

namespace qs {

JobsPanel::JobsPanel(Workbench& workbench, QWidget* parent) : Panel(workbench, parent) {
  model_ = new JobListModel(this);
  view_ = new QTableView;
  view_->setObjectName("jobsTable");
  view_->setModel(model_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(view_->fontMetrics().height() + 8);
  view_->horizontalHeader()->setStretchLastSection(true);
  view_->setWordWrap(false);
  table_copy_install(*view_);
  auto* cancel = new QPushButton(tr("Cancel Selected"));
  auto* cancel_all = new QPushButton(tr("Cancel All"));
  cancel_all->setObjectName("jobsCancelAll");
  auto* clear = new QPushButton(tr("Clear Ended"));
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(clear);
  buttons->addWidget(cancel);
  buttons->addWidget(cancel_all);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(8, 6, 8, 4);
  layout->addWidget(view_, 1);
  layout->addLayout(buttons);
  connect(cancel, &QPushButton::clicked, this, &JobsPanel::cancel);
  connect(cancel_all, &QPushButton::clicked, model_, &JobListModel::cancel_all);
  connect(clear, &QPushButton::clicked, model_, &JobListModel::ended_clear);
  connect(model_, &QAbstractItemModel::rowsInserted, view_, [this] {
    view_->resizeColumnToContents(JobListModel::Title);
    view_->scrollToBottom();
  });
}

QSize JobsPanel::sizeHint() const { return {700, 200}; }

void JobsPanel::cancel() {
  for (const QModelIndex& row : view_->selectionModel()->selectedRows()) model_->cancel(row.row());
}

}  // namespace qs
