// Plots of analysis results (results.hpp) as PNG and PDF files, drawn with QCustomPlot without a
// window, so that batch runs (`quantscope-cli run`) leave figures beside results.h5. No Qt type appears
// here: the CLI includes this header without Qt's headers.
#pragma once
#include <filesystem>
#include <vector>

#include "quantscope/results.hpp"

namespace qs {

// For each table, the plots its columns call for, as DIR/<table>_<what>.png (1200 x 800) and .pdf:
//  - numbers "bits_per_weight" and "kl_mean": rate–distortion, KL mean (log scale) against bits per
//    weight, one line per value of the text column "family" (a row without one goes by its "kind"):
//    <table>_kl; the same with "perplexity" when the table has it: <table>_perplexity;
//  - text "layer" and numbers "delta_kl": a bar per layer: <table>_delta_kl;
//  - numbers "predicted_kl" and "kl_mean": predicted against measured, with the line y = x:
//    <table>_predicted_kl.
// A plot with no point to draw is not written. Returns the files written, each written atomically
// (rendered under a temporary name in DIR, then renamed). Creates DIR. Throws Io naming the file.
//
// Call it on the program's main thread. In a program without a QApplication (the CLI) it creates one
// on Qt's offscreen platform, so no display is needed, and keeps it for the rest of the process.
std::vector<std::filesystem::path> results_plots_write(const ResultSet& results, const std::filesystem::path& dir);

}  // namespace qs
