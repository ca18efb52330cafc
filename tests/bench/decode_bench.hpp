// quantscope-bench --decode: the packed decode kernels beside cuBLAS bf16, a copy and a read-only
// pass over the same bytes, per layer and for a whole Llama-3-8B decode step (decode_bench.cpp).
#pragma once
#include <nlohmann/json.hpp>

nlohmann::ordered_json decode_bench_run(bool per_layer, bool model);
