/* Mirror journals for sfj-host: sealed records stored exactly as the
 * terminal sent them, after checking that they extend the chain.
 *
 * Invariant: a mirror's entries are always a prefix of the terminal's
 * journal: seq dense from the first stored, each header's prev_chain equal
 * to the chain head before it, every checkpoint signed by the terminal. */
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
} put_arg;

/* A record at or below the head: accept an identical resend, refuse a
 * different one (someone rewrote history). */
static int check_duplicate(sfj__wctx *w, uint64_t seq, const uint8_t *rec,
                           size_t len)
{
    uint8_t kbuf[8];
    MDB_val k = sfj__seq_key(kbuf, seq), v;
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

static int put_one(sfj__wctx *w, uint64_t seq, const uint8_t *rec, size_t len)
{
    sfj_journal *j = w->j;
    int rc, ckpt = 0;

    if (seq <= w->last_seq)
        return check_duplicate(w, seq, rec, len);
    if (seq != w->last_seq + 1) {
        sfj__set_err(j, "seq %llu leaves a gap after %llu",
                     (unsigned long long)seq, (unsigned long long)w->last_seq);
        return SFJ_ESTATE;
    }
    rc = sfj__record_extends(j->journal_id, j->pubkey, w->head, seq, rec, len,
                             NULL, &ckpt);
    if (rc == SFJ_ESTATE) {
        sfj__set_err(j, "seq %llu does not extend the chain",
                     (unsigned long long)seq);
        return SFJ_EPROTO;
    }
    if (rc == SFJ_EAUTH) {
        sfj__set_err(j, "seq %llu: checkpoint signature is invalid",
                     (unsigned long long)seq);
        return SFJ_EAUTH;
    }
    if (rc != SFJ_OK) {
        sfj__set_err(j, "seq %llu: damaged record", (unsigned long long)seq);
        return rc;
    }
    rc = sfj__wctx_put_entry(w, rec, len);
    if (rc == SFJ_OK && ckpt) {
        rc = sfj__meta_put_u64(j, w->txn, SFJ__META_CKPT, seq);
        w->last_ckpt = seq;
    }
    return rc;
}

/* Logical refusals stop the batch but keep what was stored before them;
 * they never write, so the transaction stays good. */
static int apply_put(sfj__wctx *w, void *varg)
{
    put_arg *a = varg;
    int rc = SFJ_OK;

    for (a->stored = 0; a->stored < a->n; a->stored++) {
        rc = put_one(w, a->first_seq + a->stored, a->recs[a->stored],
                     a->lens[a->stored]);
        if (rc != SFJ_OK)
            break;
    }
    return rc;
}

int sfj__mirror_put_batch(sfj_journal *j, uint64_t first_seq,
                          const uint8_t *const *recs, const size_t *lens,
                          size_t n, size_t *stored)
{
    put_arg a = {first_seq, recs, lens, n, 0};
    int rc;

    if (stored != NULL)
        *stored = 0;
    if (j == NULL || !j->mirror || j->rdonly || first_seq == 0 ||
        (n > 0 && (recs == NULL || lens == NULL)))
        return SFJ_EINVAL;
    rc = sfj__commit(j, apply_put, &a);
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
