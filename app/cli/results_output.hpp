// The files an analysis command leaves in its output folder: results.h5, a CSV per table and, when
// quantscope-cli is built with Qt and QCustomPlot, the plots. `run`, `sensitivity`, `allocate` and
// `sweep` all write them through here, so every analysis lands in the same layout.
#pragma once
#include <filesystem>

#include "quantscope/results.hpp"

namespace qs::cli {

// Writes DIR/results.h5, DIR/csv/<table>.csv and, with `plots`, DIR/plots/<table>_<what>.png|pdf,
// creating the folders; prints one line per group written on stderr. Throws qs::Error naming the file.
void results_output_write(const ResultSet& results, const std::filesystem::path& dir, bool plots);

}  // namespace qs::cli
