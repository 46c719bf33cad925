/* Network faults between the forwarder and a real sfj-host: a relay thread
 * in the test process sits on loopback between the two, finds frame
 * boundaries (docs/PROTOCOL.md section 2.1) in both directions and, at
 * random points, drops the connection at a frame boundary, stalls frames,
 * duplicates a frame, swaps two frames, flips a byte inside a frame, cuts
 * the link in the middle of a frame, or kills and restarts the host while
 * a batch is in flight. For each mode ~2,000 entries go through the relay
 * and the test asserts that the flush completes, the watermark reaches the
 * head and the mirror equals the terminal journal byte for byte, every seq
 * exactly once. Each mode also asserts that its fault really fired and had
 * the effect the protocol promises. Version 2 seals every frame after the
 * handshake with implicit counters, so a duplicated, swapped or corrupted
 * frame ends the link, and the terminal resumes on a new one; the relay
 * tells ENTRY and ACK frames apart by size only.
 *
 * With "--pg" (CTest: test_netfault_pg) the host keeps the copy in a real
 * PostgreSQL server the test starts, and the end check reads the table:
 * every seq exactly once, byte for byte, and the head row agrees. Its
 * modes move ENTRIES_PG entries each (ENTRIES with SFJ_SOAK=1). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "common/bytes.h"
#include "common/clock.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/proto_v2.h"
#include "support/hosttest.h"
#include "support/storetest.h"
#include "support/testutil.h"

#define ENTRIES    2000
#define ENTRIES_PG 1000

static sfj_test_store g_store; /* where the host keeps its copy */

static int entries(void)
{
    const char *soak = getenv("SFJ_SOAK");

    if (g_store.pg && (soak == NULL || strcmp(soak, "1") != 0))
        return ENTRIES_PG;
    return ENTRIES;
}

enum {
    F_DROP = 1, /* close both sides at a frame boundary */
    F_DELAY,    /* jitter every frame, stall some for up to 1.5 s */
    F_DUP,      /* send a frame twice */
    F_REORDER,  /* swap a frame with the next one */
    F_CORRUPT,  /* flip one byte of a frame's body or CRC */
    F_CUT,      /* forward part of a frame, then close */
    F_RESTART   /* kill (or stop) the host with a batch in flight */
};

/* Queued bytes for one direction, released in order at `due`. */
typedef struct chunk {
    struct chunk *next;
    int64_t due;
    size_t len, off;
    uint8_t data[];
} chunk;

typedef struct dir {
    int up;      /* 1: terminal -> host */
    uint8_t *in; /* frame assembly */
    size_t in_len;
    chunk *head, *tail;
    size_t queued;
    chunk *held; /* F_REORDER: waits for the next frame */
    int64_t held_until;
    int countdown; /* frames until the next fault */
} dir;

typedef struct relay {
    int mode;
    int lfd, port;
    int cfd, hfd; /* terminal side, host side; -1 when no link */
    int dying;    /* close once the queues drained */
    dir d[2];     /* 0: up, 1: down */
    sfj_test_host *host;
    int wake[2];
    pthread_t th;
    unsigned seed;
    /* counters (read by the test thread after the relay stopped) */
    int conns, faults, restarts, refused, hello_faults;
    int acks, entries;
    int faulted;         /* a fault hit the current (or last) link */
    int faulted_links;   /* links a fault hit */
    int resumed_faulted; /* of them, followed by a new link */
} relay;

static int64_t now_ms(void)
{
    return sfj__mono_ms();
}

static int rnd(relay *r, int n)
{
    return (int)(rand_r(&r->seed) % (unsigned)n);
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void dir_clear(dir *d)
{
    chunk *c = d->head, *n;

    while (c != NULL) {
        n = c->next;
        free(c);
        c = n;
    }
    free(d->held);
    d->head = d->tail = d->held = NULL;
    d->queued = 0;
    d->in_len = 0;
}

static chunk *mk_chunk(const uint8_t *p, size_t len)
{
    chunk *c = malloc(sizeof *c + len);

    assert_non_null(c);
    memcpy(c->data, p, len);
    c->len = len;
    c->off = 0;
    c->next = NULL;
    c->due = 0;
    return c;
}

/* Append in order: a chunk never overtakes the one before it. */
static void push(dir *d, chunk *c, int64_t due)
{
    if (d->tail != NULL && d->tail->due > due)
        due = d->tail->due;
    c->due = due;
    if (d->tail != NULL)
        d->tail->next = c;
    else
        d->head = c;
    d->tail = c;
    d->queued += c->len - c->off;
}

static void link_close(relay *r)
{
    if (r->cfd >= 0)
        close(r->cfd);
    if (r->hfd >= 0)
        close(r->hfd);
    r->cfd = r->hfd = -1;
    r->dying = 0;
    dir_clear(&r->d[0]);
    dir_clear(&r->d[1]);
}

static int connect_host(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_nonblock(fd);
    return fd;
}

static void restart_host(relay *r)
{
    /* Mostly SIGKILL (a batch half committed), sometimes a clean stop. */
    sfj_test_host_stop(r->host, r->restarts % 3 == 2 ? SIGTERM : SIGKILL);
    sfj_test_host_start(r->host); /* same port */
    r->restarts++;
}

static void next_countdown(relay *r, dir *d)
{
    /* ACK frames are far fewer than ENTRY frames. */
    d->countdown = d->up ? 40 + rnd(r, 200) : 3 + rnd(r, 20);
}

/* Sealed frames by size: an ENTRY is larger than any other message, an
 * ACK's body holds exactly a sealed ACK. */
static int is_entry(const dir *d, const uint8_t *p, size_t len)
{
    return d->up && p[0] == SFJ_MSG_SEALED &&
           len > SFJ_FRAME_OVERHEAD + SFJ_SEAL_OVERHEAD + 8 + 64;
}

static int is_ack(const dir *d, const uint8_t *p, size_t len)
{
    return !d->up && p[0] == SFJ_MSG_SEALED &&
           len == SFJ_FRAME_OVERHEAD + SFJ_SEAL_OVERHEAD + SFJ_ACK2_BODY;
}

/* One whole frame `p` of `len` bytes arrived in direction `d`. */
static void on_frame(relay *r, dir *d, const uint8_t *p, size_t len)
{
    int64_t t = now_ms(), due = t;
    int fault = 0;
    chunk *c;

    if (is_entry(d, p, len))
        r->entries++;
    if (is_ack(d, p, len))
        r->acks++;
    /* Faults hit ENTRY frames going up and, for duplicate, reorder,
     * corrupt and delay, ACK frames coming down as well. */
    if (is_entry(d, p, len) ||
        (is_ack(d, p, len) && (r->mode == F_DUP || r->mode == F_REORDER ||
                               r->mode == F_CORRUPT || r->mode == F_DELAY))) {
        if (--d->countdown <= 0) {
            fault = 1;
            next_countdown(r, d);
        }
    }
    /* Every 4th link of the drop and cut modes fails in the handshake:
     * the HELLO is cut, or the HELLO_ACK is lost with the link. */
    if (r->conns % 4 == 0 &&
        ((r->mode == F_CUT && d->up && p[0] == SFJ_MSG_HELLO) ||
         (r->mode == F_DROP && !d->up && p[0] == SFJ_MSG_HELLO_ACK))) {
        r->hello_faults++;
        if (r->mode == F_CUT) {
            c = mk_chunk(p, len);
            c->len = 1 + (size_t)rnd(r, (int)len - 1);
            push(d, c, t);
        }
        r->dying = 1;
        return;
    }
    c = mk_chunk(p, len);
    if (r->mode == F_DELAY)
        due = t + rnd(r, 3);
    if (!fault) {
        push(d, c, due);
        goto release_held;
    }
    r->faults++;
    if (!r->faulted) {
        r->faulted = 1;
        r->faulted_links++;
    }
    switch (r->mode) {
    case F_DROP:
        push(d, c, due);
        r->dying = 1;
        return;
    case F_DELAY:
        push(d, c, t + 100 + rnd(r, 1400));
        return;
    case F_DUP:
        push(d, c, due);
        push(d, mk_chunk(p, len), due);
        return;
    case F_REORDER:
        if (d->held != NULL) {
            push(d, c, due);
            break;
        }
        d->held = c;
        d->held_until = t + 20;
        return; /* the next frame goes first */
    case F_CORRUPT:
        /* Body or CRC, never the header: the receiver can skip it. */
        c->data[SFJ_FRAME_HDR_BYTES +
                rnd(r, (int)(len - SFJ_FRAME_HDR_BYTES))] ^=
            (uint8_t)(1 + rnd(r, 255));
        push(d, c, due);
        return;
    case F_CUT:
        c->len = 1 + (size_t)rnd(r, (int)len - 1);
        push(d, c, due);
        r->dying = 1;
        return;
    case F_RESTART:
        push(d, c, due);
        if (r->restarts < 4) {
            r->dying = 1;
            r->d[0].countdown = 1000000; /* nothing more on this link */
        }
        return;
    default:
        push(d, c, due);
    }
release_held:
    if (d->held != NULL) {
        push(d, d->held, due);
        d->held = NULL;
    }
}

/* Split the assembled bytes of `d` into frames. */
static void parse(relay *r, dir *d)
{
    size_t pos = 0, need;
    uint32_t blen;

    while (d->in_len - pos >= SFJ_FRAME_HDR_BYTES && !r->dying) {
        blen = sfj__get_u32(d->in + pos + 2);
        assert_true(blen <= SFJ_FRAME_MAX_BODY); /* honest peers only */
        need = SFJ_FRAME_OVERHEAD + blen;
        if (d->in_len - pos < need)
            break;
        on_frame(r, d, d->in + pos, need);
        pos += need;
    }
    memmove(d->in, d->in + pos, d->in_len - pos);
    d->in_len -= pos;
}

/* Read from `fd` into direction `d`; 0 on EOF or error. */
static int pump_in(relay *r, dir *d, int fd)
{
    ssize_t n =
        read(fd, d->in + d->in_len, SFJ_FRAME_MAX_BYTES * 2 - d->in_len);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        return 0;
    if (n > 0) {
        d->in_len += (size_t)n;
        parse(r, d);
    }
    return 1;
}

/* Write what is due from `d` to `fd`; 0 on error. */
static int pump_out(dir *d, int fd)
{
    int64_t t = now_ms();
    chunk *c;
    ssize_t n;

    while ((c = d->head) != NULL && c->due <= t) {
        n = send(fd, c->data + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        c->off += (size_t)n;
        d->queued -= (size_t)n;
        if (c->off < c->len)
            return 1;
        d->head = c->next;
        if (d->head == NULL)
            d->tail = NULL;
        free(c);
    }
    return 1;
}

static int due_in(const dir *d, int64_t t)
{
    int64_t w = 100;

    if (d->head != NULL && d->head->due - t < w)
        w = d->head->due - t;
    if (d->held != NULL && d->held_until - t < w)
        w = d->held_until - t;
    return w < 0 ? 0 : (int)w;
}

static void *relay_main(void *arg)
{
    relay *r = arg;
    struct pollfd p[4];
    int64_t t;
    int i, fd, timeout;

    for (;;) {
        t = now_ms();
        for (i = 0; i < 2; i++) {
            dir *d = &r->d[i];

            if (d->held != NULL && d->held_until <= t) {
                push(d, d->held, t); /* no second frame came: release */
                d->held = NULL;
            }
        }
        if (r->cfd >= 0 &&
            (!pump_out(&r->d[0], r->hfd) || !pump_out(&r->d[1], r->cfd)))
            link_close(r);
        if (r->dying && r->d[0].head == NULL) {
            if (r->mode == F_RESTART)
                restart_host(r); /* the host saw part of a batch */
            link_close(r);
        }
        timeout = 100;
        if (r->cfd >= 0) {
            timeout = due_in(&r->d[0], t);
            if (due_in(&r->d[1], t) < timeout)
                timeout = due_in(&r->d[1], t);
        }
        memset(p, 0, sizeof p);
        p[0].fd = r->wake[0];
        p[0].events = POLLIN;
        p[1].fd = r->lfd;
        p[1].events = POLLIN;
        p[2].fd = r->cfd;
        p[3].fd = r->hfd;
        if (r->cfd >= 0) {
            p[2].events =
                (short)((r->dying ? 0 : POLLIN) | (r->d[1].head ? POLLOUT : 0));
            p[3].events =
                (short)((r->dying ? 0 : POLLIN) | (r->d[0].head ? POLLOUT : 0));
        }
        if (poll(p, 4, timeout) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents & POLLIN) {
            fd = accept(r->lfd, NULL, NULL);
            if (fd >= 0) {
                /* A new link from the forwarder replaces the old one. */
                link_close(r);
                r->hfd = connect_host(r->host->port);
                if (r->hfd < 0) {
                    close(fd); /* host down: the forwarder backs off */
                    r->refused++;
                } else {
                    set_nonblock(fd);
                    r->cfd = fd;
                    r->conns++;
                    if (r->faulted)
                        r->resumed_faulted++;
                    r->faulted = 0;
                    next_countdown(r, &r->d[0]);
                    next_countdown(r, &r->d[1]);
                }
            }
        }
        if (r->cfd < 0)
            continue;
        if ((p[2].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !pump_in(r, &r->d[0], r->cfd)) {
            link_close(r);
            continue;
        }
        if ((p[3].revents & (POLLIN | POLLHUP | POLLERR)) &&
            !pump_in(r, &r->d[1], r->hfd))
            link_close(r);
    }
    link_close(r);
    return NULL;
}

static void relay_start(relay *r, int mode, sfj_test_host *host)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;

    memset(r, 0, sizeof *r);
    r->mode = mode;
    r->host = host;
    r->cfd = r->hfd = -1;
    r->seed = (unsigned)time(NULL) * 31u + (unsigned)mode;
    r->d[0].up = 1;
    r->d[0].in = malloc(SFJ_FRAME_MAX_BYTES * 2);
    r->d[1].in = malloc(SFJ_FRAME_MAX_BYTES * 2);
    assert_non_null(r->d[0].in);
    assert_non_null(r->d[1].in);
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->lfd, 8), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &al), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(pipe(r->wake), 0);
    assert_int_equal(pthread_create(&r->th, NULL, relay_main, r), 0);
}

static void relay_stop(relay *r)
{
    assert_int_equal(write(r->wake[1], "x", 1), 1);
    pthread_join(r->th, NULL);
    close(r->wake[0]);
    close(r->wake[1]);
    close(r->lfd);
    free(r->d[0].in);
    free(r->d[1].in);
}

/* ---- the test body, once per mode ---- */

typedef struct fx {
    char *dir, *jdir;
    sfj_keys *keys;
    sfj_journal *j;
    sfj_test_host host;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char *mirrors;

    f->dir = sfj_test_tmpdir();
    f->jdir = sfj_test_path(f->dir, "terminal");
    f->keys = sfj_test_keys(29);
    mirrors = sfj_test_path(f->dir, "mirrors");
    sfj_test_store_host(&g_store, &f->host, mirrors);
    free(mirrors);
    f->host.prov = sfj_test_path(f->dir, "terminals.conf");
    f->host.log = sfj_test_path(f->dir, "host.log");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    sfj_test_host_stop(&f->host, SIGKILL);
    sfj_journal_close(f->j);
    sfj_keys_free(f->keys);
    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->jdir);
    free(f->host.dir);
    free(f->host.prov);
    free(f->host.log);
    free(f);
    return 0;
}

typedef struct appender {
    sfj_journal *j;
    int n;
    int rc; /* asserted after the join: see sfj_test_append_rc */
} appender;

static void *append_main(void *arg)
{
    appender *a = arg;

    a->rc = sfj_test_append_rc(a->j, a->n);
    return NULL;
}

static void run_mode(fx *f, relay *r, int mode, const char *name)
{
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    char addr[64];
    uint64_t head = 0, wm = 0, n;
    int64_t t0 = now_ms();
    int total = entries();
    pthread_t th;
    appender a;

    jo.terminal_id = name;
    assert_int_equal(sfj_journal_open(f->jdir, f->keys, &jo, &f->j), 0);
    sfj_test_provision(f->host.prov, f->j, f->keys, name);
    sfj_test_host_start(&f->host);
    relay_start(r, mode, &f->host);
    /* Half the entries wait before the forwarder starts (full windows in
     * flight), half are appended while it runs. */
    sfj_test_append(f->j, total / 2);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", r->port);
    o.sink = SFJ_SINK_TCP;
    o.address = addr;
    o.backoff_min_ms = 10;
    o.backoff_max_ms = 100;
    o.connect_timeout_ms = 1000;
    o.ack_timeout_ms = 1000;
    o.ping_interval_ms = 500;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), 0);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    a.j = f->j;
    a.n = total - total / 2;
    assert_int_equal(pthread_create(&th, NULL, append_main, &a), 0);
    pthread_join(th, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_forwarder_free(fw);
    relay_stop(r);
    assert_int_equal(sfj__journal_head(f->j, &head, NULL), 0);
    assert_int_equal(sfj__journal_watermark(f->j, &wm), 0);
    assert_int_equal(wm, head);
    /* the entries and the flush's checkpoint */
    assert_true(head > (uint64_t)total);
    sfj_test_host_stop(&f->host, SIGTERM);
    n = sfj_test_store_equal(&g_store, &f->host, f->j, f->keys);
    assert_int_equal(n, head);
    print_message("%-8s %llu seqs equal in the %s copy; %d faults, %d links, "
                  "%d refused, %d handshake faults, %d host restarts, %d ENTRY "
                  "and %d ACK frames; %lld ms\n",
                  name, (unsigned long long)n, sfj_test_store_name(&g_store),
                  r->faults, r->conns, r->refused, r->hello_faults, r->restarts,
                  r->entries, r->acks, (long long)(now_ms() - t0));
    /* The fault really happened, more than once. */
    assert_true(r->faults >= 3);
}

/* A frame that does not open ends the link, but the host stores what
 * opened before it: the terminal resends only what was in flight after
 * the fault. (When the host dropped the received burst with the link, a
 * slow commit let nearly every burst be lost: 47 ENTRY frames per entry
 * on the LMDB store, 600 on PostgreSQL.) */
static void assert_progress_kept(const relay *r)
{
    if (r->entries >= 8 * entries())
        fail_msg("%d ENTRY frames for %d entries: the host lost what it "
                 "had received before each fault",
                 r->entries, entries());
}

/* Each fault ended its link and the forwarder came back on a new one.
 * Counted by events, not by a ratio of faults to links (two faults, one
 * each way, may hit one link): faults hit more than one link, and every
 * link a fault hit was followed by another, save the last, which may have
 * been the one the run ended on. Had a fault left the link up (version 1
 * answered duplicates on the same link), every fault would hit one
 * link. */
static void assert_links_resumed(const relay *r)
{
    if (r->faulted_links < 2 || r->resumed_faulted < r->faulted_links - 1)
        fail_msg("%d faults hit %d links, of which %d were followed by a "
                 "new link",
                 r->faults, r->faulted_links, r->resumed_faulted);
}

static void test_drop(void **state)
{
    relay r;

    run_mode(*state, &r, F_DROP, "T-DROP");
    assert_links_resumed(&r);
    assert_true(r.hello_faults >= 1);
}

static void test_delay(void **state)
{
    relay r;

    run_mode(*state, &r, F_DELAY, "T-DELAY");
}

static void test_duplicate(void **state)
{
    relay r;

    run_mode(*state, &r, F_DUP, "T-DUP");
    assert_progress_kept(&r);
    /* A duplicated sealed frame reuses a counter: the receiver ends the
     * link (version 1 re-acknowledged or ignored it on the same link). */
    assert_links_resumed(&r);
}

static void test_reorder(void **state)
{
    relay r;

    run_mode(*state, &r, F_REORDER, "T-REORDER");
    assert_progress_kept(&r);
    /* Out of order: the link ends (version 1: NAK OUT_OF_ORDER). */
    assert_links_resumed(&r);
}

static void test_corrupt(void **state)
{
    relay r;

    run_mode(*state, &r, F_CORRUPT, "T-CORRUPT");
    assert_progress_kept(&r);
    /* The CRC or the tag caught the flipped bytes: the link ended (version
     * 1: NAK BAD_FRAME) and the terminal resumed. */
    assert_links_resumed(&r);
}

static void test_cut_mid_frame(void **state)
{
    relay r;

    run_mode(*state, &r, F_CUT, "T-CUT");
    assert_links_resumed(&r);
    assert_true(r.hello_faults >= 1);
}

static void test_host_restart_mid_batch(void **state)
{
    relay r;

    run_mode(*state, &r, F_RESTART, "T-RESTART");
    assert_true(r.restarts >= 3);
    assert_true(r.conns > r.restarts);
}

static int group_teardown(void **state)
{
    (void)state;
    sfj_test_store_cleanup(&g_store);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_mid_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_restart_mid_batch, setup,
                                        teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    sfj_init();
    sfj_test_store_from_args(&g_store, argc, argv);
    if (g_store.pg && sfj_test_store_start(&g_store) != 0) {
        /* Not a failure: PostgreSQL or libpq is not installed here. */
        printf("test_netfault --pg: the postgresql store cannot run here; "
               "skipped\n");
        return 0;
    }
    return cmocka_run_group_tests(tests, NULL, group_teardown);
}
