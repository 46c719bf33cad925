/* Amounts in major units, exact: integer arithmetic only, with the
 * library's ISO 4217 exponents (sfj_currency_exponent). */
#include "cli_money.h"

#include <stdio.h>
#include <string.h>

#include "sfj/sfj.h"

int sfj__cli_currency_exponent(const char *cur)
{
    int i;

    if (cur == NULL || strlen(cur) != 3)
        return -1;
    for (i = 0; i < 3; i++)
        if (cur[i] < 'A' || cur[i] > 'Z')
            return -1;
    return sfj_currency_exponent(cur); /* the library's one table */
}

void sfj__cli_format_amount(int64_t minor, const char *cur, char *out,
                            size_t cap)
{
    int e = sfj__cli_currency_exponent(cur);
    char frac[6];
    uint64_t mag;
    int i;

    if (e < 0) {
        snprintf(out, cap, "%s%s%lld", cur != NULL ? cur : "",
                 cur != NULL && cur[0] != '\0' ? " " : "", (long long)minor);
        return;
    }
    mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    frac[0] = '.';
    for (i = e; i > 0; i--) {
        frac[i] = (char)('0' + mag % 10);
        mag /= 10;
    }
    frac[e > 0 ? e + 1 : 0] = '\0';
    snprintf(out, cap, "%s %s%llu%s", cur, minor < 0 ? "-" : "",
             (unsigned long long)mag, frac);
}
