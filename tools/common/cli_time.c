/* Times as an operator types them (docs/CLI.md, "Times"), and ISO 8601
 * UTC output. A time with a zone is converted without the C library's
 * time zone state (timegm is not in C11 or POSIX); one without a zone is
 * local time, through mktime. */
#include "cli_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Local y-m-d h:mi:sec as ms since the epoch; -1 if mktime cannot. */
static int local_ms(int y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
    struct tm tm;
    time_t t;

    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    t = mktime(&tm);
    if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
        return -1;
    *out = (int64_t)t * 1000;
    return 0;
}

/* Today's local midnight plus `days`. */
static int local_midnight(int64_t now_ms, int days, int64_t *out)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return -1;
    return local_ms(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday + days, 0, 0,
                    0, out);
}

/* "now", "today", "yesterday", "tomorrow", or [+-]N followed by s, m, h,
 * d or w. 1 when it is one of those (the value in *out), 0 when not, -1
 * when it cannot be computed. */
static int relative(const char *s, int64_t now_ms, int64_t *out)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000},
                 {'m', 60000},
                 {'h', 3600000},
                 {'d', 86400000},
                 {'w', 604800000}};
    const char *p = s + 1;
    int64_t n = 0;
    size_t i;

    if (strcmp(s, "now") == 0) {
        *out = now_ms;
        return 1;
    }
    if (strcmp(s, "today") == 0)
        return local_midnight(now_ms, 0, out) == 0 ? 1 : -1;
    if (strcmp(s, "yesterday") == 0)
        return local_midnight(now_ms, -1, out) == 0 ? 1 : -1;
    if (strcmp(s, "tomorrow") == 0)
        return local_midnight(now_ms, 1, out) == 0 ? 1 : -1;
    if (s[0] != '-' && s[0] != '+')
        return 0;
    if (*p < '0' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > 100000000)
            return 0;
    }
    for (i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (p[0] == units[i].unit && p[1] == '\0') {
            *out = now_ms + (s[0] == '-' ? -1 : 1) * n * units[i].ms;
            return 1;
        }
    }
    return 0;
}

int sfj__cli_parse_time_at(const char *s, int64_t now_ms, int64_t *ms_out)
{
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0, sign = 0;
    int rc = -1, n, zone = 0;
    int64_t local;

    if (s == NULL)
        goto done;
    n = relative(s, now_ms, ms_out);
    if (n != 0) {
        rc = n > 0 ? 0 : -1;
        goto done;
    }
    if (digits(&p, 4, &y) != 0 || *p++ != '-' || digits(&p, 2, &mo) != 0 ||
        *p++ != '-' || digits(&p, 2, &d) != 0)
        goto done;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        goto done;
    if (*p == '\0')
        goto ok;
    if ((*p != 'T' && *p != ' ') || (p++, digits(&p, 2, &h)) != 0 ||
        *p++ != ':' || digits(&p, 2, &mi) != 0)
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
    if (*p == ' ')
        p++; /* "2026-11-27 09:45:54 +01:00" */
    if (*p == 'Z') {
        p++;
        zone = 1;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '+' ? 1 : -1;
        zone = 1;
        if (digits(&p, 2, &oh) != 0)
            goto done;
        if (*p == ':')
            p++;
        if (*p != '\0' && digits(&p, 2, &om) != 0)
            goto done;
        if (oh > 23 || om > 59)
            goto done;
    }
    if (*p != '\0')
        goto done;
ok:
    if (!zone) {
        if (local_ms(y, mo, d, h, mi, sec, &local) != 0)
            goto done;
        *ms_out = local + ms;
        rc = 0;
        goto done;
    }
    *ms_out = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                sign * (oh * 3600 + om * 60)) *
               1000) +
              ms;
    rc = 0;
done:
    return rc;
}

int sfj__cli_parse_time(const char *s, int64_t *ms_out)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return sfj__cli_parse_time_at(
        s, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, ms_out);
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
