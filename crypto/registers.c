/* Clearing the registers that computed with key material (registers.h). */
#include "crypto/registers.h"

#if defined(__x86_64__) && defined(__GNUC__)

/* xmm16 to xmm31 exist with AVX-512 only; glibc's string functions copy
 * through them where AVX512VL is there. 256-bit writes clear all 512 bits
 * without the clock penalty of 512-bit instructions. */
static __attribute__((noinline, target("avx512f,avx512vl"))) void
clear_evex_registers(void)
{
    __asm__ __volatile__("vpxord %%ymm16, %%ymm16, %%ymm16\n\t"
                         "vpxord %%ymm17, %%ymm17, %%ymm17\n\t"
                         "vpxord %%ymm18, %%ymm18, %%ymm18\n\t"
                         "vpxord %%ymm19, %%ymm19, %%ymm19\n\t"
                         "vpxord %%ymm20, %%ymm20, %%ymm20\n\t"
                         "vpxord %%ymm21, %%ymm21, %%ymm21\n\t"
                         "vpxord %%ymm22, %%ymm22, %%ymm22\n\t"
                         "vpxord %%ymm23, %%ymm23, %%ymm23\n\t"
                         "vpxord %%ymm24, %%ymm24, %%ymm24\n\t"
                         "vpxord %%ymm25, %%ymm25, %%ymm25\n\t"
                         "vpxord %%ymm26, %%ymm26, %%ymm26\n\t"
                         "vpxord %%ymm27, %%ymm27, %%ymm27\n\t"
                         "vpxord %%ymm28, %%ymm28, %%ymm28\n\t"
                         "vpxord %%ymm29, %%ymm29, %%ymm29\n\t"
                         "vpxord %%ymm30, %%ymm30, %%ymm30\n\t"
                         "vpxord %%ymm31, %%ymm31, %%ymm31" ::
                             : "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
                               "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
                               "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
                               "xmm31");
}

void sfj__clear_registers(void)
{
#define XMM_CLOBBERS                                                           \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"
    if (__builtin_cpu_supports("avx512vl"))
        clear_evex_registers();
    if (__builtin_cpu_supports("avx")) {
        __asm__ __volatile__("vzeroall" ::: XMM_CLOBBERS);
    } else {
        __asm__ __volatile__(
            "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
            "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
            "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
            "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
            "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
            "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
            "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
            "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15" ::
                : XMM_CLOBBERS);
    }
#undef XMM_CLOBBERS
    /* The caller-saved general registers (an inlined copy of the output,
     * say), which the dynamic linker saves as arguments. Last, so that
     * nothing computed above is left in them. */
    __asm__ __volatile__("xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\t"
                         "xorl %%edx, %%edx\n\txorl %%esi, %%esi\n\t"
                         "xorl %%edi, %%edi\n\txorl %%r8d, %%r8d\n\t"
                         "xorl %%r9d, %%r9d\n\txorl %%r10d, %%r10d\n\t"
                         "xorl %%r11d, %%r11d" ::
                             : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                               "r10", "r11");
}

#elif defined(__aarch64__) && defined(__GNUC__)

void sfj__clear_registers(void)
{
#if defined(__ARM_NEON)
    /* A write to v<n> clears the rest of z<n> where SVE is there. v8 to
     * v15 are clobbered whole: the compiler saves and restores their low
     * halves (the caller's), their high halves stay zero. */
    __asm__ __volatile__(
        "movi v0.16b, #0\n\tmovi v1.16b, #0\n\tmovi v2.16b, #0\n\t"
        "movi v3.16b, #0\n\tmovi v4.16b, #0\n\tmovi v5.16b, #0\n\t"
        "movi v6.16b, #0\n\tmovi v7.16b, #0\n\tmovi v8.16b, #0\n\t"
        "movi v9.16b, #0\n\tmovi v10.16b, #0\n\tmovi v11.16b, #0\n\t"
        "movi v12.16b, #0\n\tmovi v13.16b, #0\n\tmovi v14.16b, #0\n\t"
        "movi v15.16b, #0\n\tmovi v16.16b, #0\n\tmovi v17.16b, #0\n\t"
        "movi v18.16b, #0\n\tmovi v19.16b, #0\n\tmovi v20.16b, #0\n\t"
        "movi v21.16b, #0\n\tmovi v22.16b, #0\n\tmovi v23.16b, #0\n\t"
        "movi v24.16b, #0\n\tmovi v25.16b, #0\n\tmovi v26.16b, #0\n\t"
        "movi v27.16b, #0\n\tmovi v28.16b, #0\n\tmovi v29.16b, #0\n\t"
        "movi v30.16b, #0\n\tmovi v31.16b, #0" ::
            : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10",
              "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19",
              "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28",
              "v29", "v30", "v31");
#endif
    /* x18 is left alone: some platforms reserve it (Android's shadow call
     * stack). */
    __asm__ __volatile__(
        "mov x0, xzr\n\tmov x1, xzr\n\tmov x2, xzr\n\tmov x3, xzr\n\t"
        "mov x4, xzr\n\tmov x5, xzr\n\tmov x6, xzr\n\tmov x7, xzr\n\t"
        "mov x8, xzr\n\tmov x9, xzr\n\tmov x10, xzr\n\tmov x11, xzr\n\t"
        "mov x12, xzr\n\tmov x13, xzr\n\tmov x14, xzr\n\tmov x15, xzr\n\t"
        "mov x16, xzr\n\tmov x17, xzr" ::
            : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
              "x11", "x12", "x13", "x14", "x15", "x16", "x17");
}

#elif defined(__arm__) && defined(__GNUC__)

#if defined(__ARM_FP) && !defined(__SOFTFP__) && !defined(__ARM_NEON)
#include <sys/auxv.h>
#define HWCAP_VFP_D32 (1UL << 19) /* Linux's HWCAP_VFPD32 */

/* Whether the VFP has d16 to d31: many ARMv7 terminals build for
 * VFPv3-D16 (Debian's armhf does) and run on processors that have them.
 * Read once at load, before any key exists: a call into libc from the
 * wipe would leave registers in the dynamic linker's frame on first use. */
static int vfp_d32;

__attribute__((constructor)) static void read_vfp_d32(void)
{
    vfp_d32 = (getauxval(AT_HWCAP) & HWCAP_VFP_D32) != 0;
}
#endif

#if defined(__ARM_FP) && !defined(__SOFTFP__)
static __attribute__((noinline, target("fpu=vfpv3"))) void
clear_high_vfp_registers(void)
{
    __asm__ __volatile__(
        "mov r0, #0\n\t"
        "vmov d16, r0, r0\n\tvmov d17, r0, r0\n\tvmov d18, r0, r0\n\t"
        "vmov d19, r0, r0\n\tvmov d20, r0, r0\n\tvmov d21, r0, r0\n\t"
        "vmov d22, r0, r0\n\tvmov d23, r0, r0\n\tvmov d24, r0, r0\n\t"
        "vmov d25, r0, r0\n\tvmov d26, r0, r0\n\tvmov d27, r0, r0\n\t"
        "vmov d28, r0, r0\n\tvmov d29, r0, r0\n\tvmov d30, r0, r0\n\t"
        "vmov d31, r0, r0" ::
            : "r0", "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23",
              "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31");
}
#endif

/* The vector part of the clear, called by name from sfj__clear_registers
 * (hence kept whole and under its own name). */
static __attribute__((used, noinline, noclone)) void clear_vfp_registers(void)
{
#if defined(__ARM_FP) && !defined(__SOFTFP__)
#if defined(__ARM_NEON)
    clear_high_vfp_registers();
#else
    if (vfp_d32)
        clear_high_vfp_registers();
#endif
    /* d8 to d15 are callee-saved whole. */
    __asm__ __volatile__("mov r0, #0\n\t"
                         "vmov d0, r0, r0\n\tvmov d1, r0, r0\n\t"
                         "vmov d2, r0, r0\n\tvmov d3, r0, r0\n\t"
                         "vmov d4, r0, r0\n\tvmov d5, r0, r0\n\t"
                         "vmov d6, r0, r0\n\tvmov d7, r0, r0" ::
                             : "r0", "d0", "d1", "d2", "d3", "d4", "d5", "d6",
                               "d7");
#endif
}

/* Naked: a compiled epilogue would pop registers it pushed to keep the
 * stack aligned (r3, say) and so give them back the caller's bytes after
 * they were cleared. */
__attribute__((naked)) void sfj__clear_registers(void)
{
    __asm__("push {r4, lr}\n\t"
            "bl clear_vfp_registers\n\t"
            "pop {r4, lr}\n\t"
            "mov r0, #0\n\tmov r1, #0\n\tmov r2, #0\n\tmov r3, #0\n\t"
            "mov r12, #0\n\t"
            "bx lr");
}

#else

void sfj__clear_registers(void)
{
}

#endif
