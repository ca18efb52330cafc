// quantscope-cli's entry point: global options, dispatch to the self-registered subcommands, and the
// mapping of every failure to a one-line message and an exit status (0 ok, 1 runtime error, 2 usage
// error, 130 cancelled with Ctrl-C).
#include <iostream>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "command.hpp"
#include "model_open.hpp"
#include "quantscope/device.hpp"
#include "quantscope/error.hpp"

namespace {

const std::string kProgram = "quantscope-cli";

std::string global_help() {
  std::string out = "Usage: " + kProgram + " COMMAND [options]\n\n"
                    "Inspect, evaluate, sample and train Llama-family checkpoints, as Quantscope's workbench does.\n\n"
                    "Commands:\n";
  size_t width = 0;
  for (const auto* command : qs::cli::command_list()) width = std::max(width, command->spec().command().size());
  for (const auto* command : qs::cli::command_list()) {
    const qs::cli::ArgSpec spec = command->spec();
    const std::string& summary = spec.summary();
    const std::string first_sentence = summary.substr(0, summary.find(". ") == std::string::npos ? summary.size()
                                                                                                   : summary.find(". ") + 1);
    out += "  " + spec.command() + std::string(width - spec.command().size() + 3, ' ') + first_sentence + "\n";
  }
  out += "\nOptions:\n"
         "  -h, --help   show this help; COMMAND --help shows a command's own\n"
         "  --version    print the version and whether CUDA is available\n\n"
         "MODEL is " + std::string(qs::cli::kModelHelp) + ".\n"
         "Exit status: 0 success, 1 runtime error, 2 usage error, 130 cancelled (Ctrl-C).\n";
  return out;
}

int usage_fail(const std::string& where, const std::string& problem) {
  std::cerr << where << ": " << problem << "\nRun '" << where << " --help' for usage.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_fail(kProgram, "no command given");
  const std::string& first = args.front();
  if (first == "--help" || first == "-h") {
    std::cout << global_help();
    return 0;
  }
  if (first == "--version") {
    std::cout << kProgram << " " << QS_VERSION << " (CUDA: " << (qs::cuda_available() ? "available" : "not available")
              << ")\n";
    return 0;
  }
  const qs::cli::Command* command = qs::cli::command_find(first);
  if (!command) {
    return usage_fail(kProgram, first.rfind('-', 0) == 0 ? "unknown option '" + first + "'"
                                                         : "unknown command '" + first + "'");
  }

  const qs::cli::ArgSpec spec = command->spec();
  try {
    const qs::cli::Args parsed = qs::cli::args_parse(spec, {args.begin() + 1, args.end()});
    if (parsed.help()) {
      std::cout << qs::cli::args_help(spec, kProgram);
      return 0;
    }
    return command->run(parsed);
  } catch (const qs::cli::UsageError& e) {
    return usage_fail(kProgram + " " + spec.command(), e.what());
  } catch (const qs::Error& e) {
    std::cerr << kProgram << ": " << e.what() << '\n';
    return e.kind() == qs::ErrorKind::Cancelled ? 130 : 1;
  } catch (const std::exception& e) {
    // Messages from libraries may carry a backtrace after the first line.
    const std::string message = e.what();
    std::cerr << kProgram << ": " << message.substr(0, message.find('\n')) << '\n';
    return 1;
  }
}
