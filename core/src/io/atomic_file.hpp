// Atomic file output: write a temporary file in the destination's folder, fsync it, rename it over
// the destination. A crash or an error leaves either the old file or the new one, never a torn file.
// Every file Quantscope writes (safetensors, config.json, checkpoints, reports) goes through here.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>

namespace qs {

// Receives the file's bytes in order; may be called any number of times.
using ByteSink = std::function<void(const void* data, size_t size)>;

// Calls `produce` with a sink into the temporary file, then publishes it under `path`. Throws Io
// naming `path` on failure; anything `produce` throws propagates after the temporary is removed.
void file_write_atomic(const std::filesystem::path& path, const std::function<void(const ByteSink&)>& produce);
void file_write_atomic(const std::filesystem::path& path, std::string_view content);

// For writers that need a file name rather than a byte stream (HDF5): `produce` creates and closes
// the file at the temporary path it is given, which is then flushed and renamed over `path`. Throws Io
// naming `path` on failure; anything `produce` throws propagates after the temporary is removed.
void path_write_atomic(const std::filesystem::path& path,
                       const std::function<void(const std::filesystem::path& temp)>& produce);

}  // namespace qs
