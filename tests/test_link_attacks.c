/* Attacks on the link (issue 13), against a real sfj-host on loopback:
 * an attacker without the link key replays a recorded handshake and
 * injects entries; replays recorded host messages to the terminal from a
 * fake upstream; reflects, splices, repeats, truncates and flips sealed
 * frames; tries another key, another terminal's key, an unknown journal,
 * insane resume points and epoch 0; and asks either side to fall back to
 * version 1. Each attack that worked against version 1 is also run with
 * version 1 on both sides (the forwarder's internal switch, the host's
 * --allow-v1), where the test asserts that the attack still succeeds:
 * the version 2 assertions of the same scenario fail there.
 *
 * The scripted client `cli` speaks version 2 with the right link key
 * where a test plays a man in the middle of a real session, who can see,
 * hold, reorder and alter the frames but cannot seal new ones. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/link_mac.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/proto_v2.h"
#include "sfj/sys/wire.h"
#include "support/hosttest.h"
#include "support/testutil.h"

#define TID "T-ATK"

typedef struct fx {
    char *dir, *jdir;
    sfj_keys *keys, *keys2;
    sfj_journal *j;
    uint8_t jid[16], link[32], link2[32];
    sfj_test_host host;
    sfj_test_status st;
} fx;

/* Results of the last run, for RELIABILITY.md. */
static int g_refused, g_closed;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    f->dir = sfj_test_tmpdir();
    f->jdir = sfj_test_path(f->dir, "terminal");
    f->keys = sfj_test_keys(31);
    f->keys2 = sfj_test_keys(32);
    f->host.dir = sfj_test_path(f->dir, "mirrors");
    f->host.prov = sfj_test_path(f->dir, "terminals.conf");
    f->host.log = sfj_test_path(f->dir, "host.log");
    sfj_test_status_init(&f->st);
    o.terminal_id = TID;
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, &o, &f->j), 0);
    assert_int_equal(sfj_journal_id(f->j, f->jid), 0);
    assert_int_equal(sfj_keys_link_key(f->keys, f->link), 0);
    assert_int_equal(sfj_keys_link_key(f->keys2, f->link2), 0);
    sfj_test_provision(f->host.prov, f->j, f->keys, TID);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    sfj_test_host_stop(&f->host, SIGKILL);
    sfj_journal_close(f->j);
    sfj_keys_free(f->keys);
    sfj_keys_free(f->keys2);
    sodium_memzero(f->link, sizeof f->link);
    sodium_memzero(f->link2, sizeof f->link2);
    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->jdir);
    free(f->host.dir);
    free(f->host.prov);
    free(f->host.log);
    sfj_test_status_destroy(&f->st);
    free(f);
    return 0;
}

static int counted(fx *f, const int *c)
{
    return sfj_test_counted(&f->st, c);
}

static uint64_t wm(fx *f)
{
    uint64_t w = 0;

    assert_int_equal(sfj__journal_watermark(f->j, &w), 0);
    return w;
}

static uint64_t head(fx *f)
{
    uint64_t h = 0;

    assert_int_equal(sfj__journal_head(f->j, &h, NULL), 0);
    return h;
}

/* ---- transports the tests put under the forwarder ---- */

#define REC_MAX (1u << 20)

/* Records what crosses a TCP link (first connection only), optionally
 * withholding everything the upstream sends after its first frame. */
typedef struct rec_link {
    int port;
    int withhold;
    int connects;
    pthread_mutex_t lock;
    uint8_t up[REC_MAX], down[REC_MAX];
    size_t up_len, down_len;
} rec_link;

typedef struct rec_tp {
    sfj_transport base;
    sfj_transport *inner;
    rec_link *l;
    int first; /* the first connection: recorded */
    size_t down_seen;
} rec_tp;

static void rec_add(rec_link *l, uint8_t *buf, size_t *len, const void *p,
                    size_t n)
{
    pthread_mutex_lock(&l->lock);
    if (*len + n <= REC_MAX) {
        memcpy(buf + *len, p, n);
        *len += n;
    }
    pthread_mutex_unlock(&l->lock);
}

static int rec_send(sfj_transport *t, const void *buf, size_t len,
                    int timeout_ms, size_t *sent)
{
    rec_tp *r = (rec_tp *)t;

    if (r->first)
        rec_add(r->l, r->l->up, &r->l->up_len, buf, len);
    return sfj_transport_send(r->inner, buf, len, timeout_ms, sent);
}

/* Size of the first whole frame in `p`, 0 if incomplete. */
static size_t first_frame(const uint8_t *p, size_t n)
{
    size_t need;

    if (n < SFJ_FRAME_HDR_BYTES)
        return 0;
    need = SFJ_FRAME_OVERHEAD + sfj__get_u32(p + 2);
    return need <= n ? need : 0;
}

static int rec_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                    size_t *got)
{
    rec_tp *r = (rec_tp *)t;
    size_t keep, ff;
    int rc = sfj_transport_recv(r->inner, buf, cap, timeout_ms, got);

    if (rc != 0 || !r->first)
        return rc;
    rec_add(r->l, r->l->down, &r->l->down_len, buf, *got);
    if (!r->l->withhold)
        return rc;
    /* Pass the HELLO_ACK only: the terminal goes online and sends, and
     * never sees an acknowledgement. */
    pthread_mutex_lock(&r->l->lock);
    ff = first_frame(r->l->down, r->l->down_len);
    keep = ff > r->down_seen ? ff - r->down_seen : 0;
    pthread_mutex_unlock(&r->l->lock);
    if (keep > *got)
        keep = *got;
    r->down_seen += *got;
    *got = keep;
    return keep > 0 ? 0 : SFJ_ETIMEDOUT;
}

static int rec_fd(sfj_transport *t)
{
    return sfj_transport_fd(((rec_tp *)t)->inner);
}

static void rec_close(sfj_transport *t)
{
    rec_tp *r = (rec_tp *)t;

    sfj_transport_close(r->inner);
    free(r);
}

static const sfj_transport_ops rec_ops = {SFJ_TRANSPORT_OPS_VERSION, rec_send,
                                          rec_recv, rec_fd, rec_close};

static int rec_connect(sfj_transport **out, void *payload)
{
    rec_link *l = payload;
    sfj_transport *inner = NULL;
    char addr[64];
    rec_tp *r;
    int rc;

    snprintf(addr, sizeof addr, "127.0.0.1:%d", l->port);
    rc = sfj_transport_tcp_connect(addr, 1000, &inner);
    if (rc != 0)
        return rc;
    r = calloc(1, sizeof *r);
    r->base.ops = &rec_ops;
    r->base.framing = SFJ_FRAMING_STREAM;
    r->inner = inner;
    r->l = l;
    pthread_mutex_lock(&l->lock);
    r->first = l->connects++ == 0;
    pthread_mutex_unlock(&l->lock);
    *out = &r->base;
    return 0;
}

/* A fake upstream that plays recorded host bytes back: the first frame
 * at once, the rest after the terminal sent at least two frames (so that
 * version 1 acks find entries in flight). Whatever the terminal sends is
 * dropped. */
typedef struct play_tp {
    sfj_transport base;
    int sv[2];
    const uint8_t *bytes;
    size_t len, pos;
    int sends;
} play_tp;

static int play_send(sfj_transport *t, const void *buf, size_t len,
                     int timeout_ms, size_t *sent)
{
    ((play_tp *)t)->sends++;
    *sent = len;
    return 0;
}

static int play_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                     size_t *got)
{
    play_tp *p = (play_tp *)t;
    size_t ff = first_frame(p->bytes, p->len), n;

    n = p->pos < ff ? ff - p->pos : (p->sends >= 2 ? p->len - p->pos : 0);
    if (n > cap)
        n = cap;
    if (n == 0) {
        usleep((useconds_t)(timeout_ms > 20 ? 20000 : timeout_ms * 1000));
        return SFJ_ETIMEDOUT;
    }
    memcpy(buf, p->bytes + p->pos, n);
    p->pos += n;
    *got = n;
    return 0;
}

static int play_fd(sfj_transport *t)
{
    return ((play_tp *)t)->sv[0];
}

static void play_close(sfj_transport *t)
{
    play_tp *p = (play_tp *)t;

    close(p->sv[0]);
    close(p->sv[1]);
    free(p);
}

static const sfj_transport_ops play_ops = {SFJ_TRANSPORT_OPS_VERSION, play_send,
                                           play_recv, play_fd, play_close};

typedef struct play_src {
    const uint8_t *bytes;
    size_t len;
} play_src;

static int play_connect(sfj_transport **out, void *payload)
{
    play_src *src = payload;
    play_tp *p = calloc(1, sizeof *p);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->sv), 0);
    p->base.ops = &play_ops;
    p->base.framing = SFJ_FRAMING_STREAM;
    p->bytes = src->bytes;
    p->len = src->len;
    *out = &p->base;
    return 0;
}

static sfj_forwarder *start_fwd(fx *f, sfj_connect_cb cb, void *payload, int v1)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;

    o.sink = SFJ_SINK_TRANSPORT;
    o.connect = cb;
    o.connect_payload = payload;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 100;
    o.ack_timeout_ms = 1000;
    o.ack_flush_ms = 1;
    o.status = sfj_test_on_status;
    o.status_payload = &f->st;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), 0);
    if (v1)
        sfj__forwarder_use_v1(fw);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    return fw;
}

static void wait_wm(fx *f, uint64_t want, int ms)
{
    int64_t until = sfj__mono_ms() + ms;

    while (wm(f) < want && sfj__mono_ms() < until)
        usleep(5000);
}

/* ---- the scripted client ---- */

typedef struct cap_tp {
    sfj_transport base;
    uint8_t buf[SFJ_FRAME_MAX_BYTES];
    size_t len;
} cap_tp;

static int cap_send(sfj_transport *t, const void *buf, size_t len,
                    int timeout_ms, size_t *sent)
{
    cap_tp *c = (cap_tp *)t;

    memcpy(c->buf, buf, len);
    c->len = len;
    *sent = len;
    return 0;
}

static const sfj_transport_ops cap_ops = {SFJ_TRANSPORT_OPS_VERSION, cap_send,
                                          NULL, NULL, NULL};

typedef struct cli {
    sfj_transport *t;
    sfj__wire w;
    sfj__lsess ls;
    cap_tp cap;        /* the last frame sealed by cli_seal */
    uint8_t raw[1024]; /* the last small frame received, as it came */
    size_t raw_len;
} cli;

/* Over `t` (owned by the client from now on). */
static void cli_on(cli *c, sfj_transport *t)
{
    memset(c, 0, sizeof *c);
    c->cap.base.ops = &cap_ops;
    c->t = t;
    assert_int_equal(sfj__wire_init(&c->w, t->framing), 0);
}

static void cli_open(cli *c, fx *f)
{
    sfj_transport *t = NULL;
    char addr[64];

    snprintf(addr, sizeof addr, "127.0.0.1:%d", f->host.port);
    assert_int_equal(sfj_transport_tcp_connect(addr, 1000, &t), 0);
    cli_on(c, t);
}

static void cli_free(cli *c)
{
    sfj_transport_close(c->t);
    sfj__wire_free(&c->w);
    sfj__lsess_end(&c->ls);
}

static void cli_raw(cli *c, const uint8_t *p, size_t n)
{
    size_t sent = 0;

    assert_int_equal(sfj_transport_send(c->t, p, n, 1000, &sent), 0);
}

/* Next frame as it arrives: 1, 0 on timeout, SFJ_ECLOSED. */
static int cli_frame(cli *c, sfj__frame *fr, int ms)
{
    int64_t until = sfj__mono_ms() + ms;
    int rc;

    for (;;) {
        rc = sfj__wire_next(&c->w, fr);
        if (rc == 1) {
            c->raw_len = 0;
            if (SFJ_FRAME_OVERHEAD + fr->len <= sizeof c->raw)
                c->raw_len = sfj__frame_encode(c->raw, sizeof c->raw, fr->type,
                                               fr->flags, fr->body, fr->len);
            return 1;
        }
        assert_int_equal(rc, 0);
        if (sfj__mono_ms() >= until)
            return 0;
        rc = sfj__wire_fill(&c->w, c->t, 50);
        if (rc == SFJ_ECLOSED || rc == SFJ_ELINK)
            return SFJ_ECLOSED;
    }
}

/* Next sealed message: 1 with its type and body, 0, SFJ_ECLOSED. Frames
 * in clear (a HELLO_ACK meant for someone else on a serial line) are
 * skipped. */
static int cli_recv(cli *c, uint8_t *type, const uint8_t **body, size_t *len,
                    int ms)
{
    sfj__frame fr;
    int rc;

    do
        rc = cli_frame(c, &fr, ms);
    while (rc == 1 && fr.type != SFJ_MSG_SEALED);
    if (rc != 1)
        return rc;
    assert_int_equal(sfj__wire_open_sealed(sfj__lsess_rx(&c->ls), &fr,
                                           (uint8_t *)fr.body, type, len),
                     0);
    *body = fr.body;
    return 1;
}

/* Does the host close the link within `ms`? Frames meanwhile are
 * skipped. */
static int cli_closed(cli *c, int ms)
{
    int64_t until = sfj__mono_ms() + ms;
    sfj__frame fr;
    int rc;

    while (sfj__mono_ms() < until) {
        rc = cli_frame(c, &fr, 100);
        if (rc == SFJ_ECLOSED) {
            g_closed++;
            return 1;
        }
    }
    return 0;
}

/* Handshake with `jid` and `key`: returns the status (clear or sealed)
 * and fills `ha` when message 2 opened; -1 when it did not. */
static int cli_hello(cli *c, const uint8_t *jid, const uint8_t *key,
                     const char *tid, uint64_t first_unacked, uint64_t last_seq,
                     sfj__hello_ack *ha)
{
    uint8_t pl[SFJ_HELLO_ACK2_PAYLOAD_MAX], *b = sfj__wire_body(&c->w);
    sfj__hello2 h;
    sfj__frame fr;
    size_t pn, n = 0;

    memset(&h, 0, sizeof h);
    snprintf(h.terminal_id, sizeof h.terminal_id, "%s", tid);
    h.first_unacked = first_unacked;
    h.last_seq = last_seq;
    pn = sfj__hello2_payload_encode(&h, pl);
    assert_int_equal(sfj__lsess_start(&c->ls, 1, jid, key), 0);
    sfj__put_u16(b, 2);
    memcpy(b + 2, jid, 16);
    assert_int_equal(
        sfj__lsess_write(&c->ls, pl, pn, b + SFJ_HELLO2_HDR, 4096, &n), 0);
    assert_int_equal(
        sfj__wire_send(&c->w, c->t, SFJ_MSG_HELLO, SFJ_HELLO2_HDR + n, 1000),
        0);
    do
        assert_int_equal(cli_frame(c, &fr, 3000), 1);
    while (fr.type == SFJ_MSG_SEALED); /* a live session's, on a serial line */
    assert_int_equal(fr.type, SFJ_MSG_HELLO_ACK);
    assert_int_equal(sfj__proto_version(fr.body, fr.len), 2);
    if (fr.body[2] != 0) {
        g_refused++;
        return fr.body[2];
    }
    if (sfj__lsess_read(&c->ls, fr.body + 3, fr.len - 3, pl, sizeof pl, &pn) !=
        0)
        return -1;
    assert_int_equal(sfj__hello_ack2_payload_decode(pl, pn, ha), 0);
    if (ha->status != 0)
        g_refused++;
    return ha->status;
}

/* Seal a message into c->cap without sending it. */
static void cli_seal(cli *c, uint8_t type, size_t len)
{
    assert_int_equal(sfj__wire_send_sealed(&c->w, &c->cap.base,
                                           sfj__lsess_tx(&c->ls), type, len, 0),
                     0);
}

static void cli_send(cli *c, uint8_t type, size_t len)
{
    cli_seal(c, type, len);
    cli_raw(c, c->cap.buf, c->cap.len);
}

/* The terminal's first sealed frame (a PING) and the host's PONG. */
static void cli_confirm(cli *c)
{
    const uint8_t *body = NULL;
    uint8_t type;
    size_t n;

    memset(sfj__wire_body(&c->w), 7, SFJ_PING_BODY);
    cli_send(c, SFJ_MSG_PING, SFJ_PING_BODY);
    assert_int_equal(cli_recv(c, &type, &body, &n, 3000), 1);
    assert_int_equal(type, SFJ_MSG_PONG);
}

/* Write ENTRY `seq` (the terminal's own record) at the wire body. */
static size_t entry_body(fx *f, cli *c, uint64_t seq)
{
    uint8_t *rec = NULL, *b = sfj__wire_body(&c->w);
    size_t len = 0;

    assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, &len), 0);
    sfj__put_u64(b, seq);
    memcpy(b + 8, rec, len);
    free(rec);
    return 8 + len;
}

/* The ACK that must come next, for `seq`. */
static void cli_expect_ack(cli *c, uint64_t seq)
{
    const uint8_t *body = NULL;
    uint8_t type;
    size_t n;

    assert_int_equal(cli_recv(c, &type, &body, &n, 3000), 1);
    assert_int_equal(type, SFJ_MSG_ACK);
    assert_int_equal(sfj__get_u64(body), seq);
}

/* Where the host resumes this terminal: its head + 1. The session is
 * left unconfirmed, which must not disturb anything either. */
static uint64_t host_next(fx *f)
{
    sfj__hello_ack ha;
    cli c;

    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 1, head(f), &ha), 0);
    cli_free(&c);
    return ha.next_seq;
}

static void start_host(fx *f, const char *extra)
{
    snprintf(f->host.extra, sizeof f->host.extra, "%s", extra);
    f->host.port = 0;
    sfj_test_host_start(&f->host);
}

/* ---- 1. keyless replay of a recorded handshake, then injection ---- */

static void replay_handshake(fx *f, int v1)
{
    static rec_link l;
    sfj_forwarder *fw;
    uint8_t hello[1024], junk[400];
    size_t hl, i;
    sfj__frame fr;
    int k;
    cli c;

    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    start_host(f, v1 ? "--allow-v1" : "");
    l.port = f->host.port;
    sfj_test_append(f->j, 50);
    fw = start_fwd(f, rec_connect, &l, v1);
    wait_wm(f, 50, 10000);
    assert_int_equal(wm(f), 50);
    pthread_mutex_lock(&l.lock);
    hl = first_frame(l.up, l.up_len);
    assert_true(hl > 0 && hl <= sizeof hello);
    memcpy(hello, l.up, hl);
    pthread_mutex_unlock(&l.lock);
    assert_int_equal(hello[0], SFJ_MSG_HELLO);

    for (k = 0; k < 3; k++) {
        /* The recorded HELLO from another connection... */
        cli_open(&c, f);
        cli_raw(&c, hello, hl);
        assert_int_equal(cli_frame(&c, &fr, 3000), 1);
        assert_int_equal(fr.type, SFJ_MSG_HELLO_ACK);
        /* ... then an ENTRY for the next seq: a real record header that
         * extends the chain, random bytes after it; in clear, or as a
         * sealed frame the attacker cannot make (k == 1, 2). */
        sfj__put_u64(junk, 51);
        {
            uint8_t *rec = NULL;
            size_t len = 0;

            assert_int_equal(sfj__journal_read_sealed(f->j, 50, &rec, &len), 0);
            memcpy(junk + 8, rec, len < 80 ? len : 80);
            free(rec);
        }
        sfj__put_u64(junk + 8 + 8, 51);
        randombytes_buf(junk + 8 + 80, sizeof junk - 88);
        i = sfj__frame_encode(sfj__wire_body(&c.w) - SFJ_FRAME_HDR_BYTES,
                              SFJ_FRAME_MAX_BYTES,
                              k == 0 || v1 ? SFJ_MSG_ENTRY : SFJ_MSG_SEALED, 0,
                              junk, sizeof junk);
        cli_raw(&c, sfj__wire_body(&c.w) - SFJ_FRAME_HDR_BYTES, i);
        if (!v1)
            assert_true(cli_closed(&c, 3000));
        else
            usleep(200000);
        cli_free(&c);
    }
    /* The real terminal goes on. */
    sfj_test_append(f->j, 50);
    assert_int_equal(sfj_forwarder_flush(fw, 20000), 0);
    sfj_forwarder_free(fw);
    if (v1) {
        /* Version 1: each replay took the terminal's link over. */
        assert_true(
            sfj_test_file_contains(f->host.log, "replaced by a new link"));
        assert_true(l.connects >= 2);
    } else {
        /* Version 2: the live link never noticed; nothing was stored
         * but the terminal's own entries, all of them. */
        assert_false(sfj_test_file_contains(f->host.log, "replaced"));
        assert_int_equal(l.connects, 1);
        assert_int_equal(counted(f, &f->st.offline), 1); /* the final stop */
    }
    assert_int_equal(wm(f), head(f));
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_int_equal(sfj_test_mirror_equal(f->host.dir, f->j, f->keys),
                     head(f));
    pthread_mutex_destroy(&l.lock);
}

static void test_replayed_handshake(void **state)
{
    replay_handshake(*state, 0);
}

static void test_replayed_handshake_v1_is_open(void **state)
{
    replay_handshake(*state, 1);
}

/* ---- 2. recorded host messages replayed from a fake upstream ---- */

static void replay_host_messages(fx *f, int v1)
{
    static rec_link l;
    sfj_forwarder *fw;
    play_src src;
    uint64_t n0;

    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    l.withhold = 1;
    start_host(f, v1 ? "--allow-v1" : "");
    l.port = f->host.port;
    sfj_test_append(f->j, 30);
    /* A real session whose acknowledgements a man in the middle records
     * and holds back. */
    fw = start_fwd(f, rec_connect, &l, v1);
    {
        int64_t until = sfj__mono_ms() + 5000;

        while (host_next(f) < 31 && sfj__mono_ms() < until)
            usleep(20000);
    }
    sfj_forwarder_free(fw);
    assert_int_equal(host_next(f), 31); /* the host holds all 30 */
    assert_int_equal(wm(f), 0);         /* the terminal saw no ack */
    assert_true(l.down_len > 0);
    n0 = (uint64_t)counted(f, &f->st.online);
    /* Later, a fake upstream plays the recorded messages back. */
    src.bytes = l.down;
    src.len = l.down_len;
    fw = start_fwd(f, play_connect, &src, v1);
    usleep(800000);
    sfj_forwarder_free(fw);
    if (v1) {
        /* Version 1: the replayed HELLO_ACK and ACKs verify. */
        assert_true(wm(f) > 0);
    } else {
        assert_int_equal(wm(f), 0);
        assert_int_equal((uint64_t)counted(f, &f->st.online), n0);
        assert_true(counted(f, &f->st.auth_errors) >= 1);
    }
    pthread_mutex_destroy(&l.lock);
}

static void test_replayed_host_messages(void **state)
{
    replay_host_messages(*state, 0);
}

static void test_replayed_host_messages_v1_is_open(void **state)
{
    replay_host_messages(*state, 1);
}

/* ---- 3. splicing, reused counter, truncation, bit flip, reflection ---- */

static void test_tampered_frames(void **state)
{
    fx *f = *state;
    sfj__hello_ack ha;
    uint8_t frame[1024], ack[256];
    size_t fl, al;
    sfj_forwarder *fw;
    static rec_link l;
    cli a, b, c;

    start_host(f, "");
    sfj_test_append(f->j, 20);
    cli_open(&a, f);
    assert_int_equal(cli_hello(&a, f->jid, f->link, TID, 1, 20, &ha), 0);
    assert_int_equal(ha.next_seq, 1);
    cli_confirm(&a);
    cli_send(&a, SFJ_MSG_ENTRY, entry_body(f, &a, 1));
    cli_expect_ack(&a, 1);

    /* Splice: B's handshake is done but unconfirmed; a frame sealed in A
     * arrives on B. B ends, A is untouched and the frame still counts
     * there. */
    cli_open(&b, f);
    assert_int_equal(cli_hello(&b, f->jid, f->link, TID, 1, 20, &ha), 0);
    cli_seal(&a, SFJ_MSG_ENTRY, entry_body(f, &a, 2));
    fl = a.cap.len;
    memcpy(frame, a.cap.buf, fl);
    cli_raw(&b, frame, fl);
    assert_true(cli_closed(&b, 3000));
    cli_free(&b);
    cli_raw(&a, frame, fl);
    cli_expect_ack(&a, 2);
    memcpy(ack, a.raw, a.raw_len);
    al = a.raw_len;

    /* Reflection: the host's own ACK sent back to it. */
    cli_raw(&a, ack, al);
    assert_true(cli_closed(&a, 3000));
    cli_free(&a);
    assert_int_equal(host_next(f), 3);

    /* Reused counter: the same sealed ENTRY twice. */
    cli_open(&a, f);
    assert_int_equal(cli_hello(&a, f->jid, f->link, TID, 1, 20, &ha), 0);
    assert_int_equal(ha.next_seq, 3);
    cli_confirm(&a);
    cli_seal(&a, SFJ_MSG_ENTRY, entry_body(f, &a, 3));
    fl = a.cap.len;
    memcpy(frame, a.cap.buf, fl);
    cli_raw(&a, frame, fl);
    cli_expect_ack(&a, 3);
    cli_raw(&a, frame, fl);
    assert_true(cli_closed(&a, 3000));
    cli_free(&a);
    assert_int_equal(host_next(f), 4);

    /* Truncated (the CRC made to fit) and bit-flipped frames. */
    for (int k = 0; k < 2; k++) {
        cli_open(&c, f);
        assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 1, 20, &ha), 0);
        cli_confirm(&c);
        cli_seal(&c, SFJ_MSG_ENTRY, entry_body(f, &c, 4));
        fl = c.cap.len;
        memcpy(frame, c.cap.buf, fl);
        if (k == 0)
            fl = sfj__frame_encode(frame, sizeof frame, frame[0], 0,
                                   c.cap.buf + SFJ_FRAME_HDR_BYTES,
                                   (uint32_t)(fl - SFJ_FRAME_OVERHEAD - 1));
        else {
            frame[SFJ_FRAME_HDR_BYTES + 20] ^= 0x01;
            fl = sfj__frame_encode(frame, sizeof frame, frame[0], 0,
                                   frame + SFJ_FRAME_HDR_BYTES,
                                   (uint32_t)(fl - SFJ_FRAME_OVERHEAD));
        }
        cli_raw(&c, frame, fl);
        assert_true(cli_closed(&c, 3000));
        cli_free(&c);
        assert_int_equal(host_next(f), 4);
    }

    /* The real terminal delivers everything afterwards. */
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    l.port = f->host.port;
    fw = start_fwd(f, rec_connect, &l, 0);
    assert_int_equal(sfj_forwarder_flush(fw, 20000), 0);
    sfj_forwarder_free(fw);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_int_equal(sfj_test_mirror_equal(f->host.dir, f->j, f->keys),
                     head(f));
    pthread_mutex_destroy(&l.lock);
}

/* ---- 4. refused at the handshake ---- */

static void test_refused_keys_and_ids(void **state)
{
    fx *f = *state;
    uint8_t other_jid[16], wrong[32];
    sfj__hello_ack ha;
    cli c;

    start_host(f, "");
    sfj_test_append(f->j, 5);
    randombytes_buf(wrong, sizeof wrong);
    randombytes_buf(other_jid, sizeof other_jid);
    /* Wrong link key: status 2 BAD_AUTH, in clear. */
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, wrong, TID, 1, 5, &ha),
                     SFJ_HELLO_BAD_AUTH);
    assert_true(cli_closed(&c, 3000));
    cli_free(&c);
    /* Another terminal's link key with this journal id: the same. */
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link2, TID, 1, 5, &ha),
                     SFJ_HELLO_BAD_AUTH);
    cli_free(&c);
    /* Unknown journal id: status 1 UNKNOWN_TERMINAL, in clear. */
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, other_jid, f->link, TID, 1, 5, &ha),
                     SFJ_HELLO_UNKNOWN_TERMINAL);
    cli_free(&c);
    /* Right key, other terminal_id: status 1, sealed. */
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, "T-OTHER", 1, 5, &ha),
                     SFJ_HELLO_UNKNOWN_TERMINAL);
    cli_free(&c);
    /* Resume points that are not sane: status 6, sealed. */
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 0, 5, &ha),
                     SFJ_HELLO_INVALID);
    cli_free(&c);
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 1, UINT64_MAX, &ha),
                     SFJ_HELLO_INVALID);
    cli_free(&c);
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 8, 5, &ha),
                     SFJ_HELLO_INVALID);
    cli_free(&c);
    assert_true(sfj_test_file_contains(f->host.log, "wrong link key"));
    assert_true(sfj_test_file_contains(f->host.log, "not provisioned"));
    assert_int_equal(host_next(f), 1); /* nothing stored */
}

/* The app's view of a terminal whose upstream does not know it. */
static void test_app_sees_refusal(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    static rec_link l;
    int64_t until;

    /* Provision another journal only. */
    unlink(f->host.prov);
    {
        sfj_journal *j2 = NULL;
        char *p = sfj_test_path(f->dir, "j2");

        assert_int_equal(sfj_journal_open(p, f->keys2, NULL, &j2), 0);
        sfj_test_provision(f->host.prov, j2, f->keys2, "T-2");
        sfj_journal_close(j2);
        free(p);
    }
    start_host(f, "");
    sfj_test_append(f->j, 5);
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    l.port = f->host.port;
    fw = start_fwd(f, rec_connect, &l, 0);
    until = sfj__mono_ms() + 5000;
    while (counted(f, &f->st.rejected) == 0 && sfj__mono_ms() < until)
        usleep(10000);
    sfj_forwarder_free(fw);
    assert_true(counted(f, &f->st.rejected) >= 1);
    assert_non_null(strstr(f->st.last_error, "status 1 (unauthenticated)"));
    assert_int_equal(counted(f, &f->st.online), 0);
    assert_int_equal(wm(f), 0);
    pthread_mutex_destroy(&l.lock);
}

/* ---- 5. epoch 0 ---- */

static void test_epoch0_refused(void **state)
{
    fx *f = *state;
    sfj__hello_ack ha;
    const uint8_t *body = NULL;
    uint8_t type, *b;
    size_t n;
    cli c;

    start_host(f, "");
    sfj_test_append(f->j, 3);
    cli_open(&c, f);
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 1, 3, &ha), 0);
    cli_confirm(&c);
    n = entry_body(f, &c, 1);
    b = sfj__wire_body(&c.w);
    memset(b + 8 + 4, 0, 4); /* the record header's epoch */
    cli_send(&c, SFJ_MSG_ENTRY, n);
    assert_int_equal(cli_recv(&c, &type, &body, &n, 3000), 1);
    assert_int_equal(type, SFJ_MSG_NAK);
    assert_int_equal(body[8], SFJ_NAK_REFUSED);
    cli_free(&c);
    assert_true(sfj_test_file_contains(f->host.log, "epoch 0"));
    assert_int_equal(host_next(f), 1);
}

/* ---- 6. downgrade ---- */

static void test_downgrade_host(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    static rec_link l;
    int64_t until;

    /* A version 1 terminal to a host without --allow-v1: refused. */
    start_host(f, "");
    sfj_test_append(f->j, 10);
    memset(&l, 0, sizeof l);
    pthread_mutex_init(&l.lock, NULL);
    l.port = f->host.port;
    fw = start_fwd(f, rec_connect, &l, 1);
    until = sfj__mono_ms() + 5000;
    while (counted(f, &f->st.rejected) == 0 && sfj__mono_ms() < until)
        usleep(10000);
    sfj_forwarder_free(fw);
    assert_true(counted(f, &f->st.rejected) >= 1);
    assert_int_equal(wm(f), 0);
    assert_true(
        sfj_test_file_contains(f->host.log, "refused: protocol version 1"));
    assert_int_equal(host_next(f), 1);
    /* With --allow-v1 it is served, and logged. */
    sfj_test_host_stop(&f->host, SIGTERM);
    start_host(f, "--allow-v1");
    memset(&l, 0, sizeof l);
    l.port = f->host.port;
    fw = start_fwd(f, rec_connect, &l, 1);
    assert_int_equal(sfj_forwarder_flush(fw, 20000), 0);
    sfj_forwarder_free(fw);
    assert_int_equal(wm(f), head(f));
    assert_true(
        sfj_test_file_contains(f->host.log, "speaks protocol version 1"));
    pthread_mutex_destroy(&l.lock);
}

/* A fake upstream answers the version 2 HELLO with a version 1 HELLO_ACK
 * (status OK, even a MAC made with the right link key). */
typedef struct v1_up {
    fx *f;
    int sv[2];
} v1_up;

static int v1_connect(sfj_transport **out, void *payload)
{
    v1_up *u = payload;
    sfj__hello_ack ha;
    uint8_t body[SFJ_HELLO_ACK_MAX_BODY], frame[SFJ_HELLO_ACK_MAX_BODY + 16];
    size_t n, fl;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, u->sv), 0);
    memset(&ha, 0, sizeof ha);
    ha.version = 1;
    ha.window = 16;
    ha.next_seq = 1;
    sfj__chain_genesis(u->f->jid, ha.chain);
    sfj__ack_mac(u->f->link, u->f->jid, 0, ha.chain, ha.mac);
    n = sfj__hello_ack_encode(&ha, body);
    fl = sfj__frame_encode(frame, sizeof frame, SFJ_MSG_HELLO_ACK, 0, body,
                           (uint32_t)n);
    assert_int_equal(write(u->sv[1], frame, fl), (ssize_t)fl);
    return sfj_transport_tcp_from_fd(u->sv[0], out);
}

static void test_downgrade_terminal(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    v1_up u = {f, {-1, -1}};
    int64_t until;

    sfj_test_append(f->j, 5);
    fw = start_fwd(f, v1_connect, &u, 0);
    until = sfj__mono_ms() + 3000;
    while (counted(f, &f->st.version_errors) == 0 && sfj__mono_ms() < until)
        usleep(10000);
    sfj_forwarder_free(fw);
    close(u.sv[1]);
    assert_true(counted(f, &f->st.version_errors) >= 1);
    assert_int_equal(counted(f, &f->st.online), 0);
    assert_int_equal(wm(f), 0);
}

/* ---- 7. the same on a serial line (socat pty pair, termios) ---- */

static void test_serial_line(void **state)
{
    fx *f = *state;
    sfj_serial_opts so = SFJ_SERIAL_OPTS_INIT;
    char *a = sfj_test_path(f->dir, "ttyA"), *b = sfj_test_path(f->dir, "ttyB");
    char link_a[256], link_b[256];
    sfj_transport *t = NULL;
    sfj__hello_ack ha;
    sfj__lsess other = {0};
    uint8_t pl[64], junk[200];
    sfj__hello2 h;
    size_t n = 0, pn;
    pid_t socat;
    int i, status;
    cli c;

    if (system("command -v socat >/dev/null 2>&1") != 0) {
        fprintf(stderr, "\n*** SKIPPED: socat is not installed: the serial "
                        "attack test did NOT run ***\n\n");
        free(a);
        free(b);
        skip();
    }
    snprintf(link_a, sizeof link_a, "pty,raw,echo=0,link=%s", a);
    snprintf(link_b, sizeof link_b, "pty,raw,echo=0,link=%s", b);
    socat = fork();
    assert_true(socat >= 0);
    if (socat == 0) {
        int devnull = open("/dev/null", 1);

        dup2(devnull, 2);
        execlp("socat", "socat", link_a, link_b, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && (access(a, F_OK) != 0 || access(b, F_OK) != 0); i++)
        usleep(20000);
    assert_int_equal(access(b, F_OK), 0);
    f->host.port = -1;
    snprintf(f->host.extra, sizeof f->host.extra,
             "--serial %s --serial-backend termios", b);
    sfj_test_host_start(&f->host);
    usleep(200000);
    sfj_test_append(f->j, 5);
    assert_int_equal(sfj_transport_termios_open(a, &so, &t), 0);
    cli_on(&c, t);
    /* A live session on the line. */
    assert_int_equal(cli_hello(&c, f->jid, f->link, TID, 1, 5, &ha), 0);
    assert_int_equal(ha.next_seq, 1);
    cli_confirm(&c);
    cli_send(&c, SFJ_MSG_ENTRY, entry_body(f, &c, 1));
    cli_expect_ack(&c, 1);
    /* Another HELLO on the same line (a replay of one the attacker cannot
     * finish): the host answers it, and the live session goes on. */
    memset(&h, 0, sizeof h);
    snprintf(h.terminal_id, sizeof h.terminal_id, "%s", TID);
    h.first_unacked = 1;
    h.last_seq = 5;
    pn = sfj__hello2_payload_encode(&h, pl);
    assert_int_equal(sfj__lsess_start(&other, 1, f->jid, f->link), 0);
    sfj__hello2_head_encode(f->jid, sfj__wire_body(&c.w));
    assert_int_equal(sfj__lsess_write(&other, pl, pn,
                                      sfj__wire_body(&c.w) + SFJ_HELLO2_HDR,
                                      1024, &n),
                     0);
    sfj__lsess_end(&other);
    assert_int_equal(
        sfj__wire_send(&c.w, c.t, SFJ_MSG_HELLO, SFJ_HELLO2_HDR + n, 1000), 0);
    usleep(200000);
    cli_send(&c, SFJ_MSG_ENTRY, entry_body(f, &c, 2));
    cli_expect_ack(&c, 2);
    /* A sealed frame nobody can make ends the live session. */
    randombytes_buf(junk, sizeof junk);
    memcpy(sfj__wire_body(&c.w), junk, sizeof junk);
    assert_int_equal(
        sfj__wire_send(&c.w, c.t, SFJ_MSG_SEALED, sizeof junk, 1000), 0);
    usleep(200000);
    cli_send(&c, SFJ_MSG_ENTRY, entry_body(f, &c, 3));
    {
        const uint8_t *body;
        uint8_t type;

        assert_int_equal(cli_recv(&c, &type, &body, &n, 1000), 0);
    }
    cli_free(&c);
    sfj_test_host_stop(&f->host, SIGTERM);
    kill(socat, SIGTERM);
    waitpid(socat, &status, 0);
    assert_true(sfj_test_file_contains(f->host.log, "does not authenticate"));
    free(a);
    free(b);
}

static int report(void **state)
{
    (void)state;
    print_message("link attacks: %d handshakes refused, %d links closed by "
                  "the host for tampered or foreign frames\n",
                  g_refused, g_closed);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replayed_handshake, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replayed_handshake_v1_is_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replayed_host_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_replayed_host_messages_v1_is_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_keys_and_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_app_sees_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epoch0_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downgrade_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downgrade_terminal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_serial_line, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    sfj_init();
    return cmocka_run_group_tests(tests, NULL, report);
}
