// PlanTableModel under QAbstractItemModelTester: rows from the headers (embedding first) with statistics
// pending, then filled by weight_statistics_compute's result (or marked failed), and a plan's formats,
// costs and sources, with each change signalled to views.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <limits>

#include "plan_table_model.hpp"
#include "quantscope/format.hpp"
#include "quantscope/model.hpp"
#include "quantscope/plan.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {
namespace {

QString stories_path() { return QS_DATA_DIR "/models/stories260K/stories260K.bin"; }

class PlanTableModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
    model_ = model_load(stories_path().toStdString());
    table_.rows_set(PlanTableModel::rows_of(*model_));
  }
  QString cell(int row, int column) const { return table_.index(row, column).data().toString(); }

  std::shared_ptr<Model> model_;
  PlanTableModel table_;
  QAbstractItemModelTester tester_{&table_, QAbstractItemModelTester::FailureReportingMode::Fatal};
};

TEST_F(PlanTableModelTest, RowsComeFromTheHeadersWithStatisticsPending) {
  ASSERT_EQ(table_.rowCount(), 36);
  EXPECT_EQ(cell(0, PlanTableModel::Name), "model.embed_tokens");
  EXPECT_EQ(cell(0, PlanTableModel::Shape), "512 × 64");
  EXPECT_EQ(cell(1, PlanTableModel::Name), "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(cell(7, PlanTableModel::Shape), "64 × 172");
  EXPECT_EQ(cell(1, PlanTableModel::Mean), "…");
  EXPECT_EQ(cell(1, PlanTableModel::Format), "as stored");
  EXPECT_EQ(cell(1, PlanTableModel::Bits), "32.000");
  EXPECT_EQ(cell(1, PlanTableModel::Bytes), "16,384");
  EXPECT_FALSE(table_.index(0, PlanTableModel::Kurtosis).data(Qt::ToolTipRole).toString().isEmpty());
}

TEST_F(PlanTableModelTest, StatisticsFillTheirColumnsAndSignalTheChange) {
  const WeightStatistics statistics = weight_statistics_compute(*model_, {});
  QSignalSpy changed(&table_, &QAbstractItemModel::dataChanged);
  table_.statistics_set(statistics);
  ASSERT_EQ(changed.count(), 1);
  EXPECT_EQ(changed.at(0).at(0).toModelIndex(), table_.index(0, PlanTableModel::Mean));
  EXPECT_EQ(changed.at(0).at(1).toModelIndex(), table_.index(35, PlanTableModel::ColumnCount - 1));
  EXPECT_EQ(cell(0, PlanTableModel::Mean), "—");  // the embedding: statistics cover the linear layers
  EXPECT_FALSE(table_.index(0, PlanTableModel::Mean).data(Qt::ToolTipRole).toString().isEmpty());
  for (int row = 1; row < table_.rowCount(); ++row) {
    const LayerRow& r = table_.row_at(row);
    ASSERT_TRUE(r.stats.has_value()) << r.layer.name;
    EXPECT_FALSE(r.stats_pending);
    EXPECT_EQ(r.stats->count, r.layer.parameters());
    EXPECT_EQ(cell(row, PlanTableModel::Std), QString::number(r.stats->std, 'g', 4));
    EXPECT_DOUBLE_EQ(table_.index(row, PlanTableModel::AbsMax).data(PlanTableModel::SortRole).toDouble(),
                     r.stats->absmax);
  }
}

TEST_F(PlanTableModelTest, StatisticsOfAnotherModelAreRefused) {
  WeightStatistics statistics = weight_statistics_compute(*model_, {});
  std::swap(statistics.layers[0], statistics.layers[1]);
  EXPECT_ANY_THROW(table_.statistics_set(statistics));
  statistics.layers.pop_back();
  EXPECT_ANY_THROW(table_.statistics_set(statistics));
}

TEST_F(PlanTableModelTest, AFailedStatisticsJobSaysWhyInEveryRow) {
  table_.statistics_fail("cancelled");
  EXPECT_EQ(cell(3, PlanTableModel::Mean), "—");
  EXPECT_EQ(table_.index(3, PlanTableModel::Mean).data(Qt::ToolTipRole).toString(), "cancelled");
  // Sorted by a statistic, rows without one come first.
  EXPECT_EQ(table_.index(3, PlanTableModel::Std).data(PlanTableModel::SortRole).toDouble(),
            -std::numeric_limits<double>::infinity());
}

TEST_F(PlanTableModelTest, APlanSetsFormatsCostsAndSources) {
  const QuantPlan plan = plan_parse(R"({"default": "int4:g32", "layers": {"model.layers.*.mlp.*": "kmeans2",
                                         "model.layers.0.mlp.up_proj": "int8", "model.embed_tokens": "nf4"}})",
                                    "p.json");
  QSignalSpy changed(&table_, &QAbstractItemModel::dataChanged);
  table_.plan_set(plan, plan_assign(plan, *model_));
  ASSERT_EQ(changed.count(), 1);
  EXPECT_EQ(cell(0, PlanTableModel::Format), "nf4");
  EXPECT_EQ(cell(0, PlanTableModel::Source), "edited");  // a rule naming the tensor
  EXPECT_EQ(cell(1, PlanTableModel::Format), "int4:g32");
  EXPECT_EQ(cell(1, PlanTableModel::Source), "default");
  EXPECT_EQ(cell(5, PlanTableModel::Format), "kmeans2");
  EXPECT_EQ(cell(5, PlanTableModel::Source), "model.layers.*.mlp.*");
  EXPECT_EQ(cell(6, PlanTableModel::Format), "int8");
  // Bits and bytes are the format's exact storage on the layer's shape.
  const FormatSpec int4 = format_parse("int4:g32");
  EXPECT_EQ(cell(1, PlanTableModel::Bits), QString::number(format_bits_per_weight(int4, 64, 64), 'f', 3));
  EXPECT_EQ(table_.index(1, PlanTableModel::Bytes).data(PlanTableModel::SortRole).toULongLong(),
            (format_storage_bits(int4, 64, 64) + 7) / 8);
  EXPECT_TRUE(table_.flags(table_.index(1, PlanTableModel::Format)) & Qt::ItemIsEditable);
  EXPECT_FALSE(table_.flags(table_.index(1, PlanTableModel::Name)) & Qt::ItemIsEditable);
  EXPECT_EQ(table_.index(1, PlanTableModel::Format).data(Qt::EditRole).toString(), "int4:g32");

  // A plan of another model is refused whole.
  PlanAssignment other = plan_assign(plan, *model_);
  other.layers.pop_back();
  EXPECT_ANY_THROW(table_.plan_set(plan, other));
}

}  // namespace
}  // namespace qs
