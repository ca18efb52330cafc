// `quantscope-cli formats`: the quantization format grammar, and with SPEC..., how each spec parses
// (its canonical form and its bits per weight for a given shape).
#include <iostream>

#include "command.hpp"
#include "json_print.hpp"
#include "quantscope/error.hpp"
#include "quantscope/format.hpp"
#include "text_format.hpp"
#include "text_table.hpp"

namespace qs::cli {
namespace {

class FormatsCommand : public Command {
 public:
  ArgSpec spec() const override {
    ArgSpec spec("formats",
                 "Describe the quantization format grammar. With --check SPEC, parse it and print its canonical "
                 "form and its exact bits per weight for an --out x --in weight.");
    spec.option({.name = "check", .type = ArgType::Text, .value_name = "SPEC", .help = "a format spec to parse"});
    spec.option({.name = "out", .type = ArgType::Integer, .value_name = "N", .help = "rows of the weight",
                 .default_value = "4096", .min = 1});
    spec.option({.name = "in", .type = ArgType::Integer, .value_name = "N", .help = "columns of the weight",
                 .default_value = "4096", .min = 1});
    spec.option(json_option());
    spec.example("formats");
    spec.example("formats --check kmeans1:b64:absmean --out 172 --in 172");
    return spec;
  }

  int run(const Args& args) const override {
    if (!args.has("check")) {
      std::cout << format_grammar();
      return 0;
    }
    FormatSpec format;
    try {
      format = format_parse(args.text("check"));
    } catch (const Error& error) {
      throw UsageError(std::string("--check: ") + error.what());
    }
    const int64_t out = args.integer("out"), in = args.integer("in");
    const uint64_t bits = format_storage_bits(format, out, in);
    if (args.flag("json")) {
      json_print({{"spec", args.text("check")},
                  {"canonical", format_print(format)},
                  {"shape", {out, in}},
                  {"storage_bits", bits},
                  {"bits_per_weight", format_bits_per_weight(format, out, in)}});
      return 0;
    }
    TextTable table({{"", TextTable::Align::Left}, {}});
    table.row({"canonical", format_print(format)});
    table.row({"shape", std::to_string(out) + " x " + std::to_string(in)});
    table.row({"storage", count_format(int64_t(bits)) + " bits (" + bytes_format((bits + 7) / 8) + ")"});
    table.row({"bits/weight", number_format(format_bits_per_weight(format, out, in), 4)});
    std::cout << table.render();
    return 0;
  }
};

const CommandRegistration<FormatsCommand> registration;

}  // namespace
}  // namespace qs::cli
