/* PAN truncation for apps (PCI DSS 3.4: first six, last four). */
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
