/* Fuzz target: the sealed frame layer of version 2 (docs/PROTOCOL.md
 * section 2.3).
 *
 * Input: one control byte (the receive counter, 0..3), then one complete
 * frame. The frame is parsed, opened under the fuzz transport key, and
 * what opens is decoded as the message it says it is and sealed again
 * under the same counter: the result must be the input frame, byte for
 * byte. A frame that does not open must leave the counter unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfj/errors.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/proto_v2.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cap_tp {
    sfj_transport base;
    uint8_t *buf;
    size_t len;
} cap_tp;

static int cap_send(sfj_transport *t, const void *buf, size_t len,
                    int timeout_ms, size_t *sent)
{
    cap_tp *c = (cap_tp *)t;

    (void)timeout_ms;
    memcpy(c->buf, buf, len);
    c->len = len;
    *sent = len;
    return 0;
}

static const sfj_transport_ops cap_ops = {SFJ_TRANSPORT_OPS_VERSION, cap_send,
                                          NULL, NULL, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfj__wire w;
    static uint8_t *copy, *again;
    static int ready;
    sfj__cipher c, s;
    sfj__frame fr;
    sfj__ack a;
    sfj__nak nk;
    cap_tp cap;
    uint8_t type;
    size_t n;

    if (!ready) {
        if (sfj__wire_init(&w, SFJ_FRAMING_STREAM) != SFJ_OK)
            abort();
        copy = malloc(SFJ_FRAME_MAX_BYTES);
        again = malloc(SFJ_FRAME_MAX_BYTES);
        if (copy == NULL || again == NULL)
            abort();
        ready = 1;
    }
    if (size < 1 || size - 1 > SFJ_FRAME_MAX_BYTES)
        return 0;
    memset(c.k, SFJ_FUZZ_SEAL_K, sizeof c.k);
    c.n = data[0] & 3;
    s = c;
    memcpy(copy, data + 1, size - 1);
    if (sfj__frame_parse(copy, size - 1, SFJ_FRAME_MAX_BODY, &fr) != SFJ_OK)
        return 0;
    if (sfj__wire_open_sealed(&c, &fr, (uint8_t *)fr.body, &type, &n) !=
        SFJ_OK) {
        if (c.n != s.n)
            abort();
        return 0;
    }
    if (c.n != s.n + 1 || n + SFJ_SEAL_OVERHEAD != fr.len)
        abort();
    if (type == SFJ_MSG_ACK)
        (void)sfj__ack2_decode(fr.body, n, &a);
    if (type == SFJ_MSG_NAK)
        (void)sfj__nak_decode(fr.body, n, &nk);
    /* Seal it again: the same frame. */
    memmove(sfj__wire_body(&w), fr.body, n);
    cap.base.ops = &cap_ops;
    cap.base.framing = SFJ_FRAMING_STREAM;
    cap.buf = again;
    cap.len = 0;
    if (sfj__wire_send_sealed(&w, &cap.base, &s, type, n, 0) != SFJ_OK ||
        cap.len != size - 1 || memcmp(again, data + 1, size - 1) != 0)
        abort();
    return 0;
}
