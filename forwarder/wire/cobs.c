/* COBS encoder and decoders; see sfj/sys/cobs.h. */
#include "sfj/sys/cobs.h"

#include "sfj/errors.h"

size_t sfj__cobs_encode(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t o = 1, code_at = 0, i;
    uint8_t code = 1;

    if (out == NULL || cap < 1 || cap < SFJ_COBS_MAX(len))
        return 0;
    for (i = 0; i < len; i++) {
        if (in[i] == 0) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
            continue;
        }
        out[o++] = in[i];
        if (++code == 0xFF) {
            out[code_at] = code;
            code_at = o++;
            code = 1;
        }
    }
    out[code_at] = code;
    return o;
}

int sfj__cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                     size_t *out_len)
{
    size_t i = 0, o = 0, k;
    uint8_t code;

    while (i < len) {
        code = in[i++];
        if (code == 0 || i + code - 1 > len)
            return SFJ_EPROTO;
        for (k = 1; k < code; k++) {
            if (in[i] == 0)
                return SFJ_EPROTO;
            if (o >= cap)
                return SFJ_EBUFS;
            out[o++] = in[i++];
        }
        if (code != 0xFF && i < len) {
            if (o >= cap)
                return SFJ_EBUFS;
            out[o++] = 0;
        }
    }
    *out_len = o;
    return SFJ_OK;
}

void sfj__cobs_dec_init(sfj__cobs_dec *d, uint8_t *buf, size_t cap)
{
    d->buf = buf;
    d->cap = cap;
    d->len = 0;
    d->raw = 0;
    d->code = 0;
    d->left = 0;
    d->discard = 0;
}

static void put_byte(sfj__cobs_dec *d, uint8_t b)
{
    if (d->discard)
        return;
    if (d->len >= d->cap) {
        d->discard = SFJ_ELIMIT;
        return;
    }
    d->buf[d->len++] = b;
}

int sfj__cobs_dec_feed(sfj__cobs_dec *d, const uint8_t *in, size_t len,
                       size_t *used, const uint8_t **pkt, size_t *pkt_len)
{
    size_t pos = 0;
    uint8_t b;
    int rc = 0;

    while (pos < len) {
        b = in[pos++];
        if (b == 0) {
            /* Delimiter: the packet ends here. */
            if (d->raw > 0) {
                if (!d->discard && d->left != 0)
                    d->discard = SFJ_EPROTO;
                rc = d->discard ? d->discard : 1;
                *pkt = d->buf;
                *pkt_len = d->len;
            }
            d->len = 0;
            d->raw = 0;
            d->code = 0;
            d->left = 0;
            d->discard = 0;
            if (rc != 0)
                break;
            continue;
        }
        d->raw++;
        if (d->left > 0) {
            put_byte(d, b);
            d->left--;
            continue;
        }
        /* A code byte: the zero implied by the previous block comes first,
         * unless that block was a full 254-byte run. */
        if (d->raw > 1 && d->code != 0xFF)
            put_byte(d, 0);
        d->code = b;
        d->left = (uint8_t)(b - 1);
    }
    *used = pos;
    return rc;
}
