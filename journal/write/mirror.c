/* Mirror journals for sfj-host: sealed records stored exactly as the
 * terminal sent them, after checking that they extend the chain.
 *
 * Invariant: a mirror's entries are always a prefix of the terminal's
 * journal: seq dense from the first stored, each header's prev_chain equal
 * to the chain head before it, every checkpoint signed by the terminal. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

typedef struct put_arg {
    uint64_t first_seq;
    const uint8_t *const *recs;
    const size_t *lens;
    size_t n;
    size_t stored;
    /* The key in force as the batch goes, and the key history after the
     * rotations it stored (NULL: none). */
    uint32_t epoch;
    uint8_t pk[32];
    uint8_t *hist;
    size_t hist_n;
} put_arg;

/* A record at or below the head: accept an identical resend, refuse a
 * different one (someone rewrote history). */
static int check_duplicate(sfj__wctx *w, uint64_t seq, const uint8_t *rec,
                           size_t len)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(w->j, kbuf, seq), v;
    int mrc = mdb_get(w->txn, w->j->db_entries, &k, &v);

    if (mrc == MDB_NOTFOUND)
        return SFJ_OK; /* pruned here: nothing left to compare */
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(w->j, mrc, "mirror duplicate");
    if (v.mv_size != len || memcmp(v.mv_data, rec, len) != 0) {
        sfj__set_err(w->j, "seq %llu differs from the copy already held",
                     (unsigned long long)seq);
        return SFJ_EAUTH;
    }
    return SFJ_OK;
}

/* A key rotation record was stored: the key history, epoch and public key
 * change in the same commit, and the records after it in the batch are
 * checked under the new key. */
static int follow_rotation(sfj__wctx *w, put_arg *a, const uint8_t *rec,
                           const uint8_t *pk)
{
    sfj_journal *j = w->j;
    uint32_t epoch = sfj__get_u32(rec + SFJ_REC_OFF_EPOCH) + 1;
    uint8_t *hist = NULL;
    size_t n = 0;
    int rc;

    if (epoch != a->epoch + 1) {
        sfj__set_err(j, "key rotation to epoch %u, but epoch %u is in force",
                     (unsigned)epoch, (unsigned)a->epoch);
        return SFJ_EPROTO;
    }
    rc = sfj__keyhist_put(j, w->txn, a->hist ? a->hist : j->keyhist,
                          a->hist ? a->hist_n : j->keyhist_n, epoch, pk, &hist,
                          &n);
    if (rc != SFJ_OK)
        return rc;
    free(a->hist);
    a->hist = hist;
    a->hist_n = n;
    a->epoch = epoch;
    memcpy(a->pk, pk, sizeof a->pk);
    return SFJ_OK;
}

static int put_one(sfj__wctx *w, put_arg *a, uint64_t seq, const uint8_t *rec,
                   size_t len)
{
    sfj_journal *j = w->j;
    uint8_t rot_pk[32];
    int rc, ckpt = 0;

    if (seq <= w->last_seq)
        return check_duplicate(w, seq, rec, len);
    if (seq != w->last_seq + 1) {
        sfj__set_err(j, "seq %llu leaves a gap after %llu",
                     (unsigned long long)seq, (unsigned long long)w->last_seq);
        return SFJ_ESTATE;
    }
    rc = sfj__record_extends(j->journal_id, a->pk, w->head, seq, rec, len, NULL,
                             &ckpt, rot_pk);
    if (rc == SFJ_ESTATE) {
        sfj__set_err(j, "seq %llu does not extend the chain",
                     (unsigned long long)seq);
        return SFJ_EPROTO;
    }
    if (rc == SFJ_EAUTH) {
        sfj__set_err(
            j, "seq %llu: %s signature is invalid", (unsigned long long)seq,
            sfj__rec_is_clear(sfj__get_u16(rec + SFJ_REC_OFF_KIND)) &&
                    sfj__get_u16(rec + SFJ_REC_OFF_KIND) == SFJ_EV_KEY_ROTATION
                ? "key rotation"
                : "checkpoint");
        return SFJ_EAUTH;
    }
    if (rc != SFJ_OK) {
        sfj__set_err(j, "seq %llu: damaged record", (unsigned long long)seq);
        return rc;
    }
    rc = sfj__wctx_put_entry(w, rec, len);
    /* The terminal journal's dictionary: kept where a reader with the key
     * looks for it, as in the terminal's own journal. */
    if (rc == SFJ_OK && seq == 1 &&
        sfj__get_u16(rec + SFJ_REC_OFF_KIND) == SFJ_EV_DICTIONARY)
        rc = sfj__meta_put(j, w->txn, SFJ__META_DICT, rec, len);
    if (rc == SFJ_OK && ckpt == 1) {
        rc = sfj__meta_put_u64(j, w->txn, SFJ__META_CKPT, seq);
        w->last_ckpt = seq;
    }
    /* The terminal moved to a new key, vouched for by the key in force:
     * the mirror holds the new one from this record on. */
    if (rc == SFJ_OK && ckpt == 2)
        rc = follow_rotation(w, a, rec, rot_pk);
    return rc;
}

/* Logical refusals stop the batch but keep what was stored before them;
 * they never write, so the transaction stays good. */
static int apply_put(sfj__wctx *w, void *varg)
{
    put_arg *a = varg;
    int rc = SFJ_OK;

    /* A retried batch starts again from the key in force. */
    free(a->hist);
    a->hist = NULL;
    a->epoch = w->j->epoch;
    sfj__journal_pubkey(w->j, a->pk);
    for (a->stored = 0; a->stored < a->n; a->stored++) {
        rc = put_one(w, a, a->first_seq + a->stored, a->recs[a->stored],
                     a->lens[a->stored]);
        if (rc != SFJ_OK)
            break;
    }
    return rc;
}

/* Read meta `epoch`, `pubkey` and `keys` again into the handle, after a
 * batch that stored a rotation record. */
static int keyhist_reload(sfj_journal *j)
{
    MDB_val k = {strlen(SFJ__META_PUBKEY), (void *)SFJ__META_PUBKEY}, v;
    MDB_txn *txn;
    uint64_t epoch = 0;
    int rc, mrc;

    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_EPOCH, &epoch);
    mrc = mdb_get(txn, j->db_meta, &k, &v);
    if (rc == SFJ_OK && (mrc != MDB_SUCCESS || v.mv_size != 32 || epoch == 0 ||
                         epoch > UINT32_MAX))
        rc = SFJ_ECORRUPT;
    if (rc == SFJ_OK) {
        pthread_mutex_lock(&j->lock);
        j->epoch = (uint32_t)epoch;
        memcpy(j->pubkey, v.mv_data, sizeof j->pubkey);
        rc = sfj__keyhist_load(j, txn);
        pthread_mutex_unlock(&j->lock);
    }
    sfj__read_end(j, txn);
    return rc;
}

int sfj__mirror_put_batch(sfj_journal *j, uint64_t first_seq,
                          const uint8_t *const *recs, const size_t *lens,
                          size_t n, size_t *stored)
{
    put_arg a;
    int rc;

    if (stored != NULL)
        *stored = 0;
    if (j == NULL || !j->mirror || j->rdonly || first_seq == 0 ||
        (n > 0 && (recs == NULL || lens == NULL)))
        return SFJ_EINVAL;
    memset(&a, 0, sizeof a);
    a.first_seq = first_seq;
    a.recs = recs;
    a.lens = lens;
    a.n = n;
    rc = sfj__commit(j, apply_put, &a);
    /* Whether the refused tail left the stored head committed or the
     * commit failed, meta holds the truth about the key in force. */
    if (a.hist != NULL) {
        free(a.hist);
        if (keyhist_reload(j) != SFJ_OK && rc == SFJ_OK)
            rc = SFJ_EIO;
    }
    if (stored != NULL && rc == SFJ_OK)
        *stored = a.stored;
    else if (stored != NULL) {
        /* What the mirror holds now, not how far the apply got: a commit
         * that failed (the cap, I/O) kept none of what it walked. */
        uint64_t head = 0;

        if (sfj__journal_head(j, &head, NULL) == SFJ_OK && head >= first_seq)
            *stored = head - first_seq + 1 < a.stored
                          ? (size_t)(head - first_seq + 1)
                          : a.stored;
    }
    return rc;
}

int sfj__mirror_put(sfj_journal *j, uint64_t seq, const uint8_t *rec,
                    size_t len)
{
    return sfj__mirror_put_batch(j, seq, &rec, &len, 1, NULL);
}
