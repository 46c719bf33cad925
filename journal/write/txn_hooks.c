/* Transaction-layer hooks called by sfj_append inside the group commit.
 *
 * sfj__txn_check runs before the record is sealed and writes nothing: it
 * refuses an event the state machine forbids (txn_rules.c) or an OFFLINE
 * approval over a risk limit. sfj__txn_apply runs after the put, in the
 * same group commit: it updates the txn record and the open set, the index
 * position, and drops forwarded offline txns from the open set (the
 * commit leader prunes once for the whole batch: retention.h).
 * The index rows go to the overlay (txn_overlay.c), which the commit
 * keeps only if the entries commit, so the index as every reader sees it
 * never disagrees with the entries; both read it through the overlay.
 *
 * Pending offline totals are recomputed from the open set at each OFFLINE
 * append (their amounts sealed there, never in clear), so they are always
 * those of this very transaction, acks included. */
#include "journal/write/txn_hooks.h"

#include <sodium.h>
#include <string.h>

#include "common/satmath.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_tail.h"
#include "journal/write/txn_rules.h"
#include "sfj/errors.h"

#define PURGE_MAX 64

typedef struct pending {
    uint64_t count;
    int64_t amount; /* in the event's currency, saturating */
    int64_t oldest_ms;
    int any;
} pending;

static void to_txn_ev(const sfj_event *ev, int64_t wall_ms, uint32_t boot,
                      sfj__txn_ev *out)
{
    memset(out, 0, sizeof *out);
    out->kind = ev->kind;
    out->status = ev->status;
    out->txn_id = ev->txn_id;
    out->amount = ev->amount;
    out->currency = ev->currency;
    out->copy = ev->copy;
    out->wall_ms = wall_ms;
    out->boot = boot;
}

/* Start a scan of the open set: the ack watermark and the merged walk. */
static int open_scan(sfj_journal *j, MDB_txn *txn, uint64_t *wm,
                     sfj__open_iter *it)
{
    int rc;

    memset(it, 0, sizeof *it); /* sfj__open_iter_end is safe on failure */
    rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, wm);
    if (rc != SFJ_OK)
        return rc;
    return sfj__open_iter_begin(j, txn, it);
}

/* Sum the unforwarded OFFLINE txns of the open set. */
static int scan_pending(sfj_journal *j, MDB_txn *txn, int amounts,
                        const char *currency, pending *p)
{
    MDB_val k, v;
    sfj__open_iter it;
    sfj__openrec o;
    uint64_t wm = 0;
    const char *cy = currency != NULL ? currency : "";
    int rc, nrc, acked;

    memset(p, 0, sizeof *p);
    memset(&o, 0, sizeof o);
    rc = open_scan(j, txn, &wm, &it);
    while (rc == SFJ_OK &&
           (nrc = sfj__open_iter_next(&it, &k, &v)) != SFJ_ENOTFOUND) {
        rc = nrc;
        if (rc != SFJ_OK)
            break;
        rc = sfj__open_decode(j, &k, &v, amounts, &o);
        if (rc == SFJ_ENOTFOUND) {
            rc = SFJ_OK;
            break; /* past the open set */
        }
        if (rc != SFJ_OK) {
            sfj__set_err(j, "open txn record %llu is damaged",
                         (unsigned long long)o.seq);
            rc = SFJ_ECORRUPT;
            break;
        }
        if (!o.has_amount)
            continue;
        rc = sfj__seq_acked(j, txn, wm, o.seq, &acked);
        if (rc != SFJ_OK)
            break;
        if (acked)
            continue;
        p->count++;
        if (amounts && strcmp(o.currency, cy) == 0)
            p->amount = sfj__sat_add(p->amount, o.amount);
        if (!p->any || o.wall_ms < p->oldest_ms)
            p->oldest_ms = o.wall_ms;
        p->any = 1;
    }
    sodium_memzero(&o, sizeof o);
    sfj__open_iter_end(&it);
    return rc;
}

/* "Now" for the age limit: the newest of the event's time and every time
 * recorded before, so that a clock set back cannot make an old pending
 * txn look young. */
static int now_ms(sfj_journal *j, MDB_txn *txn, int64_t wall_ms, int64_t *now)
{
    int64_t hi = 0;
    int rc = sfj__txn_wall_hi(j, txn, &hi);

    *now = wall_ms > hi ? wall_ms : hi;
    return rc;
}

static int check_limits(sfj__wctx *w, const sfj_event *ev, int64_t wall_ms)
{
    sfj_journal *j = w->j;
    const sfj_journal_opts *o = &j->opts;
    pending p;
    sfj_limit hit = SFJ_LIMIT_NONE;
    int64_t now;
    int rc;

    if (o->max_offline_count == 0 && o->max_offline_amount == 0 &&
        o->max_offline_age_ms == 0)
        return SFJ_OK;
    rc = scan_pending(j, w->txn, 1, ev->currency, &p);
    if (rc == SFJ_OK)
        rc = now_ms(j, w->txn, wall_ms, &now);
    if (rc != SFJ_OK)
        return rc;
    if (o->max_offline_count != 0 && p.count + 1 > o->max_offline_count)
        hit = SFJ_LIMIT_COUNT;
    else if (o->max_offline_amount != 0 &&
             sfj__sat_add(p.amount, ev->amount) > o->max_offline_amount)
        hit = SFJ_LIMIT_AMOUNT;
    else if (o->max_offline_age_ms != 0 && p.any &&
             now - p.oldest_ms > o->max_offline_age_ms)
        hit = SFJ_LIMIT_AGE;
    sodium_memzero(&p, sizeof p);
    if (hit == SFJ_LIMIT_NONE)
        return SFJ_OK;
    pthread_mutex_lock(&j->lock);
    j->limit_hit = hit;
    pthread_mutex_unlock(&j->lock);
    sfj__set_err(j, "offline risk limit (%s) reached",
                 hit == SFJ_LIMIT_COUNT    ? "count"
                 : hit == SFJ_LIMIT_AMOUNT ? "amount"
                                           : "age");
    return SFJ_ELIMIT;
}

/* The entry an OUTCOME answers: the newest INTENT, or the OFFLINE sale.
 * SFJ_ENOTFOUND when it was pruned. */
static int answered_entry(sfj__wctx *w, const sfj__txnrec *r, sfj_entry **out)
{
    uint64_t seq =
        r->state == SFJ__TS_OFFLINE ? r->offline_seq : r->last_intent_seq;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(w->j, kbuf, seq), v;
    int mrc;

    *out = NULL;
    mrc = mdb_get(w->txn, w->j->db_entries, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return SFJ_ENOTFOUND;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(w->j, mrc, "mdb_get(entries)");
    return sfj__entry_from_record(w->j, seq, v.mv_data, v.mv_size, out);
}

/* An OUTCOME's amount against the sale it answers (docs/FORMAT.md, "Amounts
 * of an outcome"): an OUTCOME without amount and currency carries none;
 * otherwise the currency is the sale's and the amount is the sale's base
 * (its amount less its tip) plus the outcome's tip, or less than that for
 * an approval flagged SFJ_EVF_PARTIAL (not on an offline sale). */
static int check_amount(sfj__wctx *w, const sfj__txnrec *r, const sfj_event *ev)
{
    const char *cy = ev->currency != NULL ? ev->currency : "";
    sfj_entry *e = NULL;
    int64_t expected;
    int rc;

    if (ev->amount == 0 && cy[0] == '\0')
        return (ev->flags & SFJ_EVF_PARTIAL) ? SFJ_EAMOUNT : SFJ_OK;
    rc = answered_entry(w, r, &e);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK; /* pruned: nothing left to compare with */
    if (rc != SFJ_OK)
        return rc;
    expected = e->amount - e->tip + ev->tip;
    if (strcmp(e->currency, cy) != 0)
        rc = SFJ_EAMOUNT;
    else if (ev->flags & SFJ_EVF_PARTIAL)
        rc = r->state != SFJ__TS_OFFLINE && ev->amount > 0 &&
                     ev->amount < expected
                 ? SFJ_OK
                 : SFJ_EAMOUNT;
    else if (ev->amount != expected &&
             !(ev->amount == 0 && ev->status != SFJ_ST_APPROVED))
        rc = SFJ_EAMOUNT;
    sfj_entry_free(e);
    return rc;
}

/* An OUTCOME on an offline sale answers what the acquirer received: only
 * once the OFFLINE entry is acknowledged upstream. */
static int check_forwarded(sfj__wctx *w, const sfj__txnrec *r)
{
    uint64_t wm = 0;
    int rc, acked = 0;

    rc = sfj__meta_get_u64(w->j, w->txn, SFJ__META_WATERMARK, &wm);
    if (rc == SFJ_OK)
        rc = sfj__seq_acked(w->j, w->txn, wm, r->offline_seq, &acked);
    if (rc == SFJ_OK && !acked)
        rc = SFJ_ESTATE;
    return rc;
}

int sfj__txn_check(sfj__wctx *w, const sfj_event *ev, int64_t wall_ms,
                   sfj__txn_look *look)
{
    sfj_journal *j = w->j;
    uint64_t settle = 0, ans = 0;
    sfj__txnrec *r = &look->r;
    sfj__txn_ev e;
    int rc;

    look->found = -1;
    to_txn_ev(ev, wall_ms, j->boot, &e);
    if (ev->kind == SFJ_EV_SETTLEMENT) {
        rc = sfj__txm_get(j, w->txn, SFJ__TXM_SETTLE, &settle, NULL);
        if (rc == SFJ_OK)
            rc = sfj__txm_get(j, w->txn, SFJ__TXM_SETTLE_ANS, &ans, NULL);
        if (rc == SFJ_OK)
            rc = sfj__settle_rule_check(settle, ans, ev->status);
        goto done;
    }
    if (!sfj__txn_kind(ev->kind) || ev->txn_id == NULL)
        return SFJ_OK;
    sfj__txn_hash(j->keys, ev->txn_id, look->hash);
    rc = sfj__txnrec_get(j, w->txn, look->hash, r);
    if (rc != SFJ_OK && rc != SFJ_ENOTFOUND)
        return rc;
    look->found = rc == SFJ_OK;
    rc = sfj__txn_rule_check(look->found ? r : NULL, &e);
    if (rc == SFJ_OK && ev->kind == SFJ_EV_TXN_OUTCOME &&
        r->state == SFJ__TS_OFFLINE)
        rc = check_forwarded(w, r);
    if (rc == SFJ_OK && ev->kind == SFJ_EV_TXN_OUTCOME) {
        rc = check_amount(w, r, ev);
        if (rc == SFJ_EAMOUNT) {
            sfj__set_err(j, "outcome amount or currency differs from the "
                            "sale's");
            return rc;
        }
    }
    /* A manual sale already happened: recording it is never refused by a
     * risk limit (it still counts against them afterwards). */
    if (rc == SFJ_OK && ev->kind == SFJ_EV_TXN_OFFLINE &&
        ev->status != SFJ_ST_DECLINED && !(ev->flags & SFJ_EVF_MANUAL))
        rc = check_limits(w, ev, wall_ms);
done:
    if (rc == SFJ_ESTATE)
        sfj__set_err(j, "event does not fit the transaction's state");
    else if (rc == SFJ_EINVAL)
        sfj__set_err(j, "status not valid for this event kind");
    return rc;
}

/* Drop OFFLINE txns from the open set once they are acknowledged and
 * their receipt printed: nothing is left to do for them. */
static int purge_forwarded(sfj_journal *j, MDB_txn *txn)
{
    MDB_val k, v;
    sfj__open_iter it;
    uint64_t wm = 0, drop[PURGE_MAX];
    sfj__openrec o;
    sfj__txnrec r;
    size_t n = 0, i;
    int rc, nrc, acked;

    memset(&o, 0, sizeof o);
    rc = open_scan(j, txn, &wm, &it);
    while (rc == SFJ_OK && n < PURGE_MAX &&
           (nrc = sfj__open_iter_next(&it, &k, &v)) != SFJ_ENOTFOUND) {
        rc = nrc;
        if (rc != SFJ_OK)
            break;
        rc = sfj__open_decode(j, &k, &v, 0, &o);
        if (rc == SFJ_ENOTFOUND || (rc == SFJ_OK && o.seq > wm)) {
            rc = SFJ_OK;
            break; /* sorted by seq: nothing further is acknowledged */
        }
        if (rc != SFJ_OK || !o.has_amount) {
            rc = SFJ_OK; /* damaged ones stay for recovery to report */
            continue;
        }
        rc = sfj__seq_acked(j, txn, wm, o.seq, &acked);
        if (rc == SFJ_OK)
            rc = sfj__txnrec_get(j, txn, o.hash, &r);
        if (rc == SFJ_ENOTFOUND) {
            rc = SFJ_OK;
            continue;
        }
        if (rc != SFJ_OK)
            break;
        if (acked && (r.flags & SFJ_TXN_F_PRINTED))
            drop[n++] = o.seq;
    }
    sfj__open_iter_end(&it);
    sodium_memzero(&o, sizeof o);
    for (i = 0; rc == SFJ_OK && i < n; i++)
        rc = sfj__open_del(j, txn, drop[i]);
    return rc;
}

int sfj__txn_apply(sfj__wctx *w, const sfj_event *ev, uint64_t seq,
                   int64_t wall_ms, const sfj__txn_look *look)
{
    sfj_journal *j = w->j;
    sfj__txn_ev e;
    int rc;

    to_txn_ev(ev, wall_ms, j->boot, &e);
    if (look != NULL && look->found >= 0)
        e.look = look;
    /* An entry of a kind the index does not see (NOTE) writes nothing to
     * it: "to" and "wallhi" move over it later (txn_tail.h). */
    rc = SFJ_OK;
    if (sfj__txn_indexed_kind(ev->kind))
        rc = sfj__txn_index_step(j, w->txn, &e, seq);
    if (rc == SFJ_OK && ev->kind == SFJ_EV_TXN_OFFLINE) {
        rc = purge_forwarded(j, w->txn);
        pthread_mutex_lock(&j->lock);
        j->limit_hit = SFJ_LIMIT_NONE;
        pthread_mutex_unlock(&j->lock);
    }
    /* Past the put, any failure must abort the whole transaction. */
    if (rc != SFJ_OK && rc != SFJ_EIO && rc != SFJ_ECORRUPT &&
        rc != SFJ_ENOMEM && rc != SFJ_EFULL)
        rc = SFJ_ECORRUPT;
    return rc;
}

void sfj__txn_stats(sfj_journal *j, MDB_txn *txn, sfj_stats *out)
{
    pending p;

    if (j->keys != NULL && !j->mirror &&
        scan_pending(j, txn, 0, NULL, &p) == SFJ_OK)
        out->offline_pending = p.count;
    pthread_mutex_lock(&j->lock);
    out->limit_hit = j->limit_hit;
    pthread_mutex_unlock(&j->lock);
}
