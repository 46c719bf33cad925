/* The forwarder against an in-process scripted upstream (socketpair, poll
 * mode) and the callback sink: forged acks never move the watermark, NAKs
 * cause a resend, and the callback sink handles ack, retry-later and
 * reject (needs-attention, never deleted, never blocking). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "sfj/forwarder.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/link_mac.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/proto_v2.h"
#include "sfj/sys/wire.h"
#include "support/hosttest.h"
#include "support/testutil.h"

typedef struct fx {
    char *dir;
    sfj_keys *keys;
    sfj_journal *j;
    uint8_t jid[16];
    uint8_t link[32];
    /* scripted upstream */
    sfj_transport *up;
    sfj__wire w;
    sfj__lsess ls; /* the upstream's end of the version 2 session */
    int connects;
    int sends; /* send calls on the terminal's end (counted_connect) */
    /* status */
    int offline, auth_errors, rejected_seq, online;
    /* callback sink */
    uint64_t offered[256];
    int noffered;
    uint64_t retry_seq, reject_seq;
    int retries_left;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char *p;

    f->dir = sfj_test_tmpdir();
    f->keys = sfj_test_keys(21);
    p = sfj_test_path(f->dir, "j");
    assert_int_equal(sfj_journal_open(p, f->keys, NULL, &f->j), 0);
    free(p);
    assert_int_equal(sfj_journal_id(f->j, f->jid), 0);
    assert_int_equal(sfj_keys_link_key(f->keys, f->link), 0);
    assert_int_equal(sfj__wire_init(&f->w, SFJ_FRAMING_STREAM), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    sfj_transport_close(f->up);
    sfj__wire_free(&f->w);
    sfj__lsess_end(&f->ls);
    sfj_journal_close(f->j);
    sfj_keys_free(f->keys);
    sfj_test_rmrf(f->dir);
    free(f->dir);
    sodium_memzero(f->link, sizeof f->link);
    free(f);
    return 0;
}

static void on_status(const sfj_forwarder_status *st, void *payload)
{
    fx *f = payload;

    if (st->event == SFJ_FWD_OFFLINE)
        f->offline++;
    if (st->event == SFJ_FWD_ONLINE)
        f->online++;
    if (st->event == SFJ_FWD_ERROR && st->error == SFJ_EAUTH)
        f->auth_errors++;
    if (st->event == SFJ_FWD_REJECTED)
        f->rejected_seq = (int)st->seq;
}

/* Each connect makes a new socketpair; the test keeps the upstream end. */
static int pair_connect(sfj_transport **out, void *payload)
{
    fx *f = payload;
    int sv[2];

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sfj_transport_close(f->up);
    assert_int_equal(sfj_transport_tcp_from_fd(sv[1], &f->up), 0);
    sfj__wire_reset(&f->w);
    sfj__lsess_end(&f->ls);
    f->connects++;
    return sfj_transport_tcp_from_fd(sv[0], out);
}

/* The terminal's end of the link, counting its send calls. */
typedef struct counted {
    sfj_transport base;
    sfj_transport *inner;
    int *sends;
} counted;

static int counted_send(sfj_transport *t, const void *buf, size_t len,
                        int timeout_ms, size_t *sent)
{
    counted *c = (counted *)t;

    (*c->sends)++;
    return sfj_transport_send(c->inner, buf, len, timeout_ms, sent);
}

static int counted_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                        size_t *got)
{
    return sfj_transport_recv(((counted *)t)->inner, buf, cap, timeout_ms, got);
}

static int counted_fd(sfj_transport *t)
{
    return sfj_transport_fd(((counted *)t)->inner);
}

static void counted_close(sfj_transport *t)
{
    sfj_transport_close(((counted *)t)->inner);
    free(t);
}

static const sfj_transport_ops counted_ops = {SFJ_TRANSPORT_OPS_VERSION,
                                              counted_send, counted_recv,
                                              counted_fd, counted_close};

static int counted_connect(sfj_transport **out, void *payload)
{
    fx *f = payload;
    counted *c = calloc(1, sizeof *c);
    int rc;

    assert_non_null(c);
    rc = pair_connect(&c->inner, payload);
    assert_int_equal(rc, 0);
    c->base.ops = &counted_ops;
    c->base.framing = c->inner->framing;
    c->sends = &f->sends;
    *out = &c->base;
    return 0;
}

static sfj_forwarder *new_link_fwd_via(fx *f, sfj_connect_cb connect)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;

    o.sink = SFJ_SINK_TRANSPORT;
    o.connect = connect;
    o.connect_payload = f;
    o.status = on_status;
    o.status_payload = f;
    o.backoff_min_ms = 1;
    o.backoff_max_ms = 2;
    o.ack_flush_ms = 1;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), 0);
    return fw;
}

static sfj_forwarder *new_link_fwd(fx *f)
{
    return new_link_fwd_via(f, pair_connect);
}

/* Send the message written at sfj__wire_body, sealed once the session is
 * up. */
static void up_send(fx *f, uint8_t type, size_t len)
{
    if (sfj__lsess_ready(&f->ls))
        assert_int_equal(sfj__wire_send_sealed(&f->w, f->up,
                                               sfj__lsess_tx(&f->ls), type, len,
                                               1000),
                         0);
    else
        assert_int_equal(sfj__wire_send(&f->w, f->up, type, len, 1000), 0);
}

/* Read one message on the upstream end (driving the forwarder
 * meanwhile); sealed frames are opened, PINGs answered. */
static int up_read(fx *f, sfj_forwarder *fw, sfj__frame *fr)
{
    int64_t until = sfj__mono_ms() + 3000;
    uint8_t type;
    size_t n;
    int rc;

    while (sfj__mono_ms() < until) {
        rc = sfj__wire_next(&f->w, fr);
        if (rc == 1 && sfj__lsess_ready(&f->ls)) {
            assert_int_equal(sfj__wire_open_sealed(sfj__lsess_rx(&f->ls), fr,
                                                   (uint8_t *)fr->body, &type,
                                                   &n),
                             0);
            fr->type = type;
            fr->len = (uint32_t)n;
            if (type == SFJ_MSG_PING) {
                memmove(sfj__wire_body(&f->w), fr->body, n);
                up_send(f, SFJ_MSG_PONG, n);
                continue;
            }
        }
        if (rc == 1)
            return 1;
        assert_int_equal(rc, 0);
        if (f->up != NULL && sfj__wire_fill(&f->w, f->up, 0) == 0)
            continue;
        assert_int_equal(sfj_forwarder_poll(fw, 5), 0);
    }
    return 0;
}

/* An ACK sealed under this session, or (key != the link key) under a
 * session key the terminal never agreed to. */
static void up_send_ack(fx *f, uint64_t seq, const uint8_t *chain,
                        const uint8_t *key)
{
    size_t n = sfj__ack2_encode(seq, chain, sfj__wire_body(&f->w));
    sfj__cipher forged;

    if (memcmp(key, f->link, 32) == 0) {
        up_send(f, SFJ_MSG_ACK, n);
        return;
    }
    memcpy(forged.k, key, 32);
    forged.n = sfj__lsess_tx(&f->ls)->n;
    assert_int_equal(
        sfj__wire_send_sealed(&f->w, f->up, &forged, SFJ_MSG_ACK, n, 1000), 0);
}

/* Accept the HELLO (Noise message 1) and answer, in message 2, that the
 * upstream holds nothing. */
static void up_handshake(fx *f, sfj_forwarder *fw)
{
    uint8_t pl[SFJ_HELLO_ACK2_PAYLOAD_MAX], *b;
    sfj__hello_ack ha;
    sfj__hello2 h;
    sfj__frame fr;
    size_t pn = 0, n = 0;

    assert_true(up_read(f, fw, &fr));
    assert_int_equal(fr.type, SFJ_MSG_HELLO);
    assert_int_equal(sfj__proto_version(fr.body, fr.len), 2);
    assert_memory_equal(fr.body + 2, f->jid, 16);
    assert_int_equal(sfj__lsess_start(&f->ls, 0, f->jid, f->link), 0);
    assert_int_equal(sfj__lsess_read(&f->ls, fr.body + SFJ_HELLO2_HDR,
                                     fr.len - SFJ_HELLO2_HDR, pl, sizeof pl,
                                     &pn),
                     0);
    assert_int_equal(sfj__hello2_payload_decode(pl, pn, &h), 0);
    memset(&ha, 0, sizeof ha);
    ha.window = 64;
    ha.next_seq = 1;
    sfj__chain_genesis(f->jid, ha.chain);
    pn = sfj__hello_ack2_payload_encode(&ha, pl);
    b = sfj__wire_body(&f->w);
    sfj__put_u16(b, 2);
    b[2] = 0;
    assert_int_equal(
        sfj__lsess_write(&f->ls, pl, pn, b + SFJ_HELLO_ACK2_HDR, 1000, &n), 0);
    assert_true(sfj__lsess_ready(&f->ls));
    assert_int_equal(
        sfj__wire_send(&f->w, f->up, SFJ_MSG_HELLO_ACK, 3 + n, 1000), 0);
}

/* Receive ENTRY frames first..last in order. */
static void up_expect_entries(fx *f, sfj_forwarder *fw, uint64_t first,
                              uint64_t last)
{
    sfj__frame fr;
    uint64_t s;

    for (s = first; s <= last; s++) {
        assert_true(up_read(f, fw, &fr));
        assert_int_equal(fr.type, SFJ_MSG_ENTRY);
        assert_int_equal(sfj__get_u64(fr.body), s);
    }
}

static uint64_t wm(fx *f)
{
    uint64_t w = 0;

    assert_int_equal(sfj__journal_watermark(f->j, &w), 0);
    return w;
}

static void drive(sfj_forwarder *fw, int ms)
{
    int64_t until = sfj__mono_ms() + ms;

    while (sfj__mono_ms() < until)
        assert_int_equal(sfj_forwarder_poll(fw, 5), 0);
}

static void test_forged_acks(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    uint8_t chain[32], other_key[32];
    uint64_t last;

    sfj_test_append(f->j, 20);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), 0);
    fw = new_link_fwd(f);

    /* 1: an ACK sealed with another key. */
    up_handshake(f, fw);
    up_expect_entries(f, fw, 1, last);
    assert_int_equal(sfj__journal_chain_at(f->j, last, chain), 0);
    memset(other_key, 0x5c, sizeof other_key);
    up_send_ack(f, last, chain, other_key);
    drive(fw, 100);
    assert_int_equal(f->auth_errors, 1);
    assert_true(f->offline >= 1); /* it dropped the link */
    assert_int_equal(wm(f), 0);

    /* 2: the right key over a chain hash that is not ours at that seq. */
    up_handshake(f, fw);
    up_expect_entries(f, fw, 1, last);
    assert_int_equal(sfj__journal_chain_at(f->j, 9, chain), 0);
    up_send_ack(f, 10, chain, f->link);
    drive(fw, 100);
    assert_int_equal(f->auth_errors, 2);
    assert_int_equal(wm(f), 0);

    /* 3: an ack beyond anything the journal holds is forged: the link
     * ends (PROTOCOL.md section 5). */
    up_handshake(f, fw);
    up_expect_entries(f, fw, 1, last);
    memset(chain, 1, sizeof chain);
    up_send_ack(f, last + 5, chain, f->link);
    drive(fw, 50);
    assert_int_equal(wm(f), 0);
    assert_int_equal(f->auth_errors, 3);

    /* 4: a genuine ack moves it, and only as far as acked. */
    up_handshake(f, fw);
    up_expect_entries(f, fw, 1, last);
    assert_int_equal(sfj__journal_chain_at(f->j, 12, chain), 0);
    up_send_ack(f, 12, chain, f->link);
    drive(fw, 50);
    assert_int_equal(sfj_forwarder_stop(fw), 0);
    assert_int_equal(wm(f), 12);
    assert_int_equal(f->auth_errors, 3);
    sfj_forwarder_free(fw);
}

/* Reflection: the terminal's own messages sent back to it. Message 1
 * dressed as a HELLO_ACK, then (after a genuine handshake) its first
 * sealed frame: neither opens, the link ends, the watermark stays. */
static void test_reflection(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    uint8_t *b, copy[512];
    sfj__frame fr;
    size_t n;
    int64_t until;
    int rc;

    sfj_test_append(f->j, 5);
    fw = new_link_fwd(f);
    assert_true(up_read(f, fw, &fr));
    assert_int_equal(fr.type, SFJ_MSG_HELLO);
    n = fr.len - SFJ_HELLO2_HDR;
    memcpy(copy, fr.body + SFJ_HELLO2_HDR, n);
    b = sfj__wire_body(&f->w);
    sfj__put_u16(b, 2);
    b[2] = 0;
    memcpy(b + 3, copy, n);
    assert_int_equal(
        sfj__wire_send(&f->w, f->up, SFJ_MSG_HELLO_ACK, 3 + n, 1000), 0);
    drive(fw, 50);
    assert_int_equal(f->auth_errors, 1);
    assert_int_equal(f->online, 0);

    up_handshake(f, fw);
    /* The first sealed frame, as it came. */
    until = sfj__mono_ms() + 3000;
    for (rc = 0; rc != 1 && sfj__mono_ms() < until;) {
        rc = sfj__wire_next(&f->w, &fr);
        if (rc == 0 && sfj__wire_fill(&f->w, f->up, 0) != 0)
            assert_int_equal(sfj_forwarder_poll(fw, 5), 0);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(fr.type, SFJ_MSG_SEALED);
    n = fr.len;
    memcpy(copy, fr.body, n);
    memcpy(sfj__wire_body(&f->w), copy, n);
    assert_int_equal(sfj__wire_send(&f->w, f->up, SFJ_MSG_SEALED, n, 1000), 0);
    drive(fw, 100);
    assert_int_equal(f->auth_errors, 2);
    assert_true(f->offline >= 2);
    sfj_forwarder_free(fw);
    assert_int_equal(wm(f), 0);
}

static void test_nak_resend(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    sfj__nak n;
    uint8_t chain[32];

    sfj_test_append(f->j, 20);
    fw = new_link_fwd(f);
    up_handshake(f, fw);
    up_expect_entries(f, fw, 1, 20);
    assert_int_equal(sfj__journal_chain_at(f->j, 4, chain), 0);
    up_send_ack(f, 4, chain, f->link);
    memset(&n, 0, sizeof n);
    n.seq = 5;
    n.reason = SFJ_NAK_BAD_FRAME;
    strcpy(n.text, "bad frame");
    up_send(f, SFJ_MSG_NAK, sfj__nak_encode(&n, sfj__wire_body(&f->w)));
    /* Everything from 5 comes again, on the same link. */
    up_expect_entries(f, fw, 5, 20);
    assert_int_equal(f->connects, 1);
    sfj_forwarder_free(fw);
    assert_int_equal(wm(f), 4);
}

/* A window of entries goes out in a few sends, not one per frame (a
 * system call each, and on TCP a segment each), in order and whole. */
static void test_window_in_few_sends(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    uint8_t chain[32];
    int after_hello;

    sfj_test_append(f->j, 64);
    fw = new_link_fwd_via(f, counted_connect);
    up_handshake(f, fw); /* a window of 64 */
    after_hello = f->sends;
    up_expect_entries(f, fw, 1, 64);
    /* 64 frames of about 300 bytes, and the PING that confirms the
     * session: one gathered send and what overflowed it. */
    assert_in_range(f->sends - after_hello, 1, 3);
    assert_int_equal(sfj__journal_chain_at(f->j, 64, chain), 0);
    up_send_ack(f, 64, chain, f->link);
    sfj_test_append(f->j, 1);
    up_expect_entries(f, fw, 65, 65);
    assert_int_equal(f->connects, 1);
    sfj_forwarder_free(fw);
    assert_int_equal(wm(f), 64);
}

/* The wire gathers frames on stream framing only: on COBS (serial) each
 * frame still goes out in a send of its own. Either way the peer reads
 * the frames whole and in order. */
static void test_wire_gathers_stream_frames_only(void **state)
{
    static const int framings[2] = {SFJ_FRAMING_STREAM, SFJ_FRAMING_COBS};
    sfj_transport *peer = NULL;
    sfj__wire w, r;
    sfj__frame fr;
    counted c;
    int i, k, sv[2], sends, rc;

    (void)state;
    for (i = 0; i < 2; i++) {
        memset(&c, 0, sizeof c);
        sends = 0;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(sfj_transport_tcp_from_fd(sv[0], &c.inner), 0);
        assert_int_equal(sfj_transport_tcp_from_fd(sv[1], &peer), 0);
        c.base.ops = &counted_ops;
        c.base.framing = framings[i];
        c.sends = &sends;
        assert_int_equal(sfj__wire_init(&w, framings[i]), 0);
        assert_int_equal(sfj__wire_init(&r, framings[i]), 0);
        sfj__wire_hold(&w);
        for (k = 0; k < 3; k++) {
            sfj__put_u64(sfj__wire_body(&w), (uint64_t)k);
            assert_int_equal(
                sfj__wire_send(&w, &c.base, SFJ_MSG_PING, SFJ_PING_BODY, 1000),
                0);
        }
        assert_int_equal(sends, i == 0 ? 0 : 3);
        assert_int_equal(sfj__wire_flush(&w, &c.base, 1000), 0);
        assert_int_equal(sends, i == 0 ? 1 : 3);
        for (k = 0; k < 3; k++) {
            while ((rc = sfj__wire_next(&r, &fr)) == 0)
                assert_int_equal(sfj__wire_fill(&r, peer, 1000), 0);
            assert_int_equal(rc, 1);
            assert_int_equal(fr.type, SFJ_MSG_PING);
            assert_int_equal(sfj__get_u64(fr.body), (uint64_t)k);
        }
        sfj__wire_free(&w);
        sfj__wire_free(&r);
        sfj_transport_close(c.inner);
        sfj_transport_close(peer);
    }
}

/* A reader that takes 4 KiB every 20 ms, `total` bytes in all. */
typedef struct slow_reader {
    int fd;
    size_t total;
} slow_reader;

static void *read_slowly(void *arg)
{
    slow_reader *r = arg;
    char buf[4096];
    size_t got = 0;
    ssize_t n;

    while (got < r->total) {
        usleep(20000);
        n = read(r->fd, buf, sizeof buf);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return NULL;
}

/* The send timeout counts from the last byte taken, not from the start:
 * 256 KiB through a small socket buffer drained 4 KiB per 20 ms takes
 * over a second, and every 20 ms brings progress, so a 500 ms timeout is
 * never reached. With nothing read, the same send times out. */
static void test_send_times_out_only_without_progress(void **state)
{
    static char big[256 * 1024];
    slow_reader r;
    pthread_t th;
    sfj_transport *t = NULL;
    size_t sent = 0;
    int sv[2], small = 4096;
    int64_t t0;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    assert_int_equal(sfj_transport_tcp_from_fd(sv[0], &t), 0);
    r.fd = sv[1];
    r.total = sizeof big;
    assert_int_equal(pthread_create(&th, NULL, read_slowly, &r), 0);
    t0 = sfj__mono_ms();
    assert_int_equal(sfj_transport_send(t, big, sizeof big, 500, &sent), 0);
    assert_int_equal(sent, sizeof big);
    assert_true(sfj__mono_ms() - t0 > 500);
    assert_int_equal(pthread_join(th, NULL), 0);
    /* Nobody reads now: the buffer fills and the send gives up. */
    assert_int_equal(sfj_transport_send(t, big, sizeof big, 200, &sent),
                     SFJ_ETIMEDOUT);
    assert_true(sent < sizeof big);
    sfj_transport_close(t);
    close(sv[1]);
}

/* ---- callback sink ---- */

static int deliver(const sfj_entry *e, void *payload)
{
    fx *f = payload;

    if (f->noffered < 256)
        f->offered[f->noffered++] = e->seq;
    assert_int_not_equal(e->kind, SFJ_EV_CHECKPOINT);
    if (e->seq == f->retry_seq && f->retries_left > 0) {
        f->retries_left--;
        return SFJ_DELIVER_RETRY;
    }
    if (e->seq == f->reject_seq)
        return SFJ_DELIVER_REJECT;
    return SFJ_DELIVER_ACK;
}

static sfj_forwarder *new_cb_fwd(fx *f)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;

    o.sink = SFJ_SINK_CALLBACK;
    o.deliver = deliver;
    o.deliver_payload = f;
    o.status = on_status;
    o.status_payload = f;
    o.backoff_min_ms = 10;
    o.backoff_max_ms = 40;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), 0);
    return fw;
}

/* Log lines kept for the tests. */
static char g_log[4096];
static int g_log_levels; /* bit per level seen */

static void on_log(sfj_log_level level, const char *line, void *payload)
{
    size_t n = strlen(g_log);

    (void)payload;
    g_log_levels |= 1 << level;
    snprintf(g_log + n, sizeof g_log - n, "%d %s\n", (int)level, line);
}

static void test_callback_ack_retry_reject(void **state)
{
    fx *f = *state;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_forwarder *fw;
    sfj_entry *e = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    uint64_t last;
    int i, n5 = 0, k;

    sfj_test_append(f->j, 30);
    f->retry_seq = 5;
    f->retries_left = 3;
    f->reject_seq = 7;
    g_log[0] = '\0';
    sfj_log_set(on_log, SFJ_LOG_DEBUG, NULL);
    fw = new_cb_fwd(f);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_int_equal(info.state, SFJ_LINK_IDLE);
    assert_int_equal(info.acknowledged, 0);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    assert_int_equal(sfj_forwarder_flush(fw, 10000), 0);
    /* The status a screen shows: acknowledged, when, and the refusals. */
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), 0);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_int_equal(info.acknowledged, last);
    assert_int_equal(info.acked_seq, last);
    assert_true(info.last_ack_ms > 0);
    assert_int_equal(info.rejected, 1);
    assert_true(info.errors >= 1);
    assert_int_not_equal(info.last_error, 0);
    assert_true(info.cause[0] != '\0');
    assert_int_equal(sfj_forwarder_stop(fw), 0);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_int_equal(info.state, SFJ_LINK_IDLE);
    sfj_log_set(NULL, SFJ_LOG_ERROR, NULL);
    if (strstr(g_log, "0 forwarder: seq 7 set aside as needs-attention") ==
            NULL ||
        strstr(g_log, " acknowledged\n") == NULL)
        fail_msg("log lines: %s", g_log);
    info.version = 0;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_EVERSION);
    info.version = SFJ_FORWARDER_INFO_VERSION + 1;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_EVERSION);
    sfj_forwarder_free(fw);
    assert_int_equal(wm(f), last);

    /* In order; 5 offered four times before anything behind it. */
    for (i = 0, k = 0; i < f->noffered; i++) {
        if (f->offered[i] == 5)
            n5++;
        else if (f->offered[i] > 5)
            assert_int_equal(n5, 4);
        if (i > 0 && f->offered[i] != f->offered[i - 1])
            assert_true(f->offered[i] > f->offered[i - 1]);
        k++;
    }
    assert_int_equal(n5, 4);
    assert_int_equal(f->offered[f->noffered - 1], 30);
    assert_true(f->offline >= 1);
    /* 7 was set aside, reported, kept, and did not block 8..30. */
    assert_int_equal(f->rejected_seq, 7);
    assert_int_equal(sfj_stats_get(f->j, &st), 0);
    assert_int_equal(st.needs_attention, 1);
    assert_int_equal(sfj_read(f->j, 7, &e), 0);
    assert_int_equal(e->seq, 7);
    sfj_entry_free(e);
}

static void test_callback_poll_and_new_entries(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;

    fw = new_cb_fwd(f);
    assert_int_equal(sfj_forwarder_poll(fw, 0), 0);
    assert_int_equal(f->noffered, 0);
    sfj_test_append(f->j, 3);
    assert_int_equal(sfj_forwarder_poll(fw, 20), 0);
    assert_int_equal(f->noffered, 3);
    sfj_test_append(f->j, 2);
    assert_int_equal(sfj_forwarder_flush(fw, 5000), 0);
    assert_int_equal(f->noffered, 5);
    /* Poll is refused while the thread runs. */
    assert_int_equal(sfj_forwarder_start(fw), 0);
    assert_int_equal(sfj_forwarder_start(fw), SFJ_ESTATE);
    assert_int_equal(sfj_forwarder_poll(fw, 0), SFJ_ESTATE);
    assert_int_equal(sfj_forwarder_stop(fw), 0);
    sfj_forwarder_free(fw);
}

static void test_bad_options(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;

    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EINVAL);
    o.sink = SFJ_SINK_TCP; /* no address */
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EINVAL);
    o.sink = SFJ_SINK_CALLBACK; /* no callback */
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EINVAL);
    o.deliver = deliver;
    o.window = 5000;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EINVAL);
    o.window = 0;
    o.version = 99;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EVERSION);
    assert_null(fw);
    sfj_forwarder_free(NULL);
}

/* An address that can never work is refused by sfj_forwarder_new, not
 * retried forever as if the host were down. */
static void test_bad_address(void **state)
{
    static const char *const bad[] = {
        "127.0.0.1:70000", "127.0.0.1:65536", "127.0.0.1:0", "127.0.0.1:",
        "127.0.0.1",       "127.0.0.1:http",  ":7400",       "[::1]7400",
        "[::1]:-1",        "host:7400x"};
    static const char *const good[] = {"127.0.0.1:1", "[::1]:65535",
                                       "sfj-host.example:7400"};
    fx *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    size_t i;

    o.sink = SFJ_SINK_TCP;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.address = bad[i];
        if (sfj_forwarder_new(f->j, &o, &fw) != SFJ_EINVAL)
            fail_msg("%s accepted", bad[i]);
        assert_null(fw);
    }
    for (i = 0; i < sizeof good / sizeof good[0]; i++) {
        o.address = good[i];
        assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
        sfj_forwarder_free(fw);
        fw = NULL;
    }
}

/* A refused connection: the status says offline, with the cause, and the
 * log callback gets a warning line (and no debug line above its level). */
static void test_info_offline(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_forwarder *fw = NULL;
    int i;

    g_log[0] = '\0';
    g_log_levels = 0;
    sfj_log_set(on_log, SFJ_LOG_WARN, NULL);
    sfj_test_append(f->j, 2);
    o.sink = SFJ_SINK_TCP;
    o.address = "127.0.0.1:1"; /* nothing listens on port 1 */
    o.backoff_min_ms = 10;
    o.backoff_max_ms = 20;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    for (i = 0; i < 500; i++) {
        assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
        if (info.state == SFJ_LINK_OFFLINE)
            break;
        usleep(10000);
    }
    assert_int_equal(info.state, SFJ_LINK_OFFLINE);
    assert_int_equal(info.last_error, SFJ_ELINK);
    assert_true(info.cause[0] != '\0');
    assert_true(info.errors >= 1);
    assert_int_equal(info.acknowledged, 0);
    assert_int_equal(info.reconnects, 0);
    assert_true(info.last_change_ms > 0);
    assert_int_equal(sfj_forwarder_stop(fw), 0);
    sfj_forwarder_free(fw);
    sfj_log_set(NULL, SFJ_LOG_ERROR, NULL);
    if (strstr(g_log, "1 forwarder: offline: ") == NULL)
        fail_msg("no offline warning in: %s", g_log);
    assert_int_equal(g_log_levels & (1 << SFJ_LOG_DEBUG | 1 << SFJ_LOG_INFO),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forged_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reflection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nak_resend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_in_few_sends, setup,
                                        teardown),
        cmocka_unit_test(test_wire_gathers_stream_frames_only),
        cmocka_unit_test(test_send_times_out_only_without_progress),
        cmocka_unit_test_setup_teardown(test_callback_ack_retry_reject, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_callback_poll_and_new_entries,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_options, setup, teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
