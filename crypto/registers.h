/* Clearing the registers that computed with key material.
 *
 * libsodium's SIMD code and libc's copies leave key words in the vector
 * registers, and its scalar code in the general ones. A signal delivered
 * next, or the dynamic linker's first resolution of a symbol, writes every
 * register to the stack, and a core dump holds every thread's registers:
 * sfj__wipe_dead_stack (crypto/keys.h) clears them after each use of a
 * key. This file depends on nothing, so that the test of each processor
 * (tests/cross/registers_probe.c) builds it alone, with a cross compiler. */
#ifndef SFJ_CRYPTO_REGISTERS_H
#define SFJ_CRYPTO_REGISTERS_H

/* Zero the registers a call may leave behind, on the processors below;
 * elsewhere it does nothing (docs/INTEGRATION.md says so).
 *  - x86-64: xmm0 to xmm15 (ymm whole where AVX is there), xmm16 to xmm31
 *    with AVX-512, and rax, rcx, rdx, rsi, rdi, r8 to r11.
 *  - AArch64: v0 to v31 whole (v8 to v15 keep the low halves the caller
 *    saved), and x0 to x17.
 *  - 32-bit ARM with VFP: d0 to d7, d16 to d31 where the processor has
 *    them, and r0 to r3 and r12.
 * The callee-saved registers hold the caller's own values again once a
 * callee returns, so they carry nothing of its work. */
void sfj__clear_registers(void);

#endif
