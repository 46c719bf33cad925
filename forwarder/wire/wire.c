/* Framed channel; see sfj/sys/wire.h. */
#include "sfj/sys/wire.h"

#include <stdlib.h>
#include <string.h>

#include "sfj/errors.h"

#define TXC_BYTES (SFJ_COBS_MAX(SFJ_FRAME_MAX_BYTES) + 2)

int sfj__wire_init(sfj__wire *w, int framing)
{
    memset(w, 0, sizeof *w);
    w->cobs = framing == SFJ_FRAMING_COBS;
    return sfj__wire_grow(w);
}

int sfj__wire_grow(sfj__wire *w)
{
    if (w->tx != NULL)
        return SFJ_OK;
    w->tx = malloc(SFJ_FRAME_MAX_BYTES);
    w->rx = malloc(SFJ_FRAME_MAX_BYTES);
    w->in = malloc(SFJ_WIRE_IN_BYTES);
    w->txc = w->cobs ? malloc(TXC_BYTES) : NULL;
    if (w->tx == NULL || w->rx == NULL || w->in == NULL ||
        (w->cobs && w->txc == NULL)) {
        sfj__wire_free(w);
        return SFJ_ENOMEM;
    }
    sfj__wire_reset(w);
    return SFJ_OK;
}

/* Between frames: nothing buffered, and neither decoder inside a frame
 * (nor refusing the stream). */
static int idle(const sfj__wire *w)
{
    if (w->in_pos < w->in_len || w->held_len > 0)
        return 0;
    if (w->cobs)
        return w->cdec.len == 0 && w->cdec.raw == 0 && w->cdec.discard == 0;
    return w->fdec.have == 0 && !w->fdec.failed;
}

int sfj__wire_release(sfj__wire *w)
{
    if (w->tx == NULL)
        return 1;
    if (!idle(w))
        return 0;
    sfj__wire_free(w);
    return 1;
}

void sfj__wire_free(sfj__wire *w)
{
    free(w->tx);
    free(w->txc);
    free(w->rx);
    free(w->in);
    free(w->held);
    w->tx = w->txc = w->rx = w->in = w->held = NULL;
    w->held_len = 0;
    w->holding = 0;
    w->in_pos = w->in_len = 0;
}

void sfj__wire_reset(sfj__wire *w)
{
    sfj__frame_dec_init(&w->fdec, w->rx, SFJ_FRAME_MAX_BYTES,
                        SFJ_FRAME_MAX_BODY);
    sfj__cobs_dec_init(&w->cdec, w->rx, SFJ_FRAME_MAX_BYTES);
    w->in_pos = w->in_len = 0;
    w->held_len = 0;
    w->holding = 0;
}

uint8_t *sfj__wire_body(sfj__wire *w)
{
    return w->tx + SFJ_FRAME_HDR_BYTES;
}

static int send_now(sfj__wire *w, sfj_transport *t, const uint8_t *b, size_t n,
                    int timeout_ms)
{
    size_t sent = 0;
    int rc = t->ops->send(t, b, n, timeout_ms, &sent);

    w->bytes_out += sent;
    return rc;
}

static int send_held(sfj__wire *w, sfj_transport *t, int timeout_ms)
{
    int rc = SFJ_OK;

    if (w->held_len > 0)
        rc = send_now(w, t, w->held, w->held_len, timeout_ms);
    w->held_len = 0;
    return rc;
}

/* Send `n` encoded bytes, or gather them while holding. */
static int put_out(sfj__wire *w, sfj_transport *t, const uint8_t *b, size_t n,
                   int timeout_ms)
{
    int rc;

    if (!w->holding)
        return send_now(w, t, b, n, timeout_ms);
    if (w->held == NULL && (w->held = malloc(SFJ_WIRE_HELD_BYTES)) == NULL)
        return SFJ_ENOMEM;
    if (w->held_len + n > SFJ_WIRE_HELD_BYTES &&
        (rc = send_held(w, t, timeout_ms)) != SFJ_OK)
        return rc;
    if (n > SFJ_WIRE_HELD_BYTES)
        return send_now(w, t, b, n, timeout_ms);
    memcpy(w->held + w->held_len, b, n);
    w->held_len += n;
    return SFJ_OK;
}

int sfj__wire_send(sfj__wire *w, sfj_transport *t, uint8_t type,
                   size_t body_len, int timeout_ms)
{
    size_t n;

    if (body_len > SFJ_FRAME_MAX_BODY)
        return SFJ_EINVAL;
    n = sfj__frame_encode(w->tx, SFJ_FRAME_MAX_BYTES, type, 0,
                          w->tx + SFJ_FRAME_HDR_BYTES, (uint32_t)body_len);
    if (!w->cobs)
        return put_out(w, t, w->tx, n, timeout_ms);
    w->txc[0] = 0;
    n = sfj__cobs_encode(w->tx, n, w->txc + 1, TXC_BYTES - 2);
    w->txc[n + 1] = 0;
    return put_out(w, t, w->txc, n + 2, timeout_ms);
}

void sfj__wire_hold(sfj__wire *w)
{
    /* A serial line's baud rate bounds it, not system calls, and a
     * gathered send would have to pass in one frame's time. */
    w->holding = !w->cobs;
}

int sfj__wire_flush(sfj__wire *w, sfj_transport *t, int timeout_ms)
{
    w->holding = 0;
    return send_held(w, t, timeout_ms);
}

int sfj__wire_fill(sfj__wire *w, sfj_transport *t, int timeout_ms)
{
    size_t got = 0;
    int rc;

    if (w->in_pos < w->in_len)
        return SFJ_OK;
    w->in_pos = w->in_len = 0;
    rc = t->ops->recv(t, w->in, SFJ_WIRE_IN_BYTES, timeout_ms, &got);
    if (rc == SFJ_OK)
        w->in_len = got;
    w->bytes_in += got;
    return rc;
}

int sfj__wire_next(sfj__wire *w, sfj__frame *out)
{
    const uint8_t *pkt;
    size_t used = 0, pkt_len;
    int rc;

    if (!w->cobs) {
        if (w->fdec.failed)
            return SFJ_EPROTO;
        rc = sfj__frame_dec_feed(&w->fdec, w->in + w->in_pos,
                                 w->in_len - w->in_pos, &used, out);
        w->in_pos += used;
        if (rc == SFJ_ELIMIT)
            return SFJ_EPROTO;
        return rc < 0 ? SFJ_ECORRUPT : rc;
    }
    rc = sfj__cobs_dec_feed(&w->cdec, w->in + w->in_pos, w->in_len - w->in_pos,
                            &used, &pkt, &pkt_len);
    w->in_pos += used;
    if (rc <= 0)
        return rc < 0 ? SFJ_ECORRUPT : 0;
    rc = sfj__frame_parse(pkt, pkt_len, SFJ_FRAME_MAX_BODY, out);
    return rc == SFJ_OK ? 1 : SFJ_ECORRUPT;
}
