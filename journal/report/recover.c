/* sfj_recover: what a crash left behind, found from the open set, the
 * attention set and the tail of the chain, never by walking the whole
 * journal. Reads only, except for an index catch-up on a writable handle
 * (txn_rebuild.c), so a second run gives the same report. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "journal/format/record.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_rebuild.h"
#include "journal/write/txn_tail.h"
#include "sfj/errors.h"
#include "sfj/sys/verify.h"

typedef struct scan {
    sfj_report *r;
    size_t cap_items;
    size_t cap_amounts;
    uint64_t wm;
} scan;

static int push_item(scan *s, const sfj_report_item *it)
{
    sfj_report *r = s->r;

    if (r->n_items == s->cap_items) {
        size_t cap = s->cap_items ? s->cap_items * 2 : 16;
        sfj_report_item *n = realloc(r->items, cap * sizeof *n);

        if (n == NULL)
            return SFJ_ENOMEM;
        r->items = n;
        s->cap_items = cap;
    }
    r->items[r->n_items++] = *it;
    return SFJ_OK;
}

static int add_amount(scan *s, const char *currency, int64_t amount)
{
    sfj_report *r = s->r;
    size_t i;

    for (i = 0; i < r->n_amounts; i++) {
        if (strcmp(r->amounts[i].currency, currency) == 0)
            break;
    }
    if (i == r->n_amounts) {
        if (r->n_amounts == s->cap_amounts) {
            size_t cap = s->cap_amounts ? s->cap_amounts * 2 : 4;
            sfj_report_amount *n = realloc(r->amounts, cap * sizeof *n);

            if (n == NULL)
                return SFJ_ENOMEM;
            r->amounts = n;
            s->cap_amounts = cap;
        }
        memset(&r->amounts[i], 0, sizeof r->amounts[i]);
        memcpy(r->amounts[i].currency, currency, 4);
        r->n_amounts++;
    }
    r->amounts[i].count++;
    r->amounts[i].amount += amount;
    return SFJ_OK;
}

/* Fill txn id, amount, currency and time of `it` from the entry at `seq`. */
static void describe(sfj_journal *j, MDB_txn *txn, uint64_t seq,
                     sfj_report_item *it)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(j, kbuf, seq), v;
    sfj__rec_hdr h;
    sfj_entry *e = NULL;

    if (mdb_get(txn, j->db_entries, &k, &v) != MDB_SUCCESS ||
        sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) != SFJ_OK)
        return;
    it->wall_ms = h.wall_ms;
    if (it->kind == 0)
        it->kind = h.kind;
    if (sfj__rec_is_clear(h.kind) || j->keys == NULL ||
        sfj__entry_from_record(j, seq, v.mv_data, v.mv_size, &e) != SFJ_OK)
        return;
    memcpy(it->txn_id, e->txn_id, sizeof it->txn_id);
    it->amount = e->amount;
    memcpy(it->currency, e->currency, sizeof it->currency);
    sfj_entry_free(e);
}

static int one_open(sfj_journal *j, MDB_txn *txn, scan *s,
                    const sfj__openrec *o)
{
    sfj_report_item it;
    sfj__txnrec r;
    int rc, acked = 0, approved;

    rc = sfj__txnrec_get(j, txn, o->hash, &r);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK;
    if (rc != SFJ_OK)
        return rc;
    memset(&it, 0, sizeof it);
    it.first_seq = r.first_seq;
    if (sfj__txn_in_doubt(j, &r)) {
        it.type = SFJ_REPORT_IN_DOUBT;
        it.seq = r.intent_seq;
        it.kind = SFJ_EV_TXN_INTENT;
        it.host_error = (r.flags & SFJ_TXN_F_HOST_ERROR) != 0;
    }
    approved = (r.state == SFJ__TS_DONE && r.outcome == SFJ_ST_APPROVED) ||
               r.state == SFJ__TS_OFFLINE;
    if (approved && !(r.flags & SFJ_TXN_F_PRINTED) && !j->no_receipts) {
        if (r.flags & SFJ_TXN_F_PRINT_FAILED) {
            it.type = SFJ_REPORT_PRINT_FAILED;
            it.seq = r.fail_seq;
            it.kind = SFJ_EV_RECEIPT;
        } else {
            it.type = SFJ_REPORT_NO_RECEIPT;
            it.seq = r.outcome_seq ? r.outcome_seq : r.offline_seq;
            it.kind = r.outcome_seq ? SFJ_EV_TXN_OUTCOME : SFJ_EV_TXN_OFFLINE;
        }
    }
    if (r.state == SFJ__TS_OFFLINE && o->has_amount) {
        rc = sfj__seq_acked(j, txn, s->wm, r.offline_seq, &acked);
        if (rc == SFJ_OK && !acked) {
            s->r->offline_pending++;
            rc = add_amount(s, o->currency, o->amount);
        }
        if (rc != SFJ_OK)
            return rc;
    }
    if (it.type == 0)
        return SFJ_OK;
    describe(j, txn, r.first_seq, &it);
    if (it.type != SFJ_REPORT_IN_DOUBT) {
        /* Time of the event to act on, as recorded. */
        sfj_report_item tmp;

        memset(&tmp, 0, sizeof tmp);
        tmp.kind = 1;
        describe(j, txn, it.seq, &tmp);
        it.wall_ms = tmp.wall_ms;
        sodium_memzero(&tmp, sizeof tmp);
    }
    rc = push_item(s, &it);
    sodium_memzero(&it, sizeof it);
    return rc;
}

static int scan_open(sfj_journal *j, MDB_txn *txn, scan *s)
{
    MDB_val k, v;
    sfj__open_iter it;
    sfj__openrec o;
    int rc, nrc;

    memset(&o, 0, sizeof o);
    rc = sfj__open_iter_begin(j, txn, &it);
    while (rc == SFJ_OK &&
           (nrc = sfj__open_iter_next(&it, &k, &v)) != SFJ_ENOTFOUND) {
        rc = nrc;
        if (rc != SFJ_OK)
            break;
        rc = sfj__open_decode(j, &k, &v, 1, &o);
        if (rc == SFJ_ENOTFOUND) {
            rc = SFJ_OK;
            break;
        }
        if (rc == SFJ_OK)
            rc = one_open(j, txn, s, &o);
        if (rc != SFJ_OK)
            break;
    }
    sodium_memzero(&o, sizeof o);
    sfj__open_iter_end(&it);
    return rc;
}

static int scan_attention(sfj_journal *j, MDB_txn *txn, scan *s)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    MDB_cursor_op op = MDB_FIRST;
    sfj_report_item it;
    size_t tlen;
    int rc = SFJ_OK, mrc;

    mrc = mdb_cursor_open(txn, j->db_attn, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(attention)");
    while ((mrc = mdb_cursor_get(cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (k.mv_size != 8 || v.mv_size < 12)
            continue;
        memset(&it, 0, sizeof it);
        it.type = SFJ_REPORT_ATTENTION;
        it.seq = sfj__get_u64(k.mv_data);
        it.reason = (int)sfj__get_u32((const uint8_t *)v.mv_data + 8);
        tlen = v.mv_size - 12;
        if (tlen > sizeof it.text - 1)
            tlen = sizeof it.text - 1;
        memcpy(it.text, (const uint8_t *)v.mv_data + 12, tlen);
        describe(j, txn, it.seq, &it);
        rc = push_item(s, &it);
        sodium_memzero(&it, sizeof it);
        if (rc != SFJ_OK)
            break;
    }
    if (rc == SFJ_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(attention)");
    mdb_cursor_close(cur);
    return rc;
}

static int cmp_items(const void *a, const void *b)
{
    const sfj_report_item *x = a, *y = b;

    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The unforwarded backlog: count, oldest entry and its age. */
static int backlog(sfj_journal *j, MDB_txn *txn, scan *s)
{
    sfj_report *r = s->r;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k, v;
    MDB_stat st;
    sfj__rec_hdr h;
    uint64_t seq;
    int64_t hi = 0;
    int64_t now = sfj__now_ms();
    int rc, acked = 1;

    mdb_stat(txn, j->db_acked, &st);
    if (r->last_seq > s->wm)
        r->unforwarded = r->last_seq - s->wm - st.ms_entries;
    for (seq = s->wm + 1; seq <= r->last_seq; seq++) {
        rc = sfj__seq_acked(j, txn, s->wm, seq, &acked);
        if (rc != SFJ_OK)
            return rc;
        if (!acked)
            break;
    }
    if (acked)
        return SFJ_OK;
    r->oldest_unforwarded_seq = seq;
    k = sfj__entry_key(j, kbuf, seq);
    if (mdb_get(txn, j->db_entries, &k, &v) != MDB_SUCCESS ||
        sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) != SFJ_OK)
        return SFJ_OK;
    r->oldest_unforwarded_ms = h.wall_ms;
    rc = sfj__txn_wall_hi(j, txn, &hi);
    /* Against the newest time ever seen: a clock set back does not make
     * the backlog look younger. */
    if (hi > now)
        now = hi;
    r->oldest_unforwarded_age_ms = now > h.wall_ms ? now - h.wall_ms : 0;
    return rc;
}

/* Where verification starts: the last checkpoint before the tail. When
 * the tail itself is a checkpoint (a clean close, or the one open wrote
 * after a crash), the checkpoint before it, so that the entries it sealed
 * are checked too. */
static int verify_start(sfj_journal *j, uint64_t *from)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k, v;
    sfj__rec_hdr h;
    uint64_t ckpt = 0, last = 0, first = 0;
    int rc, mrc;

    *from = 0;
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_CKPT, &ckpt);
    if (rc == SFJ_OK)
        rc = sfj__entries_edge(j, txn, 1, &last);
    if (rc == SFJ_OK)
        rc = sfj__entries_edge(j, txn, 0, &first);
    if (rc != SFJ_OK || ckpt == 0)
        goto done;
    *from = ckpt;
    if (ckpt != last)
        goto done;
    *from = 0;
    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
        goto done;
    }
    k = sfj__entry_key(j, kbuf, ckpt);
    mrc = sfj__entries_get(j, cur, &k, &v, MDB_SET_KEY);
    while (mrc == MDB_SUCCESS &&
           (mrc = sfj__entries_get(j, cur, &k, &v, MDB_PREV)) == MDB_SUCCESS) {
        if (sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) == SFJ_OK &&
            h.kind == SFJ_EV_CHECKPOINT && sfj__entry_seq(j, &k, from))
            break;
    }
    mdb_cursor_close(cur);
done:
    if (*from != 0 && *from < first)
        *from = 0;
    sfj__read_end(j, txn);
    return rc;
}

static int check_chain(sfj_journal *j, sfj_report *r)
{
    sfj__verify_result vr;
    uint64_t from = 0;
    int rc = verify_start(j, &from);

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__verify(j, from, NULL, j->keys != NULL, &vr);
    if (rc == SFJ_EINVAL && from != 0)
        rc = sfj__verify(j, 0, NULL, j->keys != NULL, &vr);
    if (rc != SFJ_OK)
        return rc;
    r->verified_from = vr.first_seq;
    r->verified_to = vr.bad_seq ? vr.bad_seq - 1 : vr.last_seq;
    if (vr.bad_seq != 0) {
        r->bad_seq = vr.bad_seq;
        r->bad_rc = vr.bad_rc;
        memcpy(r->bad_reason, vr.reason, sizeof r->bad_reason);
    }
    return SFJ_OK;
}

static int fix_index(sfj_journal *j, sfj_report *r)
{
    MDB_txn *txn;
    uint64_t bad = 0, from;
    int rc, behind = 0, missing, bad_rc = 0;

    if (j->keys == NULL || j->mirror)
        return SFJ_OK;
    if (j->rdonly) {
        /* The handle replays the tail after the persisted index itself;
         * stale only when that cannot bring it level. */
        rc = sfj__txi_read_begin(j, &txn);
        if (rc != SFJ_OK)
            return rc;
        rc = sfj__txn_index_state(j, txn, &behind, &missing, &from);
        sfj__txi_read_end(j, txn);
        r->index_stale = behind;
        return rc;
    }
    rc = sfj__txn_catch_up(j, &r->index_rebuilt, &r->index_replayed, &bad,
                           &bad_rc);
    if (rc == SFJ_OK && bad != 0 && r->bad_seq == 0) {
        r->bad_seq = bad;
        r->bad_rc = bad_rc;
        snprintf(r->bad_reason, sizeof r->bad_reason, "%s",
                 "record cannot be read while rebuilding the txn index");
    }
    if (rc == SFJ_OK && bad != 0)
        r->index_stale = 1;
    return rc;
}

static int gather(sfj_journal *j, sfj_report *r)
{
    scan s;
    MDB_txn *txn;
    size_t i;
    int rc;

    memset(&s, 0, sizeof s);
    s.r = r;
    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &s.wm);
    r->acked_seq = s.wm;
    if (rc == SFJ_OK)
        rc = sfj__entries_edge(j, txn, 0, &r->first_seq);
    if (rc == SFJ_OK)
        rc = sfj__entries_edge(j, txn, 1, &r->last_seq);
    if (rc == SFJ_OK && j->keys != NULL && !j->mirror)
        rc = scan_open(j, txn, &s);
    if (rc == SFJ_OK)
        rc = scan_attention(j, txn, &s);
    if (rc == SFJ_OK)
        rc = backlog(j, txn, &s);
    if (rc == SFJ_OK && !j->mirror) {
        uint64_t ans = 0;

        rc = sfj__txm_get(j, txn, SFJ__TXM_SETTLE, &r->settlement_seq, NULL);
        if (rc == SFJ_OK)
            rc = sfj__txm_get(j, txn, SFJ__TXM_SETTLE_ANS, &ans, NULL);
        r->settlement_pending = r->settlement_seq != 0 && ans == 0;
    }
    r->receipts_untracked = j->no_receipts;
    sfj__txi_read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    if (r->n_items > 1)
        qsort(r->items, r->n_items, sizeof *r->items, cmp_items);
    for (i = 0; i < r->n_items; i++) {
        switch (r->items[i].type) {
        case SFJ_REPORT_IN_DOUBT:
            r->n_in_doubt++;
            break;
        case SFJ_REPORT_NO_RECEIPT:
            r->n_no_receipt++;
            break;
        case SFJ_REPORT_PRINT_FAILED:
            r->n_print_failed++;
            break;
        default:
            r->n_attention++;
            break;
        }
    }
    return SFJ_OK;
}

int sfj_recover(sfj_journal *j, sfj_report **out)
{
    sfj_report *r = NULL;
    int rc, dead = 0;

    if (out != NULL)
        *out = NULL;
    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    /* A host's mirror has no txn index, no acks and no attention marks of
     * its own: a report on it would claim a clean terminal it cannot see. */
    if (j->mirror) {
        sfj__set_err(j, "this is a host mirror, not a terminal journal: "
                        "there is nothing to recover on it");
        return SFJ_ESTATE;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return SFJ_ENOMEM;
    /* Readers of processes that died since open pin pages too. */
    mdb_reader_check(j->env, &dead);
    pthread_mutex_lock(&j->lock);
    r->stale_readers = j->stale_readers + (dead > 0 ? (unsigned)dead : 0);
    pthread_mutex_unlock(&j->lock);
    rc = check_chain(j, r);
    if (rc == SFJ_OK)
        rc = fix_index(j, r);
    if (rc == SFJ_OK)
        rc = gather(j, r);
    if (rc != SFJ_OK)
        goto done;
    if (r->bad_seq != 0)
        r->status = SFJ_REPORT_CORRUPT;
    else if (r->n_items > 0 || r->settlement_pending)
        r->status = SFJ_REPORT_ACTION;
    else
        r->status = SFJ_REPORT_CLEAN;
done:
    if (rc != SFJ_OK) {
        sfj_report_free(r);
        return rc;
    }
    *out = r;
    return SFJ_OK;
}

void sfj_report_free(sfj_report *r)
{
    if (r == NULL)
        return;
    if (r->items != NULL) {
        sodium_memzero(r->items, r->n_items * sizeof *r->items);
        free(r->items);
    }
    if (r->amounts != NULL) {
        sodium_memzero(r->amounts, r->n_amounts * sizeof *r->amounts);
        free(r->amounts);
    }
    sodium_memzero(r, sizeof *r);
    free(r);
}
