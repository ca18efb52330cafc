// What the vectorised CPU paths (*_fast.cpp) share. Their hot loops are compiled twice, for AVX2 and
// for baseline x86-64, and the loader picks one for the machine it runs on: the distributed binary
// keeps running on any x86-64 while a recent CPU gets 8 floats per instruction. Other architectures
// and compilers build the loops once.
#pragma once

// -DQS_VECTOR_CLONES= builds the baseline loops alone (to test them on a machine with AVX2).
#ifndef QS_VECTOR_CLONES
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define QS_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#endif
#ifndef QS_VECTOR_CLONES
#define QS_VECTOR_CLONES
#endif

namespace qs::kernels {

// std::nearbyint (round half to even) for |x| < 2^22, as two additions the compiler vectorises at
// any instruction set: adding 1.5·2^23 leaves no fraction bits, so the sum is x rounded to an integer
// in the current (nearest-even) rounding mode. Exact, except that it gives +0 where nearbyint gives
// −0; every caller adds an integer or converts to one, where the two agree.
inline float nearbyint_small(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 · 2^23
  return (x + kShift) - kShift;
}

}  // namespace qs::kernels
