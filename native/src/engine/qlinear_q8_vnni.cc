// The q8 kernels of qlinear_q8_avx2.cc built again for CPUs with AVX-VNNI (vpdpbusd in its 256-bit
// VEX form; chosen at run time by qlinear.cc): same walk, same activation layouts except at 8 bits,
// same float steps, so the same output bits. x86-64 only; the file is empty elsewhere.
#define MTPKIT_Q8_VNNI 1
#include "qlinear_q8_avx2.cc"
