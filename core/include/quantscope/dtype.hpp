// Element types as safetensors names them. Some are recognised but not computable (F8, F6, F4, C64):
// a reader reports them by name instead of failing on an "unknown dtype".
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace qs {

enum class DType {
  BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64, C64,
  F8_E5M2, F8_E4M3, F8_E8M0, F8_E4M3FNUZ, F8_E5M2FNUZ, F4, F6_E2M3, F6_E3M2,
};

std::string_view dtype_name(DType dtype);
std::optional<DType> dtype_parse(std::string_view name);
// Bits per element (4 for F4, 6 for F6_*); byte sizes of a tensor round up per tensor.
int dtype_bits(DType dtype);
// Whether Quantscope can convert the type to float for computation.
bool dtype_computable(DType dtype);

}  // namespace qs
