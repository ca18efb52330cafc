// Getting a plot out of Quantscope: PNG and PDF files written atomically (the reports of
// `quantscope-cli run` and a panel's "Save Image"), and the data behind a plot as TSV, so a number read
// off a figure can be pasted into a spreadsheet or a paper.
#pragma once
#include <QString>
#include <filesystem>

class QCustomPlot;

namespace qs {

// Renders `plot` at width × height pixels (points, for PDF) into `path`, PNG or PDF by its extension,
// under a temporary name in the same folder that is then renamed onto it: a reader never sees half a
// file. Throws Error(Invalid) for another extension, Error(Io) naming the file when it cannot be written.
void plot_file_write(QCustomPlot& plot, const std::filesystem::path& path, int width, int height);

// Every plotted point as tab-separated rows under a header: "series, x, y" for lines and bars (named by
// the axes' labels where they have one); "x, y, value" for a colour map's cells.
QString plot_data_tsv(QCustomPlot& plot);

}  // namespace qs
