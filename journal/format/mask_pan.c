/* PAN truncation for apps (PCI DSS 3.4: first six, last four). */
#include <sodium.h>
#include <string.h>

#include "sfj/errors.h"
#include "sfj/journal.h"

int sfj_mask_pan(const char *pan, char *out, size_t cap)
{
    size_t n, i;

    if (out == NULL || pan == NULL)
        return SFJ_EINVAL;
    n = strlen(pan);
    if (n < 12 || n > 19)
        return SFJ_EINVAL;
    for (i = 0; i < n; i++) {
        if (pan[i] < '0' || pan[i] > '9')
            return SFJ_EINVAL;
    }
    if (cap < n + 1)
        return SFJ_EBUFS;
    for (i = 0; i < n; i++)
        out[i] = i < 6 || i >= n - 4 ? pan[i] : '*';
    out[n] = '\0';
    return SFJ_OK;
}

static int luhn_ok(const char *d, size_t n)
{
    unsigned sum = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');

        if (i % 2 == 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

int sfj_looks_like_pan(const char *s)
{
    char run[64];
    size_t n = 0;
    int found = 0;

    if (s == NULL)
        return 0;
    for (;; s++) {
        if (*s >= '0' && *s <= '9') {
            if (n < sizeof run)
                run[n++] = *s;
            continue;
        }
        if (n > 0 && (*s == ' ' || *s == '-') && s[1] >= '0' && s[1] <= '9')
            continue; /* "4111 1111 1111 1111" */
        if (n >= 12 && n <= 19 && luhn_ok(run, n))
            found = 1;
        n = 0;
        if (*s == '\0' || found)
            break;
    }
    sodium_memzero(run, sizeof run);
    return found;
}
