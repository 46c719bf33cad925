/* The txn index overlay's life (rows: txn_ovmap.h).
 *
 * Appends of the txn kinds write their index rows into the overlay, not
 * into LMDB, so that their commit dirties only what a raw put dirties.
 * The index stays derived state: an entry is durable when sfj_append
 * returns; its index rows follow in a later commit.
 *
 * When rows are persisted (sfj__txi_before_commit, in the commit that
 * triggers it, so rows and entries never disagree on disk):
 *   - with every checkpoint (every `checkpoint_every` entries, 1000 by
 *     default, and the closing one);
 *   - on close, even without a checkpoint to write;
 *   - when the rows pass SFJ__TXI_ROWS_MAX (1024 rows, about 150 KiB);
 *   - when persisting them would copy SFJ__TXI_PAGES_MAX pages of a big
 *     index (persist_outgrows: LMDB's free list stays in one leaf);
 *   - when retention prunes entries after the persisted position.
 * There is no idle timer: the library runs no thread of its own for the
 * journal, and the bounds above already cap what a crash leaves to
 * replay (at most a checkpoint interval of entries, or the rows bound).
 *
 * After a crash the persisted index's position (meta "to2", or "to" in
 * an index written before txn record version 2) is behind the
 * entries; sfj__txi_sync replays the entries after it into the overlay,
 * through the same update an append makes (sfj__txn_index_step). Every
 * handle does this for itself: a read-only handle or another process
 * reads the persisted index plus what it replayed from the tail, and
 * starts again from the persisted index whenever its position moves.
 *
 * Locking: `mu` is held by the commit leader for its whole batch (sync,
 * the appends' checks and rows, the commit, the bookkeeping after it) and
 * by every reader of the index around its read transaction
 * (sfj__txi_read_begin), so a reader never sees rows of an uncommitted
 * batch, nor a persisted batch without its rows or the reverse. Order:
 * `mu` before the map lock. */
#include "common/check.h"

#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_rules.h"
#include "journal/write/txn_tail.h"
#include "sfj/errors.h"

#ifdef SFJ_CHECKS
static int assert_txi_state(const sfj__txi *t)
{
    size_t i;

    assert(t->n <= t->cap);
    assert(!t->valid || t->upto >= t->base || !t->base_found);
    for (i = 1; i < t->n; i++)
        assert(sfj__txi_keycmp(
                   sfj__txi_at(t, i - 1)->key, sfj__txi_at(t, i - 1)->klen,
                   sfj__txi_at(t, i)->key, sfj__txi_at(t, i)->klen) < 0);
    return 1;
}
#endif

int sfj__txi_attach(sfj_journal *j)
{
    if (j->keys == NULL || j->mirror || j->acks_only || j->txi != NULL)
        return SFJ_OK;
    return sfj__txi_new(&j->txi);
}

void sfj__txi_detach(sfj_journal *j)
{
    sfj__txi_free(j->txi);
    j->txi = NULL;
}

void sfj__txi_lock(sfj_journal *j)
{
    if (j->txi != NULL)
        pthread_mutex_lock(&j->txi->mu);
}

void sfj__txi_unlock(sfj_journal *j)
{
    if (j->txi != NULL)
        pthread_mutex_unlock(&j->txi->mu);
}

/* One entry of the tail into the overlay. A record that does not open is
 * noted (the first one) and skipped: the rest still counts. */
static int replay_entry(sfj_journal *j, MDB_txn *txn, uint64_t seq,
                        const MDB_val *v)
{
    sfj__txi *t = j->txi;
    sfj__rec_hdr h;
    sfj_entry *e = NULL;
    sfj__txn_ev ev;
    int rc;

    rc = sfj__rec_hdr_decode(v->mv_data, v->mv_size, &h);
    if (rc == SFJ_OK && !sfj__txn_indexed_kind(h.kind))
        return SFJ_OK;
    if (rc == SFJ_OK)
        rc = sfj__entry_from_record(j, seq, v->mv_data, v->mv_size, &e);
    if (rc != SFJ_OK) {
        if (t->bad_seq == 0) {
            t->bad_seq = seq;
            t->bad_rc = rc == SFJ_EAUTH ? SFJ_EAUTH : SFJ_ECORRUPT;
        }
        return rc == SFJ_ENOMEM ? rc : SFJ_OK;
    }
    sfj__txn_ev_of_entry(e, &ev);
    rc = sfj__txn_index_step(j, txn, &ev, seq);
    sfj_entry_free(e);
    t->replayed++;
    return rc;
}

int sfj__txi_sync(sfj_journal *j, MDB_txn *txn, uint64_t last_seq)
{
    sfj__txi *t = j->txi;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    MDB_cursor_op op = MDB_SET_RANGE;
    uint64_t to = 0, seq;
    int rc, mrc, found = 0;

    if (t == NULL)
        return SFJ_OK;
    rc = sfj__txn_pos_get(j, txn, 1, &to, &found);
    if (rc != SFJ_OK)
        return rc;
    t->replayed = 0;
    if (!t->valid || found != t->base_found || to != t->base) {
        sfj__txi_clear(t);
        t->valid = 1;
        t->base_found = found;
        t->base = t->upto = to;
        t->bad_seq = 0;
        t->bad_rc = 0;
    }
    /* No position at all: only a full rebuild helps (sfj__txn_catch_up). */
    if (!t->base_found || (last_seq != SFJ__SEQ_UNKNOWN && t->upto >= last_seq))
        return SFJ_OK;
    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    k = sfj__entry_key(j, kbuf, t->upto + 1);
    while ((mrc = sfj__entries_get(j, cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (!sfj__entry_seq(j, &k, &seq))
            break;
        rc = replay_entry(j, txn, seq, &v);
        if (rc != SFJ_OK)
            break;
        t->upto = seq;
    }
    mdb_cursor_close(cur);
    if (rc == SFJ_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
    /* A half-replayed overlay must not be taken for a whole one. */
    if (rc != SFJ_OK)
        t->valid = 0;
    assert(assert_txi_state(t));
    return rc;
}

int sfj__txi_read_begin(sfj_journal *j, MDB_txn **txn)
{
    int rc;

    sfj__txi_lock(j);
    rc = sfj__read_begin(j, txn);
    if (rc == SFJ_OK) {
        rc = sfj__txi_sync(j, *txn, SFJ__SEQ_UNKNOWN);
        if (rc != SFJ_OK)
            sfj__read_end(j, *txn);
    }
    if (rc != SFJ_OK)
        sfj__txi_unlock(j);
    return rc;
}

void sfj__txi_read_end(sfj_journal *j, MDB_txn *txn)
{
    sfj__read_end(j, txn);
    sfj__txi_unlock(j);
}

void sfj__txi_want_flush(sfj_journal *j)
{
    if (j->txi != NULL)
        j->txi->flush_due = 1;
}

uint64_t sfj__txi_base(sfj_journal *j)
{
    if (j->txi == NULL)
        return UINT64_MAX;
    return j->txi->valid && j->txi->base_found ? j->txi->base : 0;
}

/* Distinct pages that `keys` random keys fall into among `pages`:
 * pages * (1 - e^(-keys/pages)), over-estimated (never under) by the
 * rational 2kp / (2p + k), capped at both counts. */
static uint64_t pages_hit(uint64_t keys, uint64_t pages)
{
    uint64_t hit;

    if (keys == 0 || pages == 0)
        return 0;
    hit = 2 * keys * pages / (2 * pages + keys);
    if (hit > pages)
        hit = pages;
    return hit > keys ? keys : hit;
}

/* Would persisting the rows now copy more than SFJ__TXI_PAGES_MAX pages
 * of `txns`?  Txn records sit under a keyed hash, so in a big index each
 * lands in a leaf of its own, and a persist copies about one leaf (and
 * its branch) per txn. LMDB lists the pages a commit frees in one record
 * of its free list and writes what it has not reused back with every
 * later commit: once that list outgrows a page node (about 250 page
 * numbers) every commit rewrites an overflow page for it, 2 to 3 pages
 * more per append on a journal of 100,000 entries (docs/PERFORMANCE.md,
 * "The txn index on a grown journal"). Persisting before the copies pass
 * that keeps the free list inside its leaf. */
static int persist_outgrows(sfj_journal *j, MDB_txn *txn, const sfj__txi *t)
{
    static const uint8_t txn_tag[1] = {SFJ__TXK_TXN},
                         after_txn_tag[1] = {SFJ__TXK_TXN + 1};
    MDB_stat st;
    uint64_t hashed, leaves, others;

    /* Each row copies at most a leaf and a branch, and a persist at most
     * the whole index: a young one stops here. */
    if (2 * (uint64_t)t->n + 2 < SFJ__TXI_PAGES_MAX ||
        mdb_stat(txn, j->db_txns, &st) != MDB_SUCCESS ||
        st.ms_leaf_pages + st.ms_branch_pages + t->n / 64 + 1 <
            SFJ__TXI_PAGES_MAX)
        return 0;
    /* The rows sort by key, so the txn records are one run of them. */
    hashed =
        sfj__txi_lower(t, after_txn_tag, 1) - sfj__txi_lower(t, txn_tag, 1);
    /* Open and meta records are keyed by seq and name: a few leaves. */
    others = (t->n - hashed) / 64 + 1;
    leaves = pages_hit(hashed, st.ms_leaf_pages) + others;
    return leaves + pages_hit(leaves, st.ms_branch_pages) >= SFJ__TXI_PAGES_MAX;
}

int sfj__txi_before_commit(sfj_journal *j, MDB_txn *txn, int ckpt, int closing)
{
    sfj__txi *t = j->txi;
    const sfj__txi_row *r;
    MDB_val k, v;
    uint64_t to;
    size_t i;
    int mrc = MDB_SUCCESS;

    if (t == NULL || t->direct || !t->valid)
        return SFJ_OK;
    if (!(ckpt || closing || t->flush_due || t->n > SFJ__TXI_ROWS_MAX ||
          persist_outgrows(j, txn, t)))
        return SFJ_OK;
    t->flush_to = t->base;
    for (i = 0; i < t->n && (mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND); i++) {
        r = sfj__txi_at(t, i);
        k.mv_data = (void *)r->key;
        k.mv_size = r->klen;
        v.mv_data = (void *)r->val;
        v.mv_size = r->vlen;
        if (!r->gone &&
            sfj__txm_decode(r->key, r->klen, SFJ__TXM_TO, r->val, r->vlen, &to))
            t->flush_to = to;
        mrc = r->gone ? mdb_del(txn, j->db_txns, &k, NULL)
                      : mdb_put(txn, j->db_txns, &k, &v, 0);
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return sfj__mdb_rc(j, mrc, "mdb_put(txns)");
    t->flushing = 1;
    return SFJ_OK;
}

void sfj__txi_after_commit(sfj_journal *j, int ok, uint64_t last_seq)
{
    sfj__txi *t = j->txi;

    if (t == NULL)
        return;
    if (!ok || t->direct) {
        t->valid = 0;
    } else if (t->valid) {
        if (t->flushing) {
            sfj__txi_clear(t);
            t->base = t->flush_to;
            t->base_found = 1;
        }
        if (last_seq > t->upto)
            t->upto = last_seq;
    }
    t->flushing = 0;
    t->flush_due = 0;
    t->direct = 0;
    assert(assert_txi_state(t));
}

int sfj__txi_dirty(sfj_journal *j)
{
    return j->txi != NULL && j->txi->valid && j->txi->n > 0;
}

void sfj__txi_replay_info(sfj_journal *j, uint64_t *replayed, uint64_t *bad_seq,
                          int *bad_rc)
{
    *replayed = j->txi != NULL ? j->txi->replayed : 0;
    *bad_seq = j->txi != NULL ? j->txi->bad_seq : 0;
    *bad_rc = j->txi != NULL ? j->txi->bad_rc : 0;
}
