/* What a core dump would hold of a thread's stack once some code has
 * returned: the code runs on a thread whose stack is a zeroed buffer of
 * the test's own, then takes a signal there (the signal's frame saves
 * every register, as the dynamic linker's first call through the PLT
 * does), and the test scans the buffer for the secrets the code used.
 *
 * A new thread starts with a copy of its creator's registers: a test's
 * main thread must never load a secret byte itself (make the secrets and
 * scan for them on threads of their own, sfj_test_on_thread), or stale
 * copies of them would be spilled onto the stack under test. */
#ifndef SFJ_TESTS_STACKSCAN_H
#define SFJ_TESTS_STACKSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Run fn(arg) on a thread of its own and wait for it. 0, or -1 when no
 * thread could be made. */
int sfj_test_on_thread(void *(*fn)(void *), void *arg);

/* Zero stack[0..len) (page-aligned, at least 64 KiB), run fn(arg) on a
 * thread with that stack and, with `signal`, raise SIGUSR1 on it after fn
 * returns; wait for it. 0, or -1 when the thread could not be made. */
int sfj_test_on_stack(uint8_t *stack, size_t len, void *(*fn)(void *),
                      void *arg, int signal);

/* How many of the 8-byte windows of secret[0..n) occur anywhere in
 * stack[0..len); windows of 8 zero bytes are not counted. */
size_t sfj_test_windows(const uint8_t *stack, size_t len, const uint8_t *secret,
                        size_t n);

#endif
