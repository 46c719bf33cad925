/* Framed-link sink: the terminal side of docs/PROTOCOL.md (version 2;
 * version 1 only when sfj__forwarder_use_v1 asked for it).
 *
 * States (f->state): OFFLINE -> (open transport, send HELLO = Noise
 * message 1) HELLO_SENT -> (HELLO_ACK = message 2 read with the link key
 * and this link's fresh ephemeral, resume point verified; a sealed PING
 * confirms the session to the upstream) ONLINE -> (any failure) OFFLINE.
 * sfj__link_step makes every transition; sfj__link_close is the only way
 * back to OFFLINE, and it wipes the session keys.
 *
 * Invariants while ONLINE: link_acked < next_send <= sent_max + 1,
 * next_send - 1 - link_acked <= window (frames in flight), and
 * link_acked / f->acked only move after verify_ack accepted an ACK (or
 * the HELLO_ACK) that arrived sealed under this session's keys (version
 * 1: whose MAC checks with the link key) and whose chain hash equals this
 * journal's own h(seq). In version 2 every frame in either direction
 * after the handshake is sealed, with implicit per-direction counters:
 * any frame that does not open ends the link. assert_link_state checks
 * them at each transition. */
#include "common/check.h"

#include "common/abi.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/logging.h"
#include "forwarder/forwarder_impl.h"
#include "forwarder/transport_tcp.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/link_mac.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/proto_v2.h"

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
    sfj__lsess_end(&f->ls);
    f->state = SFJ__FWD_OFFLINE;
    f->ping_out = 0;
    (void)sfj__fwd_persist(f, 1);
    assert(assert_link_state(f));
    if (was != SFJ__FWD_OFFLINE)
        sfj__fwd_report(f, SFJ_FWD_OFFLINE, 0, error, detail);
}

/* 0 when an ack for `seq` with `chain` is genuine: within this journal
 * and on its chain; in version 1 `mac` must verify as well (in version 2
 * the ack arrived sealed under the session keys). */
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
    if (!f->wire_v1)
        return SFJ_OK;
    return sfj__ack_mac_verify(f->link_key, f->journal_id, seq, chain, mac);
}

void sfj__forwarder_use_v1(sfj_forwarder *f)
{
    f->wire_v1 = 1;
}

static int open_transport(sfj_forwarder *f, sfj_transport **t)
{
    sfj_link_cause why = SFJ_CAUSE_NONE;
    int rc;

    switch (f->o.sink) {
    case SFJ_SINK_TCP:
        rc = sfj__tcp_connect(f->address, f->o.connect_timeout_ms, t, &why);
        sfj__fwd_cause(f, why, 0);
        return rc;
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

/* Send the message written at sfj__wire_body: sealed once the version 2
 * session is up, as it is otherwise (the handshake, version 1). */
static int send_frame(sfj_forwarder *f, uint8_t type, size_t len)
{
    int rc;

    if (sfj__lsess_ready(&f->ls))
        rc = sfj__wire_send_sealed(&f->w, f->t, sfj__lsess_tx(&f->ls), type,
                                   len, f->o.ack_timeout_ms);
    else
        rc = sfj__wire_send(&f->w, f->t, type, len, f->o.ack_timeout_ms);

    if (rc == SFJ_OK)
        f->last_tx = sfj__mono_ms();
    return rc;
}

static void terminal_id_of(sfj_forwarder *f, char *out, size_t cap)
{
    snprintf(out, cap, "%s", sfj__journal_terminal_id(f->j));
    if (out[0] == '\0')
        snprintf(out, cap, "-");
}

/* Version 2: HELLO = version | journal_id | Noise message 1, whose
 * encrypted payload is the resume point. */
static int send_hello_v2(sfj_forwarder *f)
{
    uint8_t pl[SFJ_HELLO2_PAYLOAD_MAX], *body = sfj__wire_body(&f->w);
    sfj__hello2 h;
    size_t pn, n = 0;
    int rc;

    memset(&h, 0, sizeof h);
    terminal_id_of(f, h.terminal_id, sizeof h.terminal_id);
    h.first_unacked = f->persisted + 1;
    h.last_seq = f->last_seq;
    pn = sfj__hello2_payload_encode(&h, pl);
    rc = sfj__lsess_start(&f->ls, 1, f->journal_id, f->link_key);
    if (rc == SFJ_OK) {
        sfj__hello2_head_encode(f->journal_id, body);
        rc = sfj__lsess_write(&f->ls, pl, pn, body + SFJ_HELLO2_HDR,
                              SFJ_FRAME_MAX_BODY - SFJ_HELLO2_HDR, &n);
    }
    sodium_memzero(pl, sizeof pl);
    if (rc != SFJ_OK)
        return rc;
    return send_frame(f, SFJ_MSG_HELLO, SFJ_HELLO2_HDR + n);
}

static int send_hello(sfj_forwarder *f)
{
    sfj__hello h;
    uint8_t *body = sfj__wire_body(&f->w);
    size_t n;

    if (!f->wire_v1)
        return send_hello_v2(f);
    memset(&h, 0, sizeof h);
    h.version = SFJ_PROTO_VERSION;
    memcpy(h.journal_id, f->journal_id, SFJ_JOURNAL_ID_BYTES);
    terminal_id_of(f, h.terminal_id, sizeof h.terminal_id);
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

    sfj__fwd_cause(f, SFJ_CAUSE_NONE, 0);
    rc = open_transport(f, &t);
    if (rc != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_OFFLINE, 0, rc,
                        f->cause_hint == SFJ_CAUSE_RESOLVE
                            ? "cannot reach upstream: its name does not "
                              "resolve"
                        : f->cause_hint == SFJ_CAUSE_REFUSED
                            ? "cannot reach upstream: connection refused"
                        : f->cause_hint == SFJ_CAUSE_TIMEOUT
                            ? "cannot reach upstream: connect timed out"
                            : "cannot reach upstream");
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (f->wire_ok && f->w.cobs != (t->framing == SFJ_FRAMING_COBS)) {
        f->bytes_prev_out += f->w.bytes_out;
        f->bytes_prev_in += f->w.bytes_in;
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

/* Version 2: read Noise message 2 into `ha`. Returns 0 with `ha` filled
 * (authentic), or 1 when the link was closed here. */
static int read_hello_ack_v2(sfj_forwarder *f, const sfj__frame *fr,
                             sfj__hello_ack *ha)
{
    uint8_t pl[SFJ_HELLO_ACK2_PAYLOAD_MAX];
    char detail[300];
    size_t pn = 0, i;
    int v = sfj__proto_version(fr->body, fr->len), rc;

    if (v != SFJ_PROTO_V2 || fr->len < SFJ_HELLO_ACK2_HDR) {
        /* Never fall back: an upstream that answers in another version
         * is refused, whatever it asks for. */
        snprintf(detail, sizeof detail,
                 "upstream answered in protocol version %d; this terminal "
                 "speaks only version 2",
                 v);
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, SFJ_EVERSION, detail);
        sfj__link_close(f, SFJ_EVERSION, "protocol version refused");
        sfj__fwd_backoff(f, 1);
        return 1;
    }
    if (fr->body[2] != SFJ_HELLO_OK) {
        /* A refusal in clear: the upstream could not read message 1 (it
         * does not know this journal, or holds another link key). Nobody
         * proved anything, so it changes nothing but the backoff. */
        memset(detail, 0, sizeof detail);
        for (i = 0; i + 4 < fr->len && i < 255 &&
                    i < (size_t)fr->body[SFJ_HELLO_ACK2_HDR];
             i++) {
            uint8_t c = fr->body[SFJ_HELLO_ACK2_HDR + 1 + i];

            detail[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
        }
        memset(ha, 0, sizeof *ha);
        snprintf(ha->text, sizeof ha->text,
                 "status %u (unauthenticated): %.200s", fr->body[2], detail);
        snprintf(detail, sizeof detail, "upstream refused: %s", ha->text);
        sfj__fwd_cause(f, SFJ_CAUSE_HOST, fr->body[2]);
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, SFJ_EREJECTED, detail);
        sfj__link_close(f, SFJ_EREJECTED, "upstream refused the link");
        sfj__fwd_backoff(f, fr->body[2] != SFJ_HELLO_BUSY);
        return 1;
    }
    rc = sfj__lsess_read(&f->ls, fr->body + SFJ_HELLO_ACK2_HDR,
                         fr->len - SFJ_HELLO_ACK2_HDR, pl, sizeof pl, &pn);
    if (rc == SFJ_OK)
        rc = sfj__hello_ack2_payload_decode(pl, pn, ha) == SFJ_OK ? SFJ_OK
                                                                  : SFJ_EAUTH;
    sodium_memzero(pl, sizeof pl);
    if (rc != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, SFJ_EAUTH,
                        "HELLO_ACK not authentic: not the provisioned "
                        "upstream, a replayed message, or another link key");
        sfj__link_close(f, SFJ_EAUTH, "upstream not authenticated");
        sfj__fwd_backoff(f, 1);
        return 1;
    }
    return 0;
}

static void on_hello_ack(sfj_forwarder *f, const sfj__frame *fr)
{
    sfj__hello_ack ha;
    char detail[300];
    uint64_t s;
    int rc;

    if (!f->wire_v1) {
        if (read_hello_ack_v2(f, fr, &ha) != 0)
            return;
    } else {
        rc = sfj__hello_ack_decode(fr->body, fr->len, &ha);
        if (rc == SFJ_OK && ha.version != SFJ_PROTO_VERSION)
            rc = SFJ_EVERSION;
        if (rc != SFJ_OK) {
            sfj__link_close(f, rc, "malformed HELLO_ACK");
            sfj__fwd_backoff(f, 0);
            return;
        }
    }
    if (ha.status == SFJ_HELLO_BUSY) {
        /* The upstream cannot store now (its database is unavailable):
         * an outage, retried with backoff and jitter, not a refusal. */
        snprintf(detail, sizeof detail, "upstream busy: %s", ha.text);
        sfj__fwd_cause(f, SFJ_CAUSE_HOST, ha.status);
        sfj__link_close(f, SFJ_ELINK, detail);
        sfj__fwd_backoff(f, 0);
        return;
    }
    if (ha.status != SFJ_HELLO_OK) {
        snprintf(detail, sizeof detail, "upstream refused: status %u: %s",
                 ha.status, ha.text);
        /* BUSY was handled above; every other refusal needs a person. */
        sfj__fwd_cause(f, SFJ_CAUSE_HOST, ha.status);
        sfj__fwd_report(f, SFJ_FWD_REFUSED, 0, SFJ_EREJECTED, detail);
        sfj__link_close(f, SFJ_EREJECTED, "upstream refused the link");
        sfj__fwd_backoff(f, 2);
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
    /* An upstream acknowledges only what its store holds: resuming below
     * the watermark means another store acknowledged those entries
     * (another upstream, an older copy of this one's store, another
     * shard's). They are sent again; a person should hear of it. */
    if (s < f->acked) {
        snprintf(detail, sizeof detail,
                 "link up; the upstream holds up to seq %llu, below the "
                 "acknowledged seq %llu (another upstream, or its store "
                 "lost them): sending them again",
                 (unsigned long long)s, (unsigned long long)f->acked);
        sfj__log(SFJ_LOG_WARN, "forwarder: %s", detail);
    } else
        snprintf(detail, sizeof detail, "link up");
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
    if (!f->wire_v1) {
        /* The first sealed frame proves this session to the upstream,
         * which stores nothing before it: send one at once. */
        f->ping_nonce++;
        sfj__put_u64(sfj__wire_body(&f->w), f->ping_nonce);
        if (send_frame(f, SFJ_MSG_PING, SFJ_PING_BODY) != SFJ_OK) {
            sfj__link_close(f, SFJ_ELINK, "send failed");
            sfj__fwd_backoff(f, 0);
            return;
        }
        f->ping_out = 1;
    }
    sfj__fwd_report(f, SFJ_FWD_ONLINE, 0, 0, detail);
}

static void on_ack(sfj_forwarder *f, const sfj__frame *fr)
{
    sfj__ack a;
    int rc = f->wire_v1 ? sfj__ack_decode(fr->body, fr->len, &a)
                        : sfj__ack2_decode(fr->body, fr->len, &a);

    if (rc == SFJ_OK && a.seq > f->last_seq) {
        /* Nobody holds what this journal never wrote. */
        sfj__fwd_report(f, SFJ_FWD_ERROR, a.seq, SFJ_EAUTH,
                        "ACK beyond the newest entry: forged; watermark kept");
        sfj__link_close(f, SFJ_EAUTH, "forged ACK");
        sfj__fwd_backoff(f, 0);
        return;
    }
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
        sfj__fwd_cause(f, SFJ_CAUSE_HOST, n.reason);
        sfj__fwd_report(f, SFJ_FWD_ERROR, n.seq, SFJ_EREJECTED, detail);
        sfj__link_close(f, SFJ_EREJECTED, "entry refused");
        sfj__fwd_backoff(f, 1);
        break;
    default:
        break; /* UNSUPPORTED and unknown reasons: nothing to redo */
    }
}

static void on_message(sfj_forwarder *f, const sfj__frame *fr);

/* Version 2: everything after the handshake arrives sealed. A frame that
 * does not open under this session's receive state (tampered, truncated,
 * replayed, reordered, reflected, or from another session) ends the
 * link; frames in clear are not the upstream's and are ignored. */
static void on_frame(sfj_forwarder *f, const sfj__frame *fr)
{
    sfj__frame in;
    size_t n = 0;
    uint8_t type = 0;

    if (f->wire_v1 || !sfj__lsess_ready(&f->ls)) {
        if (f->wire_v1 || fr->type == SFJ_MSG_HELLO_ACK)
            on_message(f, fr);
        return; /* the handshake takes only a HELLO_ACK */
    }
    if (fr->type != SFJ_MSG_SEALED)
        return;
    /* The body sits in this link's own receive buffer: open in place. */
    if (sfj__wire_open_sealed(sfj__lsess_rx(&f->ls), fr, (uint8_t *)fr->body,
                              &type, &n) != SFJ_OK) {
        sfj__fwd_report(f, SFJ_FWD_ERROR, 0, SFJ_EAUTH,
                        "frame not authentic for this session; watermark "
                        "kept");
        sfj__link_close(f, SFJ_EAUTH, "unauthenticated frame");
        sfj__fwd_backoff(f, 0);
        return;
    }
    in.type = type;
    in.flags = 0;
    in.len = (uint32_t)n;
    in.body = fr->body;
    on_message(f, &in);
}

static void on_message(sfj_forwarder *f, const sfj__frame *fr)
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

    sfj__wire_hold(&f->w);
    while (f->state == SFJ__FWD_ONLINE && now >= f->pause_until &&
           f->next_send <= f->last_seq &&
           f->next_send - 1 - f->link_acked < f->window) {
        rc = sfj__journal_read_sealed(f->j, f->next_send, &rec, &len);
        if (rc == SFJ_OK && len + 8 > SFJ_SEALED_MAX_BODY)
            rc = SFJ_ECORRUPT;
        if (rc != SFJ_OK) {
            free(rec);
            rec = NULL;
            sfj__fwd_cause(f, SFJ_CAUSE_JOURNAL, 0);
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
        f->n_sent++;
        if (f->next_send <= f->sent_hi)
            f->n_resent++; /* a replay after a reconnect or a NAK */
        else
            f->sent_hi = f->next_send;
        if (f->next_send > f->sent_max)
            f->sent_max = f->next_send;
        f->next_send++;
        assert(assert_link_state(f));
    }
    if (f->t != NULL &&
        sfj__wire_flush(&f->w, f->t, f->o.ack_timeout_ms) != SFJ_OK) {
        sfj__link_close(f, SFJ_ELINK, "send failed");
        sfj__fwd_backoff(f, 0);
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
        if (rc == SFJ_ECORRUPT && !f->wire_v1 && sfj__lsess_ready(&f->ls)) {
            /* A lost sealed frame leaves the counters apart for good. */
            sfj__link_close(f, SFJ_ECORRUPT, "damaged frame");
            sfj__fwd_backoff(f, 0);
            break;
        }
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

static int link_step(sfj_forwarder *f, int timeout_ms)
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

int sfj__link_step(sfj_forwarder *f, int timeout_ms)
{
    int rc = link_step(f, timeout_ms);

    sfj__fwd_publish(f, f->bytes_prev_out + (f->wire_ok ? f->w.bytes_out : 0),
                     f->bytes_prev_in + (f->wire_ok ? f->w.bytes_in : 0));
    return rc;
}
