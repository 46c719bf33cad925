/* Wall and monotonic clocks. */
#ifndef SFJ_COMMON_CLOCK_H
#define SFJ_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Entries record wall time in ms since 1970; a 32-bit time_t ends in
 * 2038. A 32-bit build asks for a 64-bit one (CMakeLists.txt:
 * SFJ_DEFS_32BIT; glibc honours _TIME_BITS=64 from 2.34, musl's time_t
 * is 64-bit from 1.2). */
_Static_assert(sizeof(time_t) >= 8,
               "sfj needs a 64-bit time_t: build with _TIME_BITS=64 and "
               "_FILE_OFFSET_BITS=64 (glibc 2.34 or later) or musl 1.2");

/* Wall time in ms since the Unix epoch, as recorded in entries. It may
 * jump; seq and the boot counter are the order. */
static inline int64_t sfj__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic time in ms, for timeouts. */
static inline int64_t sfj__mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
