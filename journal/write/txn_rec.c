/* The txn record's layouts: the value of a `T` row of the `txns` index.
 *
 * The layout is internal to the library (docs/FORMAT.md: the index is
 * derived from the entries and versioned with the library); its first byte
 * says which one a record uses. Records of both versions are read; every
 * record written is version 2, so a version 1 record is rewritten in
 * version 2 when its txn next changes.
 *
 * Version 1 (written before version 2; read): 116 bytes, big-endian:
 *   u8 1 | u8 state | u16 outcome | u16 rev_status | u16 flags | u32 boot |
 *   u32 repeats | u32 copies | u64 first_seq, last_seq, intent_seq,
 *   last_intent_seq, outcome_seq, offline_seq, receipt_seq, fail_seq,
 *   reprint_seq, reversal_seq, rev_last_seq | i64 first_wall_ms
 *
 * Version 2 (written): 4 to 149 bytes, a closed online sale about 22:
 *   u8 2 | u8 state | varint mask | varint first_seq |
 *   one varint per bit set in mask, in bit order
 * A varint is LEB128: 7 bits a byte, the lowest group first, the top bit
 * set on every byte but the last, at most 10 bytes, no redundant high zero
 * group. A field is present exactly when it is not 0. Mask bits (the ones
 * most txns use first, so that the mask of a sale is 2 bytes):
 *   0 outcome      1 flags        2 boot            3 copies
 *   4 last_seq     5 intent_seq   6 last_intent_seq 7 outcome_seq
 *   8 receipt_seq  9 first_wall_ms 10 offline_seq   11 repeats
 *   12 rev_status  13 fail_seq    14 reprint_seq    15 reversal_seq
 *   16 rev_last_seq
 * A seq field holds (seq - first_seq) mod 2^64 (a txn's events follow its
 * first, so a byte or two); first_wall_ms is zigzag-coded (0, -1, 1, -2 ->
 * 0, 1, 2, 3). A decoder refuses as damaged: another version, a state out
 * of range, a mask bit above 16, a varint that runs past the end, past 64
 * bits or has a redundant zero group, a value too wide for its field, a
 * present field that decodes to 0, bytes after the last field. So each
 * txn state has exactly one encoding. */
#include "journal/write/txn_index.h"

#include <stddef.h>
#include <string.h>

#include "common/bytes.h"
#include "sfj/errors.h"

#define V1 1
#define V2 2

enum {
    F_OUTCOME,
    F_FLAGS,
    F_BOOT,
    F_COPIES,
    F_LAST,
    F_INTENT,
    F_LAST_INTENT,
    F_OUTCOME_SEQ,
    F_RECEIPT,
    F_WALL,
    F_OFFLINE,
    F_REPEATS,
    F_REV_STATUS,
    F_FAIL,
    F_REPRINT,
    F_REVERSAL,
    F_REV_LAST,
    F_COUNT
};

/* The seq fields (stored relative to first_seq). */
#define SEQ_FIELDS                                                             \
    ((1u << F_LAST) | (1u << F_INTENT) | (1u << F_LAST_INTENT) |               \
     (1u << F_OUTCOME_SEQ) | (1u << F_RECEIPT) | (1u << F_OFFLINE) |           \
     (1u << F_FAIL) | (1u << F_REPRINT) | (1u << F_REVERSAL) |                 \
     (1u << F_REV_LAST))

/* Where each field lives in sfj__txnrec, and its width (which bounds the
 * values a decoder accepts). */
#define FIELD(m)                                                               \
    {                                                                          \
        offsetof(sfj__txnrec, m), sizeof(((sfj__txnrec *)0)->m)                \
    }
static const struct {
    size_t off;
    size_t size;
} fields[F_COUNT] = {[F_OUTCOME] = FIELD(outcome),
                     [F_FLAGS] = FIELD(flags),
                     [F_BOOT] = FIELD(boot),
                     [F_COPIES] = FIELD(copies),
                     [F_LAST] = FIELD(last_seq),
                     [F_INTENT] = FIELD(intent_seq),
                     [F_LAST_INTENT] = FIELD(last_intent_seq),
                     [F_OUTCOME_SEQ] = FIELD(outcome_seq),
                     [F_RECEIPT] = FIELD(receipt_seq),
                     [F_WALL] = FIELD(first_wall_ms),
                     [F_OFFLINE] = FIELD(offline_seq),
                     [F_REPEATS] = FIELD(repeats),
                     [F_REV_STATUS] = FIELD(rev_status),
                     [F_FAIL] = FIELD(fail_seq),
                     [F_REPRINT] = FIELD(reprint_seq),
                     [F_REVERSAL] = FIELD(reversal_seq),
                     [F_REV_LAST] = FIELD(rev_last_seq)};

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;

    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* One varint from p[*at..len); 0 when it is damaged (see the top). */
static int get_varint(const uint8_t *p, size_t len, size_t *at, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;

    for (;;) {
        if (*at >= len || shift > 63)
            return 0;
        b = p[(*at)++];
        /* The tenth byte carries the 64th bit only. */
        if (shift == 63 && b > 1)
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    if (b == 0 && shift > 0)
        return 0; /* a redundant high zero group */
    *out = v;
    return 1;
}

static uint64_t field_get(const sfj__txnrec *r, int i)
{
    const unsigned char *p = (const unsigned char *)r + fields[i].off;
    uint16_t v16;
    uint32_t v32;
    uint64_t v64;

    switch (fields[i].size) {
    case 2:
        memcpy(&v16, p, 2);
        return v16;
    case 4:
        memcpy(&v32, p, 4);
        return v32;
    default:
        memcpy(&v64, p, 8);
        return v64;
    }
}

/* Set field i; 0 when `v` does not fit it. */
static int field_set(sfj__txnrec *r, int i, uint64_t v)
{
    unsigned char *p = (unsigned char *)r + fields[i].off;
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;

    switch (fields[i].size) {
    case 2:
        memcpy(p, &v16, 2);
        return v16 == v;
    case 4:
        memcpy(p, &v32, 4);
        return v32 == v;
    default:
        memcpy(p, &v, 8);
        return 1;
    }
}

/* A field's value as stored, and back (seqs relative, wall time zigzag). */
static uint64_t to_stored(int i, uint64_t v, uint64_t first)
{
    if (SEQ_FIELDS & (1u << i))
        return v - first;
    if (i == F_WALL)
        return (v << 1) ^ (uint64_t)((int64_t)v >> 63);
    return v;
}

static uint64_t from_stored(int i, uint64_t s, uint64_t first)
{
    if (SEQ_FIELDS & (1u << i))
        return s + first;
    if (i == F_WALL)
        return (s >> 1) ^ (0 - (s & 1));
    return s;
}

size_t sfj__txnrec_encode(const sfj__txnrec *r,
                          uint8_t out[SFJ__TXNREC_MAX_BYTES])
{
    uint64_t f[F_COUNT], mask = 0;
    size_t n = 0;
    int i;

    for (i = 0; i < F_COUNT; i++) {
        f[i] = field_get(r, i);
        if (f[i] != 0)
            mask |= (uint64_t)1 << i;
    }
    out[n++] = V2;
    out[n++] = r->state;
    n += put_varint(out + n, mask);
    n += put_varint(out + n, r->first_seq);
    for (i = 0; i < F_COUNT; i++)
        if (f[i] != 0)
            n += put_varint(out + n, to_stored(i, f[i], r->first_seq));
    return n;
}

static int decode_v1(const uint8_t *p, size_t len, sfj__txnrec *r)
{
    uint64_t *seqs[11] = {&r->first_seq,       &r->last_seq,    &r->intent_seq,
                          &r->last_intent_seq, &r->outcome_seq, &r->offline_seq,
                          &r->receipt_seq,     &r->fail_seq,    &r->reprint_seq,
                          &r->reversal_seq,    &r->rev_last_seq};
    size_t i;

    if (len != SFJ__TXNREC_V1_BYTES)
        return SFJ_ECORRUPT;
    r->outcome = sfj__get_u16(p + 2);
    r->rev_status = sfj__get_u16(p + 4);
    r->flags = sfj__get_u16(p + 6);
    r->boot = sfj__get_u32(p + 8);
    r->repeats = sfj__get_u32(p + 12);
    r->copies = sfj__get_u32(p + 16);
    for (i = 0; i < 11; i++)
        *seqs[i] = sfj__get_u64(p + 20 + 8 * i);
    r->first_wall_ms = (int64_t)sfj__get_u64(p + 20 + 88);
    return SFJ_OK;
}

static int decode_v2(const uint8_t *p, size_t len, sfj__txnrec *r)
{
    uint64_t mask, s, v;
    size_t at = 2;
    int i;

    if (!get_varint(p, len, &at, &mask) || mask >> F_COUNT != 0 ||
        !get_varint(p, len, &at, &r->first_seq))
        return SFJ_ECORRUPT;
    for (i = 0; i < F_COUNT; i++) {
        if (!(mask & ((uint64_t)1 << i)))
            continue;
        if (!get_varint(p, len, &at, &s))
            return SFJ_ECORRUPT;
        v = from_stored(i, s, r->first_seq);
        if (v == 0 || !field_set(r, i, v))
            return SFJ_ECORRUPT;
    }
    return at == len ? SFJ_OK : SFJ_ECORRUPT;
}

int sfj__txnrec_decode(const uint8_t *p, size_t len, sfj__txnrec *out)
{
    sfj__txnrec r;
    int rc;

    memset(out, 0, sizeof *out);
    if (len < 2 || p[1] == 0 || p[1] > SFJ__TS_REVERSED)
        return SFJ_ECORRUPT;
    memset(&r, 0, sizeof r);
    r.state = p[1];
    rc = p[0] == V2   ? decode_v2(p, len, &r)
         : p[0] == V1 ? decode_v1(p, len, &r)
                      : SFJ_ECORRUPT;
    if (rc == SFJ_OK)
        *out = r;
    return rc;
}
