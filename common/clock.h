/* Wall and monotonic clocks. */
#ifndef SFJ_COMMON_CLOCK_H
#define SFJ_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

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
