/* sfj-host's metrics endpoint: Prometheus text format (version 0.0.4)
 * over HTTP/1.0 on its own listen address (--metrics ADDR:PORT, off by
 * default), served from the host's one epoll loop.
 *
 * States of a scrape connection: free (fd < 0) -> (accepted) READING the
 * request -> (blank line seen) WRITING the rendered page -> (all written,
 * a fault, or METRICS_TIMEOUT_MS) free. Invariants: at most METRICS_CONNS
 * connections; nothing here blocks: sockets are non-blocking and a page
 * that does not fit the socket buffer waits for EPOLLOUT, so a slow or
 * stuck scraper costs one slot and never delays a terminal's session.
 * host_metrics_event makes every transition but the timeout, made by
 * host_metrics_tick.
 *
 * The figures are plain counters of this process (a single thread), fed
 * by small hooks in session.c and by host_store_put, the timed store put. */
#define _GNU_SOURCE /* open_memstream is POSIX 2008; accept4 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli_text.h"
#include "host.h"
#include "sfj/errors.h"

#define METRICS_CONNS      16
#define METRICS_REQ_MAX    2048
#define METRICS_TIMEOUT_MS 5000

enum { CONN_FREE, CONN_READING, CONN_WRITING };

typedef struct metrics_conn {
    int fd;
    int state;
    long long opened_ms;
    size_t req_len;
    char req[METRICS_REQ_MAX];
    char *out; /* the response (malloc'd by open_memstream) */
    size_t out_len, out_off;
} metrics_conn;

/* Upper bounds of the commit latency buckets, in seconds. */
static const double g_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
#define NBOUNDS (sizeof g_bounds / sizeof g_bounds[0])

/* Refusal reasons: HELLO statuses 1..6 and a refused record. */
static const char *const g_reasons[] = {
    NULL,   "not_provisioned", "bad_auth", "version",
    "busy", "rolled_back",     "invalid",  "record"};
#define NREASONS (sizeof g_reasons / sizeof g_reasons[0])

static struct {
    host_config *cfg;
    int ep;
    int lfd;
    int listen_tag;
    size_t links;
    uint64_t sessions;
    uint64_t entries;
    uint64_t store_errors;
    uint64_t refusals[NREASONS];
    uint64_t reloads_ok, reloads_failed;
    uint64_t buckets[NBOUNDS + 1]; /* the last one is +Inf */
    uint64_t commits;
    double commit_sum;
    metrics_conn conns[METRICS_CONNS];
} g_m = {.lfd = -1};

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int assert_conn_state(const metrics_conn *c)
{
    assert(c->state == CONN_FREE || c->fd >= 0);
    assert(c->state != CONN_FREE || (c->fd < 0 && c->out == NULL));
    assert(c->req_len < METRICS_REQ_MAX);
    assert(c->state != CONN_WRITING || c->out_off <= c->out_len);
    return 1;
}

void host_metrics_start(host_config *cfg, int lfd, int ep)
{
    struct epoll_event ev;
    size_t i;

    g_m.cfg = cfg;
    g_m.ep = ep;
    g_m.lfd = lfd;
    for (i = 0; i < METRICS_CONNS; i++)
        g_m.conns[i].fd = -1;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = &g_m.listen_tag;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
        host_log("metrics: cannot watch the listener: %s", strerror(errno));
}

static void conn_free(metrics_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(g_m.ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    free(c->out);
    c->out = NULL;
    c->fd = -1;
    c->state = CONN_FREE;
    c->req_len = 0;
    c->out_len = c->out_off = 0;
    assert(assert_conn_state(c));
}

void host_metrics_stop(void)
{
    size_t i;

    for (i = 0; i < METRICS_CONNS && g_m.lfd >= 0; i++)
        conn_free(&g_m.conns[i]);
    g_m.lfd = -1;
}

/* ---- The hooks ---- */

void host_metrics_links(size_t n)
{
    g_m.links = n;
}

/* The store's head of `t` is `head`: entries beyond the head seen before
 * are new (counted only once a session has shown where it stood). */
static void store_head(host_terminal *t, uint64_t head, int count)
{
    if (head <= t->m.stored)
        return;
    if (count && t->m.seen)
        g_m.entries += head - t->m.stored;
    t->m.stored = head;
    host_metrics_announced(t, head);
}

void host_metrics_session(host_terminal *t, uint64_t announced, uint64_t head)
{
    g_m.sessions++;
    store_head(t, head, 0);
    t->m.seen = 1;
    host_metrics_announced(t, announced);
}

void host_metrics_refusal(unsigned reason)
{
    if (reason > 0 && reason < NREASONS)
        g_m.refusals[reason]++;
}

void host_metrics_reload(int ok)
{
    if (ok)
        g_m.reloads_ok++;
    else
        g_m.reloads_failed++;
}

void host_metrics_announced(host_terminal *t, uint64_t last_seq)
{
    if (last_seq > t->m.announced)
        t->m.announced = last_seq;
}

void host_metrics_acked(host_terminal *t)
{
    t->m.ack_ms = wall_ms();
}

void host_store_put(host_store *st, host_put *items, size_t n)
{
    struct timespec a, b;
    double s;
    size_t i, k;

    clock_gettime(CLOCK_MONOTONIC, &a);
    st->ops->put(st, items, n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    for (k = 0; k < NBOUNDS && s > g_bounds[k]; k++)
        ;
    g_m.buckets[k]++;
    g_m.commits++;
    g_m.commit_sum += s;
    /* New entries are what the head grew by (a batch the store could not
     * commit whole may report records it did not keep). A refusal of a
     * record is the terminal's; anything else means the store could not
     * do its part. */
    for (i = 0; i < n; i++) {
        int rc = items[i].rc;

        if (rc != SFJ_ELINK && rc != SFJ_ECLOSED)
            store_head(items[i].t, items[i].last, 1);
        if (rc != SFJ_OK && rc != SFJ_EPROTO && rc != SFJ_ESTATE &&
            rc != SFJ_EAUTH && rc != SFJ_ECORRUPT && rc != SFJ_ECLOSED)
            g_m.store_errors++;
    }
}

/* ---- The page ---- */

static void label(FILE *f, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            fputc('\\', f);
        fputc(*v, f);
    }
}

static void term_lines(FILE *f, const host_terminal *t, long long now,
                       int which)
{
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1];

    if (t->retired || (t->m.announced == 0 && t->m.stored == 0 &&
                       t->owner == NULL && t->m.ack_ms == 0))
        return; /* never heard from since start */
    if (which == 1 && t->m.ack_ms == 0)
        return;
    sfj__cli_hex(t->journal_id, SFJ_JOURNAL_ID_BYTES, hex);
    fputs(which == 0 ? "sfj_host_terminal_lag_entries{terminal=\""
                     : "sfj_host_terminal_last_ack_age_seconds{terminal=\"",
          f);
    label(f, t->terminal_id);
    fprintf(f, "\",journal=\"%s\"} ", hex);
    if (which == 0)
        fprintf(f, "%llu\n",
                (unsigned long long)(t->m.announced > t->m.stored
                                         ? t->m.announced - t->m.stored
                                         : 0));
    else
        fprintf(f, "%.3f\n", (double)(now - t->m.ack_ms) / 1000.0);
}

static void each_term(FILE *f, long long now, int which, size_t *connected,
                      size_t *provisioned)
{
    const host_config *cfg = g_m.cfg;
    const host_terminal *t;
    size_t i;

    for (i = 0; i < cfg->nterms; i++) {
        t = &cfg->terms[i];
        if (f != NULL)
            term_lines(f, t, now, which);
        else if (!t->retired) {
            *provisioned += 1;
            *connected += t->owner != NULL;
        }
    }
    for (t = cfg->dyn; t != NULL; t = t->next) {
        if (f != NULL)
            term_lines(f, t, now, which);
        else if (!t->retired) {
            *provisioned += 1;
            *connected += t->owner != NULL;
        }
    }
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one sample without labels. */
static void scalar(FILE *f, const char *name, const char *type,
                   const char *help, uint64_t v)
{
    head(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void render(FILE *f)
{
    long long now = wall_ms();
    size_t connected = 0, provisioned = 0, k;
    uint64_t cum = 0;

    each_term(NULL, now, 0, &connected, &provisioned);
    scalar(f, "sfj_host_terminals_connected", "gauge",
           "Terminals with an authenticated session.", connected);
    scalar(f, "sfj_host_terminals_provisioned", "gauge",
           "Terminals this gateway serves (file, and table rows seen).",
           provisioned);
    scalar(f, "sfj_host_links_open", "gauge",
           "Stream links open, authenticated or not.", g_m.links);
    scalar(f, "sfj_host_sessions_total", "counter",
           "Authenticated sessions started.", g_m.sessions);
    scalar(f, "sfj_host_entries_stored_total", "counter",
           "Entries stored durably (duplicates not counted).", g_m.entries);
    head(f, "sfj_host_commit_seconds", "histogram",
         "Durable store commits (group puts), in seconds.");
    for (k = 0; k < NBOUNDS; k++) {
        cum += g_m.buckets[k];
        fprintf(f, "sfj_host_commit_seconds_bucket{le=\"%g\"} %llu\n",
                g_bounds[k], (unsigned long long)cum);
    }
    fprintf(f, "sfj_host_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
            (unsigned long long)g_m.commits);
    fprintf(f, "sfj_host_commit_seconds_sum %.6f\n", g_m.commit_sum);
    fprintf(f, "sfj_host_commit_seconds_count %llu\n",
            (unsigned long long)g_m.commits);
    head(f, "sfj_host_refusals_total", "counter",
         "Refused HELLOs by status, and refused records.");
    for (k = 1; k < NREASONS; k++)
        fprintf(f, "sfj_host_refusals_total{reason=\"%s\"} %llu\n",
                g_reasons[k], (unsigned long long)g_m.refusals[k]);
    scalar(f, "sfj_host_store_errors_total", "counter",
           "Store puts that failed for the store's own reasons.",
           g_m.store_errors);
    head(f, "sfj_host_reloads_total", "counter",
         "Provisioning reloads (SIGHUP) by result.");
    fprintf(f, "sfj_host_reloads_total{result=\"ok\"} %llu\n",
            (unsigned long long)g_m.reloads_ok);
    fprintf(f, "sfj_host_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)g_m.reloads_failed);
    head(f, "sfj_host_terminal_lag_entries", "gauge",
         "Entries a terminal announced (or sent) beyond what is stored.");
    each_term(f, now, 0, NULL, NULL);
    head(f, "sfj_host_terminal_last_ack_age_seconds", "gauge",
         "Seconds since the terminal's last ACK.");
    each_term(f, now, 1, NULL, NULL);
}

/* The response to the request in c->req, into c->out. */
static int respond(metrics_conn *c)
{
    char *body = NULL;
    size_t blen = 0;
    const char *status = "200 OK";
    FILE *f;
    int get = strncmp(c->req, "GET ", 4) == 0;
    const char *path = c->req + 4;

    if (!get)
        status = "405 Method Not Allowed";
    else if (strncmp(path, "/metrics ", 9) != 0 && strncmp(path, "/ ", 2) != 0)
        status = "404 Not Found";
    f = open_memstream(&body, &blen);
    if (f == NULL)
        return -1;
    if (strcmp(status, "200 OK") == 0)
        render(f);
    else
        fprintf(f, "%s\n", status);
    if (fclose(f) != 0) {
        free(body);
        return -1;
    }
    f = open_memstream(&c->out, &c->out_len);
    if (f == NULL) {
        free(body);
        return -1;
    }
    fprintf(f,
            "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4; "
            "charset=utf-8\r\nContent-Length: %zu\r\nConnection: "
            "close\r\n\r\n",
            status, blen);
    fwrite(body, 1, blen, f);
    free(body);
    if (fclose(f) != 0)
        return -1;
    c->out_off = 0;
    c->state = CONN_WRITING;
    return 0;
}

static void accept_all(void)
{
    struct epoll_event ev;
    metrics_conn *c;
    size_t i;
    int fd;

    while ((fd = accept4(g_m.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
           0) {
        for (i = 0; i < METRICS_CONNS && g_m.conns[i].fd >= 0; i++)
            ;
        if (i == METRICS_CONNS) {
            close(fd); /* busy: the scraper retries on its next interval */
            continue;
        }
        c = &g_m.conns[i];
        c->fd = fd;
        c->state = CONN_READING;
        c->opened_ms = mono_ms();
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(g_m.ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            conn_free(c);
        assert(assert_conn_state(c));
    }
}

static void conn_read(metrics_conn *c)
{
    struct epoll_event ev;
    ssize_t n;

    for (;;) {
        n = read(c->fd, c->req + c->req_len, METRICS_REQ_MAX - 1 - c->req_len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || (c->req_len += (size_t)n) == METRICS_REQ_MAX - 1) {
            conn_free(c); /* closed, failed, or a request too long */
            return;
        }
        c->req[c->req_len] = '\0';
        if (strstr(c->req, "\r\n\r\n") != NULL ||
            strstr(c->req, "\n\n") != NULL)
            break;
    }
    if (respond(c) != 0) {
        conn_free(c);
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLOUT;
    ev.data.ptr = c;
    if (epoll_ctl(g_m.ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        conn_free(c);
}

static void conn_write(metrics_conn *c)
{
    ssize_t n;

    while (c->out_off < c->out_len) {
        n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                 MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* EPOLLOUT brings us back */
        if (n <= 0)
            break;
        c->out_off += (size_t)n;
    }
    conn_free(c);
}

int host_metrics_event(void *tag, uint32_t events)
{
    metrics_conn *c = tag;

    if (g_m.lfd < 0)
        return 0;
    if (tag == &g_m.listen_tag) {
        accept_all();
        return 1;
    }
    if (c < &g_m.conns[0] || c >= &g_m.conns[METRICS_CONNS])
        return 0;
    assert(assert_conn_state(c));
    if (c->state == CONN_READING)
        conn_read(c);
    else if (c->state == CONN_WRITING)
        conn_write(c);
    else if ((events & (EPOLLHUP | EPOLLERR)) != 0)
        conn_free(c);
    return 1;
}

void host_metrics_tick(long long now)
{
    size_t i;

    (void)now;
    for (i = 0; i < METRICS_CONNS && g_m.lfd >= 0; i++) {
        if (g_m.conns[i].fd >= 0 &&
            mono_ms() - g_m.conns[i].opened_ms > METRICS_TIMEOUT_MS)
            conn_free(&g_m.conns[i]);
    }
}
