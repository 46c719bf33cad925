/* Keeping the txns index level with the entries.
 *
 * States of the index: level (the stored index, meta "to", plus the
 * handle's overlay reflect every entry: txn_overlay.c replays the entries
 * after the stored "to" into memory, which is how every handle reads a
 * journal whose writer has not persisted its newest rows, or crashed),
 * missing (no "to" at all: the index was dropped, or the journal was
 * never indexed). sfj__txn_catch_up brings a missing index back from every
 * entry held, through the same update as sfj_append, in one durable
 * commit that writes straight to the database (however many txns the
 * journal holds) and records "to". A record that cannot be read during
 * either replay is reported and skipped. */
#include "journal/write/txn_rebuild.h"

#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_rules.h"
#include "journal/write/txn_tail.h"
#include "sfj/errors.h"

typedef struct replay_arg {
    uint64_t from;
    int missing;
    uint64_t replayed;
    uint64_t bad_seq;
    int bad_rc;
} replay_arg;

int sfj__txn_index_state(sfj_journal *j, MDB_txn *txn, int *behind,
                         int *missing, uint64_t *from)
{
    MDB_stat st;
    uint64_t to = 0;
    int64_t wall_hi;
    int rc, state = 0, mrc;

    *behind = *missing = 0;
    *from = 0;
    rc = sfj__txn_tail(j, txn, &state, &to, &wall_hi);
    if (rc != SFJ_OK || state == SFJ__TAIL_LEVEL)
        return rc;
    if (state == SFJ__TAIL_BEHIND) {
        *behind = 1;
        *from = to + 1;
        return SFJ_OK;
    }
    mrc = sfj__entries_stat(j, txn, &st);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_stat(entries)");
    /* Missing even when empty: a writable handle then records position 0,
     * so that every later reader can replay the tail from there. */
    *missing = 1;
    *behind = st.ms_entries > 0;
    *from = 1;
    return SFJ_OK;
}

static int replay_one(sfj_journal *j, MDB_txn *txn, uint64_t seq,
                      const MDB_val *v, replay_arg *a)
{
    sfj_entry *e = NULL;
    sfj__txn_ev ev;
    uint64_t hi = 0;
    int rc;

    rc = sfj__entry_from_record(j, seq, v->mv_data, v->mv_size, &e);
    if (rc != SFJ_OK) {
        a->bad_seq = seq;
        a->bad_rc = rc;
        return SFJ_OK;
    }
    sfj__txn_ev_of_entry(e, &ev);
    rc = sfj__txn_index_event(j, txn, &ev, seq);
    if (rc == SFJ_OK)
        rc = sfj__txm_get(j, txn, SFJ__TXM_WALL_HI, &hi, NULL);
    if (rc == SFJ_OK && e->wall_ms > (int64_t)hi)
        rc = sfj__txm_put(j, txn, SFJ__TXM_WALL_HI, (uint64_t)e->wall_ms);
    sfj_entry_free(e);
    a->replayed++;
    return rc;
}

static int apply_replay(sfj__wctx *w, void *varg)
{
    replay_arg *a = varg;
    sfj_journal *j = w->j;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_cursor *cur = NULL;
    MDB_val k = sfj__entry_key(j, kbuf, a->from), v;
    MDB_cursor_op op = MDB_SET_RANGE;
    uint64_t seq = 0, to = 0;
    sfj__rec_hdr h;
    int rc = SFJ_OK, mrc;

    /* The rebuild writes straight into the database (however many txns
     * the journal holds); the overlay starts again after the commit. */
    if (j->txi != NULL) {
        sfj__txi_clear(j->txi);
        j->txi->direct = 1;
    }
    if (a->missing) {
        mrc = mdb_drop(w->txn, j->db_txns, 0);
        if (mrc != MDB_SUCCESS)
            return sfj__mdb_rc(j, mrc, "mdb_drop(txns)");
    }
    mrc = mdb_cursor_open(w->txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    while (a->bad_seq == 0 &&
           (mrc = sfj__entries_get(j, cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (!sfj__entry_seq(j, &k, &seq))
            break;
        if (sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) != SFJ_OK) {
            a->bad_seq = seq;
            a->bad_rc = SFJ_ECORRUPT;
            break;
        }
        if (!sfj__rec_is_clear(h.kind))
            rc = replay_one(j, w->txn, seq, &v, a);
        if (rc != SFJ_OK)
            break;
        if (a->bad_seq == 0)
            to = seq;
    }
    mdb_cursor_close(cur);
    if (rc == SFJ_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
    if (rc == SFJ_OK && to != 0)
        rc = sfj__txn_pos_put(j, w->txn, to);
    if (rc == SFJ_OK && to == 0 && a->missing && a->bad_seq == 0)
        rc = sfj__txn_pos_put(j, w->txn, 0);
    return rc;
}

int sfj__txn_rebuild_in(sfj__wctx *w)
{
    replay_arg a;
    int rc;

    memset(&a, 0, sizeof a);
    a.from = 1;
    a.missing = 1;
    rc = apply_replay(w, &a);
    if (rc == SFJ_OK && a.bad_seq != 0) {
        sfj__set_err(w->j, "entry %llu cannot be indexed: %s",
                     (unsigned long long)a.bad_seq, sfj_strerror(a.bad_rc));
        rc = a.bad_rc;
    }
    return rc;
}

int sfj__txn_catch_up(sfj_journal *j, int *rebuilt, uint64_t *replayed,
                      uint64_t *bad_seq, int *bad_rc)
{
    replay_arg a;
    MDB_txn *txn;
    int rc, behind = 0;

    *rebuilt = 0;
    *replayed = *bad_seq = 0;
    *bad_rc = 0;
    memset(&a, 0, sizeof a);
    /* The overlay replays the tail after the persisted position in
     * memory (txn_overlay.c); only an index without a position needs the
     * durable rebuild below. */
    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txn_index_state(j, txn, &behind, &a.missing, &a.from);
    if (rc == SFJ_OK && !a.missing) {
        sfj__txi_replay_info(j, replayed, bad_seq, bad_rc);
        *rebuilt = *replayed > 0;
    }
    sfj__txi_read_end(j, txn);
    if (rc != SFJ_OK || !a.missing)
        return rc;
    if (j->rdonly || j->keys == NULL || j->mirror || j->acks_only)
        return behind ? SFJ_ESTATE : SFJ_OK;
    rc = sfj__commit(j, apply_replay, &a);
    if (rc != SFJ_OK)
        return rc;
    *rebuilt = behind;
    *replayed = a.replayed;
    *bad_seq = a.bad_seq;
    *bad_rc = a.bad_rc;
    return SFJ_OK;
}

int sfj__txn_open(sfj_journal *j)
{
    uint64_t replayed, bad;
    int rc, rebuilt, bad_rc;

    if (j->rdonly || j->mirror || j->acks_only || j->keys == NULL)
        return SFJ_OK;
    rc = sfj__txn_catch_up(j, &rebuilt, &replayed, &bad, &bad_rc);
    if (rc == SFJ_OK && bad == 0)
        return SFJ_OK;
    /* A damaged journal must still open, so that sfj_recover can say
     * where the damage is; appends meanwhile see what could be indexed. */
    j->txn_index_bad = 1;
    return rc == SFJ_EIO || rc == SFJ_EDEAD || rc == SFJ_ENOMEM ? rc : SFJ_OK;
}
