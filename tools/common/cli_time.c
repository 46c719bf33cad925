/* ISO 8601 parsing and formatting, UTC only, without the C library's
 * time zone state (timegm is not in C11 or POSIX). */
#include "cli_time.h"

#include <stdio.h>
#include <string.h>

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Exactly `n` digits at *p; advances. */
static int digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : days[m - 1];
}

int sfj__cli_parse_time(const char *s, int64_t *ms_out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0, sign = 0;
    int rc = -1, n;

    if (s == NULL || digits(&p, 4, &y) != 0 || *p++ != '-' ||
        digits(&p, 2, &mo) != 0 || *p++ != '-' || digits(&p, 2, &d) != 0)
        goto done;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        goto done;
    if (*p == '\0')
        goto ok;
    if (*p++ != 'T' || digits(&p, 2, &h) != 0 || *p++ != ':' ||
        digits(&p, 2, &mi) != 0)
        goto done;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec) != 0)
            goto done;
        if (*p == '.') {
            p++;
            for (n = 0; *p >= '0' && *p <= '9'; n++, p++) {
                if (n < 3)
                    ms = ms * 10 + (*p - '0');
            }
            if (n == 0)
                goto done;
            for (; n < 3; n++)
                ms *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        goto done;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        if (digits(&p, 2, &oh) != 0 || *p++ != ':' || digits(&p, 2, &om) != 0 ||
            oh > 23 || om > 59)
            goto done;
    } else {
        goto done; /* a time without a zone is ambiguous */
    }
    if (*p != '\0')
        goto done;
ok:
    *ms_out = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                sign * (oh * 3600 + om * 60)) *
               1000) +
              ms;
    rc = 0;
done:
    return rc;
}

void sfj__cli_format_time(int64_t ms, char *out, size_t cap)
{
    int64_t days, rem, y;
    int m, d;

    days = ms / 86400000;
    rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m,
             d, (int)(rem / 3600000), (int)(rem / 60000 % 60),
             (int)(rem / 1000 % 60), (int)(rem % 1000));
}
