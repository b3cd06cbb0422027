// AVX2 + FMA + F16C kernels of qlinear.h (x86-64 only; chosen at run time in qlinear.cc).
#include "qlinear_internal.h"

#if defined(__x86_64__)
namespace mtpkit {
namespace engine {
namespace detail {

RowKernel avx2_kernel(const QLinear&) { return nullptr; }
void avx2_prepare(const QLinear&, CallData&) {}

}  // namespace detail
}  // namespace engine
}  // namespace mtpkit
#endif
