/* Evidence bundle writer; the layout is in sfj/sys/bundle.h and
 * docs/FORMAT.md.
 *
 * Three passes over the journal, each streaming through an iterator:
 * find the txn's records (decrypting each record with its own key), find
 * the first checkpoint after the last of them, then emit every record
 * from the first to that checkpoint, disclosed or as a leaf. When one of
 * the txn's records was compressed with the journal's dictionary, the
 * DICTIONARY record (from meta dict) goes before them. The result
 * goes through sfj__bundle_check before it is handed out, so a damaged
 * journal can never yield a bundle that claims more than it proves. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

typedef struct outbuf {
    uint8_t *p;
    size_t len;
    size_t cap;
    int oom;
} outbuf;

static void put(outbuf *o, const void *data, size_t n)
{
    size_t cap;
    uint8_t *grown;

    if (o->oom)
        return;
    if (o->cap - o->len < n) {
        cap = o->cap ? o->cap : 4096;
        while (cap - o->len < n)
            cap *= 2;
        grown = malloc(cap);
        if (grown == NULL) {
            o->oom = 1;
            return;
        }
        /* Copy and wipe rather than realloc: the buffer holds record
         * keys. */
        if (o->p != NULL) {
            memcpy(grown, o->p, o->len);
            sodium_memzero(o->p, o->cap);
            free(o->p);
        }
        o->p = grown;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void put_u16(outbuf *o, uint16_t v)
{
    uint8_t b[2];

    sfj__put_u16(b, v);
    put(o, b, 2);
}

static void put_u32(outbuf *o, uint32_t v)
{
    uint8_t b[4];

    sfj__put_u32(b, v);
    put(o, b, 4);
}

static void put_u64(outbuf *o, uint64_t v)
{
    uint8_t b[8];

    sfj__put_u64(b, v);
    put(o, b, 8);
}

/* Pass 1: the seqs of every record of `txn_id`; `*dictj` is set when one
 * of them was compressed with the journal's dictionary. */
static int find_txn(sfj_journal *j, const uint8_t *jid, const char *txn_id,
                    uint64_t *seqs, size_t *n, int *dictj, char *reason,
                    size_t cap)
{
    const sfj_keys *keys = sfj__journal_keys(j);
    sfj_iter *it = NULL;
    const uint8_t *rec;
    sfj_entry *e;
    uint64_t seq;
    size_t len;
    int rc;

    *n = 0;
    *dictj = 0;
    rc = sfj_iter_open(j, NULL, &it);
    if (rc != SFJ_OK)
        goto done;
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        if (len >= SFJ_REC_HDR_BYTES &&
            sfj__rec_is_clear(sfj__get_u16(rec + SFJ_REC_OFF_KIND)))
            continue;
        if (len < SFJ_REC_HDR_BYTES) {
            rc = SFJ_ECORRUPT;
        } else {
            rc = sfj__record_open_keys(keys, jid, sfj__journal_dict(j), rec,
                                       len, &e);
        }
        if (rc != SFJ_OK && len >= SFJ_REC_HDR_BYTES &&
            (rec[SFJ_REC_OFF_FLAGS] & SFJ_REC_F_DICTJ) &&
            sfj__journal_dict(j) == NULL) {
            /* A key missing (the journal holds the dictionary, sealed
             * under an epoch no key given opens), or damage. */
            rc = j->dict_epoch != 0 ? SFJ_ENOKEY : SFJ_ECORRUPT;
            if (rc == SFJ_ENOKEY)
                snprintf(reason, cap,
                         "seq %llu is compressed with the journal's "
                         "dictionary, sealed under key epoch %u: give that "
                         "epoch's key file too",
                         (unsigned long long)seq, (unsigned)j->dict_epoch);
            else
                snprintf(reason, cap,
                         "seq %llu is compressed with the journal's "
                         "dictionary, which the journal does not hold (meta "
                         "dict); run sfj-dump --verify",
                         (unsigned long long)seq);
            goto done;
        }
        if (rc == SFJ_ENOKEY) {
            snprintf(reason, cap,
                     "seq %llu is sealed under key epoch %u: give that "
                     "epoch's key file too",
                     (unsigned long long)seq,
                     (unsigned)sfj__get_u32(rec + SFJ_REC_OFF_EPOCH));
            goto done;
        }
        if (rc != SFJ_OK) {
            snprintf(reason, cap,
                     "journal damaged at seq %llu (%s); run sfj-dump --verify",
                     (unsigned long long)seq, sfj_strerror(rc));
            goto done;
        }
        if (e->seq != seq) {
            rc = SFJ_ECORRUPT;
            snprintf(reason, cap, "record stored at seq %llu is out of place",
                     (unsigned long long)seq);
        } else if (strcmp(e->txn_id, txn_id) == 0) {
            if (*n == SFJ_BUNDLE_MAX_RECORDS) {
                rc = SFJ_ELIMIT;
                snprintf(reason, cap, "txn has more than %d records",
                         SFJ_BUNDLE_MAX_RECORDS);
            } else {
                seqs[(*n)++] = seq;
                *dictj |= (rec[SFJ_REC_OFF_FLAGS] & SFJ_REC_F_DICTJ) != 0;
            }
        }
        sfj_entry_free(e);
        if (rc != SFJ_OK)
            goto done;
    }
    if (rc == SFJ_ENOTFOUND)
        rc = *n > 0 ? SFJ_OK : SFJ_ENOTFOUND;
    if (rc == SFJ_ENOTFOUND)
        snprintf(reason, cap, "no entry of txn %s", txn_id);
done:
    sfj_iter_free(it);
    return rc;
}

/* Pass 2: the first checkpoint after `last`, and the public key of the
 * epoch it was signed in. */
static int find_checkpoint(sfj_journal *j, uint64_t last, uint64_t *ckpt,
                           uint8_t *pk)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    size_t len;
    int rc;

    q.from_seq = last + 1;
    q.kind = SFJ_EV_CHECKPOINT;
    rc = sfj_iter_open(j, &q, &it);
    if (rc == SFJ_OK)
        rc = sfj__iter_next_sealed(it, ckpt, &rec, &len);
    if (rc == SFJ_OK)
        rc = len < SFJ_REC_HDR_BYTES ? SFJ_ECORRUPT
             : sfj__journal_pubkey_of(j, sfj__get_u32(rec + SFJ_REC_OFF_EPOCH),
                                      pk) == SFJ_OK
                 ? SFJ_OK
                 : SFJ_ECORRUPT;
    sfj_iter_free(it);
    return rc;
}

/* The dictionary item: the DICTIONARY record as sealed in meta dict (seq
 * 1 itself may have been pruned) with the record key that opens it. */
static int emit_dictionary(sfj_journal *j, const uint8_t *jid, outbuf *o,
                           char *reason, size_t cap)
{
    uint8_t rkey[SFJ_KEY_BYTES], *rec = NULL;
    sfj_entry *e = NULL;
    size_t len = 0;
    int rc;

    rc = sfj__dict_record(j, &rec, &len);
    if (rc == SFJ_ENOTFOUND) {
        rc = SFJ_ECORRUPT;
        snprintf(reason, cap,
                 "the txn's records need the journal's dictionary, but the "
                 "journal holds none (meta dict); run sfj-dump --verify");
        goto done;
    }
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__record_open_ring(sfj__journal_keys(j), jid, NULL, rec, len, &e,
                               rkey);
    if (rc == SFJ_OK && (e->kind != SFJ_EV_DICTIONARY || e->seq != 1))
        rc = SFJ_ECORRUPT;
    if (rc != SFJ_OK) {
        snprintf(reason, cap,
                 "the journal's dictionary (meta dict) is "
                 "damaged; run sfj-dump --verify");
        goto done;
    }
    put(o, rkey, sizeof rkey);
    put_u32(o, (uint32_t)len);
    put(o, rec, len);
done:
    sodium_memzero(rkey, sizeof rkey);
    sfj_entry_free(e);
    free(rec);
    return rc;
}

/* Pass 3: every record from seqs[0] to the checkpoint. */
static int emit_span(sfj_journal *j, const uint64_t *seqs, size_t n,
                     uint64_t ckpt, outbuf *o, char *reason, size_t cap)
{
    const sfj_keys *keys = sfj__journal_keys(j);
    uint8_t rkey[SFJ_KEY_BYTES], leaf[SFJ_HASH_BYTES], tag;
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    sfj_entry *e = NULL;
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    uint64_t seq, expect = seqs[0];
    size_t len, next = 0;
    int rc;

    sfj_journal_id(j, jid);
    q.from_seq = seqs[0];
    q.to_seq = ckpt;
    rc = sfj_iter_open(j, &q, &it);
    if (rc != SFJ_OK)
        goto done;
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        if (seq != expect) {
            rc = SFJ_ECORRUPT;
            snprintf(reason, cap, "journal has a gap at seq %llu",
                     (unsigned long long)expect);
            goto done;
        }
        expect++;
        if (seq == ckpt) {
            put(o, rec, len);
        } else if (next < n && seqs[next] == seq) {
            next++;
            tag = SFJ_BUNDLE_ITEM_RECORD;
            rc = sfj__record_open_ring(keys, jid, sfj__journal_dict(j), rec,
                                       len, &e, rkey);
            sfj_entry_free(e);
            e = NULL;
            if (rc != SFJ_OK) {
                snprintf(reason, cap, "journal damaged at seq %llu (%s)",
                         (unsigned long long)seq, sfj_strerror(rc));
                goto done;
            }
            put(o, &tag, 1);
            put(o, rkey, sizeof rkey);
            put_u32(o, (uint32_t)len);
            put(o, rec, len);
        } else {
            tag = SFJ_BUNDLE_ITEM_LEAF;
            sfj__chain_leaf(rec, len, leaf);
            put(o, &tag, 1);
            put(o, leaf, sizeof leaf);
        }
    }
    if (rc == SFJ_ENOTFOUND)
        rc = expect == ckpt + 1 ? SFJ_OK : SFJ_ECORRUPT;
    if (rc == SFJ_ECORRUPT && reason[0] == '\0')
        snprintf(reason, cap, "journal ends before checkpoint %llu",
                 (unsigned long long)ckpt);
done:
    sodium_memzero(rkey, sizeof rkey);
    sfj_iter_free(it);
    return rc;
}

int sfj__bundle_build(sfj_journal *j, const char *txn_id, uint8_t **out,
                      size_t *len, char *reason, size_t cap)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[32];
    uint64_t *seqs = NULL, ckpt = 0;
    outbuf o = {NULL, 0, 0, 0};
    sfj__bundle check;
    size_t n = 0, tlen;
    uint8_t tl;
    int rc, dictj = 0;

    *out = NULL;
    *len = 0;
    reason[0] = '\0';
    if (j == NULL || txn_id == NULL || sfj__journal_keys(j) == NULL) {
        snprintf(reason, cap, "a bundle needs the journal's master key");
        return SFJ_ESTATE;
    }
    tlen = strlen(txn_id);
    if (tlen == 0 || tlen > SFJ_TXN_ID_MAX) {
        snprintf(reason, cap, "bad txn id");
        return SFJ_EINVAL;
    }
    seqs = malloc(SFJ_BUNDLE_MAX_RECORDS * sizeof *seqs);
    if (seqs == NULL)
        return SFJ_ENOMEM;
    sfj_journal_id(j, jid);
    rc = find_txn(j, jid, txn_id, seqs, &n, &dictj, reason, cap);
    if (rc != SFJ_OK)
        goto done;
    rc = find_checkpoint(j, seqs[n - 1], &ckpt, pk);
    if (rc == SFJ_ENOTFOUND) {
        rc = SFJ_ESTATE;
        snprintf(reason, cap,
                 "txn %s is not sealed yet: no checkpoint after seq %llu "
                 "(the terminal writes one on close and every N entries)",
                 txn_id, (unsigned long long)seqs[n - 1]);
    }
    if (rc != SFJ_OK)
        goto done;
    put(&o, SFJ_BUNDLE_MAGIC, SFJ_BUNDLE_MAGIC_BYTES);
    put_u16(&o, SFJ_BUNDLE_VERSION);
    /* Flags 0 unless the dictionary is needed: such a bundle is what it
     * was before bundles could carry one. */
    put_u16(&o, dictj ? SFJ_BUNDLE_F_DICT : 0);
    put(&o, jid, sizeof jid);
    put(&o, pk, sizeof pk);
    put_u64(&o, seqs[0]);
    put_u64(&o, ckpt);
    tl = (uint8_t)tlen;
    put(&o, &tl, 1);
    put(&o, txn_id, tlen);
    rc = dictj ? emit_dictionary(j, jid, &o, reason, cap) : SFJ_OK;
    if (rc == SFJ_OK)
        rc = emit_span(j, seqs, n, ckpt, &o, reason, cap);
    if (rc == SFJ_OK && o.oom)
        rc = SFJ_ENOMEM;
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__bundle_check(o.p, o.len, pk, &check);
    if (rc != SFJ_OK)
        snprintf(reason, cap, "journal fails its own check: %s", check.reason);
    else if (check.n_events != n)
        rc = SFJ_ECORRUPT;
    sfj__bundle_clear(&check);
done:
    free(seqs);
    if (rc != SFJ_OK && o.p != NULL) {
        sodium_memzero(o.p, o.cap);
        free(o.p);
    } else if (rc == SFJ_OK) {
        *out = o.p;
        *len = o.len;
    }
    return rc;
}
