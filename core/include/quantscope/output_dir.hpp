// The folders Quantscope writes into on a user's behalf (a saved model, a training run, an analysis's
// results) carry a small mark, the file `.quantscope`, naming what they hold. Quantscope writes into
// a folder only when it is new, empty or marked with the same kind, and it replaces or removes a
// folder only when it carries the mark: a folder the user made (a model being fine-tuned, notes) is
// never overwritten or deleted, whatever path an option names.
#pragma once
#include <filesystem>

namespace qs {

enum class OutputKind { Model, TrainingRun, Results };
const char* output_kind_name(OutputKind kind);  // "a saved model", "a training run", "analysis results"

// Makes `dir` a folder that `kind` may be written into: creates it (and its parents) when missing,
// marks it when it exists and is empty, accepts it when it carries the mark of `kind`. Throws Invalid
// naming the folder for a file, a folder that holds other things, or one marked with another kind;
// Io when it cannot be created or marked.
void output_dir_claim(const std::filesystem::path& dir, OutputKind kind);

// Whether `dir` is a folder that carries the mark of `kind`.
bool output_dir_owned(const std::filesystem::path& dir, OutputKind kind);

// Whether `path` is `dir` or lies inside it, after resolving `.`, `..` and symbolic links.
bool path_within(const std::filesystem::path& path, const std::filesystem::path& dir);

}  // namespace qs
