// The q8 kernels of qlinear_q8_avx2.cc built a third time for CPUs with AVX512-VNNI (with AVX512F, BW
// and VL): the VNNI build's kernels, EVEX-encoded with 32 vector registers (chosen at run time by
// qlinear.cc), so the same output bits. x86-64 only; the file is empty elsewhere.
#define MTPKIT_Q8_VNNI 1
#define MTPKIT_Q8_AVX512 1
#include "qlinear_q8_avx2.cc"
