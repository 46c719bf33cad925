/* What both sinks share while driving a forwarder: status reports, ack
 * persistence, backoff and the journal head. The sinks and the handle
 * (forwarder.c) call these; they call nothing above the journal. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/logging.h"
#include "forwarder/forwarder_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

/* The cause an SFJ_E* code stands for when the sink said no more. */
static sfj_link_cause cause_of(int error)
{
    switch (error) {
    case SFJ_ETIMEDOUT:
        return SFJ_CAUSE_TIMEOUT;
    case SFJ_EAUTH:
    case SFJ_EVERSION:
        return SFJ_CAUSE_HANDSHAKE;
    case SFJ_EREJECTED:
        return SFJ_CAUSE_HOST;
    case SFJ_EPROTO:
    case SFJ_ECORRUPT:
        return SFJ_CAUSE_PROTOCOL;
    case SFJ_EIO:
    case SFJ_EDEAD:
        return SFJ_CAUSE_JOURNAL;
    default:
        return SFJ_CAUSE_LINK;
    }
}

void sfj__fwd_cause(sfj_forwarder *f, sfj_link_cause cause, int host_status)
{
    f->cause_hint = cause;
    f->host_status_hint = host_status;
}

void sfj__fwd_publish(sfj_forwarder *f, uint64_t bytes_out, uint64_t bytes_in)
{
    pthread_mutex_lock(&f->lock);
    f->info.sent = f->n_sent;
    f->info.resent = f->n_resent;
    f->info.bytes_sent = bytes_out;
    f->info.bytes_received = bytes_in;
    pthread_mutex_unlock(&f->lock);
}

/* Every event passes here: keep the snapshot sfj_forwarder_info_get
 * reads. */
static void note_event(sfj_forwarder *f, int event, int error,
                       const char *detail)
{
    sfj_forwarder_info *in = &f->info;
    int prev;

    pthread_mutex_lock(&f->lock);
    prev = in->state;
    if (event == SFJ_FWD_ONLINE) {
        if (prev != SFJ_LINK_ONLINE && f->was_online)
            in->reconnects++;
        f->was_online = 1;
        in->state = SFJ_LINK_ONLINE;
        f->cause_hint = SFJ_CAUSE_NONE;
        f->host_status_hint = 0;
    } else if (event == SFJ_FWD_OFFLINE) {
        if (in->state != SFJ_LINK_REFUSED) /* a refusal stays until online */
            in->state = SFJ_LINK_OFFLINE;
    } else if (event == SFJ_FWD_REJECTED) {
        in->rejected++;
    }
    if (event == SFJ_FWD_REFUSED)
        in->state = SFJ_LINK_REFUSED;
    /* Closing a refused link keeps the refusal as the cause. */
    if ((event == SFJ_FWD_OFFLINE && prev != SFJ_LINK_REFUSED) ||
        event == SFJ_FWD_ERROR || event == SFJ_FWD_REFUSED) {
        in->errors++;
        in->last_error = error;
        in->cause_code =
            f->cause_hint != SFJ_CAUSE_NONE ? f->cause_hint : cause_of(error);
        in->host_status =
            in->cause_code == SFJ_CAUSE_HOST ? f->host_status_hint : 0;
        snprintf(in->cause, sizeof in->cause, "%s",
                 detail != NULL ? detail : sfj_strerror(error));
    }
    if ((int)in->state != prev)
        in->last_change_ms = sfj__now_ms();
    pthread_mutex_unlock(&f->lock);
}

/* The same events as log lines. */
static void log_event(int event, uint64_t seq, int error, const char *detail)
{
    const char *what = detail != NULL ? detail : sfj_strerror(error);

    switch (event) {
    case SFJ_FWD_ONLINE:
        sfj__log(SFJ_LOG_INFO, "forwarder: online");
        break;
    case SFJ_FWD_OFFLINE:
        sfj__log(SFJ_LOG_WARN, "forwarder: offline: %s (error %d)", what,
                 error);
        break;
    case SFJ_FWD_ERROR:
        sfj__log(error == SFJ_EDEAD || error == SFJ_EIO ? SFJ_LOG_ERROR
                                                        : SFJ_LOG_WARN,
                 "forwarder: seq %llu: %s (%s)", (unsigned long long)seq, what,
                 sfj_strerror(error));
        break;
    case SFJ_FWD_REFUSED:
        sfj__log(SFJ_LOG_ERROR, "forwarder: refused by the upstream: %s", what);
        break;
    case SFJ_FWD_REJECTED:
        sfj__log(SFJ_LOG_ERROR,
                 "forwarder: seq %llu set aside as needs-attention: %s",
                 (unsigned long long)seq, what);
        break;
    default:
        break;
    }
}

/* The first permanent refusal of this forwarder: a NOTE in the journal,
 * set aside as needs-attention so that sfj-recover lists it (and it is
 * never sent). Best effort: the event already reported it. */
static void note_refusal(sfj_forwarder *f, const char *why)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char text[160];
    uint64_t seq = 0;

    snprintf(text, sizeof text, "upstream refused the link: %s", why);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = text;
    ev.payload_len = strlen(text);
    if (sfj_append(f->j, &ev, &seq) == SFJ_OK)
        (void)sfj__journal_set_attention(f->j, seq, 0, text);
}

void sfj__fwd_report(sfj_forwarder *f, int event, uint64_t seq, int error,
                     const char *detail)
{
    sfj_forwarder_status st;

    note_event(f, event, error, detail);
    log_event(event, seq, error, detail);
    if (event == SFJ_FWD_REFUSED && !f->refusal_noted) {
        f->refusal_noted = 1;
        note_refusal(f, detail != NULL ? detail : sfj_strerror(error));
    }
    if (f->o.status == NULL)
        return;
    memset(&st, 0, sizeof st);
    st.event = event;
    st.seq = seq;
    st.error = error;
    st.detail = detail != NULL ? detail : sfj_strerror(error);
    f->o.status(&st, f->o.status_payload);
}

int sfj__fwd_flush_requested(sfj_forwarder *f)
{
    int r;

    pthread_mutex_lock(&f->lock);
    r = f->flush_req;
    pthread_mutex_unlock(&f->lock);
    return r;
}

int sfj__fwd_persist(sfj_forwarder *f, int force)
{
    sfj_forwarder_status st;
    uint64_t from;
    int64_t now = sfj__mono_ms();
    int rc;

    if (f->acked <= f->persisted)
        return SFJ_OK;
    if (!force && f->acked - f->persisted < f->o.ack_batch &&
        now - f->last_persist < f->o.ack_flush_ms &&
        !sfj__fwd_flush_requested(f))
        return SFJ_OK;
    rc = sfj__journal_ack(f->j, f->acked, NULL, 0);
    if (rc != SFJ_OK) {
        sfj__fwd_cause(f, SFJ_CAUSE_JOURNAL, 0);
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, rc, "persisting acks failed");
        if (rc == SFJ_EDEAD || rc == SFJ_EIO)
            f->fatal = rc;
        return rc;
    }
    f->last_persist = now;
    from = f->persisted + 1;
    pthread_mutex_lock(&f->lock);
    /* With the frames that carried them: a caller this wakes (a flush)
     * never reads fewer entries sent than acknowledged. */
    f->info.sent = f->n_sent;
    f->info.resent = f->n_resent;
    f->info.acknowledged += f->acked - f->persisted;
    f->info.acked_seq = f->acked;
    f->info.last_ack_ms = sfj__now_ms();
    f->persisted = f->acked;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    sfj__log(SFJ_LOG_DEBUG, "forwarder: seqs %llu..%llu acknowledged",
             (unsigned long long)from, (unsigned long long)f->acked);
    if (f->o.status != NULL) {
        memset(&st, 0, sizeof st);
        st.event = SFJ_FWD_FORWARDED;
        st.first_seq = from;
        st.last_seq = f->acked;
        st.detail = "forwarded";
        f->o.status(&st, f->o.status_payload);
    }
    return SFJ_OK;
}

void sfj__fwd_backoff(sfj_forwarder *f, int max)
{
    int step = max == 2 ? (f->o.backoff_max_ms > INT_MAX / 10
                               ? INT_MAX
                               : 10 * f->o.backoff_max_ms)
               : max    ? f->o.backoff_max_ms
                        : f->backoff_ms,
        delay;

    /* Full jitter over the upper half of the step, so a fleet of terminals
     * does not reconnect in lockstep after the host comes back. */
    delay = step / 2 + (int)randombytes_uniform((uint32_t)(step / 2 + 1));
    f->retry_at = sfj__mono_ms() + delay;
    if (f->backoff_ms < f->o.backoff_max_ms / 2)
        f->backoff_ms *= 2;
    else
        f->backoff_ms = f->o.backoff_max_ms;
}

void sfj__fwd_backoff_reset(sfj_forwarder *f)
{
    f->backoff_ms = f->o.backoff_min_ms;
}

int sfj__fwd_refresh(sfj_forwarder *f)
{
    uint64_t last = 0;
    int rc = sfj__journal_head(f->j, &last, NULL);

    if (rc == SFJ_OK)
        f->last_seq = last;
    else if (rc == SFJ_EDEAD || rc == SFJ_EIO)
        f->fatal = rc;
    return rc;
}
