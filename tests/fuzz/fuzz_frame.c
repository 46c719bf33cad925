/* Fuzz target: the link frame codec and the message body parsers.
 *
 * Input: one control byte, then a byte stream. The stream is checked as
 * one complete frame (sfj__frame_parse), fed to the incremental decoder in
 * chunks whose size the control byte sets, and handed to every body
 * decoder directly (so that the parsers are reached without a valid CRC).
 * Every frame and body that decodes is re-encoded: the encoders must give
 * back exactly the bytes that were accepted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal/format/record.h"
#include "sfj/errors.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/proto.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    if (an != bn || (an > 0 && memcmp(a, b, an) != 0))
        abort();
}

/* A decoded text is terminated and printable. */
static void text_ok(const char *t, size_t cap)
{
    const char *end = memchr(t, 0, cap);

    if (end == NULL)
        abort();
    for (; t < end; t++) {
        if (*t < 0x20 || *t > 0x7e)
            abort();
    }
}

static void bodies(const sfj_fuzz_keys *k, const uint8_t *b, size_t n)
{
    uint8_t out[SFJ_HELLO_ACK_MAX_BODY + SFJ_HELLO_MAX_BODY + 64];
    sfj__hello hello;
    sfj__hello_ack hack;
    sfj__ack ack;
    sfj__nak nak;
    sfj__rec_hdr h;

    if (sfj__hello_decode(b, n, &hello) == SFJ_OK) {
        text_ok(hello.terminal_id, sizeof hello.terminal_id);
        same(out, sfj__hello_encode(&hello, out), b, n);
        (void)sfj__hello_verify(k->link_key, b, n);
    }
    /* Texts go to logs: the decoders replace what is not printable, so
     * these two re-encode to the same message, not the same bytes. */
    memset(&hack, 0, sizeof hack);
    if (sfj__hello_ack_decode(b, n, &hack) == SFJ_OK) {
        sfj__hello_ack again;

        text_ok(hack.text, sizeof hack.text);
        memset(&again, 0, sizeof again);
        if (sfj__hello_ack_decode(out, sfj__hello_ack_encode(&hack, out),
                                  &again) != SFJ_OK ||
            memcmp(&again, &hack, sizeof hack) != 0)
            abort();
    }
    memset(&ack, 0, sizeof ack);
    if (sfj__ack_decode(b, n, &ack) == SFJ_OK)
        same(out, sfj__ack_encode(&ack, out), b, n);
    memset(&nak, 0, sizeof nak);
    if (sfj__nak_decode(b, n, &nak) == SFJ_OK) {
        sfj__nak again;

        text_ok(nak.text, sizeof nak.text);
        memset(&again, 0, sizeof again);
        if (sfj__nak_decode(out, sfj__nak_encode(&nak, out), &again) !=
                SFJ_OK ||
            memcmp(&again, &nak, sizeof nak) != 0)
            abort();
    }
    /* An ENTRY body is a sealed record; the host reads its header first. */
    (void)sfj__rec_hdr_decode(b, n, &h);
}

/* A good frame re-encodes to the same bytes and its body parses safely. */
static void frame_ok(const sfj_fuzz_keys *k, const sfj__frame *f,
                     const uint8_t *raw, size_t raw_len, uint32_t max_body)
{
    uint8_t *re;
    size_t n;

    if (f->len > max_body)
        abort();
    re = malloc(SFJ_FRAME_OVERHEAD + (size_t)f->len);
    if (re == NULL)
        return;
    n = sfj__frame_encode(re, SFJ_FRAME_OVERHEAD + (size_t)f->len, f->type,
                          f->flags, f->body, f->len);
    if (raw != NULL)
        same(re, n, raw, raw_len);
    else if (n != SFJ_FRAME_OVERHEAD + (size_t)f->len)
        abort();
    free(re);
    bodies(k, f->body, f->len);
}

static void stream(const sfj_fuzz_keys *k, const uint8_t *data, size_t size,
                   size_t chunk, uint32_t max_body)
{
    size_t cap = SFJ_FRAME_OVERHEAD + (size_t)max_body, off = 0, used;
    uint8_t *buf = malloc(cap);
    sfj__frame_dec d;
    sfj__frame f;
    int rc, stuck = 0;

    if (buf == NULL)
        return;
    sfj__frame_dec_init(&d, buf, cap, max_body);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;

        used = 0;
        rc = sfj__frame_dec_feed(&d, data + off, n, &used, &f);
        if (used > n || d.have > d.need || d.need > d.cap)
            abort();
        if (rc == 1) {
            if (f.body < buf || f.body + f.len > buf + cap)
                abort();
            frame_ok(k, &f, NULL, 0, max_body);
        } else if (rc == 0 && used != n) {
            abort();
        } else if (rc == SFJ_ELIMIT) {
            size_t again = 1;

            /* The decoder stays failed, consuming nothing, until reset. */
            if (sfj__frame_dec_feed(&d, data + off + used, n - used, &again,
                                    &f) != SFJ_ELIMIT ||
                again != 0)
                abort();
            sfj__frame_dec_reset(&d);
        } else if (rc != SFJ_ECORRUPT && rc != 0) {
            abort();
        }
        stuck = used == 0 ? stuck + 1 : 0;
        if (stuck > 1)
            abort();
        off += used;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfj_fuzz_keys k;
    static int ready;
    uint32_t max_body;
    sfj__frame f;
    size_t chunk;

    if (!ready) {
        sfj_fuzz_keys_init(&k);
        ready = 1;
    }
    if (size < 1)
        return 0;
    /* Control byte: bit 7 picks the full body limit or a small one (so
     * that the oversize paths are reached), bits 0-6 the chunk size. */
    max_body = (data[0] & 0x80) ? SFJ_FRAME_MAX_BODY : 300;
    chunk = (size_t)(data[0] & 0x7f) + 1;
    data++;
    size--;

    if (sfj__frame_parse(data, size, max_body, &f) == SFJ_OK) {
        if (f.body < data || f.body + f.len > data + size)
            abort();
        frame_ok(&k, &f, data, size, max_body);
    }
    stream(&k, data, size, chunk, max_body);
    bodies(&k, data, size);
    return 0;
}
