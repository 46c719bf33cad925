/* The transaction state machine.
 *
 * Stored states and transitions (sfj__txn_rule_apply):
 *   (none)   --INTENT-->              INTENT
 *   (none)   --OFFLINE approved-->    OFFLINE
 *   (none)   --OFFLINE declined-->    DONE(declined)
 *   INTENT   --INTENT (repeat)-->     INTENT   (boot updated)
 *   INTENT   --OUTCOME approved/declined--> DONE
 *   INTENT   --OUTCOME error-->       INTENT   (HOST_ERROR: in doubt)
 *   OFFLINE  --OUTCOME approved/declined--> DONE (the acquirer's answer
 *            to a forwarded offline sale; sfj__txn_check refuses it while
 *            the OFFLINE entry is not acknowledged upstream)
 *   INTENT, DONE(approved), OFFLINE, REVERSED --REVERSAL--> REVERSED
 *   DONE, OFFLINE, REVERSED --RECEIPT--> same state, receipt flags
 * Every other pair is refused by sfj__txn_rule_check before anything is
 * written. IN_DOUBT, CLOSED and FORWARDED are derived when read. The open
 * set holds a txn exactly while sfj__txn_is_open says so;
 * sfj__txn_index_event keeps it in step. */
#include "journal/write/txn_rules.h"

#include <sodium.h>
#include <string.h>

#include "sfj/errors.h"

int sfj__txn_kind(uint16_t kind)
{
    return kind == SFJ_EV_TXN_INTENT || kind == SFJ_EV_TXN_OUTCOME ||
           kind == SFJ_EV_TXN_OFFLINE || kind == SFJ_EV_REVERSAL ||
           kind == SFJ_EV_RECEIPT;
}

int sfj__txn_indexed_kind(uint16_t kind)
{
    return sfj__txn_kind(kind) || kind == SFJ_EV_SETTLEMENT;
}

static int check_status(const sfj__txn_ev *ev)
{
    uint16_t s = ev->status;

    switch (ev->kind) {
    case SFJ_EV_TXN_INTENT:
        return s == SFJ_ST_NONE ? SFJ_OK : SFJ_EINVAL;
    case SFJ_EV_TXN_OUTCOME:
        return s == SFJ_ST_APPROVED || s == SFJ_ST_DECLINED || s == SFJ_ST_ERROR
                   ? SFJ_OK
                   : SFJ_EINVAL;
    case SFJ_EV_TXN_OFFLINE:
        return s == SFJ_ST_NONE || s == SFJ_ST_APPROVED || s == SFJ_ST_DECLINED
                   ? SFJ_OK
                   : SFJ_EINVAL;
    case SFJ_EV_REVERSAL:
        return s == SFJ_ST_REV_DECIDED || s == SFJ_ST_REV_SENT ||
                       s == SFJ_ST_APPROVED || s == SFJ_ST_DECLINED ||
                       s == SFJ_ST_ERROR
                   ? SFJ_OK
                   : SFJ_EINVAL;
    case SFJ_EV_RECEIPT:
        return s == SFJ_ST_PRINTED || s == SFJ_ST_PRINT_FAILED ||
                       s == SFJ_ST_REPRINTED
                   ? SFJ_OK
                   : SFJ_EINVAL;
    default:
        return SFJ_OK;
    }
}

static int check_receipt(const sfj__txnrec *r, const sfj__txn_ev *ev)
{
    /* Nothing to print before the host (or the card) has answered. */
    if (r == NULL || r->state == SFJ__TS_INTENT)
        return SFJ_ESTATE;
    if (ev->status == SFJ_ST_PRINTED)
        return ev->copy <= 1 ? SFJ_OK : SFJ_EINVAL;
    if (ev->status == SFJ_ST_REPRINTED) {
        /* A failed print may have left part of the original with the
         * customer, so its reprint is a DUPLICATE too. */
        if (!(r->flags & (SFJ_TXN_F_PRINTED | SFJ_TXN_F_PRINT_FAILED)))
            return SFJ_ESTATE; /* a duplicate of nothing printed */
        if (ev->copy < 2 || ev->copy <= r->copies)
            return SFJ_ESTATE;
    }
    return SFJ_OK;
}

int sfj__txn_rule_check(const sfj__txnrec *r, const sfj__txn_ev *ev)
{
    int rc = check_status(ev);

    if (rc != SFJ_OK || !sfj__txn_kind(ev->kind))
        return rc;
    switch (ev->kind) {
    case SFJ_EV_TXN_INTENT:
        /* New, or a repeat of one still waiting for its answer. */
        return r == NULL || r->state == SFJ__TS_INTENT ? SFJ_OK : SFJ_ESTATE;
    case SFJ_EV_TXN_OUTCOME:
        if (r != NULL && r->state == SFJ__TS_OFFLINE)
            return ev->status == SFJ_ST_ERROR ? SFJ_ESTATE : SFJ_OK;
        return r != NULL && r->state == SFJ__TS_INTENT ? SFJ_OK : SFJ_ESTATE;
    case SFJ_EV_TXN_OFFLINE:
        return r == NULL ? SFJ_OK : SFJ_ESTATE;
    case SFJ_EV_REVERSAL:
        if (r == NULL)
            return SFJ_ESTATE;
        if (r->state == SFJ__TS_DONE && r->outcome != SFJ_ST_APPROVED)
            return SFJ_ESTATE; /* declined: nothing to reverse */
        return SFJ_OK;
    default:
        return check_receipt(r, ev);
    }
}

static void apply_receipt(sfj__txnrec *r, const sfj__txn_ev *ev, uint64_t seq)
{
    uint32_t copy = ev->copy == 0 ? 1 : ev->copy;

    if (ev->status == SFJ_ST_PRINTED) {
        if (r->receipt_seq == 0)
            r->receipt_seq = seq;
        r->flags |= SFJ_TXN_F_PRINTED;
        r->flags &= (uint16_t)~SFJ_TXN_F_PRINT_FAILED;
    } else if (ev->status == SFJ_ST_PRINT_FAILED) {
        r->fail_seq = seq;
        if (!(r->flags & SFJ_TXN_F_PRINTED))
            r->flags |= SFJ_TXN_F_PRINT_FAILED;
        return;
    } else {
        r->reprint_seq = seq;
        r->flags |= SFJ_TXN_F_REPRINTED | SFJ_TXN_F_PRINTED;
        r->flags &= (uint16_t)~SFJ_TXN_F_PRINT_FAILED;
    }
    if (copy > r->copies)
        r->copies = copy;
}

void sfj__txn_rule_apply(sfj__txnrec *r, int is_new, const sfj__txn_ev *ev,
                         uint64_t seq)
{
    if (is_new) {
        memset(r, 0, sizeof *r);
        r->first_seq = seq;
        r->first_wall_ms = ev->wall_ms;
        r->state = SFJ__TS_DONE; /* a receipt whose txn was pruned */
    }
    r->last_seq = seq;
    switch (ev->kind) {
    case SFJ_EV_TXN_INTENT:
        if (r->intent_seq == 0)
            r->intent_seq = seq;
        else
            r->repeats++;
        if (r->repeats > 0)
            r->flags |= SFJ_TXN_F_REPEATED;
        r->last_intent_seq = seq;
        r->boot = ev->boot;
        r->state = SFJ__TS_INTENT;
        break;
    case SFJ_EV_TXN_OUTCOME:
        r->outcome_seq = seq;
        r->outcome = ev->status;
        if (ev->status == SFJ_ST_ERROR) {
            r->flags |= SFJ_TXN_F_HOST_ERROR;
            r->state = SFJ__TS_INTENT;
        } else {
            r->state = SFJ__TS_DONE;
        }
        break;
    case SFJ_EV_TXN_OFFLINE:
        r->offline_seq = seq;
        r->outcome =
            ev->status == SFJ_ST_DECLINED ? SFJ_ST_DECLINED : SFJ_ST_APPROVED;
        r->state =
            ev->status == SFJ_ST_DECLINED ? SFJ__TS_DONE : SFJ__TS_OFFLINE;
        break;
    case SFJ_EV_REVERSAL:
        if (r->reversal_seq == 0)
            r->reversal_seq = seq;
        r->rev_last_seq = seq;
        r->rev_status = ev->status;
        r->state = SFJ__TS_REVERSED;
        break;
    case SFJ_EV_RECEIPT:
        apply_receipt(r, ev, seq);
        break;
    default:
        break;
    }
}

int sfj__settle_rule_check(uint64_t settle_seq, uint64_t answer_seq,
                           uint16_t status)
{
    if (status == SFJ_ST_NONE)
        return SFJ_OK;
    if (status != SFJ_ST_APPROVED && status != SFJ_ST_DECLINED &&
        status != SFJ_ST_ERROR)
        return SFJ_EINVAL;
    return settle_seq != 0 && answer_seq == 0 ? SFJ_OK : SFJ_ESTATE;
}

static int index_settlement(sfj_journal *j, MDB_txn *txn, const sfj__txn_ev *ev,
                            uint64_t seq)
{
    int rc = SFJ_OK;

    if (ev->status == SFJ_ST_NONE) {
        rc = sfj__txm_put(j, txn, SFJ__TXM_SETTLE, seq);
        if (rc == SFJ_OK)
            rc = sfj__txm_put(j, txn, SFJ__TXM_SETTLE_ANS, 0);
    } else if (ev->status == SFJ_ST_APPROVED || ev->status == SFJ_ST_DECLINED) {
        rc = sfj__txm_put(j, txn, SFJ__TXM_SETTLE_ANS, seq);
    }
    return rc;
}

int sfj__txn_index_event(sfj_journal *j, MDB_txn *txn, const sfj__txn_ev *ev,
                         uint64_t seq)
{
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    sfj__txnrec r;
    sfj__openrec o;
    int rc, is_new, was_open, now_open;

    if (ev->kind == SFJ_EV_SETTLEMENT)
        return index_settlement(j, txn, ev, seq);
    if (!sfj__txn_kind(ev->kind) || ev->txn_id == NULL || ev->txn_id[0] == '\0')
        return SFJ_OK;
    if (ev->look != NULL) {
        memcpy(hash, ev->look->hash, sizeof hash);
        r = ev->look->r;
        rc = ev->look->found ? SFJ_OK : SFJ_ENOTFOUND;
    } else {
        sfj__txn_hash(j->keys, ev->txn_id, hash);
        rc = sfj__txnrec_get(j, txn, hash, &r);
    }
    if (rc != SFJ_OK && rc != SFJ_ENOTFOUND)
        return rc;
    is_new = rc == SFJ_ENOTFOUND;
    rc = SFJ_OK;
    was_open = !is_new && sfj__txn_is_open(&r, !j->no_receipts);
    sfj__txn_rule_apply(&r, is_new, ev, seq);
    now_open = sfj__txn_is_open(&r, !j->no_receipts);
    if (now_open && !was_open) {
        memset(&o, 0, sizeof o);
        o.seq = r.first_seq;
        memcpy(o.hash, hash, sizeof hash);
        o.wall_ms = r.first_wall_ms;
        if (r.state == SFJ__TS_OFFLINE) {
            o.has_amount = 1;
            o.amount = ev->amount;
            if (ev->currency != NULL)
                memcpy(o.currency, ev->currency, strlen(ev->currency) + 1);
        }
        rc = sfj__open_put(j, txn, &o);
        sodium_memzero(&o, sizeof o);
    } else if (!now_open && was_open) {
        rc = sfj__open_del(j, txn, r.first_seq);
    }
    if (rc == SFJ_OK)
        rc = sfj__txnrec_put(j, txn, hash, &r);
    return rc;
}
