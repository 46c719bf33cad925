/* Fuzz target: COBS. The input is decoded as one packet and fed to the
 * stream decoder in chunks; then it is encoded, and decoding the encoding
 * must give the input back exactly (abort otherwise). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfj/errors.h"
#include "sfj/sys/cobs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small enough that the fuzzer reaches the overflow path. */
#define STREAM_CAP 512

/* The stream decoder must agree with the one-packet decoder on every
 * packet between delimiters. */
static void check_packet(const uint8_t *raw, size_t raw_len, int rc,
                         const uint8_t *pkt, size_t pkt_len)
{
    uint8_t *out = malloc(STREAM_CAP);
    size_t out_len = 0;
    int one;

    if (out == NULL)
        return;
    one = sfj__cobs_decode(raw, raw_len, out, STREAM_CAP, &out_len);
    if (rc == 1) {
        if (one != SFJ_OK || out_len != pkt_len ||
            (pkt_len > 0 && memcmp(out, pkt, pkt_len) != 0))
            abort();
    } else if (one == SFJ_OK || (rc != SFJ_ELIMIT && rc != SFJ_EPROTO)) {
        abort();
    }
    free(out);
}

static void stream(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(STREAM_CAP);
    sfj__cobs_dec d;
    const uint8_t *pkt = NULL;
    size_t pkt_len = 0, used, off = 0, chunk, start, end;
    int rc;

    if (buf == NULL)
        return;
    sfj__cobs_dec_init(&d, buf, STREAM_CAP);
    /* The first byte sets the chunk size, so that packets straddle feeds. */
    chunk = size > 0 ? (size_t)data[0] % 17 + 1 : 1;
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;

        used = 0;
        rc = sfj__cobs_dec_feed(&d, data + off, n, &used, &pkt, &pkt_len);
        if (used == 0 || used > n || d.len > d.cap)
            abort();
        if (rc == 0 && used != n)
            abort();
        off += used;
        if (rc == 0)
            continue;
        /* A packet ended at the delimiter data[off - 1]. */
        end = off - 1;
        if (data[end] != 0 || (rc == 1 && pkt_len > STREAM_CAP))
            abort();
        start = end;
        while (start > 0 && data[start - 1] != 0)
            start--;
        check_packet(data + start, end - start, rc, pkt, pkt_len);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *dec = malloc(size > 0 ? size : 1);
    uint8_t *enc = malloc(SFJ_COBS_MAX(size));
    uint8_t *back = malloc(size > 0 ? size : 1);
    size_t n, out_len = 0;
    int rc;

    if (dec == NULL || enc == NULL || back == NULL)
        goto done;
    /* Decoding never grows the data, so `size` bytes always suffice. */
    rc = sfj__cobs_decode(data, size, dec, size, &out_len);
    if (rc == SFJ_OK && out_len > size)
        abort();
    if (rc == SFJ_EBUFS)
        abort();
    /* One byte short must fail cleanly, never write past the buffer. */
    if (rc == SFJ_OK && out_len > 0 &&
        sfj__cobs_decode(data, size, dec, out_len - 1, &out_len) != SFJ_EBUFS)
        abort();
    stream(data, size);

    n = sfj__cobs_encode(data, size, enc, SFJ_COBS_MAX(size));
    if (n == 0 || n > SFJ_COBS_MAX(size) || memchr(enc, 0, n) != NULL)
        abort();
    if (sfj__cobs_decode(enc, n, back, size, &out_len) != SFJ_OK ||
        out_len != size || (size > 0 && memcmp(back, data, size) != 0))
        abort();
done:
    free(dec);
    free(enc);
    free(back);
    return 0;
}
