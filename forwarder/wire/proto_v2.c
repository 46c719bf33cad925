/* Version 2 messages and sealed frames; see proto_v2.h. */
#include "sfj/sys/proto_v2.h"

#include <string.h>

#include "common/bytes.h"
#include "sfj/errors.h"

int sfj__proto_version(const uint8_t *body, size_t n)
{
    return n < 2 ? -1 : (int)sfj__get_u16(body);
}

size_t sfj__hello2_payload_encode(const sfj__hello2 *m, uint8_t *out)
{
    size_t tl = strlen(m->terminal_id);

    out[0] = (uint8_t)tl;
    memcpy(out + 1, m->terminal_id, tl);
    sfj__put_u64(out + 1 + tl, m->first_unacked);
    sfj__put_u64(out + 9 + tl, m->last_seq);
    return 17 + tl;
}

int sfj__hello2_payload_decode(const uint8_t *b, size_t n, sfj__hello2 *m)
{
    size_t tl, i;

    memset(m, 0, sizeof *m);
    if (n < 1)
        return SFJ_EPROTO;
    tl = b[0];
    if (tl < 1 || tl > SFJ_TERMINAL_ID_MAX || n != 17 + tl)
        return SFJ_EPROTO;
    for (i = 0; i < tl; i++) {
        if (b[1 + i] < 0x21 || b[1 + i] > 0x7e)
            return SFJ_EPROTO;
        m->terminal_id[i] = (char)b[1 + i];
    }
    m->first_unacked = sfj__get_u64(b + 1 + tl);
    m->last_seq = sfj__get_u64(b + 9 + tl);
    if (m->first_unacked < 1 || m->last_seq >= SFJ_HELLO_SEQ_MAX ||
        m->first_unacked > m->last_seq + 1)
        return SFJ_EPROTO;
    return SFJ_OK;
}

size_t sfj__hello_ack2_payload_encode(const sfj__hello_ack *m, uint8_t *out)
{
    size_t n = strlen(m->text);

    out[0] = m->status;
    sfj__put_u16(out + 1, m->window);
    sfj__put_u64(out + 3, m->next_seq);
    memcpy(out + 11, m->chain, SFJ_HASH_BYTES);
    if (n > SFJ_PROTO_TEXT_MAX)
        n = SFJ_PROTO_TEXT_MAX;
    out[11 + SFJ_HASH_BYTES] = (uint8_t)n;
    memcpy(out + 12 + SFJ_HASH_BYTES, m->text, n);
    return 12 + SFJ_HASH_BYTES + n;
}

int sfj__hello_ack2_payload_decode(const uint8_t *b, size_t n,
                                   sfj__hello_ack *m)
{
    const size_t fixed = 12 + SFJ_HASH_BYTES;
    size_t i;

    memset(m, 0, sizeof *m);
    if (n < fixed || n != fixed + b[fixed - 1])
        return SFJ_EPROTO;
    m->version = SFJ_PROTO_V2;
    m->status = b[0];
    m->window = sfj__get_u16(b + 1);
    m->next_seq = sfj__get_u64(b + 3);
    memcpy(m->chain, b + 11, SFJ_HASH_BYTES);
    for (i = 0; i < b[fixed - 1]; i++) {
        uint8_t c = b[fixed + i];

        m->text[i] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
    }
    if (m->status == SFJ_HELLO_OK &&
        (m->next_seq == 0 || m->next_seq > SFJ_HELLO_SEQ_MAX ||
         m->window == 0 || m->window > SFJ_PROTO_WINDOW_MAX))
        return SFJ_EPROTO;
    return SFJ_OK;
}

void sfj__hello2_head_encode(const uint8_t *journal_id, uint8_t *out)
{
    sfj__put_u16(out, SFJ_PROTO_V2);
    memcpy(out + 2, journal_id, SFJ_JOURNAL_ID_BYTES);
}

void sfj__hello_ack2_head_encode(uint8_t *out)
{
    sfj__put_u16(out, SFJ_PROTO_V2);
    out[2] = SFJ_HELLO_OK;
}

size_t sfj__hello_ack2_clear_encode(uint8_t status, const char *text,
                                    uint8_t *out)
{
    size_t n = strlen(text);

    if (n > SFJ_PROTO_TEXT_MAX)
        n = SFJ_PROTO_TEXT_MAX;
    sfj__put_u16(out, SFJ_PROTO_V2);
    out[2] = status;
    out[3] = (uint8_t)n;
    memcpy(out + 4, text, n);
    return 4 + n;
}

size_t sfj__ack2_encode(uint64_t seq, const uint8_t *chain, uint8_t *out)
{
    sfj__put_u64(out, seq);
    memcpy(out + 8, chain, SFJ_HASH_BYTES);
    return SFJ_ACK2_BODY;
}

int sfj__ack2_decode(const uint8_t *b, size_t n, sfj__ack *m)
{
    if (n != SFJ_ACK2_BODY)
        return SFJ_EPROTO;
    memset(m, 0, sizeof *m);
    m->seq = sfj__get_u64(b);
    memcpy(m->chain, b + 8, SFJ_HASH_BYTES);
    return SFJ_OK;
}

static void header_of(uint8_t type, uint8_t flags, uint32_t len,
                      uint8_t hdr[SFJ_FRAME_HDR_BYTES])
{
    hdr[0] = type;
    hdr[1] = flags;
    sfj__put_u32(hdr + 2, len);
}

int sfj__wire_send_sealed(sfj__wire *w, sfj_transport *t, sfj__cipher *c,
                          uint8_t type, size_t len, int timeout_ms)
{
    uint8_t hdr[SFJ_FRAME_HDR_BYTES], *body = sfj__wire_body(w);
    int rc;

    if (c == NULL || len > SFJ_SEALED_MAX_BODY)
        return SFJ_EINVAL;
    body[len] = type;
    header_of(SFJ_MSG_SEALED, 0, (uint32_t)(len + SFJ_SEAL_OVERHEAD), hdr);
    rc = sfj__cipher_seal(c, hdr, sizeof hdr, body, len + 1, body);
    if (rc != SFJ_OK)
        return rc;
    return sfj__wire_send(w, t, SFJ_MSG_SEALED, len + SFJ_SEAL_OVERHEAD,
                          timeout_ms);
}

int sfj__wire_open_sealed(sfj__cipher *c, const sfj__frame *fr, uint8_t *out,
                          uint8_t *type, size_t *len)
{
    uint8_t hdr[SFJ_FRAME_HDR_BYTES];
    size_t n;

    *len = 0;
    *type = 0;
    if (c == NULL || fr->type != SFJ_MSG_SEALED || fr->len < SFJ_SEAL_OVERHEAD)
        return SFJ_EAUTH;
    header_of(fr->type, fr->flags, fr->len, hdr);
    if (sfj__cipher_open(c, hdr, sizeof hdr, fr->body, fr->len, out) != SFJ_OK)
        return SFJ_EAUTH;
    n = fr->len - SFJ_SEAL_OVERHEAD;
    *type = out[n];
    *len = n;
    return SFJ_OK;
}
