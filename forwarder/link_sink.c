/* Framed-link sink: the terminal side of docs/PROTOCOL.md.
 *
 * States (f->state): OFFLINE -> (open transport, send HELLO) HELLO_SENT
 * -> (HELLO_ACK verified) ONLINE -> (any failure) OFFLINE. sfj__link_step
 * makes every transition; sfj__link_close is the only way back to
 * OFFLINE.
 *
 * Invariants while ONLINE: link_acked < next_send <= sent_max + 1,
 * next_send - 1 - link_acked <= window (frames in flight), and
 * link_acked / f->acked only move after verify_ack accepted an ACK (or
 * the HELLO_ACK): its MAC checks with the link key and its chain hash
 * equals this journal's own h(seq). assert_link_state checks them at each
 * transition. */
#include "common/check.h"

#include "common/abi.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "forwarder/forwarder_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/link_mac.h"
#include "sfj/sys/proto.h"

static void sleep_ms(int ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

#ifdef SFJ_CHECKS
/* The link states and the ONLINE invariants above. */
static int assert_link_state(const sfj_forwarder *f)
{
    switch (f->state) {
    case SFJ__FWD_OFFLINE:
        assert(f->t == NULL);
        break;
    case SFJ__FWD_HELLO_SENT:
        assert(f->t != NULL && f->wire_ok);
        break;
    case SFJ__FWD_ONLINE:
        assert(f->t != NULL && f->wire_ok);
        assert(f->link_acked < f->next_send);
        assert(f->next_send <= f->sent_max + 1);
        assert(f->next_send - 1 - f->link_acked <= f->window);
        assert(f->link_acked <= f->acked);
        assert(f->window <= f->o.window);
        break;
    default:
        assert(!"unknown link state");
    }
    assert(f->persisted <= f->acked);
    return 1;
}
#endif

void sfj__link_close(sfj_forwarder *f, int error, const char *detail)
{
    int was = f->state;

    if (f->t != NULL)
        sfj_transport_close(f->t);
    f->t = NULL;
    f->state = SFJ__FWD_OFFLINE;
    f->ping_out = 0;
    (void)sfj__fwd_persist(f, 1);
    assert(assert_link_state(f));
    if (was != SFJ__FWD_OFFLINE)
        sfj__fwd_report(f, SFJ_FWD_OFFLINE, 0, error, detail);
}

/* 0 when an ack for `seq` with `chain` and `mac` is genuine. */
static int verify_ack(sfj_forwarder *f, uint64_t seq, const uint8_t *chain,
                      const uint8_t *mac)
{
    uint8_t mine[SFJ_HASH_BYTES];
    int rc;

    if (seq > f->last_seq)
        return SFJ_EAUTH;
    rc = sfj__journal_chain_at(f->j, seq, mine);
    if (rc != SFJ_OK)
        return rc;
    if (sodium_memcmp(mine, chain, SFJ_HASH_BYTES) != 0)
        return SFJ_EAUTH;
    return sfj__ack_mac_verify(f->link_key, f->journal_id, seq, chain, mac);
}

static int open_transport(sfj_forwarder *f, sfj_transport **t)
{
    int rc;

    switch (f->o.sink) {
    case SFJ_SINK_TCP:
        return sfj_transport_tcp_connect(f->address, f->o.connect_timeout_ms,
                                         t);
    case SFJ_SINK_SERIAL:
        if (f->o.serial_backend == SFJ_SERIAL_TERMIOS)
            return sfj_transport_termios_open(f->address, &f->o.serial, t);
        return sfj_transport_serial_open(f->address, &f->o.serial, t);
    default:
        break;
    }
    rc = f->o.connect(t, f->o.connect_payload);
    /* The app's backend must speak a transport ops version this library
     * knows: refuse it at once rather than failing on every send. */
    if (rc == SFJ_OK &&
        (*t == NULL || (*t)->ops == NULL ||
         !SFJ__VERSION_OK((*t)->ops->version, SFJ_TRANSPORT_OPS_VERSION))) {
        sfj_transport_close(*t);
        *t = NULL;
        rc = SFJ_EVERSION;
    }
    return rc;
}

static int send_frame(sfj_forwarder *f, uint8_t type, size_t len)
{
    int rc = sfj__wire_send(&f->w, f->t, type, len, f->o.ack_timeout_ms);

    if (rc == SFJ_OK)
        f->last_tx = sfj__mono_ms();
    return rc;
}

static int send_hello(sfj_forwarder *f)
{
    sfj__hello h;
    uint8_t *body = sfj__wire_body(&f->w);
    size_t n;

    memset(&h, 0, sizeof h);
    h.version = SFJ_PROTO_VERSION;
    memcpy(h.journal_id, f->journal_id, SFJ_JOURNAL_ID_BYTES);
    snprintf(h.terminal_id, sizeof h.terminal_id, "%s",
             sfj__journal_terminal_id(f->j));
    if (h.terminal_id[0] == '\0')
        strcpy(h.terminal_id, "-");
    h.first_unacked = f->persisted + 1;
    h.last_seq = f->last_seq;
    randombytes_buf(h.nonce, sizeof h.nonce);
    n = sfj__hello_encode(&h, body);
    sfj__hello_sign(f->link_key, body, n);
    return send_frame(f, SFJ_MSG_HELLO, n);
}

static void link_open(sfj_forwarder *f)
{
    sfj_transport *t = NULL;
    int rc;

    rc = open_transport(f, &t);
    if (rc != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_OFFLINE, 0, rc, "cannot reach upstream");
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (f->wire_ok && f->w.cobs != (t->framing == SFJ_FRAMING_COBS)) {
        sfj__wire_free(&f->w);
        f->wire_ok = 0;
    }
    if (!f->wire_ok) {
        rc = sfj__wire_init(&f->w, t->framing);
        if (rc != SFJ_OK) {
            sfj_transport_close(t);
            sfj__fwd_backoff(f, 0);
            return;
        }
        f->wire_ok = 1;
    }
    sfj__wire_reset(&f->w);
    f->t = t;
    f->state = SFJ__FWD_HELLO_SENT;
    assert(assert_link_state(f));
    f->hello_at = f->last_rx = sfj__mono_ms();
    f->ping_out = 0;
    f->pause_until = 0;
    (void)sfj__fwd_refresh(f);
    rc = send_hello(f);
    if (rc != SFJ_OK) {
        sfj__link_close(f, rc, "sending HELLO failed");
        sfj__fwd_backoff(f, 0);
    }
}

static void on_hello_ack(sfj_forwarder *f, const sfj__frame *fr)
{
    sfj__hello_ack ha;
    char detail[300];
    uint64_t s;
    int rc;

    rc = sfj__hello_ack_decode(fr->body, fr->len, &ha);
    if (rc == SFJ_OK && ha.version != SFJ_PROTO_VERSION)
        rc = SFJ_EVERSION;
    if (rc != SFJ_OK) {
        sfj__link_close(f, rc, "malformed HELLO_ACK");
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (ha.status == SFJ_HELLO_BUSY) {
        /* The upstream cannot store now (its database is unavailable):
         * an outage, retried with backoff and jitter, not a refusal. */
        snprintf(detail, sizeof detail, "upstream busy: %s", ha.text);
        sfj__link_close(f, SFJ_ELINK, detail);
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (ha.status != SFJ_HELLO_OK) {
        snprintf(detail, sizeof detail, "upstream refused: status %u: %s",
                 ha.status, ha.text);
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, SFJ_EREJECTED, detail);
        sfj__link_close(f, SFJ_EREJECTED, "upstream refused the link");
        sfj__fwd_backoff(f, ha.status != SFJ_HELLO_BUSY);
        return;
    }
    s = ha.next_seq - 1;
    (void)sfj__fwd_refresh(f);
    rc = verify_ack(f, s, ha.chain, ha.mac);
    if (rc != SFJ_OK) {
        sfj__fwd_report(
            f, SFJ_FWD_ERROR, s, rc == SFJ_ENOTFOUND ? rc : SFJ_EAUTH,
            s > f->last_seq       ? "upstream holds entries this journal lacks"
            : rc == SFJ_ENOTFOUND ? "upstream resumes below the entries held"
                                  : "HELLO_ACK forged or chain diverged");
        sfj__link_close(f, SFJ_EAUTH, "resume point not verified");
        sfj__fwd_backoff(f, 1);
        return;
    }
    f->link_acked = s;
    if (s > f->acked)
        f->acked = s;
    f->next_send = s + 1;
    f->sent_max = s;
    f->window = ha.window < f->o.window ? ha.window : f->o.window;
    f->state = SFJ__FWD_ONLINE;
    assert(assert_link_state(f));
    f->last_rx = sfj__mono_ms();
    sfj__fwd_backoff_reset(f);
    sfj__fwd_report(f, SFJ_FWD_ONLINE, 0, 0, "link up");
}

static void on_ack(sfj_forwarder *f, const sfj__frame *fr)
{
    sfj__ack a;
    int rc = sfj__ack_decode(fr->body, fr->len, &a);

    if (rc != SFJ_OK || a.seq <= f->link_acked || a.seq > f->sent_max)
        return; /* malformed, stale (duplicated, reordered) or unsent */
    rc = verify_ack(f, a.seq, a.chain, a.mac);
    if (rc != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_ERROR, a.seq, SFJ_EAUTH,
                        "ACK forged or chain diverged; watermark kept");
        sfj__link_close(f, SFJ_EAUTH, "unverifiable ACK");
        sfj__fwd_backoff(f, 0);
        return;
    }
    f->link_acked = a.seq;
    if (a.seq > f->acked)
        f->acked = a.seq;
    if (f->next_send <= a.seq)
        f->next_send = a.seq + 1;
    assert(assert_link_state(f));
}

static void on_nak(sfj_forwarder *f, const sfj__frame *fr)
{
    char detail[300];
    uint64_t target;
    sfj__nak n;

    if (sfj__nak_decode(fr->body, fr->len, &n) != SFJ_OK)
        return;
    switch (n.reason) {
    case SFJ_NAK_BAD_FRAME:
    case SFJ_NAK_OUT_OF_ORDER:
    case SFJ_NAK_BUSY:
        target = n.seq > f->link_acked ? n.seq : f->link_acked + 1;
        if (target < f->next_send)
            f->next_send = target;
        if (n.reason == SFJ_NAK_BUSY)
            f->pause_until = sfj__mono_ms() + f->o.backoff_min_ms;
        assert(assert_link_state(f));
        break;
    case SFJ_NAK_REFUSED:
        snprintf(detail, sizeof detail, "upstream refused the entry: %s",
                 n.text);
        sfj__fwd_report(f, SFJ_FWD_ERROR, n.seq, SFJ_EREJECTED, detail);
        sfj__link_close(f, SFJ_EREJECTED, "entry refused");
        sfj__fwd_backoff(f, 1);
        break;
    default:
        break; /* UNSUPPORTED and unknown reasons: nothing to redo */
    }
}

static void on_frame(sfj_forwarder *f, const sfj__frame *fr)
{
    uint8_t *body;

    if (fr->type == SFJ_MSG_PING && fr->len == SFJ_PING_BODY) {
        body = sfj__wire_body(&f->w);
        memmove(body, fr->body, SFJ_PING_BODY);
        if (send_frame(f, SFJ_MSG_PONG, SFJ_PING_BODY) != SFJ_OK) {
            sfj__link_close(f, SFJ_ELINK, "send failed");
            sfj__fwd_backoff(f, 0);
        }
        return;
    }
    if (f->state == SFJ__FWD_HELLO_SENT) {
        /* Acks and pongs of an earlier session may still be on a serial
         * line: skip them. */
        if (fr->type == SFJ_MSG_HELLO_ACK)
            on_hello_ack(f, fr);
        return;
    }
    f->last_rx = sfj__mono_ms();
    switch (fr->type) {
    case SFJ_MSG_ACK:
        on_ack(f, fr);
        break;
    case SFJ_MSG_NAK:
        on_nak(f, fr);
        break;
    case SFJ_MSG_PONG:
        if (fr->len == SFJ_PING_BODY && sfj__get_u64(fr->body) == f->ping_nonce)
            f->ping_out = 0;
        break;
    default:
        break; /* unknown or unexpected types are ignored */
    }
}

/* Send ENTRY frames while the window has room. */
static void fill_window(sfj_forwarder *f)
{
    uint8_t *rec = NULL, *body;
    size_t len = 0;
    int64_t now = sfj__mono_ms();
    int rc;

    while (f->state == SFJ__FWD_ONLINE && now >= f->pause_until &&
           f->next_send <= f->last_seq &&
           f->next_send - 1 - f->link_acked < f->window) {
        rc = sfj__journal_read_sealed(f->j, f->next_send, &rec, &len);
        if (rc == SFJ_OK && len + 8 > SFJ_FRAME_MAX_BODY)
            rc = SFJ_ECORRUPT;
        if (rc != SFJ_OK) {
            free(rec);
            rec = NULL;
            sfj__fwd_report(f, SFJ_FWD_ERROR, f->next_send, rc,
                            "entry cannot be read for sending");
            sfj__link_close(f, rc, "entry unreadable");
            sfj__fwd_backoff(f, 1);
            return;
        }
        body = sfj__wire_body(&f->w);
        sfj__entry_head_encode(f->next_send, body);
        memcpy(body + SFJ_ENTRY_HEAD_BYTES, rec, len);
        free(rec);
        rec = NULL;
        if (f->next_send - 1 == f->link_acked)
            f->last_rx = now; /* the ack clock starts with the first frame */
        rc = send_frame(f, SFJ_MSG_ENTRY, SFJ_ENTRY_HEAD_BYTES + len);
        if (rc != SFJ_OK) {
            sfj__link_close(f, rc, "send failed");
            sfj__fwd_backoff(f, 0);
            return;
        }
        if (f->next_send > f->sent_max)
            f->sent_max = f->next_send;
        f->next_send++;
        assert(assert_link_state(f));
    }
}

static void check_timers(sfj_forwarder *f)
{
    int64_t now = sfj__mono_ms();
    uint8_t *body;
    int busy = f->next_send - 1 > f->link_acked || f->ping_out;

    if (f->state == SFJ__FWD_HELLO_SENT &&
        now - f->hello_at > f->o.ack_timeout_ms) {
        sfj__link_close(f, SFJ_ETIMEDOUT, "no HELLO_ACK");
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (f->state != SFJ__FWD_ONLINE)
        return;
    if (busy && now - f->last_rx > f->o.ack_timeout_ms) {
        sfj__link_close(f, SFJ_ETIMEDOUT, "upstream silent");
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (!busy && now - f->last_rx >= f->o.ping_interval_ms &&
        now - f->last_tx >= f->o.ping_interval_ms) {
        f->ping_nonce++;
        body = sfj__wire_body(&f->w);
        sfj__put_u64(body, f->ping_nonce);
        if (send_frame(f, SFJ_MSG_PING, SFJ_PING_BODY) != SFJ_OK) {
            sfj__link_close(f, SFJ_ELINK, "send failed");
            sfj__fwd_backoff(f, 0);
            return;
        }
        f->ping_out = 1;
        f->last_rx = now;
    }
}

/* Read what the link has (waiting up to `timeout_ms`) and handle every
 * complete frame. */
static int pump(sfj_forwarder *f, int timeout_ms)
{
    sfj__frame fr;
    int rc;

    rc = sfj__wire_fill(&f->w, f->t, timeout_ms);
    if (rc == SFJ_ETIMEDOUT)
        return SFJ_OK;
    if (rc != SFJ_OK) {
        sfj__link_close(f, rc,
                        rc == SFJ_ECLOSED ? "upstream closed the link"
                                          : "link failed");
        sfj__fwd_backoff(f, 0);
        return SFJ_OK;
    }
    while (f->t != NULL) {
        rc = sfj__wire_next(&f->w, &fr);
        if (rc == 0)
            break;
        if (rc == SFJ_ECORRUPT)
            continue; /* acks are cumulative: the next one covers it */
        if (rc < 0) {
            sfj__link_close(f, SFJ_EPROTO, "unreadable stream");
            sfj__fwd_backoff(f, 0);
            break;
        }
        on_frame(f, &fr);
    }
    return SFJ_OK;
}

int sfj__link_step(sfj_forwarder *f, int timeout_ms)
{
    int64_t now = sfj__mono_ms();
    int rc, wait;

    if (f->state == SFJ__FWD_OFFLINE) {
        if (now < f->retry_at) {
            wait = (int)(f->retry_at - now);
            sleep_ms(wait < timeout_ms ? wait : timeout_ms);
            return SFJ_OK;
        }
        link_open(f);
        return f->fatal;
    }
    rc = sfj__fwd_refresh(f);
    if (rc != SFJ_OK)
        return f->fatal;
    fill_window(f);
    if (f->state == SFJ__FWD_ONLINE && f->next_send > f->last_seq &&
        f->next_send - 1 == f->link_acked && !f->ping_out) {
        /* Idle: wait for new entries rather than for the link. */
        rc = sfj__journal_wait(f->j, f->last_seq, timeout_ms);
        if (rc == SFJ_ECLOSED)
            return SFJ_ECLOSED;
        timeout_ms = 0;
    }
    if (f->t != NULL)
        pump(f, timeout_ms);
    if (f->t != NULL)
        check_timers(f);
    (void)sfj__fwd_persist(f, 0);
    assert(assert_link_state(f));
    return f->fatal;
}
