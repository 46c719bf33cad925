/* Which registers sfj__clear_registers leaves holding what a caller had
 * computed in them (crypto/registers.h), on the processor it is built for.
 *
 * Each probe fills the registers with a pattern, calls the function under
 * test from assembly (so that no compiled code runs in between), and
 * stores the registers it finds afterwards. A control call to a function
 * that does nothing must find the pattern in every register checked: that
 * proves the probe would see a register left behind. Built natively and,
 * with a cross compiler, for AArch64 and 32-bit ARM, which run under
 * qemu-user (tests/cross/CMakeLists.txt). Plain C: no test framework
 * exists for the cross builds. Exit status 0 when every register checked
 * is clear, 1 when one is not, 2 when the control fails. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crypto/registers.h"

#define PATTERN_BYTE 0xA5

typedef void (*clear_fn)(void);

/* M(n) for each register number of a bank. */
#define EACH_0_7(M)   M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#define EACH_8_15(M)  M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define EACH_16_23(M) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23)
#define EACH_24_31(M) M(24) M(25) M(26) M(27) M(28) M(29) M(30) M(31)
#define EACH_0_15(M)  EACH_0_7(M) EACH_8_15(M)
#define EACH_16_31(M) EACH_16_23(M) EACH_24_31(M)

/* The pattern's bytes, enough for any register file's loads below. */
static uint8_t pattern[256];

static __attribute__((noinline)) void clear_nothing(void)
{
    __asm__ __volatile__("" ::: "memory");
}

struct tally {
    const char *arch;
    int checked;
    int failed;
};

/* One register's bytes after a call: all zero after the clear, all the
 * pattern after the control. */
static void expect(struct tally *t, int control, const char *name, int index,
                   const uint8_t *bytes, size_t len)
{
    uint8_t want = control ? PATTERN_BYTE : 0;
    char number[12] = "";

    if (index >= 0)
        snprintf(number, sizeof number, "%d", index);

    t->checked++;
    for (size_t i = 0; i < len; i++) {
        if (bytes[i] != want) {
            t->failed++;
            if (control)
                printf("registers %s: control: %s%s lost the pattern "
                       "(byte %zu is %02x): the probe cannot see it\n",
                       t->arch, name, number, i, bytes[i]);
            else
                printf("registers %s: %s%s still holds the caller's bytes "
                       "after sfj__clear_registers (byte %zu is %02x)\n",
                       t->arch, name, number, i, bytes[i]);
            return;
        }
    }
}

#if defined(__x86_64__)
#define ARCH "x86-64"

#define LOAD_XMM(n)     "movdqu (%%r14), %%xmm" #n "\n\t"
#define STORE_XMM(n)    "movdqu %%xmm" #n ", " #n "*32(%%r12)\n\t"
#define LOAD_YMM(n)     "vmovdqu (%%r14), %%ymm" #n "\n\t"
#define STORE_YMM(n)    "vmovdqu %%ymm" #n ", " #n "*32(%%r12)\n\t"
#define LOAD_EVEX(n)    "vmovdqu64 (%%r14), %%ymm" #n "\n\t"
#define STORE_EVEX(n)   "vmovdqu64 %%ymm" #n ", " #n "*32(%%r12)\n\t"
#define SET_GPR(r)      "mov %%rax, %%" #r "\n\t"
#define STORE_GPR(r, i) "mov %%" #r ", 1024+" #i "*8(%%r12)\n\t"
/* Off the red zone, aligned for the call. */
#define CALL_R13                                                               \
    "lea -128(%%rsp), %%rsp\n\tpush %%rbp\n\tmov %%rsp, %%rbp\n\t"             \
    "and $-16, %%rsp\n\tcall *%%r13\n\tmov %%rbp, %%rsp\n\tpop %%rbp\n\t"      \
    "lea 128(%%rsp), %%rsp\n\t"
#define GPRS                                                                   \
    "mov (%%r14), %%rax\n\t" SET_GPR(rcx) SET_GPR(rdx) SET_GPR(rsi)            \
        SET_GPR(rdi) SET_GPR(r8) SET_GPR(r9) SET_GPR(r10) SET_GPR(r11)
#define STORE_GPRS                                                             \
    STORE_GPR(rax, 0)                                                          \
    STORE_GPR(rcx, 1)                                                          \
    STORE_GPR(rdx, 2)                                                          \
    STORE_GPR(rsi, 3)                                                          \
    STORE_GPR(rdi, 4)                                                          \
    STORE_GPR(r8, 5) STORE_GPR(r9, 6) STORE_GPR(r10, 7) STORE_GPR(r11, 8)
#define GPR_CLOBBERS                                                           \
    "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc"
#define XMM_LOW                                                                \
    "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",    \
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

/* vec: 32 registers of 32 bytes (only as many as a probe loads), then the
 * nine general registers. */
struct regs {
    uint8_t vec[32][32];
    uint64_t gpr[9];
};

/* Fill the bank EACH names with the pattern through LOAD, and the nine
 * general registers; call fn; store them to out through STORE. */
#define X86_PROBE(EACH, LOAD, STORE, ...)                                      \
    register clear_fn f __asm__("r13") = fn;                                   \
    register struct regs *o __asm__("r12") = out;                              \
    register const uint8_t *p __asm__("r14") = pattern;                        \
    __asm__ __volatile__(EACH(LOAD) GPRS CALL_R13 EACH(STORE) STORE_GPRS       \
                         :                                                     \
                         : "r"(f), "r"(o), "r"(p)                              \
                         : GPR_CLOBBERS, __VA_ARGS__)

static void probe_sse(clear_fn fn, struct regs *out)
{
    X86_PROBE(EACH_0_15, LOAD_XMM, STORE_XMM, XMM_LOW);
}

static __attribute__((target("avx"))) void probe_avx(clear_fn fn,
                                                     struct regs *out)
{
    X86_PROBE(EACH_0_15, LOAD_YMM, STORE_YMM, XMM_LOW);
}

static __attribute__((target("avx512f,avx512vl"))) void
probe_evex(clear_fn fn, struct regs *out)
{
    X86_PROBE(EACH_16_31, LOAD_EVEX, STORE_EVEX, "xmm16", "xmm17", "xmm18",
              "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25",
              "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31");
}

static void run(struct tally *t, clear_fn fn, int control)
{
    static const char *const gpr_names[9] = {"rax", "rcx", "rdx", "rsi", "rdi",
                                             "r8",  "r9",  "r10", "r11"};
    struct regs r;
    int avx = __builtin_cpu_supports("avx");

    memset(&r, 0, sizeof r);
    if (avx)
        probe_avx(fn, &r);
    else
        probe_sse(fn, &r);
    for (int i = 0; i < 16; i++)
        expect(t, control, avx ? "ymm" : "xmm", i, r.vec[i], avx ? 32 : 16);
    for (int i = 0; i < 9; i++)
        expect(t, control, gpr_names[i], -1, (const uint8_t *)&r.gpr[i], 8);
    if (__builtin_cpu_supports("avx512vl")) {
        memset(&r, 0, sizeof r);
        probe_evex(fn, &r);
        for (int i = 16; i < 32; i++)
            expect(t, control, "ymm", i, r.vec[i], 32);
    }
}

#elif defined(__aarch64__)
#define ARCH "aarch64"

#define LOAD_Q(n)    "ldr q" #n ", [x21]\n\t"
#define STORE_Q(n)   "str q" #n ", [x19, #" #n "*16]\n\t"
#define SET_X(n)     "mov x" #n ", x0\n\t"
#define STORE_X(n)   "str x" #n ", [x19, #512+" #n "*8]\n\t"
#define EACH_1_17(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7) EACH_8_15(M) M(16) M(17)

struct regs {
    uint8_t v[32][16];
    uint64_t x[18];
};

static void probe(clear_fn fn, struct regs *out)
{
    register clear_fn f __asm__("x22") = fn;
    register struct regs *o __asm__("x19") = out;
    register const uint8_t *p __asm__("x21") = pattern;

    __asm__ __volatile__(
        /* clang-format off */
        EACH_0_15(LOAD_Q) EACH_16_31(LOAD_Q)
        "ldr x0, [x21]\n\t" EACH_1_17(SET_X)
        "blr x22\n\t"
        EACH_0_15(STORE_Q) EACH_16_31(STORE_Q)
        STORE_X(0) EACH_1_17(STORE_X)
        /* clang-format on */
        :
        : "r"(f), "r"(o), "r"(p)
        : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
          "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x30", "v0", "v1",
          "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
          "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22",
          "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",
          "memory", "cc");
}

static void run(struct tally *t, clear_fn fn, int control)
{
    struct regs r;

    memset(&r, 0, sizeof r);
    probe(fn, &r);
    for (int i = 0; i < 32; i++) {
        /* A callee restores the low halves of v8 to v15 (d8 to d15) to the
         * caller's own values: only their high halves are its to clear. */
        int callee_saved = i >= 8 && i <= 15;
        expect(t, control, "v", i, r.v[i] + (callee_saved ? 8 : 0),
               callee_saved ? 8 : 16);
    }
    for (int i = 0; i < 18; i++)
        expect(t, control, "x", i, (const uint8_t *)&r.x[i], 8);
}

#elif defined(__arm__) && defined(__ARM_FP) && !defined(__SOFTFP__)
#define ARCH "arm"
#include <sys/auxv.h>

#define HWCAP_VFP_D32 (1UL << 19)

struct regs {
    uint8_t d[32][8];
    uint32_t r[5];
};

static void probe_low(clear_fn fn, struct regs *out)
{
    register clear_fn f __asm__("r6") = fn;
    register struct regs *o __asm__("r4") = out;
    register const uint8_t *p __asm__("r5") = pattern;

    __asm__ __volatile__("vldm r5, {d0-d7}\n\t"
                         "ldr r0, [r5]\n\tmov r1, r0\n\tmov r2, r0\n\t"
                         "mov r3, r0\n\tmov r12, r0\n\t"
                         "blx r6\n\t"
                         "vstm r4, {d0-d7}\n\t"
                         "str r0, [r4, #256]\n\tstr r1, [r4, #260]\n\t"
                         "str r2, [r4, #264]\n\tstr r3, [r4, #268]\n\t"
                         "str r12, [r4, #272]\n\t"
                         :
                         : "r"(f), "r"(o), "r"(p)
                         : "r0", "r1", "r2", "r3", "r12", "lr", "d0", "d1",
                           "d2", "d3", "d4", "d5", "d6", "d7", "memory", "cc");
}

static __attribute__((target("fpu=vfpv3"))) void probe_high(clear_fn fn,
                                                            struct regs *out)
{
    register clear_fn f __asm__("r6") = fn;
    register uint8_t *o __asm__("r4") = out->d[16];
    register const uint8_t *p __asm__("r5") = pattern;

    __asm__ __volatile__("vldm r5, {d16-d31}\n\t"
                         "blx r6\n\t"
                         "vstm r4, {d16-d31}\n\t"
                         :
                         : "r"(f), "r"(o), "r"(p)
                         : "r0", "r1", "r2", "r3", "r12", "lr", "d16", "d17",
                           "d18", "d19", "d20", "d21", "d22", "d23", "d24",
                           "d25", "d26", "d27", "d28", "d29", "d30", "d31",
                           "memory", "cc");
}

static void run(struct tally *t, clear_fn fn, int control)
{
    static const char *const names[5] = {"r0", "r1", "r2", "r3", "r12"};
    struct regs r;

    memset(&r, 0, sizeof r);
    probe_low(fn, &r);
    for (int i = 0; i < 8; i++)
        expect(t, control, "d", i, r.d[i], 8);
    for (int i = 0; i < 5; i++)
        expect(t, control, names[i], -1, (const uint8_t *)&r.r[i], 4);
    if (getauxval(AT_HWCAP) & HWCAP_VFP_D32) {
        probe_high(fn, &r);
        for (int i = 16; i < 32; i++)
            expect(t, control, "d", i, r.d[i], 8);
    } else if (control) {
        printf("registers arm: this processor has no d16 to d31\n");
    }
}

#else
#define ARCH "other"
#endif

int main(void)
{
#if defined(__x86_64__) || defined(__aarch64__) ||                             \
    (defined(__arm__) && defined(__ARM_FP) && !defined(__SOFTFP__))
    struct tally control = {ARCH, 0, 0}, cleared = {ARCH, 0, 0};

    memset(pattern, PATTERN_BYTE, sizeof pattern);
    run(&control, clear_nothing, 1);
    if (control.failed) {
        printf("registers %s: the control failed for %d of %d registers\n",
               ARCH, control.failed, control.checked);
        return 2;
    }
    run(&cleared, sfj__clear_registers, 0);
    if (cleared.failed) {
        printf("registers %s: %d of %d registers not cleared\n", ARCH,
               cleared.failed, cleared.checked);
        return 1;
    }
    printf("registers %s: %d registers checked, all cleared (the control "
           "found the pattern in all of them)\n",
           ARCH, cleared.checked);
    return 0;
#else
    printf("registers %s: sfj__clear_registers clears nothing here\n", ARCH);
    return 0;
#endif
}
