/* Forwarder -> sfj-host over real links: loopback TCP with 10,000
 * entries, a socat pty pair through the termios path, and the faults of
 * issue 3 (host down at start, host killed and restarted, a connection
 * cut mid-frame, a corrupted frame, duplicated and reordered acks, the
 * terminal killed with SIGKILL, several terminals at once, appends while
 * the link is down, an unprovisioned terminal). Every fault test ends by
 * checking that the mirror holds every seq exactly once, byte for byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/proto_v2.h"
#include "support/dictcopy.h"
#include "support/hosttest.h"
#include "support/testutil.h"

typedef struct fx {
    char *dir;
    char *jdir;
    sfj_keys *keys;
    sfj_journal *j;
    sfj_test_host host;
    sfj_test_status st;
    pid_t socat;       /* the pty pair of test_serial_pty, or 0 */
    sfj_forwarder *fw; /* a forwarder a failed test left running, or NULL */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->jdir = sfj_test_path(f->dir, "terminal");
    f->keys = sfj_test_keys(11);
    f->host.dir = sfj_test_path(f->dir, "mirrors");
    f->host.prov = sfj_test_path(f->dir, "terminals.conf");
    f->host.log = sfj_test_path(f->dir, "host.log");
    sfj_test_status_init(&f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    sfj_test_host_stop(&f->host, SIGKILL);
    /* A failed serial test leaves socat holding the test's stdout open. */
    if (f->socat > 0) {
        kill(f->socat, SIGTERM);
        waitpid(f->socat, NULL, 0);
    }
    sfj_forwarder_free(f->fw); /* before the journal it reads */
    sfj_journal_close(f->j);
    sfj_keys_free(f->keys);
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

static void open_terminal(fx *f, const char *tid)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    o.terminal_id = tid;
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, &o, &f->j), 0);
    sfj_test_provision(f->host.prov, f->j, f->keys, tid);
}

static int counted(fx *f, const int *counter)
{
    return sfj_test_counted(&f->st, counter);
}

static sfj_forwarder_opts tcp_opts(fx *f, char *addr, size_t cap)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;

    snprintf(addr, cap, "127.0.0.1:%d", f->host.port);
    o.sink = SFJ_SINK_TCP;
    o.address = addr;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.connect_timeout_ms = 1000;
    o.ack_timeout_ms = 3000;
    o.status = sfj_test_on_status;
    o.status_payload = &f->st;
    return o;
}

static sfj_forwarder *start_fwd(fx *f, const sfj_forwarder_opts *o)
{
    sfj_forwarder *fw = NULL;

    assert_int_equal(sfj_forwarder_new(f->j, o, &fw), 0);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    return fw;
}

static uint64_t watermark(sfj_journal *j)
{
    uint64_t wm = 0;

    assert_int_equal(sfj__journal_watermark(j, &wm), 0);
    return wm;
}

static void finish(fx *f, sfj_forwarder *fw, uint64_t min_entries)
{
    uint64_t last = 0;

    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_forwarder_free(fw);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), 0);
    assert_int_equal(watermark(f->j), last);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(sfj_test_mirror_equal(f->host.dir, f->j, f->keys) >=
                min_entries);
}

/* ---- plain runs ---- */

/* The counters of a forwarder that delivered everything to a real host. */
static void check_counters(sfj_forwarder *fw, uint64_t min_sent)
{
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;

    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_true(info.sent >= min_sent);
    assert_true(info.resent <= info.sent - min_sent);
    assert_true(info.acknowledged >= min_sent);
    /* Every ENTRY frame carries at least its 80-byte record header. */
    assert_true(info.bytes_sent > info.sent * 80);
    assert_true(info.bytes_received > 0);
    assert_true(info.last_ack_ms > 0);
    print_message("sent %llu, resent %llu, %llu bytes out, %llu in, "
                  "%llu reconnects\n",
                  (unsigned long long)info.sent,
                  (unsigned long long)info.resent,
                  (unsigned long long)info.bytes_sent,
                  (unsigned long long)info.bytes_received,
                  (unsigned long long)info.reconnects);
}

static void test_tcp_10k(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];
    int64_t t0 = sfj__mono_ms();

    open_terminal(f, "T-10K");
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 10000); /* forwarded while being appended */
    check_counters(fw, 10000);
    finish(f, fw, 10000);
    assert_true(counted(f, &f->st.online) >= 1);
    assert_int_equal(counted(f, &f->st.auth_errors), 0);
    print_message("10,000 entries appended and forwarded in %lld ms\n",
                  (long long)(sfj__mono_ms() - t0));
}

/* The terminal journal of a test, created with the sales' dictionary
 * under a key generated into `keyfile`, and provisioned. */
static void open_dict_terminal(fx *f, const char *tid, const char *keyfile)
{
    sfj_keys_free(f->keys);
    f->keys = NULL;
    f->j = sfj_test_dict_journal(f->jdir, tid, keyfile, &f->keys);
    sfj_test_provision(f->host.prov, f->j, f->keys, tid);
}

/* The directory of the terminal's mirror (malloc'd). */
static char *mirror_dir(fx *f)
{
    uint8_t jid[16];
    char hj[33];
    int i;

    assert_int_equal(sfj_journal_id(f->j, jid), 0);
    for (i = 0; i < 16; i++)
        sprintf(hj + 2 * i, "%02x", jid[i]);
    return sfj_test_path(f->host.dir, hj);
}

/* A journal created with a compression dictionary: its DICTIONARY
 * record (seq 1) is forwarded like any entry, the mirror keeps a copy in
 * meta `dict` as the terminal's journal does, and sfj-dump reads every
 * record of the mirror, compressed against it, with the key alone. */
static void test_dictionary_journal(void **state)
{
    fx *f = *state;
    char *keyfile = sfj_test_path(f->dir, "master.key"), *mirror;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];

    open_dict_terminal(f, "T-DICT", keyfile);
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append_sales(f->j, 1, 40);
    finish(f, fw, 81);
    assert_int_equal(counted(f, &f->st.rejected), 0);
    mirror = mirror_dir(f);
    sfj_test_dict_copy_check(mirror, f->jdir, keyfile, 40, f->dir);
    free(mirror);
    free(keyfile);
}

/* The same after a key rotation: the mirror's dictionary is seq 1 as
 * sealed under the first key (the terminal's own journal seals it again
 * under the new one, the mirror cannot), so with both key files sfj-dump
 * reads every record of the mirror, those made with the dictionary
 * under the new key included, and verifies it. */
static void test_dictionary_rotated(void **state)
{
    fx *f = *state;
    char *ka = sfj_test_path(f->dir, "a.key"),
         *kb = sfj_test_path(f->dir, "b.key");
    char *mirror, *out;
    sfj_keys *b = NULL;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];
    int i;

    open_dict_terminal(f, "T-DICT-ROT", ka);
    sfj_test_append_sales(f->j, 1, 3);
    assert_int_equal(sfj_keys_generate_file(kb), SFJ_OK);
    assert_int_equal(sfj_keys_load_file(kb, &b), SFJ_OK);
    assert_int_equal(sfj_journal_rotate_keys(f->j, b, NULL), SFJ_OK);
    sfj_keys_free(b);
    sfj_test_append_sales(f->j, 4, 3);
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    finish(f, fw, 13);
    mirror = mirror_dir(f);
    assert_int_equal(sfj_test_dump(f->dir, "dump.out", mirror, "-k", kb, "-k",
                                   ka, "-o", "csv", NULL),
                     0);
    out = sfj_test_path(f->dir, "dump.out");
    for (i = 1; i <= 6; i++) {
        char want[32];

        snprintf(want, sizeof want, ",DS-%05d,%d,EUR,", i, 1000 + i);
        if (!sfj_test_file_contains(out, want))
            fail_msg("%s lacks %s", out, want);
    }
    assert_true(sfj_test_file_contains(out, ",key_rotation,9,1,"));
    assert_true(sfj_test_file_contains(out, ",intent,1,2,true,"));
    assert_int_equal(sfj_test_dump(f->dir, "dump.out", mirror, "-k", kb, "-k",
                                   ka, "--verify", NULL),
                     0);
    free(out);
    free(mirror);
    free(ka);
    free(kb);
}

static void test_host_down_at_start(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];

    open_terminal(f, "T-DOWN");
    sfj_test_host_start(&f->host); /* learn a free port, then stop */
    sfj_test_host_stop(&f->host, SIGTERM);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 200);
    usleep(300000);
    assert_int_equal(watermark(f->j), 0);
    assert_true(counted(f, &f->st.offline) >= 1);
    sfj_test_host_start(&f->host); /* same port */
    sfj_test_append(f->j, 100);
    finish(f, fw, 300);
}

/* Appends on a thread of their own: its result is asserted on the test's
 * thread after the join (see sfj_test_append_rc). */
typedef struct appender {
    sfj_journal *j;
    int n;
    int rc;
} appender;

static void *append_thread(void *arg)
{
    appender *a = arg;

    a->rc = sfj_test_append_rc(a->j, a->n);
    return NULL;
}

static void test_host_killed_restarted(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    pthread_t th;
    appender a;
    char addr[64];
    int i;

    open_terminal(f, "T-KILL");
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    a.j = f->j;
    a.n = 3000;
    assert_int_equal(pthread_create(&th, NULL, append_thread, &a), 0);
    for (i = 0; i < 3; i++) {
        /* Wait for some progress, then kill the host mid-stream. */
        uint64_t wm0 = watermark(f->j);
        int64_t until = sfj__mono_ms() + 10000;
        while (watermark(f->j) < wm0 + 200 && sfj__mono_ms() < until)
            usleep(5000);
        sfj_test_host_stop(&f->host, SIGKILL);
        usleep(100000);
        sfj_test_host_start(&f->host);
    }
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    check_counters(fw, 3000);
    finish(f, fw, 3000);
    assert_true(counted(f, &f->st.offline) >= 3);
}

/* ---- a transport that misbehaves on purpose ---- */

/* Version 2 seals every message after the handshake: an ENTRY going up is
 * a SEALED frame larger than any other message, an ACK coming down one
 * whose body holds exactly an ACK. */
static int is_entry_frame(const uint8_t *p, size_t len)
{
    return len > SFJ_FRAME_OVERHEAD + SFJ_SEAL_OVERHEAD + 8 + 64 &&
           p[0] == SFJ_MSG_SEALED;
}

static int is_ack_frame(const sfj__frame *fr)
{
    return fr->type == SFJ_MSG_SEALED &&
           fr->len == SFJ_ACK2_BODY + SFJ_SEAL_OVERHEAD;
}

#define FAULT_CUT     1 /* send half of an ENTRY frame, then fail */
#define FAULT_CORRUPT 2 /* flip one bit in an ENTRY frame */
#define FAULT_ACKS    3 /* duplicate and reorder ACK frames */

/* Written by the forwarder's thread; `fired` and `acks_in` are also read
 * by the test's thread while the forwarder runs (atomically). */
typedef struct fault_cfg {
    int mode;
    const char *addr;
    int entries; /* ENTRY frames sent through all connections */
    int trigger; /* fire at this ENTRY frame */
    int fired;
    int connects;
    int acks_in, acks_out;
} fault_cfg;

static int load_int(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_int(int *p, int v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

typedef struct fault_tp {
    sfj_transport base;
    sfj_transport *inner;
    fault_cfg *cfg;
    sfj__frame_dec dec;
    uint8_t *dbuf;
    uint8_t out[8 * 1024];
    size_t out_len, out_pos;
    uint8_t held[SFJ_FRAME_OVERHEAD + 72];
    size_t held_len;
} fault_tp;

/* A send holds whole frames, one or (a window gathered) many: each ENTRY
 * among them counts, and the fault hits the trigger's own frame. */
static int ft_send(sfj_transport *t, const void *buf, size_t len,
                   int timeout_ms, size_t *sent)
{
    fault_tp *ft = (fault_tp *)t;
    fault_cfg *c = ft->cfg;
    const uint8_t *p = buf;
    uint8_t *copy;
    size_t off, fl;
    int rc;

    for (off = 0; off + SFJ_FRAME_HDR_BYTES <= len; off += fl) {
        fl = SFJ_FRAME_OVERHEAD + sfj__get_u32(p + off + 2);
        if (!is_entry_frame(p + off, fl) || ++c->entries < c->trigger ||
            c->fired)
            continue;
        if (c->mode == FAULT_CUT) {
            c->fired = 1;
            rc = sfj_transport_send(ft->inner, buf, off + fl / 2, timeout_ms,
                                    sent);
            return rc == 0 ? SFJ_ELINK : rc;
        }
        if (c->mode == FAULT_CORRUPT) {
            c->fired = 1;
            copy = malloc(len);
            memcpy(copy, buf, len);
            copy[off + SFJ_FRAME_HDR_BYTES + 20] ^= 0x10;
            rc = sfj_transport_send(ft->inner, copy, len, timeout_ms, sent);
            free(copy);
            return rc;
        }
    }
    return sfj_transport_send(ft->inner, buf, len, timeout_ms, sent);
}

static void emit(fault_tp *ft, const uint8_t *p, size_t n)
{
    if (ft->out_len + n <= sizeof ft->out) {
        memcpy(ft->out + ft->out_len, p, n);
        ft->out_len += n;
    }
}

static void release_held(fault_tp *ft)
{
    if (ft->held_len > 0) {
        emit(ft, ft->held, ft->held_len);
        ft->cfg->acks_out++;
        ft->held_len = 0;
    }
}

/* FAULT_ACKS, once per run: the first ACK of a link is held back until
 * the next one comes, then the newer goes up twice and the older after it.
 * A held ACK waits for that next ACK however quiet the link is (the test
 * makes sure one comes); only a frame of another type, which must keep
 * its place, lets it go first. */
static int ft_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                   size_t *got)
{
    fault_tp *ft = (fault_tp *)t;
    uint8_t in[4096], frame[SFJ_FRAME_OVERHEAD + 512];
    size_t n = 0, pos = 0, used, fl;
    sfj__frame fr;
    int rc;

    if (ft->cfg->mode != FAULT_ACKS)
        return sfj_transport_recv(ft->inner, buf, cap, timeout_ms, got);
    if (ft->out_pos == ft->out_len) {
        ft->out_pos = ft->out_len = 0;
        rc = sfj_transport_recv(ft->inner, in, sizeof in, timeout_ms, &n);
        if (rc != 0)
            return rc;
        while (pos < n) {
            rc = sfj__frame_dec_feed(&ft->dec, in + pos, n - pos, &used, &fr);
            pos += used;
            if (rc != 1)
                continue;
            fl = sfj__frame_encode(frame, sizeof frame, fr.type, fr.flags,
                                   fr.body, fr.len);
            if (!is_ack_frame(&fr) || ft->cfg->fired) {
                release_held(ft);
                emit(ft, frame, fl);
                if (is_ack_frame(&fr)) {
                    store_int(&ft->cfg->acks_in, ft->cfg->acks_in + 1);
                    ft->cfg->acks_out++;
                }
                continue;
            }
            store_int(&ft->cfg->acks_in, ft->cfg->acks_in + 1);
            if (ft->held_len == 0) {
                memcpy(ft->held, frame, fl); /* hold it back ... */
                ft->held_len = fl;
                continue;
            }
            emit(ft, frame, fl); /* ... newer first, */
            emit(ft, frame, fl); /* twice, */
            ft->cfg->acks_out += 2;
            release_held(ft); /* then the older one, now stale */
            store_int(&ft->cfg->fired, 1);
        }
        if (ft->out_len == 0)
            return SFJ_ETIMEDOUT;
    }
    n = ft->out_len - ft->out_pos < cap ? ft->out_len - ft->out_pos : cap;
    memcpy(buf, ft->out + ft->out_pos, n);
    ft->out_pos += n;
    *got = n;
    return 0;
}

static int ft_fd(sfj_transport *t)
{
    return sfj_transport_fd(((fault_tp *)t)->inner);
}

static void ft_close(sfj_transport *t)
{
    fault_tp *ft = (fault_tp *)t;

    sfj_transport_close(ft->inner);
    free(ft->dbuf);
    free(ft);
}

static const sfj_transport_ops fault_ops = {SFJ_TRANSPORT_OPS_VERSION, ft_send,
                                            ft_recv, ft_fd, ft_close};

static int fault_connect(sfj_transport **out, void *payload)
{
    fault_cfg *c = payload;
    fault_tp *ft;
    sfj_transport *inner = NULL;
    int rc = sfj_transport_tcp_connect(c->addr, 1000, &inner);

    if (rc != 0)
        return rc;
    ft = calloc(1, sizeof *ft);
    ft->base.ops = &fault_ops;
    ft->base.framing = SFJ_FRAMING_STREAM;
    ft->inner = inner;
    ft->cfg = c;
    ft->dbuf = malloc(SFJ_FRAME_MAX_BYTES);
    sfj__frame_dec_init(&ft->dec, ft->dbuf, SFJ_FRAME_MAX_BYTES,
                        SFJ_FRAME_MAX_BODY);
    c->connects++;
    *out = &ft->base;
    return 0;
}

/* FAULT_ACKS needs two ACKs on one link while the first is held: small
 * batches, each appended once the one before it was acknowledged, until
 * the fault fired (bounded), then the rest. The window holds all 1,000
 * entries, so held ACKs never stop the sending. */
static int append_until_fired(fx *f, fault_cfg *c, int total)
{
    int n = 0, acks;
    int64_t until = sfj__mono_ms() + 30000;

    while (!load_int(&c->fired) && n + 10 <= total && sfj__mono_ms() < until) {
        acks = load_int(&c->acks_in);
        sfj_test_append(f->j, 10);
        n += 10;
        while (load_int(&c->acks_in) == acks && !load_int(&c->fired) &&
               sfj__mono_ms() < until)
            usleep(1000);
    }
    return n;
}

static void run_fault(fx *f, fault_cfg *c, const char *tid)
{
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];
    int n = 0;

    open_terminal(f, tid);
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    o.sink = SFJ_SINK_TRANSPORT;
    o.connect = fault_connect;
    o.connect_payload = c;
    if (c->mode == FAULT_ACKS) {
        o.window = 1024;
        o.ack_timeout_ms = 30000; /* a held ACK is not a silent upstream */
    }
    c->addr = addr;
    fw = start_fwd(f, &o);
    if (c->mode == FAULT_ACKS)
        n = append_until_fired(f, c, 1000);
    sfj_test_append(f->j, 1000 - n);
    finish(f, fw, 1000);
}

static void test_cut_mid_frame(void **state)
{
    fx *f = *state;
    fault_cfg c = {FAULT_CUT, NULL, 0, 300, 0, 0, 0, 0};

    run_fault(f, &c, "T-CUT");
    assert_int_equal(c.fired, 1);
    assert_true(c.connects >= 2); /* it had to reconnect */
}

static void test_corrupted_frame(void **state)
{
    fx *f = *state;
    fault_cfg c = {FAULT_CORRUPT, NULL, 0, 300, 0, 0, 0, 0};

    run_fault(f, &c, "T-CRC");
    assert_int_equal(c.fired, 1);
    /* The host saw it. Version 2 counts sealed frames implicitly, so the
     * link ends (version 1 answered NAK on the same link) and the
     * terminal resumes on a new one: nothing lost (finish checked). */
    assert_true(sfj_test_file_contains(f->host.log, "bad frame"));
    assert_true(c.connects >= 2);
}

static void test_dup_reordered_acks(void **state)
{
    fx *f = *state;
    fault_cfg c = {FAULT_ACKS, NULL, 0, 0, 0, 0, 0, 0};

    run_fault(f, &c, "T-ACKS");
    assert_int_equal(c.fired, 1);
    assert_true(c.acks_in >= 2);
    assert_true(c.acks_out > c.acks_in); /* duplicates went through */
    /* Version 2: a duplicated or reordered sealed ACK reuses a counter.
     * It never moves the watermark (finish checked every seq is held)
     * and it ends the link as not authentic (version 1 ignored it as
     * stale on the same link). */
    assert_true(counted(f, &f->st.auth_errors) >= 1);
    assert_true(c.connects >= 2);
}

/* ---- the terminal process killed mid-stream ---- */

static void child_terminal(fx *f, int port)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_journal *j = NULL;
    sfj_forwarder *fw = NULL;
    char addr[64];

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    if (sfj_journal_open(f->jdir, f->keys, NULL, &j) != 0)
        _exit(2);
    o.sink = SFJ_SINK_TCP;
    o.address = addr;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    if (sfj_forwarder_new(j, &o, &fw) != 0 || sfj_forwarder_start(fw) != 0)
        _exit(3);
    /* A forked copy of the test: a cmocka assertion here would jump back
     * into the copied test runner, so failures leave by _exit. */
    for (;;) /* until killed */
        if (sfj_test_append_rc(j, 100) != 0)
            _exit(4);
}

/* ---- the host's own commit fails ---- */

/* The mirror's head as stored, read through a read-only handle (0 while
 * the host has not created it yet). */
static uint64_t mirror_head(fx *f)
{
    return sfj_test_mirror_head(f->host.dir, f->j);
}

/* A mirror capped at 1 MiB fills up: the host's commits fail with
 * SFJ_EFULL and it answers NAK BUSY. Sampled throughout (the watermark
 * first: both only grow), the terminal's watermark never passes the head
 * the mirror stored; an ACK sent before the commit would show as a
 * watermark above it. */
static void test_mirror_full_no_early_ack(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    sfj_event ev = SFJ_EVENT_INIT;
    uint8_t payload[3000];
    char addr[64];
    uint64_t wm = 0, head = 0, last = 0, seq, samples = 0;
    int i, rc = 0;
    int64_t until;

    open_terminal(f, "T-MIRROR-FULL");
    snprintf(f->host.extra, sizeof f->host.extra, "--max-bytes 1048576");
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    o.ack_batch = 1;
    fw = f->fw = start_fwd(f, &o);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    /* Incompressible: 1,000 entries are three times the mirror's cap. */
    for (i = 0; i < 1000; i++) {
        randombytes_buf(payload, sizeof payload);
        assert_int_equal(sfj_append(f->j, &ev, &seq), 0);
        if (i % 20 == 0) {
            wm = watermark(f->j);
            head = mirror_head(f);
            assert_true(wm <= head);
            samples++;
        }
    }
    /* Until the host has refused a commit for lack of room, and a while
     * after (bounded). */
    until = sfj__mono_ms() + 20000;
    while (!sfj_test_file_contains(f->host.log, "not stored: journal full") &&
           sfj__mono_ms() < until) {
        wm = watermark(f->j);
        head = mirror_head(f);
        assert_true(wm <= head);
        samples++;
        usleep(10000);
    }
    assert_true(
        sfj_test_file_contains(f->host.log, "not stored: journal full"));
    rc = sfj_forwarder_flush(fw, 1000); /* cannot complete: cap */
    assert_int_not_equal(rc, 0);
    sfj_forwarder_free(fw);
    f->fw = NULL;
    wm = watermark(f->j);
    head = mirror_head(f);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), 0);
    print_message("mirror full at seq %llu of %llu, watermark %llu, %llu "
                  "samples\n",
                  (unsigned long long)head, (unsigned long long)last,
                  (unsigned long long)wm, (unsigned long long)samples);
    assert_true(wm > 0);      /* what fitted was acknowledged */
    assert_true(wm <= head);  /* and nothing beyond it */
    assert_true(head < last); /* the cap really was hit */
    sfj_test_host_stop(&f->host, SIGTERM);
}

static void test_terminal_kill9(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];
    pid_t pid;
    int status, round;

    open_terminal(f, "T-K9");
    sfj_journal_close(f->j);
    f->j = NULL;
    sfj_test_host_start(&f->host);
    for (round = 0; round < 2; round++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_terminal(f, f->host.port);
        usleep(400000 + 200000 * round);
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
    }
    /* Restarted: everything above the watermark goes again. */
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, NULL, &f->j), 0);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 10);
    finish(f, fw, 20);
}

/* ---- several terminals, one host ---- */

#define NTERM 4

static void test_many_terminals(void **state)
{
    fx *f = *state;
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    sfj_forwarder_opts o;
    sfj_forwarder *fw[NTERM];
    sfj_journal *j[NTERM];
    sfj_keys *k[NTERM];
    pthread_t th[NTERM];
    appender a[NTERM];
    char addr[64], tid[16], *path;
    int i;

    for (i = 0; i < NTERM; i++) {
        snprintf(tid, sizeof tid, "T-MULTI-%d", i);
        k[i] = sfj_test_keys((uint8_t)(40 + i));
        path = sfj_test_path(f->dir, tid);
        jo.terminal_id = tid;
        assert_int_equal(sfj_journal_open(path, k[i], &jo, &j[i]), 0);
        free(path);
        sfj_test_provision(f->host.prov, j[i], k[i], tid);
    }
    sfj_test_host_start(&f->host);
    for (i = 0; i < NTERM; i++) {
        o = tcp_opts(f, addr, sizeof addr);
        assert_int_equal(sfj_forwarder_new(j[i], &o, &fw[i]), 0);
        assert_int_equal(sfj_forwarder_start(fw[i]), 0);
        a[i].j = j[i];
        a[i].n = 500;
        assert_int_equal(pthread_create(&th[i], NULL, append_thread, &a[i]), 0);
    }
    for (i = 0; i < NTERM; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].rc, 0);
        assert_int_equal(sfj_forwarder_flush(fw[i], 60000), 0);
        sfj_forwarder_free(fw[i]);
    }
    sfj_test_host_stop(&f->host, SIGTERM);
    for (i = 0; i < NTERM; i++) {
        assert_true(sfj_test_mirror_equal(f->host.dir, j[i], k[i]) >= 500);
        sfj_journal_close(j[i]);
        sfj_keys_free(k[i]);
    }
}

/* ---- appends while the link is down ---- */

/* A loopback listener on `port` that accepts and then says nothing. */
static int silent_listener(int port)
{
    struct sockaddr_in sa;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one),
                     0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static sfj_forwarder_info fwd_info(sfj_forwarder *fw)
{
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;

    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    return info;
}

/* Appends never wait for the link. Shown by events, not by timing: first
 * while the forwarder reconnects as hard as it can to a closed port; then
 * while it waits on a peer that accepted its connection and never answers
 * its HELLO. Had an append to wait for that attempt, the attempt would have
 * to end first (the peer closes only after the appends), so its error would
 * be counted before the appends return. */
static void test_appends_while_down(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64], hello[64];
    struct pollfd pfd;
    uint64_t errors_before;
    int lfd, cfd;

    open_terminal(f, "T-OFFLINE");
    sfj_test_host_start(&f->host);
    sfj_test_host_stop(&f->host, SIGTERM); /* a port nobody listens on */
    o = tcp_opts(f, addr, sizeof addr);
    o.backoff_min_ms = 5; /* reconnect as hard as it can */
    o.backoff_max_ms = 10;
    o.ack_timeout_ms = 120000; /* the silent peer is never timed out */
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 300);
    assert_int_equal(watermark(f->j), 0);
    assert_true(counted(f, &f->st.offline) >= 2);

    lfd = silent_listener(f->host.port);
    pfd.fd = lfd;
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 30000), 1); /* it reconnected */
    cfd = accept(lfd, NULL, NULL);
    assert_true(cfd >= 0);
    pfd.fd = cfd;
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 30000), 1); /* its HELLO came */
    while (recv(cfd, hello, sizeof hello, MSG_DONTWAIT) > 0)
        ; /* all of it */
    errors_before = fwd_info(fw).errors;
    sfj_test_append(f->j, 300);
    assert_int_equal(fwd_info(fw).errors, errors_before);
    assert_int_equal(fwd_info(fw).state, SFJ_LINK_OFFLINE);
    /* It still waits on us: the connection is open (no EOF, no reset). */
    assert_int_equal(recv(cfd, hello, sizeof hello, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_int_equal(watermark(f->j), 0);
    close(cfd);
    close(lfd);

    sfj_test_host_start(&f->host);
    finish(f, fw, 600);
}

/* ---- refusals ---- */

/* Every line the serving host logged starts with an RFC 3339 UTC time:
 * "2026-11-27T09:45:54.120Z sfj-host: ...". */
static int log_lines_stamped(const char *path)
{
    char line[512];
    FILE *fp = fopen(path, "r");
    int n = 0, ok = fp != NULL;

    while (ok && fgets(line, sizeof line, fp) != NULL) {
        int y, mo, d, h, mi, sec, ms, end = 0;

        n++;
        ok = sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ sfj-host: %n", &y, &mo,
                    &d, &h, &mi, &sec, &ms, &end) == 7 &&
             end == 35 && y >= 2000 && mo >= 1 && mo <= 12 && d >= 1 &&
             d <= 31 && h < 24 && mi < 60 && sec < 60;
    }
    if (fp != NULL)
        fclose(fp);
    return ok && n > 0;
}

static void test_unprovisioned_terminal(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_keys *other = sfj_test_keys(99);
    sfj_journal *j2 = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    char addr[64], *path = sfj_test_path(f->dir, "other");

    open_terminal(f, "T-KNOWN");
    /* A journal under another key claims the known terminal's id: its
     * journal_id is unknown to the host. */
    assert_int_equal(sfj_journal_open(path, other, NULL, &j2), 0);
    sfj_test_append(j2, 5);
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    assert_int_equal(sfj_forwarder_new(j2, &o, &fw), 0);
    assert_int_equal(sfj_forwarder_flush(fw, 500), SFJ_ETIMEDOUT);
    /* The host cannot read message 1 (it does not know this journal), so
     * its refusal comes in clear: nobody proved anything, so it is an error
     * retried at the longest backoff, never a refusal for good and never a
     * note in the journal. */
    assert_true(counted(f, &f->st.errors) >= 1);
    assert_int_equal(counted(f, &f->st.refused), 0);
    assert_int_equal(counted(f, &f->st.online), 0);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_int_equal(info.last_error, SFJ_EREJECTED);
    assert_non_null(strstr(info.cause, "upstream refused"));
    assert_int_equal(info.cause_code, SFJ_CAUSE_HOST);
    assert_int_equal(info.host_status, SFJ_HELLO_UNKNOWN_TERMINAL);
    assert_int_equal(watermark(j2), 0);
    sfj_forwarder_free(fw);
    assert_int_equal(sfj_stats_get(j2, &st), 0);
    assert_int_equal(st.needs_attention, 0);
    assert_true(sfj_test_file_contains(f->host.log, "not provisioned"));
    assert_true(log_lines_stamped(f->host.log));
    sfj_journal_close(j2);
    sfj_keys_free(other);
    free(path);
}

/* Start the host, append `n` entries and forward them all. */
static void serve_and_forward(fx *f, uint64_t n)
{
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64];

    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, n);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_forwarder_free(fw);
}

/* A terminal journal restored from an old copy is refused: the mirror
 * holds a signed checkpoint beyond what the terminal offers. */
static void test_rolled_back_journal(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_stats st = SFJ_STATS_INIT;
    char addr[64], cmd[1024], *old = sfj_test_path(f->dir, "old-copy");
    uint64_t mirrored;

    open_terminal(f, "T-ROLL");
    sfj_test_append(f->j, 40);
    assert_int_equal(sfj_journal_close(f->j), 0);
    f->j = NULL;
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f->jdir, old);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, NULL, &f->j), 0);
    serve_and_forward(f, 40);
    mirrored = sfj_test_mirror_equal(f->host.dir, f->j, f->keys);
    assert_true(mirrored >= 80);
    assert_int_equal(sfj_journal_close(f->j), 0);
    f->j = NULL;

    /* Roll the terminal back to the old copy and reconnect. */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s' '%s'", f->jdir, old,
             f->jdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, NULL, &f->j), 0);
    pthread_mutex_lock(&f->st.lock);
    f->st.refused = 0;
    pthread_mutex_unlock(&f->st.lock);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    assert_int_equal(sfj_forwarder_flush(fw, 1000), SFJ_ETIMEDOUT);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), 0);
    assert_int_equal(info.state, SFJ_LINK_REFUSED);
    assert_int_equal(info.cause_code, SFJ_CAUSE_HOST);
    assert_int_equal(info.host_status, SFJ_HELLO_DIVERGED);
    sfj_forwarder_free(fw);
    assert_true(counted(f, &f->st.refused) >= 1); /* DIVERGED: for good */
    assert_int_equal(watermark(f->j), 0);
    assert_int_equal(sfj_stats_get(f->j, &st), 0);
    assert_true(st.last_seq < mirrored);
    assert_true(sfj_test_file_contains(f->host.log, "journal rolled back"));
    assert_true(sfj_test_file_contains(f->host.log, "signed checkpoint"));
    free(old);
}

/* A host whose store lost entries it had acknowledged (an older copy of
 * the store, another shard's): the terminal's watermark lies above the
 * store's head. Both sides say so, and the entries go again. */
static void test_store_lost_acks(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o;
    sfj_forwarder *fw;
    char addr[64], cmd[1024], *mirror;

    open_terminal(f, "T-LOST");
    serve_and_forward(f, 40);
    assert_true(watermark(f->j) >= 40);
    pthread_mutex_lock(&f->st.lock);
    assert_null(strstr(f->st.last_online, "below"));
    pthread_mutex_unlock(&f->st.lock);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_false(sfj_test_file_contains(f->host.log, "missing here"));

    /* The host comes back without the terminal's mirror. */
    mirror = mirror_dir(f);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", mirror);
    assert_int_equal(system(cmd), 0);
    sfj_test_host_start(&f->host);
    o = tcp_opts(f, addr, sizeof addr);
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 10);
    pthread_mutex_lock(&f->st.lock);
    f->st.online = 0;
    pthread_mutex_unlock(&f->st.lock);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    pthread_mutex_lock(&f->st.lock);
    if (strstr(f->st.last_online, "link up; the upstream holds up to seq 0, "
                                  "below the acknowledged seq ") == NULL)
        fail_msg("ONLINE detail: %s", f->st.last_online);
    pthread_mutex_unlock(&f->st.lock);
    assert_true(sfj_test_file_contains(f->host.log,
                                       "terminal T-LOST: acknowledged up to "
                                       "seq "));
    assert_true(sfj_test_file_contains(f->host.log,
                                       "this store holds up to 0: entries "
                                       "acknowledged elsewhere are missing "
                                       "here"));
    /* Everything the terminal holds is in the mirror again. */
    finish(f, fw, 50);
    free(mirror);
}

/* ---- serial: a socat pty pair through the termios backend ---- */

static int have_socat(void)
{
    return system("command -v socat >/dev/null 2>&1") == 0;
}

static void test_serial_pty(void **state)
{
    fx *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw;
    char *a = sfj_test_path(f->dir, "ttyA"), *b = sfj_test_path(f->dir, "ttyB");
    char link_a[128], link_b[128];
    pid_t socat;
    int status, i;

    if (!have_socat()) {
        fprintf(stderr,
                "\n*** SKIPPED: socat is not installed, so the serial path "
                "over a pty pair was NOT tested (tools/test.sh installs "
                "it) ***\n\n");
        skip();
    }
    snprintf(link_a, sizeof link_a, "pty,raw,echo=0,link=%s", a);
    snprintf(link_b, sizeof link_b, "pty,raw,echo=0,link=%s", b);
    socat = fork();
    assert_true(socat >= 0);
    f->socat = socat;
    if (socat == 0) {
        int devnull = open("/dev/null", 1);
        dup2(devnull, 2);
        execlp("socat", "socat", "-d", "-d", link_a, link_b, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && (access(a, F_OK) != 0 || access(b, F_OK) != 0); i++)
        usleep(20000);
    assert_int_equal(access(b, F_OK), 0);

    open_terminal(f, "T-SERIAL");
    f->host.port = -1;
    snprintf(f->host.extra, sizeof f->host.extra,
             "--serial %s --serial-backend termios", b);
    sfj_test_host_start(&f->host);
    o.sink = SFJ_SINK_SERIAL;
    o.serial_backend = SFJ_SERIAL_TERMIOS;
    o.address = a;
    o.serial.baud = 115200;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.ack_timeout_ms = 3000;
    o.status = sfj_test_on_status;
    o.status_payload = &f->st;
    fw = start_fwd(f, &o);
    sfj_test_append(f->j, 10000);
    finish(f, fw, 10000);
    kill(socat, SIGTERM);
    waitpid(socat, &status, 0);
    f->socat = 0;
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_10k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dictionary_journal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dictionary_rotated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_lost_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_pty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_down_at_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_host_killed_restarted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cut_mid_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dup_reordered_acks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_full_no_early_ack, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_terminal_kill9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_terminals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appends_while_down, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rolled_back_journal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unprovisioned_terminal, setup,
                                        teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
