/* The index's position over entries it need not see (see txn_tail.h). */
#include "journal/write/txn_tail.h"

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_rules.h"
#include "sfj/errors.h"

int sfj__txn_tail(sfj_journal *j, MDB_txn *txn, int *state, uint64_t *to,
                  int64_t *wall_hi)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint64_t hi = 0, last, seq;
    sfj__rec_hdr h;
    int rc, mrc, found = 0;

    *to = 0;
    *wall_hi = 0;
    *state = SFJ__TAIL_MISSING;
    rc = sfj__txn_pos_get(j, txn, 0, to, &found);
    if (rc == SFJ_OK)
        rc = sfj__txm_get(j, txn, SFJ__TXM_WALL_HI, &hi, NULL);
    if (rc != SFJ_OK)
        return rc;
    *wall_hi = (int64_t)hi;
    if (!found)
        return SFJ_OK;
    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    last = *to;
    k = sfj__entry_key(j, kbuf, *to + 1);
    mrc = sfj__entries_get(j, cur, &k, &v, MDB_SET_RANGE);
    *state = SFJ__TAIL_LEVEL;
    while (mrc == MDB_SUCCESS) {
        if (!sfj__entry_seq(j, &k, &seq) ||
            sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) != SFJ_OK ||
            sfj__txn_indexed_kind(h.kind)) {
            *state = SFJ__TAIL_BEHIND;
            break;
        }
        last = seq;
        if (h.wall_ms > *wall_hi)
            *wall_hi = h.wall_ms;
        mrc = sfj__entries_get(j, cur, &k, &v, MDB_NEXT);
    }
    if (*state == SFJ__TAIL_LEVEL)
        *to = last;
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
    mdb_cursor_close(cur);
    return rc;
}

int sfj__txn_wall_hi(sfj_journal *j, MDB_txn *txn, int64_t *wall_hi)
{
    uint64_t to;
    int state;

    return sfj__txn_tail(j, txn, &state, &to, wall_hi);
}

int sfj__txn_settle_to(sfj_journal *j, MDB_txn *txn)
{
    uint64_t to = 0, old = 0, hi = 0;
    int64_t wall_hi;
    int rc, state = 0, found = 0;

    if (j->mirror || j->keys == NULL)
        return SFJ_OK;
    rc = sfj__txn_pos_get(j, txn, 0, &old, &found);
    if (rc == SFJ_OK && found)
        rc = sfj__txm_get(j, txn, SFJ__TXM_WALL_HI, &hi, NULL);
    if (rc == SFJ_OK && found)
        rc = sfj__txn_tail(j, txn, &state, &to, &wall_hi);
    if (rc != SFJ_OK || !found || state != SFJ__TAIL_LEVEL || to <= old)
        return rc;
    rc = sfj__txn_pos_put(j, txn, to);
    if (rc == SFJ_OK && wall_hi > (int64_t)hi)
        rc = sfj__txm_put(j, txn, SFJ__TXM_WALL_HI, (uint64_t)wall_hi);
    return rc;
}

int sfj__txn_index_step(sfj_journal *j, MDB_txn *txn, const sfj__txn_ev *ev,
                        uint64_t seq)
{
    uint64_t hi = 0, to = 0;
    int64_t tail_hi = 0;
    int found = 0, rc = sfj__txn_index_event(j, txn, ev, seq);

    if (rc == SFJ_OK)
        rc = sfj__txm_get(j, txn, SFJ__TXM_WALL_HI, &hi, NULL);
    if (rc == SFJ_OK)
        rc = sfj__txn_pos_get(j, txn, 0, &to, &found);
    /* The notes since "to" count in (the scan stops at this entry). When
     * this entry directly follows "to" (indexed appends back to back)
     * there are none, and the scan would read this entry's header only:
     * wallhi as stored. */
    if (rc == SFJ_OK && found && to + 1 == seq)
        tail_hi = (int64_t)hi;
    else if (rc == SFJ_OK)
        rc = sfj__txn_wall_hi(j, txn, &tail_hi);
    if (tail_hi < ev->wall_ms)
        tail_hi = ev->wall_ms;
    if (rc == SFJ_OK)
        rc = sfj__txn_pos_put(j, txn, seq);
    if (rc == SFJ_OK && tail_hi > (int64_t)hi)
        rc = sfj__txm_put(j, txn, SFJ__TXM_WALL_HI, (uint64_t)tail_hi);
    return rc;
}
