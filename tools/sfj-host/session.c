/* One link to one terminal: the upstream side of docs/PROTOCOL.md.
 *
 * States: AWAIT_HELLO -> (valid HELLO) ONLINE -> (stream link fault or
 * refusal) CLOSED, freed by the loop. A HELLO in any state restarts the
 * session (a terminal that reconnects over a serial line sends a new
 * HELLO on the same line). A serial session never reaches CLOSED: it
 * falls back to AWAIT_HELLO.
 *
 * Invariants: `next` == store head + 1 + nrec, where the nrec entries
 * in `batch` are consecutive and not yet committed; an ACK is only sent
 * for a seq the store holds durably (after its put returned success,
 * for the head that put reported); duplicates never reach the batch. A
 * store that cannot say whether a commit holds (database unavailable)
 * ends the session without an ACK: the terminal resends later. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_text.h"
#include "host.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/link_mac.h"
#include "sfj/sys/proto.h"

#define BATCH_BYTES      (4u << 20)
#define HELLO_TIMEOUT_MS 10000
#define BAD_STREAK_MAX   8

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int host_session_new(host_session **out, host_config *cfg, sfj_transport *t,
                     int serial, const char *peer)
{
    host_session *s = calloc(1, sizeof *s);
    int rc = SFJ_ENOMEM;

    if (s == NULL)
        goto done;
    /* The batch buffer comes with the first entry: an idle link costs
     * little, so that one gateway holds tens of thousands. */
    rc = sfj__wire_init(&s->w, t->framing);
    if (rc != SFJ_OK)
        goto done;
    s->cfg = cfg;
    s->t = t;
    s->serial = serial;
    s->state = SESS_AWAIT_HELLO;
    s->opened_ms = mono_ms();
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    *out = s;
    s = NULL;
done:
    if (s != NULL) {
        free(s->batch);
        free(s);
        sfj_transport_close(t);
    }
    return rc;
}

static void release_term(host_session *s)
{
    if (s->term != NULL && s->term->owner == s)
        s->term->owner = NULL;
    s->term = NULL;
}

void host_session_close(host_session *s, const char *why)
{
    if (why != NULL)
        host_log("%s: closing: %s", s->peer, why);
    release_term(s);
    s->nrec = 0;
    s->batch_used = 0;
    if (s->serial) {
        s->state = SESS_AWAIT_HELLO;
        return;
    }
    s->state = SESS_CLOSED;
}

void host_session_free(host_session *s)
{
    if (s == NULL)
        return;
    release_term(s);
    sfj_transport_close(s->t);
    sfj__wire_free(&s->w);
    free(s->batch);
    free(s);
}

static int send_msg(host_session *s, uint8_t type, size_t len)
{
    int rc = sfj__wire_send(&s->w, s->t, type, len, 5000);

    if (rc != SFJ_OK)
        host_session_close(s, "send failed");
    return rc;
}

static void send_nak(host_session *s, uint64_t seq, uint8_t reason,
                     const char *text)
{
    sfj__nak n;

    memset(&n, 0, sizeof n);
    n.seq = seq;
    n.reason = reason;
    snprintf(n.text, sizeof n.text, "%s", text);
    send_msg(s, SFJ_MSG_NAK, sfj__nak_encode(&n, sfj__wire_body(&s->w)));
}

static void send_hello_ack(host_session *s, uint8_t status, uint64_t next,
                           const uint8_t *chain, const char *text)
{
    sfj__hello_ack ha;

    memset(&ha, 0, sizeof ha);
    ha.version = SFJ_PROTO_VERSION;
    ha.status = status;
    ha.window = (uint16_t)s->cfg->window;
    ha.next_seq = next;
    if (status == SFJ_HELLO_OK) {
        memcpy(ha.chain, chain, SFJ_HASH_BYTES);
        sfj__ack_mac(s->term->link_key, s->term->journal_id, next - 1, chain,
                     ha.mac);
    } else {
        ha.next_seq = 0;
    }
    snprintf(ha.text, sizeof ha.text, "%s", text);
    send_msg(s, SFJ_MSG_HELLO_ACK,
             sfj__hello_ack_encode(&ha, sfj__wire_body(&s->w)));
}

/* ACK the store's head `last`, `chain` as its put or head returned
 * them: every seq up to it is durable. */
static void send_ack(host_session *s, uint64_t last, const uint8_t *chain)
{
    sfj__ack a;

    s->need_ack = 0;
    if (last == 0)
        return;
    a.seq = last;
    memcpy(a.chain, chain, SFJ_HASH_BYTES);
    sfj__ack_mac(s->term->link_key, s->term->journal_id, last, a.chain, a.mac);
    send_msg(s, SFJ_MSG_ACK, sfj__ack_encode(&a, sfj__wire_body(&s->w)));
}

/* A store call failed for a reason that is not the terminal's record:
 * nothing more is acknowledged on this session. Returns HOST_EXIT_IOERR
 * when an LMDB mirror is dead (the gateway stops), else 0. */
static int store_failed(host_session *s, int rc)
{
    host_store *st = s->cfg->store;

    host_log("%s: %s: seq %llu not stored: %s (%s)", s->peer,
             s->term->terminal_id, (unsigned long long)s->next,
             sfj_strerror(rc), st->ops->errmsg(st, s->term));
    s->gap_naked = 1; /* what follows in flight is dropped quietly */
    if (rc == SFJ_ELINK) {
        send_nak(s, s->next, SFJ_NAK_BUSY, "upstream database unavailable");
        host_session_close(s, "database unavailable");
        return 0;
    }
    if (rc == SFJ_ECLOSED) {
        host_session_close(s, "replaced by a newer session on another "
                              "gateway");
        return 0;
    }
    if (rc == SFJ_EIO || rc == SFJ_EDEAD || rc == SFJ_ENOMEM) {
        send_nak(s, s->next, SFJ_NAK_BUSY, "upstream storage failed");
        host_session_close(s, "mirror failed");
        return rc == SFJ_ENOMEM ? 0 : HOST_EXIT_IOERR;
    }
    if (rc == SFJ_EFULL) {
        send_nak(s, s->next, SFJ_NAK_BUSY, "upstream mirror full");
        return 0;
    }
    send_nak(s, s->next, SFJ_NAK_REFUSED,
             rc == SFJ_EAUTH ? "record differs or bad checkpoint signature"
                             : "record does not extend the chain");
    return 0;
}

/* Does `s` hold received entries (or an ACK) to commit? Fills `p`. */
static int batch_prepare(host_session *s, host_put *p)
{
    size_t i;

    if (s->state != SESS_ONLINE || s->term == NULL ||
        (s->nrec == 0 && !s->need_ack))
        return 0;
    for (i = 0; i < s->nrec; i++)
        s->recp[i] = s->batch + s->offs[i];
    memset(p, 0, sizeof *p);
    p->t = s->term;
    p->claim = s->claim;
    p->first = s->next - s->nrec;
    p->recs = s->recp;
    p->lens = s->lens;
    p->n = s->nrec;
    return 1;
}

/* The store has answered for the batch in `p`: ACK what it holds, or say
 * why not. Returns HOST_EXIT_IOERR when the mirror is dead. */
static int batch_done(host_session *s, const host_put *p)
{
    s->nrec = 0;
    s->batch_used = 0;
    s->next = p->first + p->stored;
    if ((p->stored > 0 || s->need_ack) && p->rc != SFJ_ELINK &&
        p->rc != SFJ_ECLOSED)
        send_ack(s, p->last, p->chain);
    if (p->rc == SFJ_OK || s->state != SESS_ONLINE)
        return 0;
    return store_failed(s, p->rc);
}

/* Store this session's batch in one durable commit of its own, then ACK
 * (before anything that must see the batch stored). */
static int commit_batch(host_session *s)
{
    host_store *st = s->cfg->store;
    host_put p;

    if (!batch_prepare(s, &p))
        return 0;
    st->ops->put(st, &p, 1);
    return batch_done(s, &p);
}

int host_sessions_commit(host_config *cfg, host_session **sess, size_t n)
{
    host_put one, *items = n > 1 ? malloc(n * sizeof *items) : &one;
    host_session **who = n > 1 ? malloc(n * sizeof *who) : NULL;
    size_t i, k = 0;
    int rc = 0, r;

    if (items == NULL || (n > 1 && who == NULL)) {
        /* Out of memory: one commit per session still works. */
        for (i = 0; i < n && rc == 0; i++)
            rc = commit_batch(sess[i]);
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (batch_prepare(sess[i], &items[k])) {
            if (who != NULL)
                who[k] = sess[i];
            k++;
        }
    }
    if (k == 0)
        goto done;
    cfg->store->ops->put(cfg->store, items, k);
    for (i = 0; i < k; i++) {
        r = batch_done(who != NULL ? who[i] : sess[0], &items[i]);
        if (rc == 0)
            rc = r;
    }
done:
    if (items != &one)
        free(items);
    free(who);
    return rc;
}

/* The provisioned terminal `jid`: from the file, or from the store's
 * provisioning table, looked up when first named, so that a gateway
 * serves terminals added after it started. */
static host_terminal *find_term(host_config *cfg, const uint8_t *jid)
{
    host_store *st = cfg->store;
    host_terminal *t;
    size_t i;

    for (i = 0; i < cfg->nterms; i++) {
        if (memcmp(cfg->terms[i].journal_id, jid, SFJ_JOURNAL_ID_BYTES) == 0)
            return &cfg->terms[i];
    }
    for (t = cfg->dyn; t != NULL; t = t->next) {
        if (memcmp(t->journal_id, jid, SFJ_JOURNAL_ID_BYTES) == 0)
            return t;
    }
    if (st->ops->lookup == NULL || cfg->host_key == NULL ||
        st->ops->lookup(st, jid, &t) != SFJ_OK)
        return NULL;
    t->next = cfg->dyn;
    cfg->dyn = t;
    return t;
}

static void on_hello(host_session *s, const sfj__frame *fr)
{
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1];
    uint8_t chain[SFJ_HASH_BYTES];
    host_terminal *t;
    sfj__hello h;
    uint64_t last = 0;
    host_store *st = s->cfg->store;
    uint64_t ckpt = 0;
    int rc;

    host_session_close(s, NULL); /* a HELLO restarts the session */
    s->state = SESS_AWAIT_HELLO;
    if (sfj__hello_decode(fr->body, fr->len, &h) != SFJ_OK) {
        host_log("%s: refused: malformed HELLO", s->peer);
        send_hello_ack(s, SFJ_HELLO_VERSION, 0, NULL, "malformed HELLO");
        host_session_close(s, NULL);
        return;
    }
    sfj__cli_hex(h.journal_id, SFJ_JOURNAL_ID_BYTES, hex);
    if (h.version != SFJ_PROTO_VERSION) {
        host_log("%s: refused journal %s: protocol version %u", s->peer, hex,
                 h.version);
        send_hello_ack(s, SFJ_HELLO_VERSION, 0, NULL, "version unsupported");
        host_session_close(s, NULL);
        return;
    }
    t = find_term(s->cfg, h.journal_id);
    if (t == NULL || strcmp(t->terminal_id, h.terminal_id) != 0) {
        host_log("%s: refused journal %s (terminal %s): %s", s->peer, hex,
                 h.terminal_id,
                 t == NULL ? "not provisioned" : "terminal_id differs");
        send_hello_ack(s, SFJ_HELLO_UNKNOWN_TERMINAL, 0, NULL,
                       "terminal not provisioned");
        host_session_close(s, NULL);
        return;
    }
    if (sfj__hello_verify(t->link_key, fr->body, fr->len) != SFJ_OK) {
        host_log("%s: refused terminal %s: HELLO MAC does not verify "
                 "(wrong link key?)",
                 s->peer, t->terminal_id);
        send_hello_ack(s, SFJ_HELLO_BAD_AUTH, 0, NULL, "bad HELLO MAC");
        host_session_close(s, NULL);
        return;
    }
    /* The HELLO authenticated the terminal: this session takes the
     * journal over in the store (on every gateway), then reads the head
     * it resumes from. */
    rc = st->ops->claim(st, t, &s->claim);
    if (rc == SFJ_OK)
        rc = st->ops->head(st, t, &last, chain, &ckpt);
    if (rc != SFJ_OK) {
        host_log("%s: terminal %s: store unavailable: %s", s->peer,
                 t->terminal_id, st->ops->errmsg(st, t));
        send_hello_ack(s, SFJ_HELLO_BUSY, 0, NULL,
                       "upstream store unavailable");
        host_session_close(s, NULL);
        return;
    }
    /* The mirror holds only what the terminal sent it: a terminal offering
     * less has lost entries (its journal was restored from an old copy or
     * rolled back). Its next appends would reuse seqs the mirror holds, so
     * the link is refused; a signed checkpoint beyond the terminal's head
     * proves the lost history was once the terminal's own. */
    if (h.last_seq < last) {
        host_log("%s: refused terminal %s: journal rolled back: it offers "
                 "up to seq %llu but the mirror holds %llu%s",
                 s->peer, t->terminal_id, (unsigned long long)h.last_seq,
                 (unsigned long long)last,
                 ckpt > h.last_seq ? ", sealed by the terminal's signed "
                                     "checkpoint"
                                   : "");
        send_hello_ack(s, SFJ_HELLO_DIVERGED, 0, NULL,
                       "journal rolled back: the upstream holds more");
        host_session_close(s, NULL);
        return;
    }
    if (t->owner != NULL && t->owner != s)
        host_session_close(t->owner, "replaced by a new link");
    t->owner = s;
    s->term = t;
    s->next = last + 1;
    s->state = SESS_ONLINE;
    s->gap_naked = 0;
    s->bad_streak = 0;
    if (s->cfg->verbose)
        host_log("%s: terminal %s online, resuming at %llu", s->peer,
                 t->terminal_id, (unsigned long long)s->next);
    send_hello_ack(s, SFJ_HELLO_OK, s->next, chain, "welcome");
}

static int on_entry(host_session *s, const sfj__frame *fr)
{
    uint64_t seq;
    size_t len;
    int rc;

    if (s->state != SESS_ONLINE) {
        host_session_close(s, "ENTRY before HELLO");
        return 0;
    }
    if (fr->len < SFJ_ENTRY_HEAD_BYTES + 1) {
        s->bad_streak++;
        send_nak(s, s->next, SFJ_NAK_BAD_FRAME, "short ENTRY");
        return 0;
    }
    seq = sfj__entry_head_seq(fr->body);
    len = fr->len - SFJ_ENTRY_HEAD_BYTES;
    if (seq == s->next) {
        if (s->batch == NULL && (s->batch = malloc(BATCH_BYTES)) == NULL) {
            send_nak(s, seq, SFJ_NAK_BUSY, "upstream out of memory");
            return 0;
        }
        if (s->nrec == SESS_BATCH_MAX || s->batch_used + len > BATCH_BYTES) {
            rc = commit_batch(s);
            if (rc != 0 || s->state != SESS_ONLINE)
                return rc;
        }
        memcpy(s->batch + s->batch_used, fr->body + SFJ_ENTRY_HEAD_BYTES, len);
        s->offs[s->nrec] = s->batch_used;
        s->lens[s->nrec++] = len;
        s->batch_used += len;
        s->next++;
        s->gap_naked = 0;
        return 0;
    }
    if (seq < s->next) {
        /* A resend: keep exactly one copy, but refuse a different one. */
        rc = commit_batch(s);
        if (rc != 0 || s->state != SESS_ONLINE)
            return rc;
        {
            host_store *st = s->cfg->store;
            const uint8_t *rec = fr->body + SFJ_ENTRY_HEAD_BYTES;
            host_put p;

            memset(&p, 0, sizeof p);
            p.t = s->term;
            p.claim = s->claim;
            p.first = seq;
            p.recs = &rec;
            p.lens = &len;
            p.n = 1;
            st->ops->put(st, &p, 1);
            rc = p.rc;
        }
        if (rc == SFJ_OK) {
            s->need_ack = 1;
        } else if (rc == SFJ_ELINK || rc == SFJ_ECLOSED || rc == SFJ_EIO ||
                   rc == SFJ_EDEAD || rc == SFJ_ENOMEM) {
            return store_failed(s, rc);
        } else {
            host_log("%s: %s: duplicate seq %llu refused: %s", s->peer,
                     s->term->terminal_id, (unsigned long long)seq,
                     sfj_strerror(rc));
            send_nak(s, seq, SFJ_NAK_REFUSED, "differs from the copy held");
        }
        return 0;
    }
    if (!s->gap_naked) {
        s->gap_naked = 1;
        send_nak(s, s->next, SFJ_NAK_OUT_OF_ORDER, "expected another seq");
    }
    return 0;
}

static int on_frame(host_session *s, const sfj__frame *fr)
{
    uint8_t *body;

    if (fr->type != SFJ_MSG_ENTRY && fr->type != SFJ_MSG_HELLO &&
        fr->type != SFJ_MSG_PING && s->state == SESS_ONLINE) {
        /* ACK, NAK, PONG from a terminal carry nothing for us. */
        if (fr->type > SFJ_MSG_PONG || fr->type == 0) {
            host_log("%s: unknown frame type 0x%02x ignored", s->peer,
                     fr->type);
            send_nak(s, s->next, SFJ_NAK_UNSUPPORTED, "unknown frame type");
        }
        return 0;
    }
    switch (fr->type) {
    case SFJ_MSG_HELLO:
        if (commit_batch(s) != 0)
            return HOST_EXIT_IOERR;
        on_hello(s, fr);
        return 0;
    case SFJ_MSG_ENTRY:
        return on_entry(s, fr);
    case SFJ_MSG_PING:
        if (fr->len != SFJ_PING_BODY)
            return 0;
        body = sfj__wire_body(&s->w);
        memmove(body, fr->body, SFJ_PING_BODY);
        send_msg(s, SFJ_MSG_PONG, SFJ_PING_BODY);
        return 0;
    default:
        if (!s->serial)
            host_session_close(s, "unexpected frame before HELLO");
        return 0;
    }
}

static void bad_frame(host_session *s)
{
    if (++s->bad_streak >= BAD_STREAK_MAX) {
        host_session_close(s, "too many bad frames");
        return;
    }
    host_log("%s: bad frame dropped (CRC or format)", s->peer);
    if (s->state == SESS_ONLINE)
        send_nak(s, s->next, SFJ_NAK_BAD_FRAME, "bad frame");
}

int host_session_input(host_session *s)
{
    sfj__frame fr;
    int rc, res = 0;

    for (;;) {
        rc = sfj__wire_fill(&s->w, s->t, 0);
        if (rc == SFJ_ETIMEDOUT)
            break;
        if (rc != SFJ_OK) {
            res = commit_batch(s);
            if (s->state != SESS_CLOSED)
                host_session_close(s, rc == SFJ_ECLOSED ? NULL : "link failed");
            if (rc == SFJ_ECLOSED && s->cfg->verbose)
                host_log("%s: link closed by peer", s->peer);
            return res;
        }
        while (s->state != SESS_CLOSED &&
               (rc = sfj__wire_next(&s->w, &fr)) != 0) {
            if (rc == SFJ_ECORRUPT) {
                bad_frame(s);
                continue;
            }
            if (rc < 0) {
                host_session_close(s, "frame length over the limit; stream "
                                      "cannot be resynchronised");
                break;
            }
            s->bad_streak = 0;
            res = on_frame(s, &fr);
            if (res != 0)
                return res;
        }
        if (s->state == SESS_CLOSED)
            return 0;
    }
    /* What arrived is committed by host_sessions_commit, together with
     * what other sessions received in this turn of the loop. */
    return 0;
}

void host_session_tick(host_session *s, long long now)
{
    if (!s->serial && s->state == SESS_AWAIT_HELLO &&
        now - s->opened_ms > HELLO_TIMEOUT_MS)
        host_session_close(s, "no HELLO within 10 s");
}
