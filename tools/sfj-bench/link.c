/* The far side of the replay benchmarks: an sfj-host child process
 * provisioned for one journal, a socat pty pair for the serial line, and
 * a transport wrapper that counts every byte crossing the link. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"
#include "link.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/proto_v2.h"

int bench_tool_path(const char *name, char *out, size_t cap)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(out, cap, "%s/%s", dirname(self), name);
    return access(out, X_OK);
}

int bench_provision_n(const char *path, const sfj_keys *keys, size_t n,
                      bench_term_fn term, void *ctx)
{
    uint8_t link[SFJ_KEY_BYTES], pub[SFJ_PUBKEY_BYTES];
    char hj[2 * SFJ_JOURNAL_ID_BYTES + 1], hl[2 * sizeof link + 1],
        hp[2 * sizeof pub + 1];
    const uint8_t *jid;
    const char *tid;
    FILE *f;
    size_t i;
    int fd, rc = -1;

    if (sfj_keys_link_key(keys, link) != SFJ_OK ||
        sfj_keys_public_key(keys, pub) != SFJ_OK)
        return -1;
    sodium_bin2hex(hl, sizeof hl, link, sizeof link);
    sodium_bin2hex(hp, sizeof hp, pub, sizeof pub);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f != NULL) {
        for (i = 0; i < n; i++) {
            term(ctx, i, &jid, &tid);
            sodium_bin2hex(hj, sizeof hj, jid, SFJ_JOURNAL_ID_BYTES);
            fprintf(f, "sfj-terminal-v1 %s %s %s %s\n", hj, tid, hl, hp);
        }
        rc = fclose(f) == 0 ? 0 : -1;
    } else if (fd >= 0) {
        close(fd);
    }
    sodium_memzero(link, sizeof link);
    sodium_memzero(hl, sizeof hl);
    return rc;
}

typedef struct one_term {
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    const char *tid;
} one_term;

static void one_term_fn(void *ctx, size_t i, const uint8_t **jid,
                        const char **tid)
{
    one_term *o = ctx;

    (void)i;
    *jid = o->jid;
    *tid = o->tid;
}

int bench_provision(const char *path, sfj_journal *j, const sfj_keys *keys,
                    const char *tid)
{
    one_term o;

    o.tid = tid;
    if (sfj_journal_id(j, o.jid) != SFJ_OK)
        return -1;
    return bench_provision_n(path, keys, 1, one_term_fn, &o);
}

/* Run argv with stdout to a pipe (returned in *out_fd, or closed) and
 * stderr to `log`. */
static pid_t spawn(char *const *argv, const char *log, int *out_fd)
{
    int pfd[2], lfd;
    pid_t pid;

    if (pipe(pfd) != 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (lfd >= 0)
            dup2(lfd, 2);
        close(pfd[0]);
        close(pfd[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    if (pid < 0 || out_fd == NULL)
        close(pfd[0]);
    else
        *out_fd = pfd[0];
    return pid;
}

int bench_host_start(bench_host *h, const char *serial, int allow_v1)
{
    char host[4096], line[256], *argv[16];
    int argc = 0, fd = -1;
    FILE *f;

    h->pid = -1;
    h->port = 0;
    if (bench_tool_path("sfj-host", host, sizeof host) != 0)
        return -1;
    argv[argc++] = host;
    argv[argc++] = h->store != NULL ? "--store" : "--dir";
    argv[argc++] = h->store != NULL ? (char *)h->store : h->dir;
    argv[argc++] = "--provision";
    argv[argc++] = h->prov;
    argv[argc++] = "--max-bytes";
    argv[argc++] = "4294967296";
    if (allow_v1)
        argv[argc++] = "--allow-v1";
    if (serial != NULL) {
        argv[argc++] = "--serial";
        argv[argc++] = (char *)serial;
        argv[argc++] = "--serial-backend";
        argv[argc++] = "termios";
    } else {
        argv[argc++] = "--listen";
        argv[argc++] = "127.0.0.1:0";
    }
    argv[argc] = NULL;
    h->pid = spawn(argv, h->log, serial != NULL ? NULL : &fd);
    if (h->pid < 0)
        return -1;
    if (serial != NULL) {
        usleep(300000); /* no banner on serial: give it time to open */
        return 0;
    }
    f = fdopen(fd, "r");
    if (f == NULL || fgets(line, sizeof line, f) == NULL ||
        strncmp(line, "listening ", 10) != 0 || strrchr(line, ':') == NULL) {
        if (f != NULL)
            fclose(f);
        bench_host_stop(h);
        return -1;
    }
    h->port = atoi(strrchr(line, ':') + 1);
    fclose(f);
    return h->port > 0 ? 0 : -1;
}

static int reap(pid_t pid)
{
    int st = 0, i;

    kill(pid, SIGTERM);
    for (i = 0; i < 100; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return st;
}

void bench_host_stop(bench_host *h)
{
    if (h->pid > 0)
        reap(h->pid);
    h->pid = -1;
}

int bench_ptys_start(bench_ptys *p)
{
    char socat[] = "/usr/bin/socat", a[4200], b[4200], *argv[6];
    struct stat st;
    int i;

    p->pid = -1;
    if (access(socat, X_OK) != 0)
        return -1;
    snprintf(a, sizeof a, "pty,raw,echo=0,link=%s", p->a);
    snprintf(b, sizeof b, "pty,raw,echo=0,link=%s", p->b);
    argv[0] = socat;
    argv[1] = "-d";
    argv[2] = a;
    argv[3] = b;
    argv[4] = NULL;
    p->pid = spawn(argv, p->log, NULL);
    if (p->pid < 0)
        return -1;
    for (i = 0; i < 200; i++) {
        if (stat(p->a, &st) == 0 && stat(p->b, &st) == 0)
            return 0;
        usleep(10000);
    }
    bench_ptys_stop(p);
    return -1;
}

void bench_ptys_stop(bench_ptys *p)
{
    if (p->pid > 0)
        reap(p->pid);
    p->pid = -1;
}

/* ---- counting transport ---- */

typedef struct counting {
    sfj_transport base;
    sfj_transport *inner;
    bench_wire_count *count;
    bench_link *l;
} counting;

/* Walk the frames of the host's stream until the first ACK: type 0x04
 * in version 1, a sealed frame of exactly an ACK's size in version 2. */
static void find_first_ack(bench_link *l, const uint8_t *p, size_t n)
{
    uint32_t len;
    size_t k;

    while (n > 0 && l->t_first_ack == 0) {
        if (l->skip > 0) {
            k = l->skip < n ? (size_t)l->skip : n;
            l->skip -= k;
            p += k;
            n -= k;
            continue;
        }
        l->hdr[l->hdr_have++] = *p++;
        n--;
        if (l->hdr_have < SFJ_FRAME_HDR_BYTES)
            continue;
        l->hdr_have = 0;
        len = (uint32_t)l->hdr[2] << 24 | (uint32_t)l->hdr[3] << 16 |
              (uint32_t)l->hdr[4] << 8 | l->hdr[5];
        l->skip = (uint64_t)len + SFJ_FRAME_CRC_BYTES;
        if ((l->v1 && l->hdr[0] == SFJ_MSG_ACK) ||
            (!l->v1 && l->hdr[0] == SFJ_MSG_SEALED &&
             len == SFJ_ACK2_BODY + SFJ_SEAL_OVERHEAD))
            l->t_first_ack = bench_now();
    }
}

static int c_send(sfj_transport *t, const void *buf, size_t len, int timeout_ms,
                  size_t *sent)
{
    counting *c = (counting *)t;
    size_t n = 0;
    int rc = sfj_transport_send(c->inner, buf, len, timeout_ms, &n);

    c->count->sent += n;
    if (sent != NULL)
        *sent = n;
    return rc;
}

static int c_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                  size_t *got)
{
    counting *c = (counting *)t;
    int rc = sfj_transport_recv(c->inner, buf, cap, timeout_ms, got);

    if (rc == SFJ_OK) {
        c->count->received += *got;
        if (c->l->serial == NULL && c->l->connects == 1)
            find_first_ack(c->l, buf, *got);
    }
    return rc;
}

static int c_fd(sfj_transport *t)
{
    return sfj_transport_fd(((counting *)t)->inner);
}

static void c_close(sfj_transport *t)
{
    counting *c = (counting *)t;

    sfj_transport_close(c->inner);
    free(c);
}

static const sfj_transport_ops counting_ops = {SFJ_TRANSPORT_OPS_VERSION,
                                               c_send, c_recv, c_fd, c_close};

int bench_connect(sfj_transport **out, void *payload)
{
    bench_link *l = payload;
    sfj_serial_opts so = SFJ_SERIAL_OPTS_INIT;
    sfj_transport *inner = NULL;
    counting *c;
    char addr[64];
    int rc;

    *out = NULL;
    if (l->connects == 0)
        l->t_connect = bench_now();
    if (l->serial != NULL) {
        rc = sfj_transport_termios_open(l->serial, &so, &inner);
    } else {
        snprintf(addr, sizeof addr, "127.0.0.1:%d", l->port);
        rc = sfj_transport_tcp_connect(addr, 5000, &inner);
    }
    if (rc != SFJ_OK)
        return rc;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        sfj_transport_close(inner);
        return SFJ_ENOMEM;
    }
    c->base.ops = &counting_ops;
    c->base.framing = inner->framing;
    c->inner = inner;
    c->count = &l->count;
    c->l = l;
    l->connects++;
    *out = &c->base;
    return SFJ_OK;
}
