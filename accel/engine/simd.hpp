// Vectorising the engine's memory-bound float and integer loops with GCC.
#pragma once

// A function marked WEAVER_SIMD_CLONES gets an x86-64-v4 (AVX-512 F/BW/DQ/VL)
// and an AVX2 build beside the baseline (SSE2) one, chosen at run time by
// the CPU. GCC only: clang's sanitizer build keeps the baseline.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WEAVER_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define WEAVER_SIMD_CLONES
#endif

// `omp simd` on a loop GCC's -O2 cost model would leave scalar (it will not
// add alias checks or epilogues there). GCC only: clang with the fuzzing
// build's sanitizers cannot vectorise such loops and says so as an error
// (-Wpass-failed under -Werror).
#if defined(__GNUC__) && !defined(__clang__)
#define WEAVER_OMP_SIMD _Pragma("omp simd")
#else
#define WEAVER_OMP_SIMD
#endif
