/* The forwarder handle and what its files share.
 *
 * States of the driver (link sinks):
 *   OFFLINE --connect+HELLO sent--> HELLO_SENT --valid HELLO_ACK--> ONLINE
 *   any --link error, timeout, forged ack, refusal--> OFFLINE (backoff)
 * The callback sink is ONLINE unless the app asked to retry later, then
 * OFFLINE until `retry_at`.
 *
 * Invariants: persisted <= acked <= the journal's newest seq; `acked`
 * only ever moves after an ack was verified (MAC and chain hash) or the
 * sink said ack/reject; persisted never moves backwards and is written by
 * sfj__fwd_persist only. Everything but the fields marked "lock" belongs
 * to whoever drives the forwarder (its thread, or the poll caller). */
#ifndef SFJ_FORWARDER_IMPL_H
#define SFJ_FORWARDER_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "sfj/sys/link_session.h"
#include "sfj/forwarder.h"
#include "sfj/sys/wire.h"

#define SFJ__FWD_OFFLINE    0
#define SFJ__FWD_HELLO_SENT 1
#define SFJ__FWD_ONLINE     2

/* Longest single wait, so stop and flush requests are seen promptly. */
#define SFJ__FWD_SLICE_MS 50

struct sfj_forwarder {
    sfj_journal *j;
    sfj_forwarder_opts o;
    char *address;
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    uint8_t *link_key; /* sodium_malloc'd; NULL for the callback sink */

    pthread_mutex_t lock;
    pthread_cond_t cond; /* persisted moved, or the thread ended */
    pthread_t thread;
    int running;             /* lock */
    sfj_forwarder_info info; /* lock: what sfj_forwarder_info_get gives */
    int was_online;          /* lock: the link has been up once */
    int refusal_noted;       /* a refusal was noted in the journal */
    int stop;                /* lock */
    int flush_req;           /* lock: flushes waiting: persist at once */
    unsigned flush_gen;      /* lock: bumped by each flush: skip the backoff */
    unsigned seen_gen;
    uint64_t persisted; /* lock (written by the driver) */

    int state;
    int64_t retry_at;  /* monotonic ms of the next connect / retry */
    int backoff_ms;    /* current backoff step */
    int fatal;         /* journal error: SFJ_EDEAD / SFJ_EIO */
    uint64_t last_seq; /* journal head as last seen */
    uint64_t acked;    /* verified, in memory */
    int64_t last_persist;

    /* Link sinks. */
    sfj_transport *t;
    sfj__wire w;
    int wire_ok;
    sfj__lsess ls;       /* version 2: handshake, then the session keys */
    int wire_v1;         /* speak version 1 (benchmarks and tests only) */
    unsigned window;     /* effective on this link */
    uint64_t link_acked; /* highest verified ack on this link */
    uint64_t next_send;
    uint64_t sent_max;
    int64_t hello_at;
    int64_t last_rx;
    int64_t last_tx;
    int64_t pause_until; /* NAK BUSY */
    int ping_out;
    uint64_t ping_nonce;

    /* Callback sink. */
    uint64_t cb_next;

    /* What the next error report is, when the sink knows better than its
     * SFJ_E* code (sfj__fwd_cause); cleared at each connect and when the
     * link comes up. */
    sfj_link_cause cause_hint;
    int host_status_hint;
    /* Driver-owned counters, published into `info` by sfj__fwd_publish. */
    uint64_t n_sent, n_resent;
    uint64_t sent_hi; /* highest seq ever handed to the sink */
    uint64_t bytes_prev_out, bytes_prev_in; /* of wires freed before */
};

/* Shared by the sinks and the handle (driver.c). */
/* Say what the next error report's cause is (and the host's status for
 * SFJ_CAUSE_HOST); without it the cause follows the SFJ_E* code. */
void sfj__fwd_cause(sfj_forwarder *f, sfj_link_cause cause, int host_status);
/* Copy the driver's counters (and these byte totals) into `info`. */
void sfj__fwd_publish(sfj_forwarder *f, uint64_t bytes_out, uint64_t bytes_in);
void sfj__fwd_report(sfj_forwarder *f, int event, uint64_t seq, int error,
                     const char *detail);
/* Persist `acked` as the watermark if it is due (or `force`). */
int sfj__fwd_persist(sfj_forwarder *f, int force);
/* Schedule the next attempt after the current backoff step (with full
 * jitter) and double the step; `max` 1 jumps straight to the longest, 2
 * to ten times that (a permanent refusal). */
void sfj__fwd_backoff(sfj_forwarder *f, int max);
void sfj__fwd_backoff_reset(sfj_forwarder *f);
int sfj__fwd_flush_requested(sfj_forwarder *f);
/* Refresh last_seq from the journal. */
int sfj__fwd_refresh(sfj_forwarder *f);

/* One step of each sink: do the work that is due, wait at most
 * `timeout_ms` for the link or new entries. */
int sfj__link_step(sfj_forwarder *f, int timeout_ms);
void sfj__link_close(sfj_forwarder *f, int error, const char *detail);

int sfj__callback_step(sfj_forwarder *f, int timeout_ms);

#endif
