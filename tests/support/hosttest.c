/* Helpers for tests that run sfj-host; see hosttest.h. */
#define _GNU_SOURCE
#include "support/hosttest.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sfj/sys/internal.h"
#include "support/testutil.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

void sfj_test_provision(const char *path, sfj_journal *j, const sfj_keys *keys,
                        const char *tid)
{
    uint8_t jid[16], link[32], pub[32];
    char hj[33], hl[65], hp[65];
    FILE *f;
    int fd;

    assert_int_equal(sfj_journal_id(j, jid), 0);
    assert_int_equal(sfj_keys_link_key(keys, link), 0);
    assert_int_equal(sfj_keys_public_key(keys, pub), 0);
    hex(jid, 16, hj);
    hex(link, 32, hl);
    hex(pub, 32, hp);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    f = fdopen(fd, "a");
    assert_non_null(f);
    fprintf(f, "# terminal %s\nsfj-terminal-v1 %s %s %s %s\n", tid, hj, tid, hl,
            hp);
    fclose(f);
    sodium_memzero(link, sizeof link);
    sodium_memzero(hl, sizeof hl);
}

void sfj_test_host_start(sfj_test_host *h)
{
    char listen[64], line[256], *argv[24], extra[256], *save = NULL, *tok;
    int pfd[2], argc = 0, logfd;
    FILE *out;
    pid_t pid;

    snprintf(listen, sizeof listen, "127.0.0.1:%d", h->port > 0 ? h->port : 0);
    argv[argc++] = (char *)sfj_test_tool("sfj-host");
    if (h->dir != NULL) { /* NULL: the store is in h->extra */
        argv[argc++] = "--dir";
        argv[argc++] = h->dir;
    }
    if (h->prov != NULL) { /* NULL: terminals from a provisioning table */
        argv[argc++] = "--provision";
        argv[argc++] = h->prov;
    }
    argv[argc++] = "--verbose";
    if (h->port >= 0) {
        argv[argc++] = "--listen";
        argv[argc++] = listen;
    }
    snprintf(extra, sizeof extra, "%s", h->extra);
    for (tok = strtok_r(extra, " ", &save); tok != NULL && argc < 22;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    /* Without the tool every later step would wait out its own timeout
     * (a serial host is never heard from), so say so and stop here. */
    if (access(argv[0], X_OK) != 0) {
        fprintf(stderr, "%s is not built (SFJ_BUILD_TOOLS=OFF?)\n", argv[0]);
        fail();
    }
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (logfd >= 0)
            dup2(logfd, 2);
        close(pfd[0]);
        if (h->core_dir != NULL) {
            struct rlimit rl;

            if (chdir(h->core_dir) != 0 || getrlimit(RLIMIT_CORE, &rl) != 0)
                _exit(126);
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_CORE, &rl);
        }
        sfj_test_execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    h->pid = pid;
    out = fdopen(pfd[0], "r");
    assert_non_null(out);
    if (h->port >= 0) {
        if (fgets(line, sizeof line, out) == NULL) {
            fprintf(stderr, "sfj-host did not start; log %s\n", h->log);
            fail();
        }
        assert_true(strncmp(line, "listening ", 10) == 0);
        h->port = atoi(strrchr(line, ':') + 1);
        assert_true(h->port > 0);
        /* The metrics address is printed after the listen addresses. */
        if (strstr(h->extra, "--metrics") != NULL) {
            assert_non_null(fgets(line, sizeof line, out));
            assert_true(strncmp(line, "metrics ", 8) == 0);
            h->metrics_port = atoi(strrchr(line, ':') + 1);
            assert_true(h->metrics_port > 0);
        }
    } else {
        usleep(200000); /* serial only: give it time to open the line */
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fclose(out);
            h->pid = 0;
            fprintf(stderr, "sfj-host exited at start; log %s\n", h->log);
            fail();
        }
    }
    fclose(out);
}

void sfj_test_host_init(sfj_test_host *h, const char *dir)
{
    memset(h, 0, sizeof *h);
    h->dir = sfj_test_path(dir, "mirrors");
    h->prov = sfj_test_path(dir, "terminals.conf");
    h->log = sfj_test_path(dir, "host.log");
}

void sfj_test_host_done(sfj_test_host *h)
{
    sfj_test_host_stop(h, SIGKILL);
    free(h->dir);
    free(h->prov);
    free(h->log);
    h->dir = h->prov = h->log = NULL;
}

/* A bounded wait. In the tsan stage a host was seen serving on after
 * SIGTERM, its handler installed, nothing pending or blocked, its stop
 * flag unset: the sanitizer, which defers signals to its own safe
 * points, never ran the handler. So the signal is sent again every
 * second; a host still running after STOP_WAIT_MS is killed and the test
 * fails, naming its log. */
#define STOP_WAIT_MS 60000

void sfj_test_host_stop(sfj_test_host *h, int sig)
{
    int status = 0, waited = 0, sent = 1;
    pid_t r;

    if (h->pid <= 0)
        return;
    kill(h->pid, sig);
    while ((r = waitpid(h->pid, &status, WNOHANG)) == 0 &&
           waited < STOP_WAIT_MS) {
        usleep(10000);
        waited += 10;
        if (waited % 1000 == 0) {
            kill(h->pid, sig);
            sent++;
        }
    }
    if (r == 0) {
        kill(h->pid, SIGKILL);
        waitpid(h->pid, &status, 0);
        h->pid = 0;
        fprintf(stderr, "sfj-host did not stop on signal %d in %d s; log %s\n",
                sig, STOP_WAIT_MS / 1000, h->log);
        fail();
    }
    if (sent > 1)
        fprintf(stderr, "sfj-host stopped after signal %d was sent %d times\n",
                sig, sent);
    assert_int_equal(r, h->pid);
    if (sig == SIGTERM) {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    h->pid = 0;
}

/* No cmocka calls below: these run on appender threads too. */
static int append_serial(sfj_journal *j, int n)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char payload[96];
    uint64_t seq;
    int i, rc;

    ev.kind = SFJ_EV_NOTE;
    for (i = 0; i < n; i++) {
        snprintf(payload, sizeof payload, "note %d: settlement reminder", i);
        ev.payload = payload;
        ev.payload_len = strlen(payload);
        rc = sfj_append(j, &ev, &seq);
        if (rc != SFJ_OK) {
            fprintf(stderr, "sfj_append %d of %d: %s (%d): %s\n", i + 1, n,
                    sfj_strerror(rc), rc, sfj_journal_errmsg(j));
            return rc;
        }
    }
    return SFJ_OK;
}

typedef struct append_job {
    sfj_journal *j;
    int n;
    int rc;
} append_job;

static void *append_main(void *arg)
{
    append_job *a = arg;

    a->rc = append_serial(a->j, a->n);
    return NULL;
}

/* Large counts go through 8 threads: group commit makes them much
 * cheaper than one fsync pair per entry. */
int sfj_test_append_rc(sfj_journal *j, int n)
{
    pthread_t th[8];
    append_job jobs[8];
    int i, started = 0, rc = SFJ_OK;

    if (n < 1000)
        return append_serial(j, n);
    for (i = 0; i < 8; i++) {
        jobs[i].j = j;
        jobs[i].n = n / 8 + (i < n % 8);
        jobs[i].rc = SFJ_OK;
        if (pthread_create(&th[i], NULL, append_main, &jobs[i]) != 0) {
            fprintf(stderr, "sfj_test_append: pthread_create failed\n");
            rc = SFJ_ENOMEM;
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        if (rc == SFJ_OK)
            rc = jobs[i].rc;
    }
    return rc;
}

void sfj_test_append(sfj_journal *j, int n)
{
    assert_int_equal(sfj_test_append_rc(j, n), 0);
}

uint64_t sfj_test_mirror_head(const char *host_dir, sfj_journal *term)
{
    sfj_journal_opts mo = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *m = NULL;
    uint8_t jid[16];
    char hj[33], *path;
    uint64_t head = 0;
    int rc;

    assert_int_equal(sfj_journal_id(term, jid), 0);
    hex(jid, 16, hj);
    path = sfj_test_path(host_dir, hj);
    mo.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    rc = sfj_journal_open(path, NULL, &mo, &m);
    free(path);
    if (rc == SFJ_ENOTFOUND)
        return 0;
    assert_int_equal(rc, 0);
    assert_int_equal(sfj__journal_head(m, &head, NULL), 0);
    assert_int_equal(sfj_journal_close(m), 0);
    return head;
}

uint64_t sfj_test_mirror_equal(const char *host_dir, sfj_journal *term,
                               const sfj_keys *keys)
{
    uint8_t jid[16], pub[32], *a = NULL, *b = NULL;
    char hj[33], *path;
    sfj_journal *m = NULL;
    uint64_t last_t = 0, last_m = 0, seq;
    size_t la, lb;

    assert_int_equal(sfj_journal_id(term, jid), 0);
    assert_int_equal(sfj_keys_public_key(keys, pub), 0);
    hex(jid, 16, hj);
    path = sfj_test_path(host_dir, hj);
    assert_int_equal(sfj__mirror_open(&m, path, jid, NULL, pub, 0), 0);
    assert_int_equal(sfj__journal_head(term, &last_t, NULL), 0);
    assert_int_equal(sfj__journal_head(m, &last_m, NULL), 0);
    assert_int_equal(last_m, last_t);
    for (seq = 1; seq <= last_t; seq++) {
        assert_int_equal(sfj__journal_read_sealed(term, seq, &a, &la), 0);
        assert_int_equal(sfj__journal_read_sealed(m, seq, &b, &lb), 0);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
    }
    sfj_journal_close(m);
    free(path);
    return last_t;
}

int sfj_test_file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    uint8_t *buf = sfj_test_read_file(path, &len);
    int r;

    if (buf == NULL)
        return 0;
    r = sfj_test_memmem(buf, len, needle, strlen(needle));
    free(buf);
    return r;
}

void sfj_test_status_init(sfj_test_status *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
}

void sfj_test_status_destroy(sfj_test_status *s)
{
    pthread_mutex_destroy(&s->lock);
}

void sfj_test_on_status(const sfj_forwarder_status *st, void *payload)
{
    sfj_test_status *s = payload;

    pthread_mutex_lock(&s->lock);
    if (st->event == SFJ_FWD_ONLINE) {
        s->online++;
        snprintf(s->last_online, sizeof s->last_online, "%s",
                 st->detail != NULL ? st->detail : "");
    } else if (st->event == SFJ_FWD_OFFLINE)
        s->offline++;
    else if (st->event == SFJ_FWD_REFUSED) {
        s->refused++;
        if (st->error == SFJ_EREJECTED)
            s->rejected++;
    } else if (st->event == SFJ_FWD_ERROR) {
        s->errors++;
        if (st->error == SFJ_EAUTH)
            s->auth_errors++;
        if (st->error == SFJ_EREJECTED)
            s->rejected++;
        if (st->error == SFJ_EVERSION)
            s->version_errors++;
        snprintf(s->last_error, sizeof s->last_error, "%s",
                 st->detail != NULL ? st->detail : "");
    }
    pthread_mutex_unlock(&s->lock);
}

int sfj_test_counted(sfj_test_status *s, const int *counter)
{
    int v;

    pthread_mutex_lock(&s->lock);
    v = *counter;
    pthread_mutex_unlock(&s->lock);
    return v;
}

sfj_forwarder_opts sfj_test_tcp_opts(char *addr, size_t cap, int port,
                                     sfj_test_status *st)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;

    snprintf(addr, cap, "127.0.0.1:%d", port);
    o.sink = SFJ_SINK_TCP;
    o.address = addr;
    o.backoff_min_ms = 20;
    o.backoff_max_ms = 200;
    o.connect_timeout_ms = 1000;
    o.ack_timeout_ms = 3000;
    o.status = sfj_test_on_status;
    o.status_payload = st;
    return o;
}
