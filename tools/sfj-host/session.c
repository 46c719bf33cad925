/* One link to one terminal: the upstream side of docs/PROTOCOL.md.
 *
 * Version 2 states: AWAIT_HELLO -> (HELLO = Noise message 1 read with the
 * provisioned link key; HELLO_ACK = message 2 sent) AWAIT_HELLO with a
 * pending session `pend` -> (the first sealed frame opens under `pend`:
 * the peer holds the link key *and* the ephemeral of this handshake)
 * ONLINE with `live` -> (fault, refusal) CLOSED, freed by the loop. Only
 * the promotion to ONLINE takes the terminal over from another session,
 * so a replayed HELLO can neither close, delay nor feed anything; a
 * pending session stores and answers nothing. A new HELLO while ONLINE
 * starts a new pending session beside the live one (a terminal that
 * reconnects over a serial line sends it on the same line). A serial
 * session never reaches CLOSED: it falls back to AWAIT_HELLO.
 *
 * Version 1 (only with --allow-v1): AWAIT_HELLO -> (valid HELLO) ONLINE;
 * a HELLO in any state restarts the session.
 *
 * Invariants: `next` == store head + 1 + nrec, where the nrec entries
 * in `batch` are consecutive and not yet committed; an ACK is only sent
 * for a seq the store holds durably (after its put returned success,
 * for the head that put reported); duplicates never reach the batch. A
 * store that cannot say whether a commit holds (database unavailable)
 * ends the session without an ACK: the terminal resends later. A link
 * that ends on a frame that does not open first commits what opened
 * before it (on_sealed, bad_frame). */
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
#include "sfj/sys/proto_v2.h"

#define BATCH_BYTES      (4u << 20)
#define HELLO_TIMEOUT_MS 10000
#define IDLE_RELEASE_MS  1000
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
    /* The buffers come with the first input and the batch with the first
     * entry, and go again when the link is idle (release_idle): an idle
     * link costs little, so that one gateway holds tens of thousands. */
    rc = sfj__wire_init(&s->w, t->framing);
    if (rc != SFJ_OK)
        goto done;
    s->cfg = cfg;
    s->t = t;
    s->serial = serial;
    s->state = SESS_AWAIT_HELLO;
    s->opened_ms = s->input_ms = mono_ms();
    if (!serial) {
        (void)sfj__wire_release(&s->w); /* nothing has arrived yet */
        s->lean = 1;
    }
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    *out = s;
    s = NULL;
done:
    if (s != NULL) {
        free(s);
        sfj_transport_close(t);
    }
    return rc;
}

/* The buffers an input needs: the channel's, the opened-frame buffer. */
static int take_buffers(host_session *s)
{
    if (sfj__wire_grow(&s->w) != SFJ_OK)
        return SFJ_ENOMEM;
    if (s->plain == NULL && (s->plain = malloc(SFJ_FRAME_MAX_BODY)) == NULL)
        return SFJ_ENOMEM;
    s->lean = 0;
    return SFJ_OK;
}

/* Give the buffers back; the batch only when it holds nothing. */
static void drop_buffers(host_session *s)
{
    if (s->plain != NULL)
        sodium_memzero(s->plain, s->plain_hi);
    free(s->plain);
    s->plain = NULL;
    s->plain_hi = 0;
    if (s->nrec == 0) {
        free(s->batch_mem);
        s->batch_mem = NULL;
        s->batch = NULL;
        s->offs = s->lens = NULL;
        s->recp = NULL;
        s->batch_used = 0;
    }
}

/* The batch buffer and its index, with the first entry. */
static int take_batch(host_session *s)
{
    size_t idx = SESS_BATCH_MAX * (2 * sizeof(size_t) + sizeof(uint8_t *));
    uint8_t *m;

    if (s->batch_mem != NULL)
        return SFJ_OK;
    m = malloc(idx + BATCH_BYTES);
    if (m == NULL)
        return SFJ_ENOMEM;
    s->batch_mem = m;
    s->offs = (size_t *)(void *)m;
    s->lens = s->offs + SESS_BATCH_MAX;
    s->recp = (const uint8_t **)(void *)(s->lens + SESS_BATCH_MAX);
    s->batch = m + idx;
    return SFJ_OK;
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
    sfj__lsess_end(&s->live);
    sfj__lsess_end(&s->pend);
    s->pend_term = NULL;
    s->v1 = 0;
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
    sfj__lsess_end(&s->live);
    sfj__lsess_end(&s->pend);
    sfj_transport_close(s->t);
    sfj__wire_free(&s->w);
    s->nrec = 0;
    drop_buffers(s);
    free(s);
}

/* Send the message written at sfj__wire_body: sealed on a version 2
 * session, in clear on version 1. */
static int send_msg(host_session *s, uint8_t type, size_t len)
{
    int rc;

    if (!s->v1 && !sfj__lsess_ready(&s->live))
        return SFJ_EINVAL; /* nothing is answered before authentication */
    if (s->v1)
        rc = sfj__wire_send(&s->w, s->t, type, len, 5000);
    else
        rc = sfj__wire_send_sealed(&s->w, s->t, sfj__lsess_tx(&s->live), type,
                                   len, 5000);

    if (rc != SFJ_OK)
        host_session_close(s, "send failed");
    return rc;
}

static void send_nak(host_session *s, uint64_t seq, uint8_t reason,
                     const char *text)
{
    sfj__nak n;

    if (reason == SFJ_NAK_REFUSED)
        host_metrics_refusal(HOST_REFUSED_RECORD);
    memset(&n, 0, sizeof n);
    n.seq = seq;
    n.reason = reason;
    snprintf(n.text, sizeof n.text, "%s", text);
    send_msg(s, SFJ_MSG_NAK, sfj__nak_encode(&n, sfj__wire_body(&s->w)));
}

/* Handshake frames go in clear (message 2 carries its own protection). */
static int send_plain(host_session *s, uint8_t type, size_t len)
{
    int rc = sfj__wire_send(&s->w, s->t, type, len, 5000);

    if (rc != SFJ_OK)
        host_session_close(s, "send failed");
    return rc;
}

/* Version 1 HELLO_ACK. */
static void send_hello_ack(host_session *s, uint8_t status, uint64_t next,
                           const uint8_t *chain, const char *text)
{
    sfj__hello_ack ha;

    host_metrics_refusal(status);
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
    send_plain(s, SFJ_MSG_HELLO_ACK,
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
    if (s->term != NULL)
        host_metrics_acked(s->term);
    a.seq = last;
    memcpy(a.chain, chain, SFJ_HASH_BYTES);
    if (!s->v1) {
        send_msg(s, SFJ_MSG_ACK,
                 sfj__ack2_encode(last, a.chain, sfj__wire_body(&s->w)));
        return;
    }
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
    host_store_put(st, &p, 1);
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
    host_store_put(cfg->store, items, k);
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

/* The negative cache slot of `jid` (host.h). */
static host_neg *neg_slot(host_config *cfg, const uint8_t *jid)
{
    return &cfg->neg[((size_t)jid[0] << 8 | jid[1]) % HOST_NEG_SLOTS];
}

int host_terminal_same(const host_terminal *a, const host_terminal *b)
{
    return a->link_key != NULL && b->link_key != NULL &&
           strcmp(a->terminal_id, b->terminal_id) == 0 &&
           sodium_memcmp(a->link_key, b->link_key, SFJ_KEY_BYTES) == 0 &&
           memcmp(a->pubkey, b->pubkey, sizeof a->pubkey) == 0;
}

void host_terminal_retire(host_terminal *t, const char *why)
{
    t->retired = 1;
    if (t->owner != NULL)
        host_session_close(t->owner, why);
    t->owner = NULL;
    sfj_journal_close(t->mirror);
    t->mirror = NULL;
    /* A key of the file's block goes (wiped) with the block at exit. */
    if (t->link_key != NULL && !t->in_block)
        sodium_free(t->link_key);
    t->link_key = NULL;
}

/* The provisioned terminal `jid`: from the file, or from the store's
 * provisioning table, looked up when first named (and again after a
 * reload), so that a gateway serves terminals added after it started and
 * refuses rows deleted since. */
static host_terminal *find_term(host_config *cfg, const uint8_t *jid)
{
    host_store *st = cfg->store;
    host_neg *neg = neg_slot(cfg, jid);
    host_terminal *t, *old;
    long long now;
    size_t i;
    int rc;

    for (i = 0; i < cfg->nterms; i++) {
        if (!cfg->terms[i].retired &&
            memcmp(cfg->terms[i].journal_id, jid, SFJ_JOURNAL_ID_BYTES) == 0)
            return &cfg->terms[i];
    }
    for (old = cfg->dyn; old != NULL; old = old->next) {
        if (!old->retired &&
            memcmp(old->journal_id, jid, SFJ_JOURNAL_ID_BYTES) == 0)
            break;
    }
    if (old != NULL && !old->stale)
        return old;
    if (st->ops->lookup == NULL || cfg->host_key == NULL)
        return NULL;
    now = mono_ms();
    if (old == NULL && neg->until > now &&
        memcmp(neg->journal_id, jid, SFJ_JOURNAL_ID_BYTES) == 0)
        return NULL;
    rc = st->ops->lookup(st, jid, &t);
    if (rc == SFJ_ENOTFOUND || rc == SFJ_ECORRUPT) {
        /* Not while the database is away: that is no answer. */
        memcpy(neg->journal_id, jid, SFJ_JOURNAL_ID_BYTES);
        neg->until = now + HOST_NEG_TTL_MS;
        if (old != NULL) /* its row is gone since a reload */
            host_terminal_retire(old, NULL);
        return NULL;
    }
    if (rc != SFJ_OK)
        return old; /* a database that cannot answer: a known one stays */
    if (old != NULL && host_terminal_same(old, t)) {
        old->stale = 0;
        sodium_free(t->link_key);
        free(t);
        return old;
    }
    if (old != NULL)
        host_terminal_retire(old, NULL);
    t->next = cfg->dyn;
    cfg->dyn = t;
    return t;
}

/* Where terminal `t`, whose newest seq is `last_seq`, resumes: the
 * store's head in `*last` and its chain hash in `chain`. Returns
 * SFJ_HELLO_OK, _BUSY (store unavailable) or _DIVERGED (logged). */
static uint8_t resume_point(host_session *s, host_terminal *t,
                            uint64_t last_seq, uint64_t *last, uint8_t *chain,
                            const char *note)
{
    host_store *st = s->cfg->store;
    uint64_t ckpt = 0;
    int rc = st->ops->head(st, t, last, chain, &ckpt);

    if (rc != SFJ_OK) {
        host_log("%s: terminal %s: store unavailable: %s", s->peer,
                 t->terminal_id, st->ops->errmsg(st, t));
        return SFJ_HELLO_BUSY;
    }
    /* The mirror holds only what the terminal sent it: a terminal offering
     * less has lost entries (its journal was restored from an old copy or
     * rolled back). Its next appends would reuse seqs the mirror holds, so
     * the link is refused; a signed checkpoint beyond the terminal's head
     * proves the lost history was once the terminal's own. */
    if (last_seq < *last) {
        host_log("%s: refused terminal %s: journal rolled back: it offers "
                 "up to seq %llu but the mirror holds %llu%s%s",
                 s->peer, t->terminal_id, (unsigned long long)last_seq,
                 (unsigned long long)*last,
                 ckpt > last_seq ? ", sealed by the terminal's signed "
                                   "checkpoint"
                                 : "",
                 note);
        return SFJ_HELLO_DIVERGED;
    }
    return SFJ_HELLO_OK;
}

/* A store holds everything it acknowledged, so a terminal whose
 * acknowledged watermark lies above the head was acknowledged by another
 * store: an older copy of this one, another shard's (a gateway with
 * another shard map), another host's. The terminal sends those entries
 * again; the operator should hear of it. */
static void note_missing_acks(const host_session *s, const host_terminal *t,
                              uint64_t acked, uint64_t head)
{
    if (acked > head)
        host_log("%s: terminal %s: acknowledged up to seq %llu, but this "
                 "store holds up to %llu: entries acknowledged elsewhere are "
                 "missing here (an older copy of the store, another shard "
                 "map?); the terminal sends them again",
                 s->peer, t->terminal_id, (unsigned long long)acked,
                 (unsigned long long)head);
}

static const char *resume_refusal(uint8_t status)
{
    return status == SFJ_HELLO_BUSY
               ? "upstream store unavailable"
               : "journal rolled back: the upstream holds more";
}

static void on_hello_v1(host_session *s, const sfj__frame *fr)
{
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1];
    uint8_t chain[SFJ_HASH_BYTES];
    host_terminal *t;
    sfj__hello h;
    uint64_t last = 0;
    host_store *store = s->cfg->store;
    uint8_t st;

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
    s->v1 = 1;
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
    if (h.first_unacked < 1 || h.last_seq >= SFJ_HELLO_SEQ_MAX ||
        h.first_unacked > h.last_seq + 1) {
        host_log("%s: refused terminal %s: resume point not sane "
                 "(first_unacked %llu, last_seq %llu)",
                 s->peer, t->terminal_id, (unsigned long long)h.first_unacked,
                 (unsigned long long)h.last_seq);
        send_hello_ack(s, SFJ_HELLO_INVALID, 0, NULL, "resume point not sane");
        host_session_close(s, NULL);
        return;
    }
    host_log("%s: terminal %s speaks protocol version 1 (allowed by "
             "--allow-v1 for migration; the link is not protected)",
             s->peer, t->terminal_id);
    /* The HELLO authenticated the terminal (version 1 has no later
     * confirmation): this session takes the journal over in the store (on
     * every gateway), then reads the head it resumes from. */
    if (store->ops->claim(store, t, &s->claim) != SFJ_OK) {
        host_log("%s: terminal %s: store unavailable: %s", s->peer,
                 t->terminal_id, store->ops->errmsg(store, t));
        st = SFJ_HELLO_BUSY;
    } else
        st = resume_point(s, t, h.last_seq, &last, chain, "");
    if (st != SFJ_HELLO_OK) {
        send_hello_ack(s, st, 0, NULL, resume_refusal(st));
        host_session_close(s, NULL);
        return;
    }
    note_missing_acks(s, t, h.first_unacked - 1, last);
    if (t->owner != NULL && t->owner != s)
        host_session_close(t->owner, "replaced by a new link");
    t->owner = s;
    s->term = t;
    s->next = last + 1;
    s->state = SESS_ONLINE;
    host_metrics_session(t, h.last_seq, last);
    s->gap_naked = 0;
    s->bad_streak = 0;
    if (s->cfg->verbose)
        host_log("%s: terminal %s online, resuming at %llu", s->peer,
                 t->terminal_id, (unsigned long long)s->next);
    send_hello_ack(s, SFJ_HELLO_OK, s->next, chain, "welcome");
}

/* Version 2: a refusal in clear, for a HELLO whose message 1 could not be
 * read (unknown journal, another link key, malformed). A stream link is
 * closed; a serial line keeps its live session. */
static void refuse_clear(host_session *s, uint8_t status, const char *text)
{
    size_t n =
        sfj__hello_ack2_clear_encode(status, text, sfj__wire_body(&s->w));

    host_metrics_refusal(status);
    sfj__lsess_end(&s->pend);
    s->pend_term = NULL;
    if (send_plain(s, SFJ_MSG_HELLO_ACK, n) == SFJ_OK && !s->serial)
        host_session_close(s, NULL);
}

/* Version 2: answer message 1 with message 2 carrying `status` and, for
 * OK, the resume point. Afterwards `pend` is READY (OK) or ended. */
static void answer_v2(host_session *s, uint8_t status, uint64_t next,
                      const uint8_t *chain, const char *text)
{
    uint8_t pl[SFJ_HELLO_ACK2_PAYLOAD_MAX], *b = sfj__wire_body(&s->w);
    sfj__hello_ack ha;
    size_t pn, n = 0;
    int rc;

    host_metrics_refusal(status);
    memset(&ha, 0, sizeof ha);
    ha.status = status;
    ha.window = (uint16_t)s->cfg->window;
    if (status == SFJ_HELLO_OK) {
        ha.next_seq = next;
        memcpy(ha.chain, chain, SFJ_HASH_BYTES);
    }
    snprintf(ha.text, sizeof ha.text, "%s", text);
    pn = sfj__hello_ack2_payload_encode(&ha, pl);
    sfj__hello_ack2_head_encode(b);
    rc = sfj__lsess_write(&s->pend, pl, pn, b + SFJ_HELLO_ACK2_HDR,
                          SFJ_FRAME_MAX_BODY - SFJ_HELLO_ACK2_HDR, &n);
    sodium_memzero(pl, sizeof pl);
    if (rc == SFJ_OK)
        rc = send_plain(s, SFJ_MSG_HELLO_ACK, SFJ_HELLO_ACK2_HDR + n);
    if (rc != SFJ_OK || status != SFJ_HELLO_OK) {
        sfj__lsess_end(&s->pend);
        s->pend_term = NULL;
        if (status != SFJ_HELLO_OK && !s->serial && s->state != SESS_CLOSED)
            host_session_close(s, NULL);
    }
}

/* Version 2 HELLO: Noise message 1. Nothing here touches a live session
 * or the mirror's contents: message 1 can be a replay. */
static void on_hello_v2(host_session *s, const sfj__frame *fr)
{
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1];
    uint8_t pl[SFJ_HELLO2_PAYLOAD_MAX + 1], chain[SFJ_HASH_BYTES];
    host_terminal *t;
    sfj__hello2 h;
    uint64_t last = 0;
    size_t pn = 0;
    uint8_t st;

    memset(&h, 0, sizeof h);
    if (fr->len < SFJ_HELLO2_HDR + SFJ_LINK_HS_OVERHEAD) {
        host_log("%s: refused: malformed HELLO", s->peer);
        refuse_clear(s, SFJ_HELLO_VERSION, "malformed HELLO");
        goto done;
    }
    sfj__cli_hex(fr->body + 2, SFJ_JOURNAL_ID_BYTES, hex);
    t = find_term(s->cfg, fr->body + 2);
    if (t == NULL) {
        host_log("%s: refused journal %s: not provisioned", s->peer, hex);
        refuse_clear(s, SFJ_HELLO_UNKNOWN_TERMINAL, "terminal not provisioned");
        goto done;
    }
    if (sfj__lsess_start(&s->pend, 0, t->journal_id, t->link_key) != SFJ_OK ||
        sfj__lsess_read(&s->pend, fr->body + SFJ_HELLO2_HDR,
                        fr->len - SFJ_HELLO2_HDR, pl, sizeof pl,
                        &pn) != SFJ_OK) {
        host_log("%s: refused terminal %s: HELLO does not authenticate "
                 "(wrong link key?)",
                 s->peer, t->terminal_id);
        refuse_clear(s, SFJ_HELLO_BAD_AUTH, "HELLO not authentic");
        goto done;
    }
    s->pend_term = t;
    if (sfj__hello2_payload_decode(pl, pn, &h) != SFJ_OK) {
        host_log("%s: refused terminal %s: resume point not sane", s->peer,
                 t->terminal_id);
        answer_v2(s, SFJ_HELLO_INVALID, 0, NULL, "resume point not sane");
        goto done;
    }
    if (strcmp(t->terminal_id, h.terminal_id) != 0) {
        host_log("%s: refused journal %s (terminal %s): terminal_id differs",
                 s->peer, hex, h.terminal_id);
        answer_v2(s, SFJ_HELLO_UNKNOWN_TERMINAL, 0, NULL,
                  "terminal not provisioned");
        goto done;
    }
    st = resume_point(s, t, h.last_seq, &last, chain,
                      " (before the session is confirmed: could be a "
                      "replayed HELLO)");
    if (st != SFJ_HELLO_OK)
        answer_v2(s, st, 0, NULL, resume_refusal(st));
    else
        answer_v2(s, SFJ_HELLO_OK, last + 1, chain, "welcome");
    s->pend_last = h.last_seq;
    s->pend_acked = h.first_unacked - 1;
done:
    sodium_memzero(pl, sizeof pl);
    sodium_memzero(&h, sizeof h);
}

static void on_hello(host_session *s, const sfj__frame *fr)
{
    int v = sfj__proto_version(fr->body, fr->len);

    if (v == SFJ_PROTO_V2) {
        on_hello_v2(s, fr);
        return;
    }
    if (v == SFJ_PROTO_VERSION && s->cfg->allow_v1) {
        on_hello_v1(s, fr);
        return;
    }
    /* Answered in the version the peer speaks, so that it can say why. */
    host_log("%s: refused: protocol version %d (this upstream requires "
             "version 2; --allow-v1 serves version 1 for a migration)",
             s->peer, v);
    if (s->serial && sfj__lsess_ready(&s->live))
        return; /* a clear frame never disturbs a live session */
    send_hello_ack(s, SFJ_HELLO_VERSION, 0, NULL,
                   "protocol version 1 refused: upstream requires version 2");
    host_session_close(s, NULL);
}

/* The first sealed frame that opens under the pending session proves the
 * peer ran this handshake with the link key: only now does the session
 * take the terminal over. */
static int promote(host_session *s)
{
    host_store *st = s->cfg->store;
    host_terminal *t = s->pend_term;
    uint64_t last = 0;
    int rc = commit_batch(s), src;

    if (s->term != t)
        release_term(s);
    if (t->owner != NULL && t->owner != s)
        host_session_close(t->owner, "replaced by a new authenticated link");
    if (t->retired) {
        /* Removed by a provisioning reload after its HELLO. */
        host_metrics_refusal(SFJ_HELLO_UNKNOWN_TERMINAL);
        host_session_close(s, "terminal no longer provisioned");
        return rc;
    }
    sfj__lsess_move(&s->live, &s->pend);
    s->pend_term = NULL;
    s->v1 = 0;
    t->owner = s;
    s->term = t;
    s->nrec = 0;
    s->batch_used = 0;
    s->state = SESS_ONLINE;
    src = st->ops->claim(st, t, &s->claim);
    if (src == SFJ_OK)
        src = st->ops->head(st, t, &last, NULL, NULL);
    s->next = last + 1;
    if (src == SFJ_OK) {
        host_metrics_session(t, s->pend_last, last);
        note_missing_acks(s, t, s->pend_acked, last);
    }
    if (src != SFJ_OK)
        return rc != 0 ? rc : store_failed(s, src);
    s->gap_naked = 0;
    s->bad_streak = 0;
    if (s->cfg->verbose)
        host_log("%s: terminal %s online (authenticated), resuming at %llu",
                 s->peer, t->terminal_id, (unsigned long long)s->next);
    return rc;
}

static int on_message(host_session *s, const sfj__frame *fr);

/* A SEALED frame: the pending session first (a terminal confirming a new
 * handshake), then the live one. One that opens under neither ends the
 * link: tampered, truncated, replayed, reordered, reflected, or from
 * another session. */
static int on_sealed(host_session *s, const sfj__frame *fr)
{
    sfj__frame in;
    size_t n = 0;
    uint8_t type = 0;

    /* Whatever opens (or is zeroed by a failed open) is wiped on
     * release. */
    if (fr->len > s->plain_hi)
        s->plain_hi = fr->len;
    if (sfj__lsess_ready(&s->pend) &&
        sfj__wire_open_sealed(sfj__lsess_rx(&s->pend), fr, s->plain, &type,
                              &n) == SFJ_OK) {
        if (promote(s) != 0)
            return HOST_EXIT_IOERR;
        if (s->state != SESS_ONLINE)
            return 0; /* the store could not take the terminal over */
    } else if (!sfj__lsess_ready(&s->live) ||
               sfj__wire_open_sealed(sfj__lsess_rx(&s->live), fr, s->plain,
                                     &type, &n) != SFJ_OK) {
        if (sfj__lsess_ready(&s->live) || !s->serial) {
            /* What opened before it is the terminal's, in order: store
             * it first, so that a fault on the link costs only what was
             * in flight after it (a slow store would otherwise lose the
             * whole burst to every fault, and never catch up). */
            int rc = commit_batch(s);

            host_session_close(s, "bad frame: sealed frame does not "
                                  "authenticate in this session");
            return rc;
        }
        return 0;
    }
    in.type = type;
    in.flags = 0;
    in.len = (uint32_t)n;
    in.body = s->plain;
    return on_message(s, &in);
}

static int on_entry(host_session *s, const sfj__frame *fr)
{
    sfj_entry peek;
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
    /* The header check every reader applies (it refuses epoch 0, kind 0
     * and reserved kinds, impossible lengths): a sealed frame that opened
     * came from the terminal, so such a record is refused, not resent. */
    if (sfj__record_peek(fr->body + SFJ_ENTRY_HEAD_BYTES, len, &peek) !=
        SFJ_OK) {
        host_log("%s: %s: seq %llu refused: invalid record header (epoch 0, "
                 "a reserved kind or a bad length)",
                 s->peer, s->term->terminal_id, (unsigned long long)seq);
        rc = commit_batch(s);
        if (rc == 0 && s->state == SESS_ONLINE)
            send_nak(s, seq, SFJ_NAK_REFUSED, "invalid record header");
        return rc;
    }
    if (seq == s->next) {
        if (take_batch(s) != SFJ_OK) {
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
        host_metrics_announced(s->term, seq);
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
            host_store_put(st, &p, 1);
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

/* A message of an authenticated session (version 2: opened from a sealed
 * frame; version 1: as it arrived). */
static int on_message(host_session *s, const sfj__frame *fr)
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
        if (!s->v1)
            return 0; /* a handshake never travels sealed */
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

/* A frame as it arrived: a HELLO starts a handshake; in version 2 every
 * other message must arrive sealed. */
static int on_frame(host_session *s, const sfj__frame *fr)
{
    if (fr->type == SFJ_MSG_HELLO) {
        if (commit_batch(s) != 0)
            return HOST_EXIT_IOERR;
        on_hello(s, fr);
        return 0;
    }
    /* A serial line that served version 1 may carry a new version 2
     * handshake: its sealed frames go to the pending session. */
    if (fr->type == SFJ_MSG_SEALED && (!s->v1 || sfj__lsess_ready(&s->pend)))
        return on_sealed(s, fr);
    if (s->v1)
        return on_message(s, fr);
    if (!s->serial && !sfj__lsess_ready(&s->live)) {
        host_session_close(s, "unexpected frame before HELLO");
        return 0;
    }
    /* Nothing in clear is answered or allowed to disturb a session. */
    if (s->cfg->verbose)
        host_log("%s: frame of type 0x%02x in clear ignored", s->peer,
                 fr->type);
    return 0;
}

/* Returns 0, or HOST_EXIT_IOERR when a mirror died. */
static int bad_frame(host_session *s)
{
    int rc;

    if (!s->v1 && (sfj__lsess_ready(&s->live) || sfj__lsess_ready(&s->pend))) {
        /* Sealed frames count implicitly: after a lost one nothing else
         * would open. The terminal reconnects and resumes; what opened
         * before is stored first (see on_sealed). */
        rc = commit_batch(s);
        host_session_close(s, "bad frame (CRC or format): the sealed "
                              "stream cannot continue");
        return rc;
    }
    if (++s->bad_streak >= BAD_STREAK_MAX) {
        host_session_close(s, "too many bad frames");
        return 0;
    }
    host_log("%s: bad frame dropped (CRC or format)", s->peer);
    if (s->state == SESS_ONLINE)
        send_nak(s, s->next, SFJ_NAK_BAD_FRAME, "bad frame");
    return 0;
}

int host_session_input(host_session *s)
{
    sfj__frame fr;
    int rc, res = 0;

    s->input_ms = mono_ms();
    if (take_buffers(s) != SFJ_OK) {
        /* Nothing was read: the terminal resends after it reconnects. */
        host_session_close(s, "out of memory");
        return 0;
    }
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
                res = bad_frame(s);
                if (res != 0)
                    return res;
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
        /* A read that did not fill the buffer took what the socket held:
         * reading on until EAGAIN would cost two more system calls per
         * entry (the read and the poll of sfj__fd_recv), and the loop's
         * epoll (level-triggered) reports whatever arrives later. */
        if (s->w.in_len < SFJ_WIRE_IN_BYTES)
            break;
    }
    /* What arrived is committed by host_sessions_commit, together with
     * what other sessions received in this turn of the loop. */
    return 0;
}

void host_session_tick(host_session *s, long long now)
{
    if (!s->serial && s->state == SESS_AWAIT_HELLO &&
        now - s->opened_ms > HELLO_TIMEOUT_MS) {
        host_session_close(s, "no HELLO within 10 s");
        return;
    }
    /* Idle: nothing half-read, nothing waiting for a commit or an ACK
     * (every send answers an input of the same turn, so nothing is sent
     * before the next input takes the buffers again). */
    if (!s->serial && !s->lean && s->state != SESS_CLOSED && s->nrec == 0 &&
        !s->need_ack && now - s->input_ms >= IDLE_RELEASE_MS &&
        sfj__wire_release(&s->w)) {
        drop_buffers(s);
        s->lean = 1;
    }
}
