/* Text encodings for tool output; see cli_text.h. */
#include "cli_text.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sfj/journal.h"

int sfj__cli_payload_mode_parse(const char *s)
{
    static const char *const names[] = {"hex", "base64", "text", "raw"};
    int i;

    for (i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

static void mask_run(uint8_t *run, size_t n)
{
    char pan[20], masked[20];
    size_t i;

    if (n < 13)
        return;
    if (n > 19) {
        memset(run, '*', n);
        return;
    }
    memcpy(pan, run, n);
    pan[n] = '\0';
    if (sfj_mask_pan(pan, masked, sizeof masked) == 0) {
        memcpy(run, masked, n);
    } else {
        for (i = 0; i < n; i++)
            run[i] = '*';
    }
    sodium_memzero(pan, sizeof pan);
    sodium_memzero(masked, sizeof masked);
}

void sfj__cli_mask_pans(uint8_t *buf, size_t len)
{
    size_t i = 0, start;

    while (i < len) {
        if (buf[i] < '0' || buf[i] > '9') {
            i++;
            continue;
        }
        start = i;
        while (i < len && buf[i] >= '0' && buf[i] <= '9')
            i++;
        mask_run(buf + start, i - start);
    }
}

static char *render_text(const uint8_t *p, size_t n)
{
    char *out = malloc(4 * n + 1), *o = out;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (p[i] == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else if (p[i] >= 0x20 && p[i] < 0x7f) {
            *o++ = (char)p[i];
        } else {
            o += sprintf(o, "\\x%02x", p[i]);
        }
    }
    *o = '\0';
    return out;
}

char *sfj__cli_payload(const uint8_t *p, size_t n, int mode)
{
    uint8_t *copy = malloc(n ? n : 1);
    char *out = NULL;
    size_t cap;

    if (copy == NULL)
        return NULL;
    if (n > 0)
        memcpy(copy, p, n);
    if (mode != SFJ__PL_RAW)
        sfj__cli_mask_pans(copy, n);
    switch (mode) {
    case SFJ__PL_BASE64:
        cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
        out = malloc(cap);
        if (out != NULL)
            sodium_bin2base64(out, cap, copy, n,
                              sodium_base64_VARIANT_ORIGINAL);
        break;
    case SFJ__PL_TEXT:
    case SFJ__PL_RAW:
        out = render_text(copy, n);
        break;
    default:
        out = malloc(2 * n + 1);
        if (out != NULL)
            sfj__cli_hex(copy, n, out);
        break;
    }
    sodium_memzero(copy, n);
    free(copy);
    return out;
}

void sfj__cli_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int sfj__cli_unhex(const char *s, uint8_t *out, size_t n)
{
    size_t bin_len = 0;

    if (s == NULL || strlen(s) != 2 * n)
        return -1;
    if (sodium_hex2bin(out, n, s, 2 * n, NULL, &bin_len, NULL) != 0 ||
        bin_len != n)
        return -1;
    return 0;
}

void sfj__cli_fingerprint(const uint8_t *pubkey, char *out, size_t cap)
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, pubkey, 32, NULL, 0);
    snprintf(out, cap, "%02x%02x-%02x%02x-%02x%02x-%02x%02x", h[0], h[1], h[2],
             h[3], h[4], h[5], h[6], h[7]);
}

void sfj__cli_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    for (; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void sfj__cli_csv_str(FILE *f, const char *s)
{
    const char *p;

    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (p = s; *p != '\0'; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

void sfj__cli_vsay(const char *prog, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}
