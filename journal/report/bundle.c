/* Evidence bundle reader; the layout is in sfj/sys/bundle.h and
 * docs/FORMAT.md.
 *
 * The check walks the buffer once, front to back, with a cursor that can
 * only move forward and never past the end. State: the running chain hash
 * `head`, valid from the first disclosed record on. Each hidden item
 * extends it by its leaf; each disclosed record must follow it (its
 * header's prev_chain), sit at its position's seq, open under its record
 * key and belong to the bundle's txn, and then extends it by its own
 * leaf; the closing checkpoint must carry the final head and a valid
 * signature. A bundle of records made with the journal's dictionary
 * carries that dictionary's sealed record after the txn id: it is opened
 * with its record key and not chained, as every record made with it binds
 * the dictionary's id in its tag. Nothing is reported as disclosed unless
 * the whole check passes. */
#include "sfj/sys/bundle.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/compress.h"
#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"

#define FIXED_HEAD_BYTES (SFJ_BUNDLE_MAGIC_BYTES + 2 + 2 + 16 + 32 + 8 + 8 + 1)
#define CKPT_BYTES       (SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES)
/* Smallest item: a tag and a leaf. */
#define MIN_ITEM_BYTES (1 + SFJ_HASH_BYTES)

typedef struct cursor {
    const uint8_t *buf;
    size_t len;
    size_t off;
} cursor;

static int take(cursor *c, size_t n, const uint8_t **p)
{
    if (c->len - c->off < n)
        return 0;
    *p = c->buf + c->off;
    c->off += n;
    return 1;
}

/* A record_key, a u32 length and a sealed record of that length: 1, or 0
 * when the buffer ends inside the key or length, -1 for a length no sealed
 * record has or the buffer cannot hold. */
static int take_sealed(cursor *c, const uint8_t **key, const uint8_t **rec,
                       size_t *len)
{
    if (!take(c, SFJ_KEY_BYTES + 4, key))
        return 0;
    *len = sfj__get_u32(*key + SFJ_KEY_BYTES);
    if (*len < SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES ||
        *len > SFJ_REC_MAX_BYTES || !take(c, *len, rec))
        return -1;
    return 1;
}

static int fail(sfj__bundle *b, size_t off, int rc, const char *fmt,
                unsigned long long seq)
{
    b->bad_offset = off;
    snprintf(b->reason, sizeof b->reason, fmt, seq);
    return rc;
}

void sfj__bundle_clear(sfj__bundle *b)
{
    size_t i;

    if (b == NULL)
        return;
    for (i = 0; i < b->n_events; i++)
        sfj_entry_free(b->events[i]);
    free(b->events);
    sodium_memzero(b, sizeof *b);
}

static int check_header(cursor *c, const uint8_t *pin, sfj__bundle *b)
{
    const uint8_t *p;
    size_t i, n;

    if (!take(c, FIXED_HEAD_BYTES, &p) ||
        memcmp(p, SFJ_BUNDLE_MAGIC, SFJ_BUNDLE_MAGIC_BYTES) != 0)
        return fail(b, 0, SFJ_ECORRUPT, "not an sfj evidence bundle%.0llu", 0);
    b->version = sfj__get_u16(p + 8);
    if (b->version != SFJ_BUNDLE_VERSION)
        return fail(b, 8, SFJ_EVERSION, "unsupported bundle version %llu",
                    b->version);
    b->flags = sfj__get_u16(p + 10);
    if ((b->flags & ~SFJ_BUNDLE_F_KNOWN) != 0)
        return fail(b, 10, SFJ_ECORRUPT, "unknown bundle flags %llu", b->flags);
    memcpy(b->journal_id, p + 12, SFJ_JOURNAL_ID_BYTES);
    memcpy(b->pubkey, p + 28, 32);
    b->first_seq = sfj__get_u64(p + 60);
    b->ckpt_seq = sfj__get_u64(p + 68);
    n = p[76];
    if (pin != NULL && sodium_memcmp(pin, b->pubkey, 32) != 0)
        return fail(b, 28, SFJ_EAUTH,
                    "bundle is signed for another public key than the "
                    "pinned one%.0llu",
                    0);
    if (b->first_seq == 0 || b->ckpt_seq <= b->first_seq)
        return fail(b, 60, SFJ_ECORRUPT, "impossible seq span%.0llu", 0);
    if (n == 0 || n > SFJ_TXN_ID_MAX || !take(c, n, &p))
        return fail(b, 76, SFJ_ECORRUPT, "bad txn id length %llu", n);
    for (i = 0; i < n; i++) {
        if (p[i] < 0x21 || p[i] > 0x7e)
            return fail(b, 77 + i, SFJ_ECORRUPT,
                        "txn id is not printable%.0llu", 0);
    }
    memcpy(b->txn_id, p, n);
    b->txn_id[n] = '\0';
    return SFJ_OK;
}

static int add_event(sfj__bundle *b, sfj_entry *e)
{
    sfj_entry **grown;

    if (b->n_events == SFJ_BUNDLE_MAX_RECORDS)
        return SFJ_ELIMIT;
    grown = realloc(b->events, (b->n_events + 1) * sizeof *grown);
    if (grown == NULL)
        return SFJ_ENOMEM;
    b->events = grown;
    b->events[b->n_events++] = e;
    return SFJ_OK;
}

/* The dictionary item (flag 1): the journal's DICTIONARY record, seq 1,
 * kind 10, opened with its record key under this bundle's journal id.
 * Its bytes are not in the chain: what binds them is its own tag, and the
 * dictionary's id in the tag of every record made with it, so another
 * dictionary makes those records fail. */
static int check_dictionary(cursor *c, sfj__bundle *b, sfj__dict **dict)
{
    const uint8_t *key, *rec;
    size_t at = c->off, len;
    sfj__rec_hdr h;
    sfj_entry *e = NULL;
    int rc;

    rc = take_sealed(c, &key, &rec, &len);
    if (rc == 0)
        return fail(b, at, SFJ_ECORRUPT,
                    "bundle flags say a dictionary follows, but the bundle "
                    "ends inside it%.0llu",
                    0);
    if (rc < 0)
        return fail(b, at + SFJ_KEY_BYTES, SFJ_ECORRUPT,
                    "bad dictionary item length (missing or cut "
                    "short)%.0llu",
                    0);
    at = c->off - len;
    if (sfj__rec_hdr_decode(rec, len, &h) != SFJ_OK)
        return fail(b, at, SFJ_ECORRUPT, "damaged dictionary item header%.0llu",
                    0);
    if (h.kind != SFJ_EV_DICTIONARY || h.seq != 1)
        return fail(b, at, SFJ_ECORRUPT,
                    "the dictionary item is not a DICTIONARY record at seq "
                    "1%.0llu",
                    0);
    rc = sfj__rec_open(b->journal_id, key, NULL, rec, len, &e);
    if (rc == SFJ_OK) {
        rc = sfj__dict_make(e->payload, e->payload_len, dict);
        b->dict_len = e->payload_len;
        sfj_entry_free(e);
    }
    if (rc == SFJ_ENOMEM)
        return fail(b, at, rc, "out of memory%.0llu", 0);
    if (rc != SFJ_OK)
        return fail(b, at, rc == SFJ_EAUTH ? SFJ_EAUTH : SFJ_ECORRUPT,
                    rc == SFJ_EAUTH
                        ? "the dictionary item fails authentication (record, "
                          "record key or journal id altered)%.0llu"
                        : "the dictionary item cannot be decoded%.0llu",
                    0);
    return SFJ_OK;
}

/* One disclosed record at `seq`; `head` is the chain before it (NULL for
 * the first, whose prev_chain starts the chain); `dict` the carried
 * dictionary or NULL, `*dict_used` counts the records made with it. */
static int check_record(cursor *c, uint64_t seq, uint8_t *head, int first,
                        const sfj__dict *dict, size_t *dict_used,
                        sfj__bundle *b)
{
    const uint8_t *key, *rec;
    size_t at = c->off, len;
    uint8_t leaf[SFJ_HASH_BYTES];
    sfj__rec_hdr h;
    sfj_entry *e = NULL;
    int rc, dictj;

    rc = take_sealed(c, &key, &rec, &len);
    if (rc == 0)
        return fail(b, at, SFJ_ECORRUPT, "bundle cut short at seq %llu", seq);
    if (rc < 0)
        return fail(b, at + 1 + SFJ_KEY_BYTES, SFJ_ECORRUPT,
                    "bad record length at seq %llu", seq);
    at = c->off - len;
    if (sfj__rec_hdr_decode(rec, len, &h) != SFJ_OK ||
        h.kind == SFJ_EV_CHECKPOINT)
        return fail(b, at, SFJ_ECORRUPT, "damaged record header at seq %llu",
                    seq);
    if (h.seq != seq)
        return fail(b, at + 8, SFJ_EAUTH,
                    "record out of place: position seq %llu holds another "
                    "seq",
                    seq);
    if (first)
        memcpy(head, h.prev_chain, SFJ_HASH_BYTES);
    else if (memcmp(h.prev_chain, head, SFJ_HASH_BYTES) != 0)
        return fail(b, at + SFJ_REC_OFF_PREV, SFJ_EAUTH,
                    "hash chain broken before seq %llu", seq);
    dictj = (h.flags & SFJ_REC_F_DICTJ) != 0;
    if (dictj && dict == NULL)
        return fail(b, at, SFJ_ECORRUPT,
                    "record %llu was compressed with the journal's "
                    "dictionary: the bundle does not carry the journal's "
                    "dictionary",
                    seq);
    rc = sfj__rec_open(b->journal_id, key, dict, rec, len, &e);
    if (rc == SFJ_ENOMEM)
        return fail(b, at, rc, "out of memory at seq %llu", seq);
    if (rc != SFJ_OK)
        return fail(b, at, rc == SFJ_EAUTH ? SFJ_EAUTH : SFJ_ECORRUPT,
                    rc != SFJ_EAUTH ? "record %llu cannot be decoded"
                    : dictj
                        ? "record %llu fails authentication with the "
                          "bundle's dictionary (not the one it was made "
                          "with, or record, record key or journal id "
                          "altered)"
                        : "record %llu fails authentication (record, record "
                          "key or journal id altered)",
                    seq);
    *dict_used += (size_t)dictj;
    if (strcmp(e->txn_id, b->txn_id) != 0) {
        sfj_entry_free(e);
        return fail(b, at, SFJ_EAUTH,
                    "record %llu belongs to another transaction", seq);
    }
    rc = add_event(b, e);
    if (rc != SFJ_OK) {
        sfj_entry_free(e);
        return fail(b, at, rc, "too many records (at seq %llu)", seq);
    }
    sfj__chain_leaf(rec, len, leaf);
    sfj__chain_next(head, leaf, head);
    return SFJ_OK;
}

static int check_checkpoint(cursor *c, const uint8_t *head, sfj__bundle *b)
{
    const uint8_t *rec;
    size_t at = c->off;
    sfj__rec_hdr h;
    int rc;

    if (!take(c, CKPT_BYTES, &rec))
        return fail(b, at, SFJ_ECORRUPT, "checkpoint %llu missing or short",
                    b->ckpt_seq);
    if (sfj__rec_hdr_decode(rec, CKPT_BYTES, &h) != SFJ_OK ||
        h.kind != SFJ_EV_CHECKPOINT)
        return fail(b, at, SFJ_ECORRUPT, "damaged checkpoint header (seq %llu)",
                    b->ckpt_seq);
    if (h.seq != b->ckpt_seq)
        return fail(b, at + 8, SFJ_EAUTH,
                    "checkpoint seq differs from the bundle's %llu",
                    b->ckpt_seq);
    if (memcmp(h.prev_chain, head, SFJ_HASH_BYTES) != 0)
        return fail(b, at + SFJ_REC_OFF_PREV, SFJ_EAUTH,
                    "hash chain does not lead to checkpoint %llu: a record "
                    "or hash was altered",
                    b->ckpt_seq);
    rc = sfj__rec_checkpoint_verify(b->journal_id, b->pubkey, rec, CKPT_BYTES,
                                    &b->ckpt_boot);
    if (rc != SFJ_OK)
        return fail(b, at, SFJ_EAUTH,
                    "checkpoint %llu signature invalid (checkpoint, journal "
                    "id or public key altered)",
                    b->ckpt_seq);
    b->ckpt_wall_ms = h.wall_ms;
    if (c->off != c->len)
        return fail(b, c->off, SFJ_ECORRUPT,
                    "trailing bytes after checkpoint %llu", b->ckpt_seq);
    return SFJ_OK;
}

int sfj__bundle_check(const uint8_t *buf, size_t len, const uint8_t *pin,
                      sfj__bundle *out)
{
    cursor c = {buf, len, 0};
    uint8_t head[SFJ_HASH_BYTES];
    sfj__dict *dict = NULL;
    const uint8_t *p;
    uint64_t seq;
    size_t at, dict_at = 0, dict_used = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (buf == NULL) {
        rc = fail(out, 0, SFJ_ECORRUPT, "empty bundle%.0llu", 0);
        goto done;
    }
    rc = check_header(&c, pin, out);
    if (rc == SFJ_OK && (out->flags & SFJ_BUNDLE_F_DICT)) {
        dict_at = c.off;
        rc = check_dictionary(&c, out, &dict);
    }
    /* Bound the walk by what the buffer can hold before looping. */
    if (rc == SFJ_OK &&
        (out->ckpt_seq - out->first_seq) > (c.len - c.off) / MIN_ITEM_BYTES)
        rc = fail(out, 68, SFJ_ECORRUPT,
                  "bundle too short for its seq span%.0llu", 0);
    if (rc != SFJ_OK)
        goto done;
    for (seq = out->first_seq; seq < out->ckpt_seq; seq++) {
        at = c.off;
        if (!take(&c, 1, &p)) {
            rc = fail(out, at, SFJ_ECORRUPT, "bundle cut short at seq %llu",
                      seq);
            goto done;
        }
        if (*p == SFJ_BUNDLE_ITEM_RECORD) {
            rc = check_record(&c, seq, head, seq == out->first_seq, dict,
                              &dict_used, out);
        } else if (*p == SFJ_BUNDLE_ITEM_LEAF && seq != out->first_seq) {
            if (take(&c, SFJ_HASH_BYTES, &p))
                sfj__chain_next(head, p, head);
            else
                rc = fail(out, at, SFJ_ECORRUPT, "bundle cut short at seq %llu",
                          seq);
            out->hidden++;
        } else {
            rc = fail(out, at, SFJ_ECORRUPT, "bad item tag at seq %llu", seq);
        }
        if (rc != SFJ_OK)
            goto done;
    }
    /* A dictionary is disclosed only for the records that need it. */
    if (dict != NULL && dict_used == 0) {
        rc = fail(out, dict_at, SFJ_ECORRUPT,
                  "the bundle carries a dictionary that none of its records "
                  "was made with%.0llu",
                  0);
        goto done;
    }
    rc = check_checkpoint(&c, head, out);
done:
    sodium_memzero(head, sizeof head);
    sfj__dict_free(dict);
    if (rc != SFJ_OK) {
        char reason[sizeof out->reason];
        size_t bad = out->bad_offset;

        memcpy(reason, out->reason, sizeof reason);
        sfj__bundle_clear(out);
        memcpy(out->reason, reason, sizeof reason);
        out->bad_offset = bad;
    }
    return rc;
}
