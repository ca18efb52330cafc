// Large CPU tensors whose memory is kept for the next one when they are freed. On the 2-core
// development machine the first touch of fresh memory costs about 1 s per 235 MB (a page fault per
// 4 KiB under its hypervisor, in series however many threads fault), several times what quantizing a
// 4096×14336 layer costs once its outputs are in memory; re-quantizing a layer, or the next layer of
// the same shape, asks for the same sizes again. Freed blocks are kept up to a bound and handed to the
// next request they fit; fresh blocks are asked to be backed by huge pages, which fault 512 times less.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace qs {

// An uninitialised contiguous CPU tensor. Tensors of 16 MiB or more come from a kept block when one
// fits (at most a quarter larger), else from a fresh one; smaller ones are torch::empty's.
torch::Tensor buffer_empty(at::IntArrayRef sizes, torch::ScalarType type);

// The bytes kept now, for tests and reports.
uint64_t buffer_cache_bytes();

// Frees every kept block (heap_release calls it between layers of layer-at-a-time work).
void buffer_cache_release();

}  // namespace qs
