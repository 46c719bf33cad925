/* Retention of acknowledged entries.
 *
 * Entries leave only from the front, as one contiguous prefix, so that the
 * chain of what remains starts at the prune anchor (meta prune_seq and
 * prune_hash = h(prune_seq)) and verifies as before. An entry may go when
 * it is acknowledged (at or below the watermark), not set aside as
 * needs-attention, not the first event of an open txn (an in-doubt
 * intent, an approval without receipt, an unforwarded offline sale) and
 * not the newest entry; the first entry that may not go stops pruning.
 *
 * Two triggers: appends prune a few entries at a time while the oldest is
 * past retention_days or the databases use more than high_water_pct of
 * max_bytes (so pruning happens before the map is full, while LMDB still
 * has pages to delete with); and the commit leader calls
 * sfj__retention_make_room when the map is full at its cap. Txn index
 * records whose every event is gone are dropped with their entries. */
#include "journal/write/retention.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_rules.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"

#define PRUNE_STEP      32  /* per append */
#define PRUNE_MAKE_ROOM 512 /* per make_room call */
#define DAY_MS          86400000ll

enum { MODE_AGE, MODE_ANY };

static uint64_t db_pages(MDB_txn *txn, MDB_dbi dbi, unsigned *psize)
{
    MDB_stat st;

    if (mdb_stat(txn, dbi, &st) != MDB_SUCCESS)
        return 0;
    *psize = st.ms_psize;
    return st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

/* Bytes in use by the databases (not the file's high-water mark, which
 * never shrinks: freed pages are reused). */
static uint64_t used_bytes(sfj_journal *j, MDB_txn *txn)
{
    unsigned psize = 4096;
    uint64_t pages =
        db_pages(txn, j->db_entries, &psize) +
        db_pages(txn, j->db_txns, &psize) + db_pages(txn, j->db_acked, &psize) +
        db_pages(txn, j->db_attn, &psize) + db_pages(txn, j->db_meta, &psize);

    return pages * psize;
}

/* Drop the index record of the txn of the entry about to go when nothing
 * of it outlives the entry. The open set, not the record's state, says
 * whether the txn is still open: a forwarded offline sale keeps state
 * OFFLINE but leaves the open set once acknowledged and printed. */
static int drop_index(sfj_journal *j, MDB_txn *txn, uint64_t seq,
                      const MDB_val *v, uint16_t kind)
{
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    sfj_entry *e = NULL;
    sfj__txnrec r;
    int rc, open = 0;

    if (j->keys == NULL || !sfj__txn_kind(kind))
        return SFJ_OK;
    /* A record that no longer decrypts keeps its index record. */
    if (sfj__entry_from_record(j, seq, v->mv_data, v->mv_size, &e) != SFJ_OK)
        return SFJ_OK;
    sfj__txn_hash(j->keys, e->txn_id, hash);
    sfj_entry_free(e);
    rc = sfj__txnrec_get(j, txn, hash, &r);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK;
    if (rc != SFJ_OK || r.last_seq > seq)
        return rc;
    rc = sfj__open_exists(j, txn, r.first_seq, &open);
    if (rc == SFJ_OK && !open)
        rc = sfj__txnrec_del(j, txn, hash);
    return rc;
}

/* The anchor is signed, so that deleting a prefix and writing a matching
 * anchor needs the signing key (docs/FORMAT.md, "Prune anchor"). A journal
 * written before signed anchors gets its first signature here. */
static int save_anchor(sfj_journal *j, MDB_txn *txn, uint64_t seq,
                       const uint8_t *hash)
{
    uint8_t sig[crypto_sign_BYTES];
    int rc;

    if (j->keys == NULL)
        return SFJ_ESTATE;
    sfj__prune_sign(j->journal_id, seq, hash, j->keys->sign_sk, sig);
    rc = sfj__meta_put_u64(j, txn, SFJ__META_PRUNE_SEQ, seq);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_PRUNE_HASH, hash, SFJ_HASH_BYTES);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_PRUNE_SIG, sig, sizeof sig);
    return rc;
}

int sfj__retention_resign_anchor(sfj_journal *j, MDB_txn *txn,
                                 const uint8_t *old_pk)
{
    uint8_t hash[SFJ_HASH_BYTES];
    uint64_t seq = 0;
    int rc, sig = SFJ__ANCHOR_SIGNED;

    rc = sfj__prune_anchor(j, txn, old_pk, &seq, hash, &sig);
    if (rc != SFJ_OK || seq == 0 || sig == SFJ__ANCHOR_UNSIGNED)
        return rc;
    /* Never lend the new key's signature to an anchor the old key did
     * not sign. */
    if (sig == SFJ__ANCHOR_FORGED) {
        sfj__set_err(j, "the prune anchor's signature is invalid");
        return SFJ_ECORRUPT;
    }
    return save_anchor(j, txn, seq, hash);
}

/* Prune up to `max` entries from the front, those at or below watermark
 * `wm`; `*n` gets how many went. */
static int prune(sfj_journal *j, MDB_txn *txn, uint64_t wm, uint64_t last_seq,
                 int64_t now_ms, int mode, size_t max, size_t *n)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    sfj__rec_hdr h;
    uint8_t anchor[SFJ_HASH_BYTES];
    uint64_t seq = 0, pruned = 0;
    int64_t keep_ms = (int64_t)j->opts.retention_days * DAY_MS;
    int rc = SFJ_OK, mrc, found;

    *n = 0;
    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    while (*n < max) {
        mrc = sfj__entries_get(j, cur, &k, &v, MDB_FIRST);
        if (mrc != MDB_SUCCESS || !sfj__entry_seq(j, &k, &seq))
            break;
        if (seq >= last_seq)
            break;
        if (seq > wm) {
            /* Nothing was deleted in this transaction, so its front is
             * the committed one; it only moves forward. */
            j->prune_idle = *n == 0;
            j->prune_idle_wm = wm;
            break;
        }
        /* The persisted txn index has not seen this entry: its rows go
         * to the database in this same transaction (txn_overlay.c), or a
         * replay after a crash would miss the entry. */
        if (seq > sfj__txi_base(j))
            sfj__txi_want_flush(j);
        if (sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) != SFJ_OK)
            break; /* damaged: leave it for verification to report */
        if (mode == MODE_AGE && now_ms - h.wall_ms <= keep_ms)
            break;
        rc = sfj__seq_held(j, txn, j->db_attn, seq, "mdb_get(attention)",
                           &found);
        if (rc == SFJ_OK && !found)
            rc = sfj__open_exists(j, txn, seq, &found);
        if (rc != SFJ_OK || found)
            break;
        rc = drop_index(j, txn, seq, &v, h.kind);
        if (rc != SFJ_OK)
            break;
        rc = sfj__rec_chain(v.mv_data, v.mv_size, anchor);
        if (rc != SFJ_OK)
            break;
        mrc = mdb_cursor_del(cur, 0);
        if (mrc != MDB_SUCCESS) {
            rc = sfj__mdb_rc(j, mrc, "mdb_cursor_del(entries)");
            break;
        }
        pruned = seq;
        (*n)++;
    }
    mdb_cursor_close(cur);
    if (rc == SFJ_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
    if (rc == SFJ_OK && *n > 0)
        rc = save_anchor(j, txn, pruned, anchor);
    return rc;
}

int sfj__retention_prune_in(sfj_journal *j, MDB_txn *txn, uint64_t last_seq,
                            int64_t now_ms)
{
    uint64_t hw = j->opts.max_bytes / 100 * j->opts.high_water_pct, wm = 0;
    size_t n = 0;
    int rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &wm);

    /* The first entry is past this watermark: every append until the
     * next ack would find the same, at the cost of a cursor and five
     * database stats. */
    if (rc != SFJ_OK || (j->prune_idle && j->prune_idle_wm == wm))
        return rc;
    return prune(j, txn, wm, last_seq, now_ms,
                 used_bytes(j, txn) > hw ? MODE_ANY : MODE_AGE, PRUNE_STEP, &n);
}

/* One pruning transaction of at most `max` entries. */
static int make_room_once(sfj_journal *j, size_t max, size_t *n)
{
    MDB_txn *txn = NULL;
    uint64_t last = 0, wm = 0;
    int rc = SFJ_OK, mrc;

    *n = 0;
    mrc = mdb_txn_begin(j->env, NULL, 0, &txn);
    if (mrc != MDB_SUCCESS)
        return mrc == MDB_MAP_RESIZED ? SFJ_OK
                                      : sfj__mdb_rc(j, mrc, "mdb_txn_begin");
    /* Pruning reads the open set as the overlay has it. */
    rc = sfj__txi_sync(j, txn, SFJ__SEQ_UNKNOWN);
    if (rc != SFJ_OK) {
        mdb_txn_abort(txn);
        sfj__txi_after_commit(j, 0, 0);
        return rc;
    }
    rc = sfj__entries_edge(j, txn, 1, &last);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &wm);
    if (rc == SFJ_OK)
        rc = prune(j, txn, wm, last, 0, MODE_ANY, max, n);
    if (rc == SFJ_OK && *n > 0)
        rc = sfj__txi_before_commit(j, txn, 0, 0);
    if (rc != SFJ_OK || *n == 0) {
        mdb_txn_abort(txn);
        sfj__txi_after_commit(j, 0, 0);
        return rc;
    }
    rc = sfj__commit_txn(j, txn, "mdb_txn_commit(prune)", NULL);
    if (rc != SFJ_OK)
        *n = 0;
    sfj__txi_after_commit(j, rc == SFJ_OK, 0);
    return rc;
}

int sfj__retention_make_room(sfj_journal *j)
{
    size_t max = PRUNE_MAKE_ROOM, n = 0;
    int rc;

    if (j->rdonly || j->mirror || j->acks_only)
        return 0;
    /* The leader is inside sfj__commit: this runs its own transaction
     * rather than queueing behind itself. Deleting needs pages too: when
     * even that does not fit, delete fewer at a time. */
    sfj__txi_lock(j);
    pthread_rwlock_rdlock(&j->maplock);
    for (;;) {
        rc = make_room_once(j, max, &n);
        if (rc != SFJ_EFULL || max == 1)
            break;
        max /= 2;
    }
    pthread_rwlock_unlock(&j->maplock);
    sfj__txi_unlock(j);
    return rc != SFJ_OK ? rc : (int)n;
}
