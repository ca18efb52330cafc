// results_output_write: results.h5, the CSV files and the plots of an analysis (results_output.hpp).
#include "results_output.hpp"

#include <iostream>
#include <string>

#include "quantscope/output_dir.hpp"
#ifdef QS_CLI_PLOTS
#include "results_plots.hpp"
#endif

namespace qs::cli {
namespace {

std::string count_text(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

void results_output_write(const ResultSet& results, const std::filesystem::path& dir, bool plots) {
  output_dir_claim(dir, OutputKind::Results);

  const std::filesystem::path h5 = dir / "results.h5";
  results_write(results, h5);
  std::cerr << "results: " << h5.string() << " (" << count_text(results.tables.size(), "table") << ", "
            << count_text(results.histograms.size(), "histogram") << ")\n";

  const std::filesystem::path csv = dir / "csv";
  results_csv_write(results, csv);
  std::cerr << "results: " << csv.string() << " (" << count_text(results.tables.size(), "CSV file") << ")\n";

  if (!plots) return;
#ifdef QS_CLI_PLOTS
  const std::filesystem::path plot_dir = dir / "plots";
  const auto written = results_plots_write(results, plot_dir);
  std::cerr << "results: " << plot_dir.string() << " (" << count_text(written.size() / 2, "plot")
            << ", PNG and PDF)\n";
#else
  std::cerr << "results: no plots (this quantscope-cli was built without Qt 6 and QCustomPlot)\n";
#endif
}

}  // namespace qs::cli
