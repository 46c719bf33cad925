/* sfj-host as its operators see it: the metrics endpoint scraped over
 * loopback and checked against what happened (entries stored, terminals
 * connected, refusals, a stuck scraper that must not hold sessions up),
 * and SIGHUP reloading the provisioning file (a terminal added connects,
 * a removed one is refused, a bad file is reported and changes
 * nothing). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sfj/sys/internal.h"
#include "support/hosttest.h"
#include "support/testutil.h"

typedef struct fx {
    char *dir;
    char *jdir[2];
    sfj_keys *keys[2];
    sfj_journal *j[2];
    sfj_forwarder *fw[2];
    sfj_test_host host;
    sfj_test_status st;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->jdir[0] = sfj_test_path(f->dir, "terminal-a");
    f->jdir[1] = sfj_test_path(f->dir, "terminal-b");
    f->keys[0] = sfj_test_keys(21);
    f->keys[1] = sfj_test_keys(22);
    sfj_test_host_init(&f->host, f->dir);
    sfj_test_status_init(&f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int i;

    sfj_test_host_done(&f->host);
    for (i = 0; i < 2; i++) {
        sfj_forwarder_free(f->fw[i]);
        sfj_journal_close(f->j[i]);
        sfj_keys_free(f->keys[i]);
        free(f->jdir[i]);
    }
    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(f->dir);
    free(f->dir);
    sfj_test_status_destroy(&f->st);
    free(f);
    return 0;
}

static void open_terminal(fx *f, int k, const char *tid)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    o.terminal_id = tid;
    assert_int_equal(sfj_journal_open(f->jdir[k], f->keys[k], &o, &f->j[k]), 0);
}

static void start_fwd(fx *f, int k)
{
    sfj_forwarder_opts o;
    char addr[64];

    o = sfj_test_tcp_opts(addr, sizeof addr, f->host.port, &f->st);
    assert_int_equal(sfj_forwarder_new(f->j[k], &o, &f->fw[k]), 0);
    assert_int_equal(sfj_forwarder_start(f->fw[k]), 0);
}

/* The journal id of `j` in hex, into `out` (33 bytes). */
static const char *hex_of(sfj_journal *j, char *out)
{
    uint8_t jid[16];
    int i;

    assert_int_equal(sfj_journal_id(j, jid), 0);
    for (i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", jid[i]);
    return out;
}

static uint64_t head(sfj_journal *j)
{
    uint64_t last = 0;

    assert_int_equal(sfj__journal_head(j, &last, NULL), 0);
    return last;
}

/* GET `path` from the metrics port; the whole response, malloc'd. */
static char *http_get(int port, const char *path)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    char req[128], *buf = malloc(1 << 16);
    size_t got = 0;
    ssize_t n;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_non_null(buf);
    assert_true(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (got < (1 << 16) - 1 &&
           (n = read(fd, buf + got, (1 << 16) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    return buf;
}

/* The value of the sample line that starts with `name` followed by a
 * space; fails when absent. */
static double sample(const char *page, const char *name)
{
    size_t len = strlen(name);
    const char *p = page;

    while ((p = strstr(p, name)) != NULL) {
        if ((p == page || p[-1] == '\n') && p[len] == ' ')
            return strtod(p + len + 1, NULL);
        p += len;
    }
    fail_msg("no sample %s in:\n%s", name, page);
    return -1;
}

static double scrape(fx *f, const char *name)
{
    char *page = http_get(f->host.metrics_port, "/metrics");
    double v;

    if (strncmp(page, "HTTP/1.0 200 OK\r\n", 17) != 0)
        fail_msg("scrape: %s", page);
    v = sample(page, name);
    free(page);
    return v;
}

/* Wait up to 10 s for a sample to reach `want`. */
static void wait_sample(fx *f, const char *name, double want)
{
    double v = -1;
    int i;

    for (i = 0; i < 100 && (v = scrape(f, name)) != want; i++)
        usleep(100000);
    if (v != want)
        fail_msg("%s is %g, expected %g", name, v, want);
}

static void test_metrics(void **state)
{
    fx *f = *state;
    char *page, name[200], hex[33];
    sfj_journal *stranger = NULL;
    sfj_keys *other = sfj_test_keys(99);
    char *spath = sfj_test_path(f->dir, "stranger"), addr[64];
    sfj_forwarder_opts o;
    sfj_forwarder *sfw = NULL;
    struct sockaddr_in sa;
    uint64_t total;
    int stuck;

    open_terminal(f, 0, "T-METRICS");
    sfj_test_provision(f->host.prov, f->j[0], f->keys[0], "T-METRICS");
    snprintf(f->host.extra, sizeof f->host.extra, "--metrics 127.0.0.1:0");
    sfj_test_host_start(&f->host);

    page = http_get(f->host.metrics_port, "/metrics");
    assert_non_null(strstr(page, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(page, "# TYPE sfj_host_commit_seconds histogram"));
    assert_true(sample(page, "sfj_host_entries_stored_total") == 0);
    assert_true(sample(page, "sfj_host_terminals_connected") == 0);
    assert_true(sample(page, "sfj_host_terminals_provisioned") == 1);
    free(page);
    page = http_get(f->host.metrics_port, "/nothing");
    assert_int_equal(strncmp(page, "HTTP/1.0 404", 12), 0);
    free(page);

    /* A scraper that connects and never sends its request must not hold
     * up the sessions: the loop serves them meanwhile. */
    stuck = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)f->host.metrics_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(stuck, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(write(stuck, "GET /metr", 9), 9);

    sfj_test_append(f->j[0], 37);
    start_fwd(f, 0);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 30000), 0);
    close(stuck);

    page = http_get(f->host.metrics_port, "/metrics");
    /* Every entry of the journal: the 37 and what the library wrote
     * itself (its opening checkpoint). */
    assert_true(head(f->j[0]) >= 37);
    assert_true(sample(page, "sfj_host_entries_stored_total") ==
                (double)head(f->j[0]));
    assert_true(sample(page, "sfj_host_terminals_connected") == 1);
    assert_true(sample(page, "sfj_host_sessions_total") >= 1);
    assert_true(sample(page, "sfj_host_commit_seconds_count") >= 1);
    assert_true(sample(page, "sfj_host_commit_seconds_bucket{le=\"+Inf\"}") ==
                sample(page, "sfj_host_commit_seconds_count"));
    assert_true(sample(page, "sfj_host_store_errors_total") == 0);
    assert_true(sample(page, "sfj_host_refusals_total{reason=\"bad_auth\"}") ==
                0);
    snprintf(name, sizeof name,
             "sfj_host_terminal_lag_entries{terminal=\"T-METRICS\","
             "journal=\"%s\"}",
             hex_of(f->j[0], hex));
    assert_true(sample(page, name) == 0);
    snprintf(name, sizeof name,
             "sfj_host_terminal_last_ack_age_seconds{terminal=\"T-METRICS\","
             "journal=\"%s\"}",
             hex);
    assert_true(sample(page, name) >= 0 && sample(page, name) < 60);
    free(page);

    /* 13 more, while connected: counted once each. */
    sfj_test_append(f->j[0], 13);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 30000), 0);
    assert_true(scrape(f, "sfj_host_entries_stored_total") ==
                (double)head(f->j[0]));
    total = head(f->j[0]);

    /* A journal the host does not know: one refusal per HELLO. */
    assert_int_equal(sfj_journal_open(spath, other, NULL, &stranger), 0);
    sfj_test_append(stranger, 2);
    o = sfj_test_tcp_opts(addr, sizeof addr, f->host.port, &f->st);
    assert_int_equal(sfj_forwarder_new(stranger, &o, &sfw), 0);
    assert_int_equal(sfj_forwarder_flush(sfw, 500), SFJ_ETIMEDOUT);
    sfj_forwarder_free(sfw);
    assert_true(
        scrape(f, "sfj_host_refusals_total{reason=\"not_provisioned\"}") >= 1);
    assert_true(scrape(f, "sfj_host_entries_stored_total") == (double)total);

    /* The terminal goes away: no longer connected. */
    sfj_forwarder_free(f->fw[0]);
    f->fw[0] = NULL;
    wait_sample(f, "sfj_host_terminals_connected", 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(sfj_test_mirror_equal(f->host.dir, f->j[0], f->keys[0]) ==
                total);
    sfj_journal_close(stranger);
    sfj_keys_free(other);
    free(spath);
}

/* A mirror at its size cap: the refused commits count as store errors,
 * what was stored is counted once, and the terminal's lag shows what is
 * waiting. */
static void test_metrics_store_full(void **state)
{
    fx *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    uint8_t payload[3000];
    char *page;
    uint64_t seq;
    double stored, lag;
    uint64_t mlast;
    char name[200], hex[33];
    int i;

    open_terminal(f, 0, "T-FULL");
    sfj_test_provision(f->host.prov, f->j[0], f->keys[0], "T-FULL");
    snprintf(f->host.extra, sizeof f->host.extra,
             "--metrics 127.0.0.1:0 --max-bytes 1048576 --window 8");
    sfj_test_host_start(&f->host);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    /* Incompressible: 600 entries are about twice the mirror's cap; a
     * small window keeps the batches small, so the mirror fills up to
     * its cap. */
    for (i = 0; i < 600; i++) {
        randombytes_buf(payload, sizeof payload);
        assert_int_equal(sfj_append(f->j[0], &ev, &seq), 0);
    }
    start_fwd(f, 0);
    for (i = 0; i < 200 && scrape(f, "sfj_host_store_errors_total") == 0; i++)
        usleep(100000);
    page = http_get(f->host.metrics_port, "/metrics");
    assert_true(sample(page, "sfj_host_store_errors_total") >= 1);
    stored = sample(page, "sfj_host_entries_stored_total");
    assert_true(stored > 0 && stored < (double)head(f->j[0]));
    snprintf(
        name, sizeof name,
        "sfj_host_terminal_lag_entries{terminal=\"T-FULL\",journal=\"%s\"}",
        hex_of(f->j[0], hex));
    lag = sample(page, name);
    free(page);
    sfj_forwarder_free(f->fw[0]);
    f->fw[0] = NULL;
    /* The link gone, nothing more arrives: the counter is final. */
    wait_sample(f, "sfj_host_terminals_connected", 0);
    stored = scrape(f, "sfj_host_entries_stored_total");
    sfj_test_host_stop(&f->host, SIGTERM);
    /* What the counter said is what the mirror holds, and the terminal
     * was shown to lag. */
    mlast = sfj_test_mirror_head(f->host.dir, f->j[0]);
    assert_true((double)mlast == stored);
    assert_true(lag > 0);
}

/* Count the lines of `path` that contain `needle`. */
static int count_lines(const char *path, const char *needle)
{
    char *s = sfj_test_slurp(path), *p = s;
    int n = 0;

    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    free(s);
    return n;
}

static void wait_log(fx *f, const char *needle, int count)
{
    int i;

    for (i = 0; i < 100 && count_lines(f->host.log, needle) < count; i++)
        usleep(50000);
    if (count_lines(f->host.log, needle) != count)
        fail_msg("log has %d lines with \"%s\", expected %d",
                 count_lines(f->host.log, needle), needle, count);
}

/* Rewrite the provisioning file as a whole (rename: never half-written). */
static void provision_only(fx *f, int k, const char *tid)
{
    char *tmp = sfj_test_path(f->dir, "terminals.new");

    unlink(tmp);
    sfj_test_provision(tmp, f->j[k], f->keys[k], tid);
    assert_int_equal(rename(tmp, f->host.prov), 0);
    free(tmp);
}

/* Provision terminal `k` alone as `tid`, send SIGHUP, and wait for the
 * `n`th log line saying `what`. */
static void reload_as(fx *f, int k, const char *tid, const char *what, int n)
{
    provision_only(f, k, tid);
    kill(f->host.pid, SIGHUP);
    wait_log(f, what, n);
}

static void test_sighup_reload(void **state)
{
    fx *f = *state;
    FILE *fp;
    int refused;

    open_terminal(f, 0, "T-A");
    open_terminal(f, 1, "T-B");
    provision_only(f, 0, "T-A");
    snprintf(f->host.extra, sizeof f->host.extra, "--metrics 127.0.0.1:0");
    sfj_test_host_start(&f->host);
    sfj_test_append(f->j[0], 5);
    sfj_test_append(f->j[1], 7);
    start_fwd(f, 0);
    start_fwd(f, 1);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 30000), 0);
    /* B is not provisioned yet. */
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 500), SFJ_ETIMEDOUT);

    /* B added: it connects after SIGHUP, A keeps its session. */
    sfj_test_provision(f->host.prov, f->j[1], f->keys[1], "T-B");
    kill(f->host.pid, SIGHUP);
    wait_log(f, "reloaded: 1 added, 0 changed, 0 removed, 1 unchanged", 1);
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 30000), 0);
    sfj_test_append(f->j[0], 3);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 30000), 0);
    assert_true(scrape(f, "sfj_host_entries_stored_total") ==
                (double)(head(f->j[0]) + head(f->j[1])));
    assert_true(scrape(f, "sfj_host_terminals_connected") == 2);

    /* A bad file: one line says why, and both terminals are still
     * served. */
    fp = fopen(f->host.prov, "a");
    assert_non_null(fp);
    fputs("sfj-terminal-v1 not-hex T-C 00 00\n", fp);
    fclose(fp);
    kill(f->host.pid, SIGHUP);
    wait_log(f, "provisioning not reloaded", 1);
    assert_int_equal(count_lines(f->host.log, "not a valid"), 1);
    sfj_test_append(f->j[0], 2);
    sfj_test_append(f->j[1], 2);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 30000), 0);
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 30000), 0);
    assert_true(scrape(f, "sfj_host_reloads_total{result=\"failed\"}") == 1);
    assert_true(scrape(f, "sfj_host_reloads_total{result=\"ok\"}") == 1);

    /* A removed: its session ends and its next HELLO is refused; B goes
     * on. */
    refused = count_lines(f->host.log, "refused journal");
    reload_as(f, 1, "T-B",
              "reloaded: 0 added, 0 changed, 1 removed, 1 unchanged", 1);
    assert_int_equal(count_lines(f->host.log, "no longer provisioned"), 1);
    sfj_test_append(f->j[0], 4);
    assert_int_equal(sfj_forwarder_flush(f->fw[0], 1500), SFJ_ETIMEDOUT);
    assert_true(count_lines(f->host.log, "refused journal") > refused);
    sfj_test_append(f->j[1], 1);
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 30000), 0);
    assert_true(scrape(f, "sfj_host_terminals_provisioned") == 1);

    /* B's line changed (another terminal id): its session ends and its
     * HELLO no longer matches; changed back, it is served again, its
     * mirror reopened under the new entry. */
    reload_as(f, 1, "T-B2",
              "reloaded: 0 added, 1 changed, 0 removed, 0 unchanged", 1);
    assert_int_equal(count_lines(f->host.log, "provisioning changed"), 1);
    sfj_test_append(f->j[1], 1);
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 1500), SFJ_ETIMEDOUT);
    reload_as(f, 1, "T-B",
              "reloaded: 0 added, 1 changed, 0 removed, 0 unchanged", 2);
    assert_int_equal(sfj_forwarder_flush(f->fw[1], 30000), 0);

    sfj_forwarder_free(f->fw[0]);
    sfj_forwarder_free(f->fw[1]);
    f->fw[0] = f->fw[1] = NULL;
    sfj_test_host_stop(&f->host, SIGTERM);
    /* A's mirror holds what was acknowledged before its removal. */
    assert_true(sfj_test_mirror_equal(f->host.dir, f->j[1], f->keys[1]) ==
                head(f->j[1]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_store_full, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sighup_reload, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
