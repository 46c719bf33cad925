/* Text output for the tools: hex, payload rendering with PAN masking,
 * JSON and CSV quoting, key fingerprints. */
#ifndef SFJ_TOOLS_CLI_TEXT_H
#define SFJ_TOOLS_CLI_TEXT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* How a payload is shown. */
typedef enum sfj__cli_payload_mode {
    SFJ__PL_HEX = 0, /* lowercase hex, PANs masked */
    SFJ__PL_BASE64,  /* standard base64 with padding, PANs masked */
    SFJ__PL_TEXT,    /* printable ASCII as is, "\\" and \xHH escapes,
                        PANs masked */
    SFJ__PL_RAW      /* like text but PANs NOT masked (explicit request) */
} sfj__cli_payload_mode;

/* One line on stderr: "<prog>: <text>\n". */
void sfj__cli_vsay(const char *prog, const char *fmt, va_list ap);

/* Parse "hex", "base64", "text" or "raw"; -1 if none. */
int sfj__cli_payload_mode_parse(const char *s);

/* Mask card numbers in place: every maximal run of 13 to 19 ASCII digits
 * keeps its first 6 and last 4 digits ("411111******1111", as
 * sfj_mask_pan); a longer run may hide a PAN and is masked entirely. */
void sfj__cli_mask_pans(uint8_t *buf, size_t len);

/* Render a payload in `mode` (masking unless SFJ__PL_RAW) into a malloc'd
 * NUL-terminated string; NULL when out of memory. The caller wipes
 * (sodium_memzero over strlen) and frees it. */
char *sfj__cli_payload(const uint8_t *p, size_t n, int mode);

/* Lowercase hex of `n` bytes into `out` (cap >= 2n + 1). */
void sfj__cli_hex(const uint8_t *p, size_t n, char *out);

/* Decode exactly `n` bytes of hex from `s` (whole string); 0 or -1. */
int sfj__cli_unhex(const char *s, uint8_t *out, size_t n);

/* Short fingerprint of a public key: the first 8 bytes of its
 * BLAKE2b-256 hash as "xxxx-xxxx-xxxx-xxxx" (cap >= 20). */
void sfj__cli_fingerprint(const uint8_t *pubkey, char *out, size_t cap);

/* Write `s` as a JSON string literal (with quotes). */
void sfj__cli_json_str(FILE *f, const char *s);

/* Write `s` as one CSV field (RFC 4180 quoting when needed). */
void sfj__cli_csv_str(FILE *f, const char *s);

#endif
