// What the analysis commands (run, sensitivity, allocate, sweep) share: each builds an experiment
// (from a file, or from its own options) and hands it here to be run as one job, resumably, into
// --out DIR, with the result files written and the tables that matter printed.
#pragma once
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "quantscope/experiment.hpp"

namespace qs::cli {

// --out, --no-plots and --json.
void analysis_output_declare(ArgSpec& spec);
// The evaluation and calibration texts, windows, task files and seed of commands that build their
// experiment from options (--text, --calib, --ctx, --max-tokens, --tasks, --seed), plus the model's.
void analysis_inputs_declare(ArgSpec& spec);
// An experiment on MODEL from those options; relative paths are taken as given (from the working
// directory).
Experiment analysis_inputs_get(const Args& args);

// Comma-separated values of an option ("int2:g64,int3:g64"); empty entries are a usage error.
std::vector<std::string> list_option(const Args& args, const std::string& name);

// Where the experiment came from: what experiment_check finds wrong with one built from options is
// a usage error (exit status 2), with a file it is the file's error (exit status 1).
enum class ExperimentSource { File, Options };

// Loads the model, checks the experiment against it, runs it, writes OUT/results.h5, OUT/csv,
// OUT/plots and OUT/summary.json, and prints the tables whose names start with one of `tables` (all
// of them as JSON with --json).
int analysis_run(const Experiment& experiment, const Args& args, const std::vector<std::string>& tables,
                 ExperimentSource source);

}  // namespace qs::cli
