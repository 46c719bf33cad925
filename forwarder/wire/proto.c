/* Message bodies; see sfj/sys/proto.h and docs/PROTOCOL.md section 3. */
#include "sfj/sys/proto.h"

#include <string.h>

#include "common/bytes.h"
#include "sfj/errors.h"

static int printable(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    }
    return 1;
}

static size_t put_text(uint8_t *p, const char *text)
{
    size_t n = strlen(text);

    if (n > SFJ_PROTO_TEXT_MAX)
        n = SFJ_PROTO_TEXT_MAX;
    p[0] = (uint8_t)n;
    memcpy(p + 1, text, n);
    return 1 + n;
}

/* Copy a length-prefixed text that must end the body exactly; returns 0 or
 * SFJ_EPROTO. Non-printable bytes are replaced, it ends up in logs. */
static int get_text(const uint8_t *p, size_t left, char *out)
{
    size_t n, i;

    if (left < 1 || (size_t)p[0] != left - 1)
        return SFJ_EPROTO;
    n = p[0];
    for (i = 0; i < n; i++)
        out[i] = (p[1 + i] >= 0x20 && p[1 + i] <= 0x7e) ? (char)p[1 + i] : '?';
    out[n] = '\0';
    return SFJ_OK;
}

size_t sfj__hello_encode(const sfj__hello *m, uint8_t *out)
{
    size_t tl = strlen(m->terminal_id), o = 0;

    sfj__put_u16(out, m->version);
    o += 2;
    memcpy(out + o, m->journal_id, SFJ_JOURNAL_ID_BYTES);
    o += SFJ_JOURNAL_ID_BYTES;
    out[o++] = (uint8_t)tl;
    memcpy(out + o, m->terminal_id, tl);
    o += tl;
    sfj__put_u64(out + o, m->first_unacked);
    o += 8;
    sfj__put_u64(out + o, m->last_seq);
    o += 8;
    memcpy(out + o, m->nonce, SFJ_HELLO_NONCE);
    o += SFJ_HELLO_NONCE;
    memcpy(out + o, m->mac, SFJ_MAC_BYTES);
    return o + SFJ_MAC_BYTES;
}

int sfj__hello_decode(const uint8_t *b, size_t n, sfj__hello *m)
{
    size_t tl, o;

    if (n < 2 + SFJ_JOURNAL_ID_BYTES + 1)
        return SFJ_EPROTO;
    tl = b[2 + SFJ_JOURNAL_ID_BYTES];
    if (tl < 1 || tl > SFJ_TERMINAL_ID_MAX ||
        n != 2 + SFJ_JOURNAL_ID_BYTES + 1 + tl + 16 + SFJ_HELLO_NONCE +
                 SFJ_MAC_BYTES)
        return SFJ_EPROTO;
    memset(m, 0, sizeof *m);
    m->version = sfj__get_u16(b);
    memcpy(m->journal_id, b + 2, SFJ_JOURNAL_ID_BYTES);
    o = 2 + SFJ_JOURNAL_ID_BYTES + 1;
    memcpy(m->terminal_id, b + o, tl);
    if (!printable(m->terminal_id, tl))
        return SFJ_EPROTO;
    o += tl;
    m->first_unacked = sfj__get_u64(b + o);
    m->last_seq = sfj__get_u64(b + o + 8);
    o += 16;
    memcpy(m->nonce, b + o, SFJ_HELLO_NONCE);
    memcpy(m->mac, b + o + SFJ_HELLO_NONCE, SFJ_MAC_BYTES);
    return SFJ_OK;
}

size_t sfj__hello_ack_encode(const sfj__hello_ack *m, uint8_t *out)
{
    size_t o = 0;

    sfj__put_u16(out, m->version);
    out[2] = m->status;
    sfj__put_u16(out + 3, m->window);
    sfj__put_u64(out + 5, m->next_seq);
    o = 13;
    memcpy(out + o, m->chain, SFJ_HASH_BYTES);
    o += SFJ_HASH_BYTES;
    memcpy(out + o, m->mac, SFJ_MAC_BYTES);
    o += SFJ_MAC_BYTES;
    return o + put_text(out + o, m->text);
}

int sfj__hello_ack_decode(const uint8_t *b, size_t n, sfj__hello_ack *m)
{
    const size_t fixed = 13 + SFJ_HASH_BYTES + SFJ_MAC_BYTES;

    if (n < fixed + 1)
        return SFJ_EPROTO;
    memset(m, 0, sizeof *m);
    m->version = sfj__get_u16(b);
    m->status = b[2];
    m->window = sfj__get_u16(b + 3);
    m->next_seq = sfj__get_u64(b + 5);
    memcpy(m->chain, b + 13, SFJ_HASH_BYTES);
    memcpy(m->mac, b + 13 + SFJ_HASH_BYTES, SFJ_MAC_BYTES);
    if (m->status == SFJ_HELLO_OK && (m->next_seq == 0 || m->window == 0 ||
                                      m->window > SFJ_PROTO_WINDOW_MAX))
        return SFJ_EPROTO;
    return get_text(b + fixed, n - fixed, m->text);
}

void sfj__entry_head_encode(uint64_t seq, uint8_t *out)
{
    sfj__put_u64(out, seq);
}

uint64_t sfj__entry_head_seq(const uint8_t *body)
{
    return sfj__get_u64(body);
}

size_t sfj__ack_encode(const sfj__ack *m, uint8_t *out)
{
    sfj__put_u64(out, m->seq);
    memcpy(out + 8, m->chain, SFJ_HASH_BYTES);
    memcpy(out + 8 + SFJ_HASH_BYTES, m->mac, SFJ_MAC_BYTES);
    return SFJ_ACK_BODY;
}

int sfj__ack_decode(const uint8_t *b, size_t n, sfj__ack *m)
{
    if (n != SFJ_ACK_BODY)
        return SFJ_EPROTO;
    m->seq = sfj__get_u64(b);
    memcpy(m->chain, b + 8, SFJ_HASH_BYTES);
    memcpy(m->mac, b + 8 + SFJ_HASH_BYTES, SFJ_MAC_BYTES);
    return SFJ_OK;
}

size_t sfj__nak_encode(const sfj__nak *m, uint8_t *out)
{
    sfj__put_u64(out, m->seq);
    out[8] = m->reason;
    return 9 + put_text(out + 9, m->text);
}

int sfj__nak_decode(const uint8_t *b, size_t n, sfj__nak *m)
{
    if (n < 10)
        return SFJ_EPROTO;
    memset(m, 0, sizeof *m);
    m->seq = sfj__get_u64(b);
    m->reason = b[8];
    return get_text(b + 9, n - 9, m->text);
}
