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

/* `plus`: a positive amount gets its sign too, as a difference does. */
static void format(int64_t minor, const char *cur, int plus, char *out,
                   size_t cap)
{
    int e = sfj__cli_currency_exponent(cur);
    const char *sign = minor < 0 ? "-" : plus && minor > 0 ? "+" : "";
    char frac[6];
    uint64_t mag;
    int i;

    mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    if (e < 0) {
        snprintf(out, cap, "%s%s%s%llu", cur != NULL ? cur : "",
                 cur != NULL && cur[0] != '\0' ? " " : "", sign,
                 (unsigned long long)mag);
        return;
    }
    frac[0] = '.';
    for (i = e; i > 0; i--) {
        frac[i] = (char)('0' + mag % 10);
        mag /= 10;
    }
    frac[e > 0 ? e + 1 : 0] = '\0';
    snprintf(out, cap, "%s %s%llu%s", cur, sign, (unsigned long long)mag, frac);
}

void sfj__cli_format_amount(int64_t minor, const char *cur, char *out,
                            size_t cap)
{
    format(minor, cur, 0, out, cap);
}

void sfj__cli_format_delta(int64_t minor, const char *cur, char *out,
                           size_t cap)
{
    format(minor, cur, 1, out, cap);
}
