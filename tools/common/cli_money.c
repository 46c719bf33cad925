/* ISO 4217 exponents (the list of 2024; every code not named here has 2)
 * and amounts in major units, exact: integer arithmetic only. */
#include "cli_money.h"

#include <stdio.h>
#include <string.h>

static const char *const exp0[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                   "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                   "VND", "VUV", "XAF", "XOF", "XPF"};
static const char *const exp3[] = {"BHD", "IQD", "JOD", "KWD",
                                   "LYD", "OMR", "TND"};
static const char *const exp4[] = {"CLF", "UYW"};

static int listed(const char *cur, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(cur, list[i]) == 0)
            return 1;
    return 0;
}

int sfj__cli_currency_exponent(const char *cur)
{
    int i;

    if (cur == NULL || strlen(cur) != 3)
        return -1;
    for (i = 0; i < 3; i++)
        if (cur[i] < 'A' || cur[i] > 'Z')
            return -1;
    if (listed(cur, exp0, sizeof exp0 / sizeof exp0[0]))
        return 0;
    if (listed(cur, exp3, sizeof exp3 / sizeof exp3[0]))
        return 3;
    if (listed(cur, exp4, sizeof exp4 / sizeof exp4[0]))
        return 4;
    return 2;
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
