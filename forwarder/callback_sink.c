/* Callback sink: the app delivers each decrypted entry through its own
 * host protocol and answers ack, retry later or reject.
 *
 * States: ONLINE (delivering from cb_next upward) and OFFLINE (the app
 * said retry later: nothing is offered until retry_at; the same entry
 * comes first again). sfj__callback_step makes both transitions.
 *
 * Invariants: entries are offered in seq order, each until it is acked or
 * rejected; acked == cb_next - 1 once the first entry is settled; a
 * rejected entry is set aside as needs-attention (durably) before the
 * queue moves past it, so it is never lost and never blocks the rest. */
#include <stdio.h>

#include "common/clock.h"
#include "forwarder/forwarder_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

/* Most entries handled in one step, so stop and flush stay responsive. */
#define BURST 256

static int set_aside(sfj_forwarder *f, uint64_t seq, int reason,
                     const char *why)
{
    int rc = sfj__journal_set_attention(f->j, seq, reason, why);

    if (rc != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_ERROR, seq, rc, "cannot set entry aside");
        if (rc == SFJ_EDEAD || rc == SFJ_EIO)
            f->fatal = rc;
        return rc;
    }
    sfj__fwd_report(f, SFJ_FWD_REJECTED, seq, reason, why);
    return SFJ_OK;
}

/* Offer entry `seq`; returns SFJ_DELIVER_ACK / _REJECT (settled) or
 * _RETRY, or a negative error that stops the step. */
static int offer(sfj_forwarder *f, uint64_t seq)
{
    sfj_entry *e = NULL;
    int rc, acked = 0, answer;

    rc = sfj__journal_is_acked(f->j, seq, &acked);
    if (rc != SFJ_OK)
        return rc;
    if (acked)
        return SFJ_DELIVER_ACK; /* another forwarder got there first */
    rc = sfj_read(f->j, seq, &e);
    if (rc == SFJ_EAUTH || rc == SFJ_ECORRUPT) {
        /* Damaged data is never handed out, and never blocks the queue. */
        rc = set_aside(f, seq, rc, "entry damaged; not delivered");
        return rc == SFJ_OK ? SFJ_DELIVER_REJECT : rc;
    }
    if (rc != SFJ_OK)
        return rc;
    if ((e->kind == SFJ_EV_CHECKPOINT || e->kind == SFJ_EV_KEY_ROTATION ||
         e->kind == SFJ_EV_DICTIONARY) &&
        (f->o.flags & SFJ_FWD_F_DELIVER_CHECKPOINTS) == 0)
        answer = SFJ_DELIVER_ACK;
    else {
        answer = f->o.deliver(e, f->o.deliver_payload);
        f->n_sent++;
        if (seq <= f->sent_hi)
            f->n_resent++; /* offered again after a RETRY */
        else
            f->sent_hi = seq;
    }
    sfj_entry_free(e);
    if (answer == SFJ_DELIVER_REJECT) {
        rc = set_aside(f, seq, SFJ_EREJECTED, "rejected by the sink");
        return rc == SFJ_OK ? SFJ_DELIVER_REJECT : rc;
    }
    return answer == SFJ_DELIVER_ACK ? SFJ_DELIVER_ACK : SFJ_DELIVER_RETRY;
}

static int callback_step(sfj_forwarder *f, int timeout_ms)
{
    int64_t now = sfj__mono_ms();
    int rc, n, wait;

    if (now < f->retry_at) {
        wait = (int)(f->retry_at - now);
        rc = sfj__journal_wait(f->j, UINT64_MAX - 1,
                               wait < timeout_ms ? wait : timeout_ms);
        return rc == SFJ_ECLOSED ? rc : f->fatal;
    }
    rc = sfj__fwd_refresh(f);
    if (rc != SFJ_OK)
        return f->fatal;
    if (f->state != SFJ__FWD_ONLINE) {
        f->state = SFJ__FWD_ONLINE;
        sfj__fwd_report(f, SFJ_FWD_ONLINE, 0, 0, "sink accepting");
    }
    for (n = 0; n < BURST && f->cb_next <= f->last_seq; n++) {
        rc = offer(f, f->cb_next);
        if (rc < 0)
            return f->fatal;
        if (rc == SFJ_DELIVER_RETRY) {
            f->state = SFJ__FWD_OFFLINE;
            sfj__fwd_report(f, SFJ_FWD_OFFLINE, f->cb_next, SFJ_ELINK,
                            "sink asked to retry later");
            sfj__fwd_backoff(f, 0);
            break;
        }
        f->acked = f->cb_next++;
        sfj__fwd_backoff_reset(f);
    }
    (void)sfj__fwd_persist(f, 0);
    if (f->state == SFJ__FWD_ONLINE && f->cb_next > f->last_seq) {
        rc = sfj__journal_wait(f->j, f->last_seq, timeout_ms);
        if (rc == SFJ_ECLOSED)
            return rc;
    }
    return f->fatal;
}

int sfj__callback_step(sfj_forwarder *f, int timeout_ms)
{
    int rc = callback_step(f, timeout_ms);

    sfj__fwd_publish(f, 0, 0);
    return rc;
}
