// The two row orders of a Llama q/k weight. Hugging Face rotates the two halves of each head (row
// h·d + t·d/2 + j); llama2.c and llama.cpp's GGUF rotate adjacent pairs (row h·d + 2j + t). Reading a
// llama2.c checkpoint regroups pairs into halves; writing a GGUF file regroups halves into pairs.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace qs {

inline torch::Tensor rope_rows_to_halves(const torch::Tensor& w, int64_t heads) {
  const int64_t head_dim = w.size(0) / heads, cols = w.size(1);
  return w.reshape({heads, head_dim / 2, 2, cols}).transpose(1, 2).reshape({heads * head_dim, cols});
}

inline torch::Tensor rope_rows_to_pairs(const torch::Tensor& w, int64_t heads) {
  const int64_t head_dim = w.size(0) / heads, cols = w.size(1);
  return w.reshape({heads, 2, head_dim / 2, cols}).transpose(1, 2).reshape({heads * head_dim, cols});
}

}  // namespace qs
