/* sfj-bench fleet: the upstream at fleet scale.
 *
 * N simulated terminals, each with its own real journal (its own journal
 * id and terminal id, built with the library's batch append under the
 * run's key set), connect over loopback TCP to one or two sfj-host
 * gateways and speak the real wire protocol version 2: the Noise
 * handshake with the terminal's link key, then every entry as a sealed
 * ENTRY frame carrying the journal's own sealed record. A terminal
 * "appends" its next entry (takes its time), sends it at once, and keeps
 * at most --window entries unacknowledged, as a forwarder does; the time
 * from that append to the ACK that covers it is the latency. What the
 * simulation leaves out is the terminal's own fsync per append: a fleet's
 * terminals are separate devices, and 1,000 journals on this one disk
 * would measure the disk, not the gateway.
 *
 * Rows: per store (lmdb, and each --store postgresql://... given), one
 * gateway; for PostgreSQL also two gateways on the same database, and
 * the database's own limit (fleet_pg.c). Each PostgreSQL row runs in a
 * fresh database the bench creates and drops on the named server. With
 * --idle N: N terminals that complete the handshake and one sealed
 * PING, then stay idle; the gateway's VmRSS and VmHWM are read from
 * /proc. Output: one line per row, `key=value` pairs. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "fleet.h"
#include "link.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/proto_v2.h"

#define FLEET_WINDOW_MAX 64
#define FLEET_TERMS_MAX  20000
#define GRACE_SECS       10.0

/* One simulated terminal. */
typedef struct fterm {
    sfj_transport *t;
    sfj__wire w;
    sfj__lsess ls;
    int wired; /* w holds its buffers */
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    char tid[16];
    uint8_t *recs; /* the journal's sealed records, back to back */
    size_t *offs;  /* n + 1 offsets into recs */
    uint64_t n;
    uint64_t next, acked; /* next seq to send; newest seq acked */
    double sent_at[FLEET_WINDOW_MAX];
    int online, failed;
} fterm;

typedef struct fleet {
    unsigned nterm, window;
    double seconds;
    uint64_t per_term;
    const char *dir;
    fterm *term;
    char *prov;
    size_t mean_rec; /* mean sealed record size */
    double *lat;
    size_t nlat, caplat;
    unsigned noted; /* failures printed */
} fleet;

static fleet *g_fleet;

/* A terminal failed: say why, for the first few. */
static void term_fail(const char *tid, const char *why, const char *detail)
{
    if (g_fleet != NULL && g_fleet->noted++ >= 5)
        return;
    fprintf(stderr, "sfj-bench: terminal %s: %s%s%s\n", tid, why,
            detail ? ": " : "", detail ? detail : "");
}

static void fleet_usage(FILE *f)
{
    fprintf(f,
            "usage: sfj-bench fleet [--terminals N] [--seconds S] "
            "[--window W]\n"
            "                       [--store lmdb|URL]... [--entries N] "
            "[--idle N]\n"
            "                       [--dir DIR] [--keep]\n"
            "\n"
            "Simulated terminals (real journals, real sealed records, wire\n"
            "protocol version 2 over loopback TCP) appending and forwarding\n"
            "into sfj-host gateways, one row per store; for PostgreSQL also\n"
            "two gateways on one database and the database's own limit.\n"
            "\n"
            "  --terminals N  connections (default 1000, at most %d)\n"
            "  --seconds S    length of each run (default 10)\n"
            "  --window W     entries a terminal keeps unacknowledged "
            "(default 1)\n"
            "  --store X      lmdb (the mirrors, the default) or a PostgreSQL\n"
            "                 connection string; repeatable. Each PostgreSQL\n"
            "                 row runs in a fresh database created and "
            "dropped\n"
            "                 on that server\n"
            "  --entries N    entries built per terminal (default: enough for\n"
            "                 30,000 entries/s over the run)\n"
            "  --idle N       instead: N terminals authenticate, then stay\n"
            "                 idle; the gateway's memory is reported\n"
            "  --dir DIR      where the files go (default $TMPDIR or /tmp)\n"
            "  --keep         keep the files\n"
            "\n"
            "Output: one line per row, key=value. Exit status: 0 done, 1 a\n"
            "run failed or lost an entry, 64 bad usage, 73 DIR unusable.\n",
            FLEET_TERMS_MAX);
}

/* The soft limit of descriptors up to the hard one; says so when even
 * that is below `need`. */
static void raise_nofile(unsigned long need)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        fprintf(stderr,
                "sfj-bench: RLIMIT_NOFILE hard limit %llu is below the %lu "
                "descriptors this run needs\n",
                (unsigned long long)rl.rlim_max, need);
}

/* ---- building the terminals ---- */

/* Terminal k's journal: `per` entries in one batch commit, its sealed
 * records copied out; the journal itself is removed again. It is only
 * the source of real records, so it is made in memory (/dev/shm) when
 * there is one: 1,000 journal creations on a shared disk take minutes. */
static int build_term(fleet *fl, unsigned k, fterm *ft)
{
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    sfj_query q = SFJ_QUERY_INIT;
    sfj_journal *j = NULL;
    sfj_iter *it = NULL;
    sfj_event *ev = NULL;
    char(*txn)[32] = NULL, name[32], *dir;
    uint8_t *pay = NULL;
    const uint8_t *rec;
    size_t len, used = 0, cap;
    uint64_t i, seq;
    int rc;

    snprintf(ft->tid, sizeof ft->tid, "F%07u", k);
    snprintf(name, sizeof name, "sfj-fleet-%d-%u", (int)getpid(), k);
    dir =
        bench_path(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : fl->dir, name);
    jo.terminal_id = ft->tid;
    ev = calloc(fl->per_term, sizeof *ev);
    txn = calloc(fl->per_term, sizeof *txn);
    pay = malloc(fl->per_term * BENCH_PAYLOAD_BYTES);
    rc = ev && txn && pay ? sfj_journal_open(dir, bench_keys(), &jo, &j)
                          : SFJ_ENOMEM;
    for (i = 0; rc == SFJ_OK && i < fl->per_term; i++)
        bench_event(&ev[i], SFJ_EV_TXN_INTENT, k, i, txn[i],
                    pay + i * BENCH_PAYLOAD_BYTES);
    if (rc == SFJ_OK)
        rc = sfj__journal_append_batch(j, ev, fl->per_term);
    if (rc == SFJ_OK)
        rc = sfj_journal_id(j, ft->jid);
    if (rc == SFJ_OK)
        rc = sfj_iter_open(j, &q, &it);
    cap = fl->per_term * (BENCH_PAYLOAD_BYTES + 256);
    ft->recs = rc == SFJ_OK ? malloc(cap) : NULL;
    ft->offs =
        rc == SFJ_OK ? malloc((fl->per_term + 2) * sizeof *ft->offs) : NULL;
    if (rc == SFJ_OK && (ft->recs == NULL || ft->offs == NULL))
        rc = SFJ_ENOMEM;
    while (rc == SFJ_OK && ft->n < fl->per_term + 1 &&
           (rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        if (seq != ft->n + 1 || used + len > cap) {
            rc = SFJ_ECORRUPT;
            break;
        }
        ft->offs[ft->n++] = used;
        memcpy(ft->recs + used, rec, len);
        used += len;
    }
    if (rc == SFJ_ENOTFOUND)
        rc = SFJ_OK;
    if (rc == SFJ_OK)
        ft->offs[ft->n] = used;
    if (rc != SFJ_OK)
        bench_fail("building a terminal's journal", sfj_strerror(rc));
    sfj_iter_free(it);
    if (j != NULL && sfj_journal_close(j) != SFJ_OK && rc == SFJ_OK)
        rc = SFJ_EIO;
    bench_rmrf(dir);
    free(dir);
    free(ev);
    free(txn);
    free(pay);
    ft->next = 1;
    return rc;
}

/* A provisioning line per terminal; idle terminals get random journal
 * ids (they never send an entry). */
static void fleet_term_fn(void *ctx, size_t i, const uint8_t **jid,
                          const char **tid)
{
    fleet *fl = ctx;

    *jid = fl->term[i].jid;
    *tid = fl->term[i].tid;
}

static int write_provision(fleet *fl)
{
    return bench_provision_n(fl->prov, bench_keys(), fl->nterm, fleet_term_fn,
                             fl);
}

/* ---- one terminal's link ---- */

static void term_drop(fterm *ft)
{
    sfj__lsess_end(&ft->ls);
    if (ft->wired)
        sfj__wire_free(&ft->w);
    ft->wired = 0;
    sfj_transport_close(ft->t);
    ft->t = NULL;
    ft->online = 0;
}

/* The next frame from the gateway within `timeout_ms`: 1 with *fr, 0
 * when none came, -1 when the link failed. */
static int next_frame(fterm *ft, int timeout_ms, sfj__frame *fr)
{
    int rc;

    for (;;) {
        rc = sfj__wire_next(&ft->w, fr);
        if (rc == 1)
            return 1;
        if (rc < 0)
            return -1;
        rc = sfj__wire_fill(&ft->w, ft->t, timeout_ms);
        if (rc == SFJ_ETIMEDOUT)
            return 0;
        if (rc != SFJ_OK)
            return -1;
    }
}

/* Connect, HELLO (Noise message 1 with the resume point), read message
 * 2. `last` is what the terminal's journal holds. 0 or -1. */
static int term_connect(fterm *ft, int port, uint64_t last)
{
    uint8_t pl[SFJ_HELLO_ACK2_PAYLOAD_MAX + SFJ_HELLO2_PAYLOAD_MAX], *body;
    uint8_t link[SFJ_KEY_BYTES];
    char addr[32];
    sfj__hello_ack ha;
    sfj__hello2 h;
    sfj__frame fr;
    size_t pn, n = 0;
    int rc;

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    rc = sfj_transport_tcp_connect(addr, 5000, &ft->t);
    if (rc == SFJ_OK && (rc = sfj__wire_init(&ft->w, ft->t->framing)) == 0)
        ft->wired = 1;
    if (rc == SFJ_OK)
        rc = sfj_keys_link_key(bench_keys(), link);
    if (rc != SFJ_OK)
        goto done;
    memset(&h, 0, sizeof h);
    snprintf(h.terminal_id, sizeof h.terminal_id, "%s", ft->tid);
    h.first_unacked = ft->acked + 1;
    h.last_seq = last;
    pn = sfj__hello2_payload_encode(&h, pl);
    body = sfj__wire_body(&ft->w);
    rc = sfj__lsess_start(&ft->ls, 1, ft->jid, link);
    if (rc == SFJ_OK) {
        sfj__hello2_head_encode(ft->jid, body);
        rc = sfj__lsess_write(&ft->ls, pl, pn, body + SFJ_HELLO2_HDR,
                              SFJ_FRAME_MAX_BODY - SFJ_HELLO2_HDR, &n);
    }
    if (rc == SFJ_OK)
        rc = sfj__wire_send(&ft->w, ft->t, SFJ_MSG_HELLO, SFJ_HELLO2_HDR + n,
                            5000);
    if (rc == SFJ_OK)
        rc = next_frame(ft, 10000, &fr) == 1 && fr.type == SFJ_MSG_HELLO_ACK &&
                     fr.len > SFJ_HELLO_ACK2_HDR
                 ? SFJ_OK
                 : SFJ_ELINK;
    if (rc == SFJ_OK)
        rc = sfj__lsess_read(&ft->ls, fr.body + SFJ_HELLO_ACK2_HDR,
                             fr.len - SFJ_HELLO_ACK2_HDR, pl, sizeof pl, &pn);
    if (rc == SFJ_OK &&
        (sfj__hello_ack2_payload_decode(pl, pn, &ha) != SFJ_OK ||
         ha.status != SFJ_HELLO_OK))
        rc = SFJ_EREJECTED;
    if (rc == SFJ_OK && ha.next_seq != ft->acked + 1) {
        ft->acked = ha.next_seq - 1;
        ft->next = ha.next_seq;
    }
    /* The first sealed frame confirms the session (the gateway closes a
     * handshake left unconfirmed): a PING, whose PONG is read later. */
    if (rc == SFJ_OK) {
        memset(sfj__wire_body(&ft->w), 0, SFJ_PING_BODY);
        rc = sfj__wire_send_sealed(&ft->w, ft->t, sfj__lsess_tx(&ft->ls),
                                   SFJ_MSG_PING, SFJ_PING_BODY, 5000);
    }
done:
    sodium_memzero(link, sizeof link);
    sodium_memzero(pl, sizeof pl);
    if (rc != SFJ_OK) {
        term_fail(ft->tid, "handshake", sfj_strerror(rc));
        term_drop(ft);
        return -1;
    }
    ft->online = 1;
    return 0;
}

/* Send entries until the window is full or the run is over. */
static int term_send(fleet *fl, fterm *ft, int sending)
{
    uint8_t *body;
    size_t len;
    int rc;

    while (sending && ft->online && ft->next <= ft->n &&
           ft->next - ft->acked <= fl->window) {
        len = ft->offs[ft->next] - ft->offs[ft->next - 1];
        body = sfj__wire_body(&ft->w);
        sfj__entry_head_encode(ft->next, body);
        memcpy(body + SFJ_ENTRY_HEAD_BYTES, ft->recs + ft->offs[ft->next - 1],
               len);
        ft->sent_at[ft->next % FLEET_WINDOW_MAX] = bench_now();
        rc = sfj__wire_send_sealed(&ft->w, ft->t, sfj__lsess_tx(&ft->ls),
                                   SFJ_MSG_ENTRY, SFJ_ENTRY_HEAD_BYTES + len,
                                   5000);
        if (rc != SFJ_OK) {
            term_fail(ft->tid, "send", sfj_strerror(rc));
            ft->failed = 1;
            term_drop(ft);
            return -1;
        }
        ft->next++;
    }
    return 0;
}

/* What the gateway sent: ACKs advance the terminal; a NAK or anything
 * that does not open fails it. */
static int term_input(fleet *fl, fterm *ft, double deadline, uint64_t *in_time)
{
    uint8_t plain[SFJ_FRAME_MAX_BODY];
    sfj__frame fr;
    sfj__ack a;
    uint8_t type = 0;
    size_t n = 0;
    double now;
    int got;

    /* One read per readiness: the epoll loop is level-triggered, so
     * reading on until EAGAIN (next_frame) would only add a read and a
     * poll per ACK, system calls a terminal on its own device does not
     * make on the gateway's machine. */
    got = sfj__wire_fill(&ft->w, ft->t, 0);
    if (got != SFJ_OK && got != SFJ_ETIMEDOUT) {
        got = -1;
        goto failed;
    }
    while ((got = sfj__wire_next(&ft->w, &fr)) == 1) {
        if (fr.type != SFJ_MSG_SEALED ||
            sfj__wire_open_sealed(sfj__lsess_rx(&ft->ls), &fr, plain, &type,
                                  &n) != SFJ_OK)
            goto failed;
        if (type == SFJ_MSG_PONG)
            continue;
        if (type != SFJ_MSG_ACK || sfj__ack2_decode(plain, n, &a) != SFJ_OK ||
            a.seq >= ft->next)
            goto failed;
        now = bench_now();
        for (; ft->acked < a.seq; ft->acked++) {
            if (fl->nlat < fl->caplat)
                fl->lat[fl->nlat++] =
                    now - ft->sent_at[(ft->acked + 1) % FLEET_WINDOW_MAX];
            if (now <= deadline)
                (*in_time)++;
        }
    }
    if (got == 0)
        return 0;
failed:
    term_fail(ft->tid,
              got < 0 ? "link closed by the gateway"
                      : "unexpected frame (NAK, or not authentic)",
              NULL);
    ft->failed = 1;
    term_drop(ft);
    return -1;
}

/* ---- a row ---- */

static void stop_hosts(bench_host *h, int n)
{
    int i;

    for (i = 0; i < n; i++)
        bench_host_stop(&h[i]);
}

/* Start `n` gateways on `store` (NULL: lmdb under dir). */
static int start_hosts(fleet *fl, const char *store, const char *dir,
                       bench_host *h, int n)
{
    char name[32];
    int i;

    for (i = 0; i < n; i++) {
        memset(&h[i], 0, sizeof h[i]);
        h[i].pid = -1;
        h[i].dir = (char *)dir;
        h[i].store = store;
        h[i].prov = fl->prov;
        snprintf(name, sizeof name, "gateway-%d.log", i);
        h[i].log = bench_path(fl->dir, name);
        if (bench_host_start(&h[i], NULL, 0) != 0) {
            fprintf(stderr, "sfj-bench: sfj-host did not start (log %s)\n",
                    h[i].log);
            stop_hosts(h, i);
            return -1;
        }
    }
    return 0;
}

static void free_logs(bench_host *h, int n)
{
    int i;

    for (i = 0; i < n; i++)
        free(h[i].log);
}

/* Rows stored in the mirrors under `dir`, every terminal's read back. */
static uint64_t lmdb_stored(fleet *fl, const char *dir)
{
    uint8_t pub[SFJ_PUBKEY_BYTES];
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1], *path;
    sfj_journal *m;
    uint64_t total = 0, last;
    unsigned k;

    if (sfj_keys_public_key(bench_keys(), pub) != SFJ_OK)
        return 0;
    for (k = 0; k < fl->nterm; k++) {
        sodium_bin2hex(hex, sizeof hex, fl->term[k].jid, SFJ_JOURNAL_ID_BYTES);
        path = bench_path(dir, hex);
        last = 0;
        if (sfj__mirror_open(&m, path, fl->term[k].jid, fl->term[k].tid, pub,
                             (uint64_t)1 << 30) == SFJ_OK) {
            if (sfj__journal_head(m, &last, NULL) == SFJ_OK)
                total += last;
            (void)sfj_journal_close(m);
        }
        free(path);
    }
    return total;
}

/* One run: every terminal connects (to gateway k % ngw), appends and
 * forwards for fl->seconds, then waits for its last ACK. */
static int run_row(fleet *fl, const char *store, const char *url, int ngw,
                   pid_t pm, fleet_row *row)
{
    struct epoll_event ev, evs[256];
    bench_host h[2];
    char *mdir = NULL, name[32];
    double t0, deadline, g0 = 0, g1 = 0, d0 = -1, d1 = -1, b0, b1, now;
    uint64_t in_time = 0, out = 0;
    unsigned k;
    int ep = -1, i, n, rc = -1;

    memset(h, 0, sizeof h);
    memset(row, 0, sizeof *row);
    row->store = store;
    row->gateways = ngw;
    row->terminals = fl->nterm;
    row->gw_cpu_us = row->db_cpu_us = row->bench_cpu_us = -1;
    snprintf(name, sizeof name, "mirrors-%d", ngw);
    mdir = bench_path(fl->dir, name);
    fl->nlat = 0;
    for (k = 0; k < fl->nterm; k++) {
        fl->term[k].next = 1;
        fl->term[k].acked = 0;
        fl->term[k].failed = 0;
    }
    if (start_hosts(fl, url, mdir, h, ngw) != 0)
        goto done;
    ep = epoll_create1(EPOLL_CLOEXEC);
    for (k = 0; k < fl->nterm && ep >= 0; k++) {
        fterm *ft = &fl->term[k];

        if (term_connect(ft, h[k % ngw].port, ft->n) != 0) {
            ft->failed = 1;
            continue;
        }
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.ptr = ft;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, sfj_transport_fd(ft->t), &ev) != 0) {
            ft->failed = 1;
            term_drop(ft);
        }
    }
    for (i = 0; i < ngw; i++)
        g0 += fleet_cpu_secs(h[i].pid, 0);
    d0 = fleet_cpu_secs(pm, 1);
    b0 = fleet_cpu_secs(getpid(), 0);
    t0 = bench_now();
    deadline = t0 + fl->seconds;
    for (k = 0; k < fl->nterm; k++)
        term_send(fl, &fl->term[k], 1);
    for (;;) {
        now = bench_now();
        if (now > deadline + GRACE_SECS)
            break;
        for (k = 0, out = 0; k < fl->nterm; k++) {
            if (fl->term[k].online)
                out += fl->term[k].next - 1 - fl->term[k].acked;
        }
        if (now > deadline && out == 0)
            break;
        n = epoll_wait(ep, evs, 256, 100);
        for (i = 0; i < n; i++) {
            fterm *ft = evs[i].data.ptr;

            if (term_input(fl, ft, deadline, &in_time) == 0)
                term_send(fl, ft, bench_now() <= deadline);
        }
    }
    for (i = 0; i < ngw; i++)
        g1 += fleet_cpu_secs(h[i].pid, 0);
    d1 = fleet_cpu_secs(pm, 1);
    b1 = fleet_cpu_secs(getpid(), 0);
    for (k = 0; k < fl->nterm; k++) {
        fterm *ft = &fl->term[k];

        row->held += ft->online;
        row->failed += ft->failed;
        row->exhausted += ft->next > ft->n;
        row->sent += ft->next - 1;
        row->acked += ft->acked;
        term_drop(ft);
    }
    stop_hosts(h, ngw);
    row->secs = fl->seconds;
    row->eps = (double)in_time / fl->seconds;
    if (fl->nlat > 0) {
        bench_rate r;

        bench_percentiles(fl->lat, fl->nlat, &r);
        row->p50_ms = r.p50_ms;
        row->p99_ms = r.p99_ms;
    }
    if (row->acked > 0) {
        row->gw_cpu_us = (g1 - g0) * 1e6 / (double)row->acked;
        row->bench_cpu_us = (b1 - b0) * 1e6 / (double)row->acked;
        if (d0 >= 0 && d1 >= 0)
            row->db_cpu_us = (d1 - d0) * 1e6 / (double)row->acked;
    }
    if (url == NULL) {
        row->stored = lmdb_stored(fl, mdir);
    } else {
        int64_t c = fleet_pg_count(url);

        row->stored = c > 0 ? (uint64_t)c : 0;
    }
    rc = 0;
done:
    if (ep >= 0)
        close(ep);
    free_logs(h, ngw);
    if (mdir != NULL)
        bench_rmrf(mdir);
    free(mdir);
    return rc;
}

static void print_row(const fleet_row *r)
{
    printf("fleet store=%s gateways=%d terminals=%u held=%u failed=%u "
           "exhausted=%u seconds=%.1f sent=%llu acked=%llu stored=%llu "
           "eps=%.0f p50_ms=%.2f p99_ms=%.2f gw_cpu_us=%.1f db_cpu_us=%.1f "
           "bench_cpu_us=%.1f\n",
           r->store, r->gateways, r->terminals, r->held, r->failed,
           r->exhausted, r->secs, (unsigned long long)r->sent,
           (unsigned long long)r->acked, (unsigned long long)r->stored, r->eps,
           r->p50_ms, r->p99_ms, r->gw_cpu_us, r->db_cpu_us, r->bench_cpu_us);
    fflush(stdout);
}

/* Did every entry sent arrive, acknowledged and stored? */
static int row_ok(const fleet_row *r)
{
    return r->failed == 0 && r->held == r->terminals && r->acked == r->sent &&
           r->stored == r->sent && r->sent > 0;
}

/* ---- idle connections ---- */

/* Memory mappings of `pid` (vm.max_map_count bounds them). */
static long maps_of(pid_t pid)
{
    char path[64];
    long n = 0;
    FILE *f;
    int c;

    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while ((c = getc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* VmRSS and VmHWM of `pid` in KiB. */
static void vm_of(pid_t pid, long *rss, long *hwm)
{
    char path[64], line[256];
    FILE *f;

    *rss = *hwm = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            *rss = atol(line + 6);
        else if (strncmp(line, "VmHWM:", 6) == 0)
            *hwm = atol(line + 6);
    }
    fclose(f);
}

/* N terminals complete the handshake and its confirming PING (so the
 * gateway authenticates them and they own their journals), read the
 * PONG, then keep only their socket. */
static int run_idle(fleet *fl, const char *store, const char *url)
{
    bench_host h[1];
    sfj__frame fr;
    char *mdir = bench_path(fl->dir, "mirrors-idle");
    long rss0, hwm0, rss, hwm;
    unsigned k, held = 0;
    int rc = -1;

    memset(h, 0, sizeof h);
    if (start_hosts(fl, url, mdir, h, 1) != 0)
        goto done;
    vm_of(h[0].pid, &rss0, &hwm0);
    for (k = 0; k < fl->nterm; k++) {
        fterm *ft = &fl->term[k];

        ft->acked = 0;
        ft->next = 1;
        if (term_connect(ft, h[0].port, 0) != 0)
            continue;
        if (next_frame(ft, 10000, &fr) != 1) {
            term_fail(ft->tid, "no PONG", NULL);
            term_drop(ft);
            continue;
        }
        /* Idle from now on: the socket stays, the buffers go. */
        sfj__lsess_end(&ft->ls);
        sfj__wire_free(&ft->w);
        ft->wired = 0;
        held++;
    }
    usleep(500000);
    vm_of(h[0].pid, &rss, &hwm);
    /* Still held? A gateway that dropped links would read EOF here. */
    for (k = 0; k < fl->nterm; k++) {
        char c;
        ssize_t got;

        if (fl->term[k].t == NULL)
            continue;
        got = recv(sfj_transport_fd(fl->term[k].t), &c, 1, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            held--;
    }
    printf("idle store=%s connections=%u held=%u rss_kib=%ld hwm_kib=%ld "
           "rss_before_kib=%ld per_link_kib=%.1f maps=%ld\n",
           store, fl->nterm, held, rss, hwm, rss0,
           held > 0 ? (double)(rss - rss0) / held : -1.0, maps_of(h[0].pid));
    fflush(stdout);
    rc = held == fl->nterm ? 0 : -1;
    for (k = 0; k < fl->nterm; k++)
        term_drop(&fl->term[k]);
    stop_hosts(h, 1);
done:
    free_logs(h, 1);
    bench_rmrf(mdir);
    free(mdir);
    return rc;
}

/* ---- the command ---- */

/* One PostgreSQL store: one gateway, two gateways, the database's own
 * limit, each in a fresh database. */
static int run_pg(fleet *fl, const char *url, int idle)
{
    static const char *what[3] = {"sfj_bench_fleet1", "sfj_bench_fleet2",
                                  "sfj_bench_limit"};
    char name[64], *db = NULL;
    fleet_row row;
    pid_t pm = fleet_pg_postmaster(url);
    double eps = -1;
    int i, rc = 0;

    if (pm <= 0)
        fprintf(stderr, "sfj-bench: the database's postmaster is not "
                        "readable here: its CPU is not measured\n");
    for (i = 0; i < (idle ? 1 : 3) && rc == 0; i++) {
        snprintf(name, sizeof name, "%s_%d", what[i], (int)getpid());
        if (fleet_pg_create(url, name, &db) != 0) {
            rc = -1;
            break;
        }
        if (idle) {
            rc = run_idle(fl, "postgresql", db);
        } else if (i < 2) {
            rc = run_row(fl, "postgresql", db, i + 1, pm, &row);
            if (rc == 0) {
                print_row(&row);
                rc = row_ok(&row) ? 0 : -1;
            }
        } else {
            /* Both forms: the multi-row VALUES statement parsed per
             * batch, and the prepared array form sfj-host uses; the
             * better of the two is the database's limit. */
            int form;

            for (form = 0; form < 2 && rc == 0; form++) {
                double d0 = fleet_cpu_secs(pm, 1), d1;

                rc = fleet_pg_limit(db, form, fl->mean_rec, 256, fl->seconds,
                                    &eps);
                d1 = fleet_cpu_secs(pm, 1);
                if (rc == 0)
                    printf("dblimit store=postgresql form=%s batch=256 "
                           "row_bytes=%zu seconds=%.1f eps=%.0f "
                           "db_cpu_us=%.1f\n",
                           form ? "prepared" : "values", fl->mean_rec,
                           fl->seconds, eps,
                           d0 >= 0 && d1 >= 0 && eps > 0
                               ? (d1 - d0) * 1e6 / (eps * fl->seconds)
                               : -1.0);
            }
        }
        free(db);
        db = NULL;
        fleet_pg_drop(url, name);
    }
    return rc;
}

int bench_fleet_main(int argc, char **argv, const char *parent, int keep)
{
    static const struct option longs[] = {
        {"terminals", required_argument, NULL, 'n'},
        {"seconds", required_argument, NULL, 's'},
        {"window", required_argument, NULL, 'w'},
        {"store", required_argument, NULL, 'S'},
        {"entries", required_argument, NULL, 'e'},
        {"idle", required_argument, NULL, 'i'},
        {"dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *stores[FLEET_STORES_MAX];
    unsigned long v, idle = 0, nterm = 1000, window = 1, entries = 0;
    int c, nstores = 0, s, rc = 0;
    double seconds = 10;
    char *dir = NULL, *end;
    fleet fl;
    fleet_row row;
    unsigned k;

    memset(&fl, 0, sizeof fl);
    g_fleet = &fl;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'n':
        case 'i':
            if (bench_parse_uint(optarg, 1, FLEET_TERMS_MAX, &v) != 0) {
                fprintf(stderr,
                        "sfj-bench: fleet: --%s: not a count in [1, %d]: %s\n",
                        c == 'n' ? "terminals" : "idle", FLEET_TERMS_MAX,
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            if (c == 'n')
                nterm = v;
            else
                idle = v;
            break;
        case 'w':
            if (bench_parse_uint(optarg, 1, FLEET_WINDOW_MAX - 1, &window) !=
                0) {
                fprintf(stderr,
                        "sfj-bench: fleet: --window: not in [1, %d]: %s\n",
                        FLEET_WINDOW_MAX - 1, optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'e':
            if (bench_parse_uint(optarg, 1, 1000000, &entries) != 0) {
                fprintf(stderr,
                        "sfj-bench: fleet: --entries: not in [1, "
                        "1000000]: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 's':
            errno = 0;
            seconds = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || seconds <= 0 ||
                seconds > 3600) {
                fprintf(stderr,
                        "sfj-bench: fleet: --seconds: not in (0, 3600]: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'S':
            if (nstores == FLEET_STORES_MAX) {
                fprintf(stderr, "sfj-bench: fleet: at most %d --store\n",
                        FLEET_STORES_MAX);
                return BENCH_EXIT_USAGE;
            }
            stores[nstores++] = optarg;
            break;
        case 'd':
            parent = optarg;
            break;
        case 'k':
            keep = 1;
            break;
        case 'h':
            fleet_usage(stdout);
            return BENCH_EXIT_OK;
        default:
            return sfj__cli_bad_option("sfj-bench fleet", c, optopt,
                                       argv[optind - 1]);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sfj-bench: fleet: unexpected argument: %s\n",
                argv[optind]);
        return BENCH_EXIT_USAGE;
    }
    if (nstores == 0)
        stores[nstores++] = "lmdb";
    fl.nterm = (unsigned)(idle > 0 ? idle : nterm);
    fl.window = (unsigned)window;
    fl.seconds = seconds;
    fl.per_term =
        entries > 0 ? entries : (uint64_t)(seconds * 30000 / fl.nterm) + 8;
    raise_nofile(idle > 0 ? fl.nterm + 64 : fl.nterm + 64);
    if (sfj_init() != SFJ_OK)
        return BENCH_EXIT_FAIL;
    dir = bench_path(parent, "sfj-fleet.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "sfj-bench: cannot create a directory in %s: %s\n",
                parent, strerror(errno));
        free(dir);
        return BENCH_EXIT_DIR;
    }
    fl.dir = dir;
    fl.prov = bench_path(dir, "provision");
    fl.term = calloc(fl.nterm, sizeof *fl.term);
    if (fl.term == NULL || bench_keys_init(dir) != SFJ_OK) {
        rc = -1;
        goto done;
    }
    if (idle == 0) {
        size_t bytes = 0;

        bench_note(&(bench_opts){0},
                   "fleet: building %u journals of %llu entries", fl.nterm,
                   (unsigned long long)fl.per_term);
        for (k = 0; k < fl.nterm && rc == 0; k++) {
            rc = build_term(&fl, k, &fl.term[k]);
            bytes +=
                fl.term[k].offs != NULL ? fl.term[k].offs[fl.term[k].n] : 0;
        }
        fl.mean_rec = (size_t)(bytes / (fl.per_term * fl.nterm));
        fl.caplat = (size_t)fl.nterm * fl.per_term;
        fl.lat = malloc(fl.caplat * sizeof *fl.lat);
        if (fl.lat == NULL)
            rc = -1;
    } else {
        for (k = 0; k < fl.nterm; k++) {
            snprintf(fl.term[k].tid, sizeof fl.term[k].tid, "I%07u", k);
            randombytes_buf(fl.term[k].jid, SFJ_JOURNAL_ID_BYTES);
        }
    }
    if (rc == 0)
        rc = write_provision(&fl);
    for (s = 0; s < nstores && rc == 0; s++) {
        if (strcmp(stores[s], "lmdb") == 0 && idle > 0) {
            rc = run_idle(&fl, "lmdb", NULL);
        } else if (strcmp(stores[s], "lmdb") == 0) {
            rc = run_row(&fl, "lmdb", NULL, 1, 0, &row);
            if (rc == 0) {
                print_row(&row);
                rc = row_ok(&row) ? 0 : -1;
            }
        } else {
            rc = run_pg(&fl, stores[s], idle > 0);
        }
    }
done:
    for (k = 0; fl.term != NULL && k < fl.nterm; k++) {
        term_drop(&fl.term[k]);
        free(fl.term[k].recs);
        free(fl.term[k].offs);
    }
    free(fl.term);
    free(fl.lat);
    free(fl.prov);
    sfj_keys_free(bench_keys());
    if (!keep)
        bench_rmrf(dir);
    else
        fprintf(stderr, "sfj-bench: files kept in %s\n", dir);
    free(dir);
    if (fl.noted > 5)
        fprintf(stderr, "sfj-bench: %u terminal failures in all\n", fl.noted);
    g_fleet = NULL;
    return rc == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}
