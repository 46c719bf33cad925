/* Frame codec; see sfj/sys/frame.h. */
#include "sfj/sys/frame.h"

#include <string.h>
#include <zlib.h>

#include "common/bytes.h"
#include "sfj/errors.h"

static uint32_t frame_crc(const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

size_t sfj__frame_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                         const uint8_t *body, uint32_t len)
{
    size_t total = SFJ_FRAME_OVERHEAD + (size_t)len;

    if (out == NULL || len > SFJ_FRAME_MAX_BODY || cap < total ||
        (len > 0 && body == NULL))
        return 0;
    if (len > 0 && body != out + SFJ_FRAME_HDR_BYTES)
        memmove(out + SFJ_FRAME_HDR_BYTES, body, len);
    out[0] = type;
    out[1] = flags;
    sfj__put_u32(out + 2, len);
    sfj__put_u32(out + SFJ_FRAME_HDR_BYTES + len,
                 frame_crc(out, SFJ_FRAME_HDR_BYTES + (size_t)len));
    return total;
}

int sfj__frame_parse(const uint8_t *buf, size_t len, uint32_t max_body,
                     sfj__frame *out)
{
    uint32_t body_len;

    if (buf == NULL || len < SFJ_FRAME_OVERHEAD)
        return SFJ_EPROTO;
    body_len = sfj__get_u32(buf + 2);
    if (body_len > max_body || body_len > SFJ_FRAME_MAX_BODY)
        return SFJ_ELIMIT;
    if ((size_t)body_len + SFJ_FRAME_OVERHEAD != len)
        return SFJ_EPROTO;
    if (frame_crc(buf, SFJ_FRAME_HDR_BYTES + (size_t)body_len) !=
        sfj__get_u32(buf + SFJ_FRAME_HDR_BYTES + body_len))
        return SFJ_ECORRUPT;
    out->type = buf[0];
    out->flags = buf[1];
    out->len = body_len;
    out->body = buf + SFJ_FRAME_HDR_BYTES;
    return SFJ_OK;
}

void sfj__frame_dec_init(sfj__frame_dec *d, uint8_t *buf, size_t cap,
                         uint32_t max_body)
{
    d->buf = buf;
    d->cap = cap;
    d->max_body = max_body;
    if (d->max_body > SFJ_FRAME_MAX_BODY)
        d->max_body = SFJ_FRAME_MAX_BODY;
    if (cap < SFJ_FRAME_OVERHEAD + (size_t)d->max_body)
        d->max_body =
            cap < SFJ_FRAME_OVERHEAD ? 0 : (uint32_t)(cap - SFJ_FRAME_OVERHEAD);
    sfj__frame_dec_reset(d);
}

void sfj__frame_dec_reset(sfj__frame_dec *d)
{
    d->have = 0;
    d->need = SFJ_FRAME_HDR_BYTES;
    d->failed = d->cap < SFJ_FRAME_OVERHEAD;
}

int sfj__frame_dec_feed(sfj__frame_dec *d, const uint8_t *in, size_t len,
                        size_t *used, sfj__frame *out)
{
    size_t pos = 0, take;
    uint32_t body_len;
    int rc = 0;

    while (!d->failed && pos < len) {
        take = d->need - d->have;
        if (take > len - pos)
            take = len - pos;
        memcpy(d->buf + d->have, in + pos, take);
        d->have += take;
        pos += take;
        if (d->have < d->need)
            break;
        if (d->need == SFJ_FRAME_HDR_BYTES) {
            body_len = sfj__get_u32(d->buf + 2);
            if (body_len > d->max_body) {
                d->failed = 1;
                rc = SFJ_ELIMIT;
                break;
            }
            d->need = SFJ_FRAME_OVERHEAD + (size_t)body_len;
            continue;
        }
        /* A whole frame is buffered. */
        rc = sfj__frame_parse(d->buf, d->have, d->max_body, out);
        d->have = 0;
        d->need = SFJ_FRAME_HDR_BYTES;
        rc = rc == SFJ_OK ? 1 : rc;
        break;
    }
    if (d->failed && rc == 0)
        rc = SFJ_ELIMIT;
    *used = pos;
    return rc;
}
