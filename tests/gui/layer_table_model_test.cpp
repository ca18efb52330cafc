// LayerTableModel under QAbstractItemModelTester: rows from the headers with statistics pending, then
// filled by weight_statistics_compute's result (or marked failed), with the change signalled to views.
#include <gtest/gtest.h>

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <limits>

#include "layer_table_model.hpp"
#include "quantscope/model.hpp"
#include "quantscope/weight_statistics.hpp"

namespace qs {
namespace {

QString stories_path() { return QS_DATA_DIR "/models/stories260K/stories260K.bin"; }

class LayerTableModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!QFile::exists(stories_path())) GTEST_SKIP() << "stories260K not found at " << stories_path().toStdString();
    model_ = model_load(stories_path().toStdString());
    table_.rows_set(LayerTableModel::rows_of(*model_));
  }
  QString cell(int row, int column) const { return table_.index(row, column).data().toString(); }

  std::shared_ptr<Model> model_;
  LayerTableModel table_;
  QAbstractItemModelTester tester_{&table_, QAbstractItemModelTester::FailureReportingMode::Fatal};
};

TEST_F(LayerTableModelTest, RowsComeFromTheHeadersWithStatisticsPending) {
  ASSERT_EQ(table_.rowCount(), 35);
  EXPECT_EQ(cell(0, LayerTableModel::Name), "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(cell(6, LayerTableModel::Shape), "64 × 172");
  EXPECT_EQ(cell(0, LayerTableModel::Mean), "…");
  EXPECT_FALSE(table_.index(0, LayerTableModel::Kurtosis).data(Qt::ToolTipRole).toString().isEmpty());
}

TEST_F(LayerTableModelTest, StatisticsFillTheirColumnsAndSignalTheChange) {
  const WeightStatistics statistics = weight_statistics_compute(*model_, {});
  QSignalSpy changed(&table_, &QAbstractItemModel::dataChanged);
  table_.statistics_set(statistics);
  ASSERT_EQ(changed.count(), 1);
  EXPECT_EQ(changed.at(0).at(0).toModelIndex(), table_.index(0, LayerTableModel::Mean));
  EXPECT_EQ(changed.at(0).at(1).toModelIndex(), table_.index(34, LayerTableModel::ColumnCount - 1));
  for (int row = 0; row < table_.rowCount(); ++row) {
    const LayerRow& r = table_.row_at(row);
    ASSERT_TRUE(r.stats.has_value()) << r.layer.name;
    EXPECT_FALSE(r.stats_pending);
    EXPECT_EQ(r.stats->count, r.layer.parameters());
    EXPECT_EQ(cell(row, LayerTableModel::Std), QString::number(r.stats->std, 'g', 4));
    EXPECT_DOUBLE_EQ(table_.index(row, LayerTableModel::AbsMax).data(LayerTableModel::SortRole).toDouble(),
                     r.stats->absmax);
  }
}

TEST_F(LayerTableModelTest, StatisticsOfAnotherModelAreRefused) {
  WeightStatistics statistics = weight_statistics_compute(*model_, {});
  std::swap(statistics.layers[0], statistics.layers[1]);
  EXPECT_ANY_THROW(table_.statistics_set(statistics));
  statistics.layers.pop_back();
  EXPECT_ANY_THROW(table_.statistics_set(statistics));
}

TEST_F(LayerTableModelTest, AFailedStatisticsJobSaysWhyInEveryRow) {
  table_.statistics_fail("cancelled");
  EXPECT_EQ(cell(3, LayerTableModel::Mean), "—");
  EXPECT_EQ(table_.index(3, LayerTableModel::Mean).data(Qt::ToolTipRole).toString(), "cancelled");
  // Sorted by a statistic, rows without one come first.
  EXPECT_EQ(table_.index(3, LayerTableModel::Std).data(LayerTableModel::SortRole).toDouble(),
            -std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace qs
