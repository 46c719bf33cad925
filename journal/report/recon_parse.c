/* Acquirer reports: CSV (RFC 4180, one record a line, a header naming the
 * columns) and JSON Lines (one flat object a line), read through the
 * column mapping of sfj_recon_opts into report lines. Amounts become minor
 * units by the currency's exponent, times UTC milliseconds, statuses one
 * of approved / declined / reversed. A card number in clear is masked as
 * soon as it is read. Any malformed line refuses the whole report. */
#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/report/recon_impl.h"
#include "sfj/errors.h"

#define MAX_FIELDS 64
#define FIELD_MAX  256

/* Mapped columns, in this order. */
enum {
    C_REF,
    C_AMOUNT,
    C_CURRENCY,
    C_TIME,
    C_STATUS,
    C_AUTH,
    C_CARD,
    C_TERMINAL,
    C_RRN,
    C_STAN,
    C_N
};

typedef struct fields {
    char key[MAX_FIELDS][FIELD_MAX]; /* JSON keys */
    char val[MAX_FIELDS][FIELD_MAX];
    size_t n;
} fields;

static const char *col_name(const sfj_recon_opts *o, int c)
{
    switch (c) {
    case C_REF:
        return o->col_reference;
    case C_AMOUNT:
        return o->col_amount;
    case C_CURRENCY:
        return o->col_currency;
    case C_TIME:
        return o->col_time;
    case C_STATUS:
        return o->col_status;
    case C_AUTH:
        return o->col_auth_code;
    case C_CARD:
        return o->col_card;
    case C_TERMINAL:
        return o->col_terminal_id;
    case C_RRN:
        return o->col_rrn;
    default:
        return o->col_stan;
    }
}

static int fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return SFJ_EREPORT;
}

/* One CSV record of line `s` (`n` bytes) into f->val. -1 when malformed
 * (a quote not closed, text after a closing quote, too many or too long
 * fields). */
static int csv_split(const char *s, size_t n, char sep, fields *f)
{
    size_t i = 0, k;

    f->n = 0;
    for (;;) {
        char *v;

        if (f->n == MAX_FIELDS)
            return -1;
        v = f->val[f->n++];
        k = 0;
        if (i < n && s[i] == '"') {
            for (i++;; i++) {
                if (i >= n)
                    return -1;
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        i++;
                    } else {
                        i++;
                        break;
                    }
                }
                if (k + 1 >= FIELD_MAX)
                    return -1;
                v[k++] = s[i];
            }
            if (i < n && s[i] != sep)
                return -1;
        } else {
            for (; i < n && s[i] != sep; i++) {
                if (s[i] == '"' || k + 1 >= FIELD_MAX)
                    return -1;
                v[k++] = s[i];
            }
        }
        v[k] = '\0';
        if (i >= n)
            return 0;
        i++; /* the separator */
    }
}

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* A JSON string at s[i] (the opening quote) into `out`; the index after
 * it, or 0 when malformed. Escapes: \" \\ \/ \b \f \n \r \t; \u00XX. */
static size_t json_str(const char *s, size_t n, size_t i, char *out)
{
    size_t k = 0;

    if (i >= n || s[i] != '"')
        return 0;
    for (i++; i < n && s[i] != '"'; i++) {
        char c = s[i];

        if ((unsigned char)c < 0x20 || k + 1 >= FIELD_MAX)
            return 0;
        if (c == '\\') {
            if (++i >= n)
                return 0;
            switch (s[i]) {
            case '"':
            case '\\':
            case '/':
                c = s[i];
                break;
            case 'n':
            case 'r':
            case 't':
            case 'b':
            case 'f':
                c = ' ';
                break;
            case 'u':
                if (i + 4 >= n || s[i + 1] != '0' || s[i + 2] != '0')
                    return 0;
                c = (char)strtol((char[]){s[i + 3], s[i + 4], 0}, NULL, 16);
                i += 4;
                break;
            default:
                return 0;
            }
        }
        out[k++] = c;
    }
    if (i >= n)
        return 0;
    out[k] = '\0';
    return i + 1;
}

/* One flat JSON object into f->key / f->val (numbers, true, false and null
 * as their text; nested values are refused). -1 when malformed. */
static int json_split(const char *s, size_t n, fields *f)
{
    size_t i = skip_ws(s, n, 0), k;

    f->n = 0;
    if (i >= n || s[i] != '{')
        return -1;
    i = skip_ws(s, n, i + 1);
    if (i < n && s[i] == '}')
        return skip_ws(s, n, i + 1) == n ? 0 : -1;
    for (;;) {
        if (f->n == MAX_FIELDS)
            return -1;
        i = json_str(s, n, i, f->key[f->n]);
        if (i == 0)
            return -1;
        i = skip_ws(s, n, i);
        if (i >= n || s[i] != ':')
            return -1;
        i = skip_ws(s, n, i + 1);
        if (i < n && s[i] == '"') {
            i = json_str(s, n, i, f->val[f->n]);
            if (i == 0)
                return -1;
        } else {
            for (k = 0; i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' ||
                                  s[i] == '-' || s[i] == '+');
                 i++) {
                if (k + 1 >= FIELD_MAX)
                    return -1;
                f->val[f->n][k++] = s[i];
            }
            if (k == 0)
                return -1;
            f->val[f->n][k] = '\0';
            if (strcmp(f->val[f->n], "null") == 0)
                f->val[f->n][0] = '\0';
        }
        f->n++;
        i = skip_ws(s, n, i);
        if (i < n && s[i] == ',') {
            i = skip_ws(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == '}')
            return skip_ws(s, n, i + 1) == n ? 0 : -1;
        return -1;
    }
}

/* ISO 4217 exponents (the list of 2024): every code not named here has
 * 2. The one table: the tools' major-unit display reads it too. */
static const char *const exp0[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                   "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                   "VND", "VUV", "XAF", "XOF", "XPF"};
static const char *const exp3[] = {"BHD", "IQD", "JOD", "KWD",
                                   "LYD", "OMR", "TND"};
static const char *const exp4[] = {"CLF", "UYW"};

static int listed(const char *cy, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(cy, list[i]) == 0)
            return 1;
    }
    return 0;
}

int sfj_currency_exponent(const char *cy)
{
    if (cy == NULL)
        return 2;
    if (listed(cy, exp0, sizeof exp0 / sizeof exp0[0]))
        return 0;
    if (listed(cy, exp3, sizeof exp3 / sizeof exp3[0]))
        return 3;
    if (listed(cy, exp4, sizeof exp4 / sizeof exp4[0]))
        return 4;
    return 2;
}

static int parse_amount(const char *s, const char *cy, int minor, int64_t *out);

int sfj_amount_parse(const char *s, const char *cy, int64_t *out)
{
    return s != NULL && out != NULL && parse_amount(s, cy, 0, out) == 0
               ? SFJ_OK
               : SFJ_EINVAL;
}

/* "12.50", "-3", "1200", "1.250" into minor units of `cy` (with `minor`:
 * already minor units); -1 when malformed or more decimals than the
 * currency has. */
static int parse_amount(const char *s, const char *cy, int minor, int64_t *out)
{
    int exp = minor ? 0 : sfj_currency_exponent(cy), dec = -1, neg = 0;
    int64_t v = 0;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s == '.' && dec < 0 && !minor) {
            dec = 0;
            continue;
        }
        if (*s < '0' || *s > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
        if (dec >= 0 && ++dec > exp)
            return -1;
    }
    for (dec = dec < 0 ? 0 : dec; dec < exp; dec++) {
        if (v > INT64_MAX / 10)
            return -1;
        v *= 10;
    }
    *out = neg ? -v : v;
    return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int num(const char *s, int n, int *out)
{
    int i, v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + s[i] - '0';
    }
    *out = v;
    return 0;
}

/* "2026-11-27T10:15:00Z", "...+01:00", "2026-11-27 10:15:00[.123]" (local
 * at `tz_min` east of UTC), or Unix seconds (10 digits or fewer) or
 * milliseconds (more). -1 when malformed. */
static int parse_time(const char *s, int tz_min, int64_t *out)
{
    int y, mo, d, h, mi, sec, ms = 0, off = tz_min, oh, om;
    size_t n = strlen(s), i;
    const char *p;

    if (n > 0 && strspn(s, "0123456789") == n) {
        int64_t v = 0;

        if (n > 16)
            return -1;
        for (i = 0; i < n; i++)
            v = v * 10 + (s[i] - '0');
        *out = n <= 10 ? v * 1000 : v;
        return 0;
    }
    if (n < 19 || num(s, 4, &y) || s[4] != '-' || num(s + 5, 2, &mo) ||
        s[7] != '-' || num(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
        num(s + 11, 2, &h) || s[13] != ':' || num(s + 14, 2, &mi) ||
        s[16] != ':' || num(s + 17, 2, &sec) || mo < 1 || mo > 12 || d < 1 ||
        d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        int k = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, k++) {
            if (k < 3)
                ms = ms * 10 + (*p - '0');
        }
        for (; k < 3; k++)
            ms *= 10;
    }
    if (*p == 'Z') {
        off = 0;
        p++;
    } else if (*p == '+' || *p == '-') {
        if (num(p + 1, 2, &oh) || p[3] != ':' || num(p + 4, 2, &om))
            return -1;
        off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    }
    if (*p != '\0')
        return -1;
    *out = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
             mi * 60 + sec - (int64_t)off * 60) *
            1000) +
           ms;
    return 0;
}

/* Is `v` one of the '|'-separated `set` (case-insensitive)? */
static int in_set(const char *v, const char *set)
{
    size_t n = strlen(v), k;

    if (set == NULL || n == 0)
        return 0;
    while (*set != '\0') {
        k = strcspn(set, "|");
        if (k == n && strncasecmp(set, v, n) == 0)
            return 1;
        set += k + (set[k] == '|');
    }
    return 0;
}

/* Copy a field into a fixed buffer; -1 when too long. */
static int take(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);

    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

/* The masked form of a card field: kept when it is masked already, masked
 * when it is a number in clear (counted), else refused. */
static int card_field(const char *v, char *out, size_t *masked)
{
    char digits[24];
    size_t n = 0;

    if (v[0] == '\0') {
        out[0] = '\0';
        return 0;
    }
    if (strspn(v, "0123456789*Xx") == strlen(v) && strlen(v) <= SFJ_CARD_MAX &&
        strlen(v) >= 12) {
        size_t i, len = strlen(v);
        int clear = 0;

        for (i = 6; i + 4 < len; i++)
            clear |= isdigit((unsigned char)v[i]) != 0;
        if (!clear) {
            memcpy(out, v, len + 1);
            return 0;
        }
    }
    for (; *v != '\0'; v++) {
        if (isdigit((unsigned char)*v) && n < sizeof digits - 1)
            digits[n++] = *v;
        else if (*v != ' ' && *v != '-')
            return -1;
    }
    digits[n] = '\0';
    n = sfj_mask_pan(digits, out, SFJ_CARD_MAX + 1) == SFJ_OK;
    sodium_memzero(digits, sizeof digits);
    if (!n)
        return -1;
    (*masked)++;
    return 0;
}

static int grow(sfj__rlines *r)
{
    sfj__rline *v;
    size_t cap = r->cap ? r->cap * 2 : 1024;

    if (r->n < r->cap)
        return SFJ_OK;
    v = realloc(r->v, cap * sizeof *v);
    if (v == NULL)
        return SFJ_ENOMEM;
    r->v = v;
    r->cap = cap;
    return SFJ_OK;
}

/* Fill `l` from the mapped values `val[C_*]` (NULL: no such column). */
static const char *to_line(const sfj_recon_opts *o, const char *val[C_N],
                           sfj__rline *l, size_t *masked)
{
    const char *cy = val[C_CURRENCY] != NULL && val[C_CURRENCY][0] != '\0'
                         ? val[C_CURRENCY]
                         : o->currency;
    const char *st = val[C_STATUS] != NULL ? val[C_STATUS] : "";

    if (cy == NULL || strlen(cy) != 3 || !isupper((unsigned char)cy[0]) ||
        !isupper((unsigned char)cy[1]) || !isupper((unsigned char)cy[2]))
        return "bad currency";
    memcpy(l->currency, cy, 4);
    if (parse_amount(val[C_AMOUNT], cy, o->amount_minor, &l->amount) != 0)
        return "bad amount";
    if (parse_time(val[C_TIME], o->tz_offset_min, &l->time_ms) != 0)
        return "bad time";
    if (val[C_REF] != NULL && take(l->ref, sizeof l->ref, val[C_REF]) != 0)
        return "reference too long";
    if (val[C_AUTH] != NULL && take(l->auth, sizeof l->auth, val[C_AUTH]) != 0)
        return "auth code too long";
    if (val[C_TERMINAL] != NULL &&
        take(l->terminal, sizeof l->terminal, val[C_TERMINAL]) != 0)
        return "terminal id too long";
    if (val[C_RRN] != NULL && take(l->rrn, sizeof l->rrn, val[C_RRN]) != 0)
        return "rrn too long";
    if (val[C_STAN] != NULL && take(l->stan, sizeof l->stan, val[C_STAN]) != 0)
        return "stan too long";
    if (val[C_CARD] != NULL && card_field(val[C_CARD], l->card, masked) != 0)
        return "bad card field";
    if (val[C_STATUS] == NULL || in_set(st, o->approved))
        l->status = RL_APPROVED;
    else if (in_set(st, o->declined))
        l->status = RL_DECLINED;
    else if (in_set(st, o->reversed))
        l->status = RL_REVERSED;
    else
        return "unknown status";
    return NULL;
}

int sfj__recon_parse(const sfj_recon_opts *o, const char *name, uint32_t report,
                     const char *data, size_t len, sfj__rlines *out, char *err,
                     size_t cap)
{
    fields *f = calloc(1, sizeof *f);
    int col[C_N], c, rc = SFJ_OK, header = o->format == SFJ_RECON_CSV;
    size_t start = out->n, pos = 0, line = 0, masked = out->pans_masked, i,
           ncols = 0;
    const char *val[C_N], *why;

    if (f == NULL)
        return SFJ_ENOMEM;
    for (c = 0; c < C_N; c++)
        col[c] = -1;
    while (pos < len) {
        size_t e = pos, n;

        while (e < len && data[e] != '\n')
            e++;
        n = e - pos;
        if (n > 0 && data[pos + n - 1] == '\r')
            n--;
        line++;
        if (n == 0 || strspn(data + pos, " \t") >= n) {
            pos = e + 1;
            continue; /* blank lines are allowed */
        }
        if (memchr(data + pos, '\0', n) != NULL) {
            rc = fail(err, cap, "%s:%zu: NUL byte", name, line);
            goto done;
        }
        if (o->format == SFJ_RECON_CSV
                ? csv_split(data + pos, n, o->separator ? o->separator : ',',
                            f) != 0
                : json_split(data + pos, n, f) != 0) {
            rc = fail(err, cap, "%s:%zu: malformed %s line", name, line,
                      o->format == SFJ_RECON_CSV ? "CSV" : "JSON");
            goto done;
        }
        if (header) {
            for (c = 0; c < C_N; c++) {
                for (i = 0; col_name(o, c) != NULL && i < f->n; i++) {
                    if (strcasecmp(f->val[i], col_name(o, c)) == 0)
                        col[c] = (int)i;
                }
                if (col_name(o, c) != NULL && col[c] < 0 &&
                    (c == C_AMOUNT || c == C_TIME ||
                     (c == C_REF && o->col_auth_code == NULL) ||
                     (c == C_CURRENCY && o->currency == NULL))) {
                    rc = fail(err, cap, "%s:%zu: no column \"%s\"", name, line,
                              col_name(o, c));
                    goto done;
                }
            }
            ncols = f->n;
            header = 0;
            pos = e + 1;
            continue;
        }
        if (o->format == SFJ_RECON_CSV && f->n != ncols) {
            rc = fail(err, cap, "%s:%zu: %zu fields, the header has %zu", name,
                      line, f->n, ncols);
            goto done;
        }
        for (c = 0; c < C_N; c++) {
            val[c] = NULL;
            if (o->format == SFJ_RECON_CSV) {
                if (col[c] >= 0)
                    val[c] = f->val[col[c]];
                continue;
            }
            for (i = 0; col_name(o, c) != NULL && i < f->n; i++) {
                if (strcmp(f->key[i], col_name(o, c)) == 0)
                    val[c] = f->val[i];
            }
        }
        if (val[C_AMOUNT] == NULL || val[C_TIME] == NULL) {
            rc = fail(err, cap, "%s:%zu: no %s", name, line,
                      val[C_AMOUNT] == NULL ? "amount" : "time");
            goto done;
        }
        rc = grow(out);
        if (rc != SFJ_OK)
            goto done;
        memset(&out->v[out->n], 0, sizeof out->v[0]);
        why = to_line(o, val, &out->v[out->n], &masked);
        if (why != NULL) {
            rc = fail(err, cap, "%s:%zu: %s", name, line, why);
            goto done;
        }
        out->v[out->n].report = report;
        out->v[out->n].line = line;
        out->n++;
        pos = e + 1;
    }
    if (out->n == start)
        rc = fail(err, cap, "%s: no report lines", name);
done:
    if (rc != SFJ_OK) {
        if (out->v != NULL)
            sodium_memzero(out->v + start, (out->n - start) * sizeof *out->v);
        out->n = start;
    } else {
        out->pans_masked = masked;
    }
    sodium_memzero(f, sizeof *f);
    free(f);
    return rc;
}
