// Experiment files on the demo model: within each family KL falls as bits rise; an interrupted run
// resumes without redoing finished measurements; the result set holds every table the steps make
// and survives results.h5.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "quantscope/demo_model.hpp"
#include "quantscope/error.hpp"
#include "quantscope/experiment.hpp"
#include "quantscope/job.hpp"
#include "quantscope/model.hpp"
#include "quantscope/results.hpp"
#include "temp_dir.hpp"

namespace qs {
namespace {

const std::filesystem::path kDemoText = std::filesystem::path(QS_SOURCE_DIR) / "resources/models/demo/heldout-sample.txt";

std::filesystem::path experiment_write(const std::filesystem::path& dir, const std::string& body) {
  const std::filesystem::path path = dir / "experiment.json";
  std::ofstream(path) << "{\"model\": \"demo\", \"evaluation\": {\"text\": \"" << kDemoText.string()
                      << "\", \"ctx\": 128, \"max_tokens\": 768}" << body << "}";
  return path;
}

TEST(Experiment, SweepKlFallsAsBitsRiseWithinEachFamily) {
  test::TempDir dir;
  const Experiment e = experiment_load(experiment_write(dir.path(), R"(,
    "sweep": {"families": ["int", "quest", "kmeans"], "bits": [2, 3, 4], "options": {"int": ["g64"]}})"));
  const ResultSet results = experiment_run(e, dir.path() / "out");
  const ResultTable& sweep = *results.table_find("sweep");
  ASSERT_EQ(sweep.rows(), 9u);
  const auto& family = sweep.column("family").texts();
  const auto& kl = sweep.column("kl_mean").numbers();
  const auto& bits = sweep.column("bits_per_weight").numbers();
  for (size_t i = 0; i < 9; i += 3) {
    EXPECT_EQ(family[i], family[i + 2]);
    EXPECT_LT(bits[i], bits[i + 1]);
    EXPECT_GT(kl[i], kl[i + 1]) << family[i] << " 2 → 3 bits";
    EXPECT_GT(kl[i + 1], kl[i + 2]) << family[i] << " 3 → 4 bits";
    EXPECT_GT(kl[i + 2], 0.0);
  }
}

TEST(Experiment, InterruptedRunResumesWithoutRedoingWork) {
  test::TempDir dir;
  const Experiment e = experiment_load(experiment_write(dir.path(), R"(,
    "sweep": {"formats": ["int3:g64", "kmeans2"]},
    "sensitivity": {"formats": ["int2:g64", "int4:g64"]},
    "allocation": {"budgets": [{"bits": 3.0}]})"));
  const std::filesystem::path out = dir.path() / "out";
  // Cancel the job as soon as the fifth measurement is stored.
  ExperimentCounts first;
  int measured = 0;
  Job* self = nullptr;
  Job interrupted("", "experiment", [&](JobContext& context) {
    experiment_run(e, out, &context, [&](const std::string& line) {
      if (line.rfind("measured", 0) == 0 && ++measured == 5) self->cancel();
    }, &first);
  }, {});
  self = &interrupted;
  interrupted.execute();
  EXPECT_EQ(interrupted.state(), JobState::Cancelled);
  EXPECT_EQ(first.computed, 5);

  ExperimentCounts second;
  const ResultSet results = experiment_run(e, out, nullptr, {}, &second);
  EXPECT_EQ(second.cached, 5);
  // reference + 2 sweep + 2 × 28 layers + 2 uniform + 1 allocated, less what the first run finished.
  EXPECT_EQ(second.computed + second.cached, 1 + 2 + 56 + 2 + 1);

  ExperimentCounts third;
  const ResultSet again = experiment_run(e, out, nullptr, {}, &third);
  EXPECT_EQ(third.computed, 0);
  EXPECT_EQ(third.cached, second.computed + second.cached);
  EXPECT_EQ(again.table_find("allocation")->column("kl_mean").numbers(),
            results.table_find("allocation")->column("kl_mean").numbers());

  // Every table the steps made, written and read back.
  std::set<std::string> names;
  for (const ResultTable& t : results.tables) names.insert(t.name);
  for (const char* expected : {"evaluations", "sweep", "sensitivity_int2_g64", "sensitivity_int4_g64",
                               "proxy_correlation", "allocation", "allocation_3_bits_weight"})
    EXPECT_TRUE(names.count(expected)) << expected;
  results_write(results, out / "results.h5");
  const ResultSet read = results_read(out / "results.h5");
  ASSERT_EQ(read.tables.size(), results.tables.size());
  for (size_t i = 0; i < read.tables.size(); ++i) {
    EXPECT_EQ(read.tables[i].name, results.tables[i].name);
    EXPECT_EQ(read.tables[i].rows(), results.tables[i].rows());
  }
  // The allocated plan fits its budget, and predicted and measured KL are both reported.
  const ResultTable& allocation = *results.table_find("allocation");
  const auto& kind = allocation.column("kind").texts();
  for (size_t r = 0; r < allocation.rows(); ++r)
    if (kind[r] == "allocated") EXPECT_LE(allocation.column("bits_per_weight").numbers()[r], 3.0);
  EXPECT_TRUE(std::filesystem::exists(out / "plans" / "3_bits_weight.json"));
  EXPECT_TRUE(std::filesystem::exists(out / "summary.json"));

  // The scans come back from the file and solve to the plan the run wrote; so do the tables of a file
  // written before they had format and storage_bits columns.
  const std::shared_ptr<Model> model = model_load(demo_model_dir());
  const auto solved = [&](const ResultSet& set) {
    const std::vector<SensitivityScan> scans = sensitivity_scans_from_results(set);
    EXPECT_EQ(scans.size(), 2u);
    const AllocationProblem problem = allocation_problem(*model, scans);
    return plan_json(allocation_plan(problem, allocation_solve(problem, {AllocationBudget::Kind::BitsPerWeight, 3.0})));
  };
  const std::string written = plan_json(plan_load(out / "plans" / "3_bits_weight.json"));
  EXPECT_EQ(solved(read), written);
  ResultSet older = read;
  for (ResultTable& t : older.tables)
    if (t.name.rfind("sensitivity_", 0) == 0)
      std::erase_if(t.columns, [](const ResultColumn& c) { return c.name == "format" || c.name == "storage_bits"; });
  EXPECT_EQ(solved(older), written);
  EXPECT_EQ(sensitivity_scans_from_results(read)[0].format, format_parse("int2:g64"));
}

TEST(Experiment, BadFilesFailWithOneLineNamingTheKey) {
  test::TempDir dir;
  auto message = [&](const std::string& body) -> std::string {
    try {
      experiment_load(experiment_write(dir.path(), body));
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(R"(, "sweeps": {})").find("unknown key \"sweeps\""), std::string::npos);
  EXPECT_NE(message(R"(, "sweep": {"families": ["float"], "bits": [2]})").find("unknown family"), std::string::npos);
  EXPECT_NE(message(R"(, "allocation": {"budgets": [{"bits": 2.5}]})").find("needs sensitivity"), std::string::npos);
  EXPECT_NE(message(R"(, "sensitivity": {"formats": ["int9"]})").find("int9"), std::string::npos);
  EXPECT_NE(message(R"(, "tasks": [{"file": "missing.jsonl"}])").find("does not exist"), std::string::npos);
  EXPECT_NE(message(R"(, "qat": {"text": "x"})").find("give a sweep"), std::string::npos);
}

}  // namespace
}  // namespace qs
