/* Saturating arithmetic for money totals: a sum of minor units stops at
 * the int64 bounds rather than wrapping. */
#ifndef SFJ_COMMON_SATMATH_H
#define SFJ_COMMON_SATMATH_H

#include <stdint.h>

static inline int64_t sfj__sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

#endif
