/* sfj-host: the reference upstream for sfj forwarders.
 *
 * Listens on TCP (many terminals at once) and/or one serial line, keeps
 * what terminals send in a store (one mirror journal per provisioned
 * terminal under --dir, or PostgreSQL with --store), and acks entries
 * only once its store's commit is durable. One epoll loop, one thread.
 * SIGTERM or SIGINT stops it cleanly (exit 0). `sfj-host export` writes
 * a journal's copy from the database as a mirror directory. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_file.h"
#include "cli_text.h"
#include "host.h"
#include "sfj/sfj.h"

#define MAX_LISTEN   8
#define MAX_SESSIONS 200000 /* links held at once (and RLIMIT_NOFILE) */
#define EVENTS_MAX   1024

static volatile sig_atomic_t g_stop, g_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

static void usage(FILE *out)
{
    fputs(
        "usage: sfj-host (--dir DIR | --store URL | --shards MAP)\n"
        "                [--provision FILE] [--host-key FILE]\n"
        "                [--listen HOST:PORT]...\n"
        "                [--serial PATH [--serial-backend termios|"
        "libserialport]\n"
        "                 [--baud N] [--parity none|odd|even] "
        "[--stop-bits 1|2]\n"
        "                 [--flow none|rtscts|dtrdsr]]\n"
        "                [--window N] [--max-bytes N] [--allow-v1] "
        "[--verbose]\n"
        "                [--metrics HOST:PORT]\n"
        "\n"
        "The reference upstream for sfj forwarders: keeps one mirror journal\n"
        "per provisioned terminal under DIR and acknowledges entries once\n"
        "they are durable. Port 0 picks a free port; the bound address is\n"
        "printed as \"listening HOST:PORT\" on stdout. SIGTERM stops it;\n"
        "SIGHUP reloads the provisioning file (a bad one is reported and\n"
        "the terminals loaded before are kept).\n"
        "\n"
        "  --dir DIR          mirror journals, one subdirectory per terminal\n"
        "                     (the lmdb store, the default)\n"
        "  --store URL        lmdb, or a PostgreSQL connection string\n"
        "                     (postgresql://... or key=value ...): every\n"
        "                     gateway on one database shares the journals\n"
        "  --shards MAP       PostgreSQL shards: lines \"LO-HI URL\" mapping\n"
        "                     a hash of the journal id (0..65535) to a\n"
        "                     connection string (docs/FLEET.md)\n"
        "  --host-key FILE    with --store or --shards: also serve the\n"
        "                     terminals of the database's provisioning\n"
        "                     table, whose link keys open with this key\n"
        "                     (32 bytes, mode 0600)\n"
        "  --provision FILE   terminals: \"sfj-terminal-v1 <journal_id> "
        "<terminal_id>\n"
        "                     <link_key> <pubkey>\" per line (mode 0600)\n"
        "  --listen HOST:PORT TCP address to listen on (repeatable)\n"
        "  --serial PATH      also serve one terminal on a serial line\n"
        "  --metrics HOST:PORT  serve Prometheus metrics over HTTP there\n"
        "                     (GET /metrics; printed as \"metrics "
        "HOST:PORT\")\n"
        "  --window N         ENTRY frames a terminal may send unacked "
        "(256)\n"
        "  --max-bytes N      size cap of each mirror (default 1 GiB)\n"
        "  --allow-v1         also serve wire protocol version 1 "
        "(unprotected;\n"
        "                     only while migrating a fleet; each such session\n"
        "                     is logged)\n"
        "  --verbose          log sessions as they come and go\n"
        "  -h, --help         this text\n"
        "  --version          the version\n"
        "\n"
        "       sfj-host export (--store URL | --shards MAP) --journal ID\n"
        "                     --to DIR\n"
        "                     write journal ID's copy from the database as a\n"
        "                     mirror directory DIR (for sfj-dump)\n"
        "       sfj-host provision import FILE (--store URL | --shards MAP)\n"
        "                     --host-key KEY\n"
        "                     load a provisioning file into the database,\n"
        "                     link keys sealed under KEY (created if "
        "missing)\n"
        "       sfj-host shards record (--store URL | --shards MAP)\n"
        "                     record in each database the shard hash ranges\n"
        "                     it holds now, after journals moved between\n"
        "                     shards (docs/FLEET.md)\n"
        "\n"
        "Exit: 0 stopped by signal, 64 usage, 66 bad provisioning file (or\n"
        "export: journal not in the database), 69 cannot listen / open the\n"
        "line or the database is unreachable at start, 73 cannot create DIR\n"
        "or it is not a directory, 74 a mirror failed, 76 database schema\n"
        "newer than this sfj-host, 78 provisioning file or host key\n"
        "readable by others, 80 shard map unreadable, malformed, with a\n"
        "hole or an overlap, or a database holds other shard ranges than\n"
        "it gives that database (docs/CLI.md).\n",
        out);
}

/* A decimal port 0..65535, nothing else: getaddrinfo would take 70000 as
 * 70000 mod 65536 and listen somewhere nobody asked for. */
static int valid_port(const char *p)
{
    unsigned long v = 0;

    if (*p == '\0' || strlen(p) > 5)
        return 0;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v <= 65535;
}

static int listen_on(const char *addr, const char *what, int *fd_out)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    char host[256], port[16], hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
    const char *colon = strrchr(addr, ':'), *h = addr;
    size_t hl;
    int fd = -1, one = 1, rc = HOST_EXIT_UNAVAIL;

    if (colon == NULL || !valid_port(colon + 1))
        return HOST_EXIT_USAGE;
    hl = (size_t)(colon - addr);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof host)
        return HOST_EXIT_USAGE;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(hl ? host : NULL, port, &hints, &res) != 0) {
        host_log("cannot resolve listen address %s", addr);
        goto done;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
                res->ai_protocol);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        host_log("cannot listen on %s: %s", addr, strerror(errno));
        goto done;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0 ||
        getnameinfo((struct sockaddr *)&ss, slen, hbuf, sizeof hbuf, pbuf,
                    sizeof pbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        host_log("cannot name the bound address: %s", strerror(errno));
        goto done;
    }
    printf(strchr(hbuf, ':') ? "%s [%s]:%s\n" : "%s %s:%s\n", what, hbuf, pbuf);
    fflush(stdout);
    *fd_out = fd;
    fd = -1;
    rc = HOST_EXIT_OK;
done:
    if (fd >= 0)
        close(fd);
    if (res != NULL)
        freeaddrinfo(res);
    return rc;
}

typedef struct opts {
    host_config cfg;
    const char *provision;
    const char *host_key;
    const char *listen[MAX_LISTEN];
    int nlisten;
    const char *serial;
    const char *metrics;
    int serial_lsp;
    sfj_serial_opts sopts;
} opts;

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},
        {"store", required_argument, NULL, 'D'},
        {"shards", required_argument, NULL, 'M'},
        {"host-key", required_argument, NULL, 'K'},
        {"provision", required_argument, NULL, 'p'},
        {"listen", required_argument, NULL, 'l'},
        {"serial", required_argument, NULL, 's'},
        {"serial-backend", required_argument, NULL, 'B'},
        {"baud", required_argument, NULL, 'b'},
        {"parity", required_argument, NULL, 'P'},
        {"stop-bits", required_argument, NULL, 'S'},
        {"flow", required_argument, NULL, 'F'},
        {"window", required_argument, NULL, 'w'},
        {"max-bytes", required_argument, NULL, 'm'},
        {"verbose", no_argument, NULL, 'v'},
        {"allow-v1", no_argument, NULL, '1'},
        {"metrics", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    uint64_t v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hv", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->cfg.dir = optarg;
            break;
        case 'D':
            o->cfg.store_url = optarg;
            break;
        case 'M':
            o->cfg.shards = optarg;
            break;
        case 'K':
            o->host_key = optarg;
            break;
        case 'p':
            o->provision = optarg;
            break;
        case 'l':
            if (o->nlisten == MAX_LISTEN) {
                host_log("at most %d --listen addresses", MAX_LISTEN);
                return HOST_EXIT_USAGE;
            }
            o->listen[o->nlisten++] = optarg;
            break;
        case 's':
            o->serial = optarg;
            break;
        case 'B':
            if (strcmp(optarg, "termios") != 0 &&
                strcmp(optarg, "libserialport") != 0) {
                host_log("--serial-backend must be termios or libserialport");
                return HOST_EXIT_USAGE;
            }
            o->serial_lsp = strcmp(optarg, "libserialport") == 0;
            break;
        case 'b':
            if (sfj__cli_parse_u64(optarg, &v) != 0 || v == 0 || v > 4000000) {
                host_log("--baud: not a baud rate: %s", optarg);
                return HOST_EXIT_USAGE;
            }
            o->sopts.baud = (int)v;
            break;
        case 'P':
            if (strcmp(optarg, "none") == 0)
                o->sopts.parity = SFJ_PARITY_NONE;
            else if (strcmp(optarg, "odd") == 0)
                o->sopts.parity = SFJ_PARITY_ODD;
            else if (strcmp(optarg, "even") == 0)
                o->sopts.parity = SFJ_PARITY_EVEN;
            else {
                host_log("--parity must be none, odd or even");
                return HOST_EXIT_USAGE;
            }
            break;
        case 'S':
            if (strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0) {
                host_log("--stop-bits must be 1 or 2");
                return HOST_EXIT_USAGE;
            }
            o->sopts.stop_bits = optarg[0] - '0';
            break;
        case 'F':
            if (strcmp(optarg, "none") == 0)
                o->sopts.flow = SFJ_FLOW_NONE;
            else if (strcmp(optarg, "rtscts") == 0)
                o->sopts.flow = SFJ_FLOW_RTSCTS;
            else if (strcmp(optarg, "dtrdsr") == 0)
                o->sopts.flow = SFJ_FLOW_DTRDSR;
            else {
                host_log("--flow must be none, rtscts or dtrdsr");
                return HOST_EXIT_USAGE;
            }
            break;
        case 'w':
            if (sfj__cli_parse_u64(optarg, &v) != 0 || v == 0 || v > 1024) {
                host_log("--window must be 1..1024");
                return HOST_EXIT_USAGE;
            }
            o->cfg.window = (unsigned)v;
            break;
        case 'm':
            if (sfj__cli_parse_u64(optarg, &v) != 0 || v < (1u << 20)) {
                host_log("--max-bytes must be a number of bytes >= 1 MiB");
                return HOST_EXIT_USAGE;
            }
            o->cfg.max_bytes = v;
            break;
        case 'v':
            o->cfg.verbose = 1;
            break;
        case 'T':
            /* Checked before anything listens or prints. */
            if (strrchr(optarg, ':') == NULL ||
                !valid_port(strrchr(optarg, ':') + 1)) {
                host_log("--metrics wants HOST:PORT with a port 0..65535, "
                         "got %s",
                         optarg);
                return HOST_EXIT_USAGE;
            }
            o->metrics = optarg;
            break;
        case '1':
            o->cfg.allow_v1 = 1;
            break;
        case 'h':
            usage(stdout);
            exit(HOST_EXIT_OK);
        case 'V':
            printf("sfj-host %s\n", sfj_version());
            exit(HOST_EXIT_OK);
        default:
            return sfj__cli_bad_option("sfj-host", c, optopt, argv[optind - 1]);
        }
    }
    if (optind != argc) {
        host_log("unexpected argument: %s (see --help)", argv[optind]);
        return HOST_EXIT_USAGE;
    }
    if (o->cfg.store_url != NULL && strcmp(o->cfg.store_url, "lmdb") == 0)
        o->cfg.store_url = NULL;
    if ((o->cfg.dir == NULL && o->cfg.store_url == NULL &&
         o->cfg.shards == NULL) ||
        (o->provision == NULL && o->host_key == NULL)) {
        host_log("--provision (or --host-key with --store) and one of --dir, "
                 "--store or --shards are required (see --help)");
        return HOST_EXIT_USAGE;
    }
    if (o->host_key != NULL && o->cfg.store_url == NULL &&
        o->cfg.shards == NULL) {
        host_log("--host-key needs --store URL or --shards MAP (the "
                 "provisioning table)");
        return HOST_EXIT_USAGE;
    }
    if ((o->cfg.dir != NULL) + (o->cfg.store_url != NULL) +
            (o->cfg.shards != NULL) >
        1) {
        host_log("give one store: --dir DIR, --store URL or --shards MAP");
        return HOST_EXIT_USAGE;
    }
    if (o->nlisten == 0 && o->serial == NULL) {
        host_log("nothing to serve: give --listen and/or --serial");
        return HOST_EXIT_USAGE;
    }
    return HOST_EXIT_OK;
}

static int open_serial(opts *o, host_session **out)
{
    sfj_transport *t = NULL;
    int rc;

    rc = o->serial_lsp ? sfj_transport_serial_open(o->serial, &o->sopts, &t)
                       : sfj_transport_termios_open(o->serial, &o->sopts, &t);
    if (rc != SFJ_OK) {
        host_log("cannot open serial line %s: %s", o->serial, sfj_strerror(rc));
        return HOST_EXIT_UNAVAIL;
    }
    if (host_session_new(out, &o->cfg, t, 1, o->serial) != SFJ_OK) {
        host_log("out of memory");
        return HOST_EXIT_UNAVAIL;
    }
    return HOST_EXIT_OK;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sessions of stream links, in no order; a session's `slot` is its
 * index. */
typedef struct session_set {
    host_session **v;
    size_t n, cap;
} session_set;

static void set_remove(session_set *set, host_session *s)
{
    size_t k = s->slot;

    set->v[k] = set->v[--set->n];
    set->v[k]->slot = k;
    host_session_free(s);
}

/* Accept one pending connection; 0 when there was one. */
static int accept_one(opts *o, int ep, int lfd, session_set *set)
{
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    char hbuf[64], pbuf[16], peer[96];
    struct epoll_event ev;
    sfj_transport *t = NULL;
    host_session *s = NULL, **grown;
    int fd;

    fd = accept(lfd, (struct sockaddr *)&ss, &slen);
    if (fd < 0)
        return -1;
    if (set->n == MAX_SESSIONS) {
        host_log("refusing a connection: %d links open", MAX_SESSIONS);
        close(fd);
        return 0;
    }
    if (set->n == set->cap) {
        grown =
            realloc(set->v, (set->cap ? 2 * set->cap : 256) * sizeof *grown);
        if (grown == NULL) {
            close(fd);
            return 0;
        }
        set->v = grown;
        set->cap = set->cap ? 2 * set->cap : 256;
    }
    if (getnameinfo((struct sockaddr *)&ss, slen, hbuf, sizeof hbuf, pbuf,
                    sizeof pbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(peer, sizeof peer, "peer");
    else
        snprintf(peer, sizeof peer, "%s:%s", hbuf, pbuf);
    if (sfj_transport_tcp_from_fd(fd, &t) != SFJ_OK)
        return 0;
    if (host_session_new(&s, &o->cfg, t, 0, peer) != SFJ_OK)
        return 0;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = s;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfj_transport_fd(t), &ev) != 0) {
        host_session_free(s);
        return 0;
    }
    s->slot = set->n;
    set->v[set->n++] = s;
    return 0;
}

/* Listeners and the serial line are told apart from sessions by these
 * addresses. */
static int g_tag_listen[MAX_LISTEN], g_tag_serial;

static int serve(opts *o, int *lfds, int mfd, host_session *serial)
{
    struct epoll_event ev, evs[EVENTS_MAX];
    host_session *ready[EVENTS_MAX + 1], *s;
    session_set set = {NULL, 0, 0};
    long long last_sweep = 0;
    int ep, n, i, nready, lfd, rc = HOST_EXIT_OK;
    size_t k;

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        host_log("epoll: %s", strerror(errno));
        return HOST_EXIT_UNAVAIL;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    for (i = 0; i < o->nlisten; i++) {
        ev.data.ptr = &g_tag_listen[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, lfds[i], &ev) != 0)
            rc = HOST_EXIT_UNAVAIL;
    }
    if (serial != NULL) {
        ev.data.ptr = &g_tag_serial;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, sfj_transport_fd(serial->t), &ev) != 0)
            rc = HOST_EXIT_UNAVAIL;
    }
    if (mfd >= 0)
        host_metrics_start(&o->cfg, mfd, ep);
    while (!g_stop && rc == HOST_EXIT_OK) {
        if (g_reload) {
            /* Between turns: no batch is waiting for a commit. */
            g_reload = 0;
            host_provision_reload(&o->cfg, o->provision);
        }
        n = epoll_wait(ep, evs, EVENTS_MAX, 200);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            host_log("epoll_wait: %s", strerror(errno));
            rc = HOST_EXIT_IOERR;
            break;
        }
        nready = 0;
        for (i = 0; i < n && rc == HOST_EXIT_OK; i++) {
            if (evs[i].data.ptr == &g_tag_serial) {
                rc = host_session_input(serial);
                ready[nready++] = serial;
                if ((evs[i].events & (EPOLLHUP | EPOLLERR)) != 0) {
                    /* The other end of a pty is gone for now: do not
                     * spin. */
                    usleep(50000);
                }
            } else if (evs[i].data.ptr >= (void *)&g_tag_listen[0] &&
                       evs[i].data.ptr < (void *)&g_tag_listen[MAX_LISTEN]) {
                /* Drain the queue: a fleet reconnects at once. */
                lfd = lfds[(int *)evs[i].data.ptr - g_tag_listen];
                for (k = 0; k < EVENTS_MAX && accept_one(o, ep, lfd, &set) == 0;
                     k++)
                    ;
            } else if (!host_metrics_event(evs[i].data.ptr, evs[i].events)) {
                s = evs[i].data.ptr;
                rc = host_session_input(s);
                ready[nready++] = s;
            }
        }
        /* One group commit for every session that received entries in
         * this turn: sessions do not wait for each other's commits. */
        if (rc == HOST_EXIT_OK)
            rc = host_sessions_commit(&o->cfg, ready, (size_t)nready);
        for (i = 0; i < nready; i++) {
            if (ready[i] != serial && ready[i]->state == SESS_CLOSED)
                set_remove(&set, ready[i]);
        }
        /* HELLO timeouts: a sweep over every session a few times a
         * second, not on every event. */
        if (now_ms() - last_sweep >= 250) {
            last_sweep = now_ms();
            for (k = 0; k < set.n;) {
                host_session_tick(set.v[k], last_sweep);
                if (set.v[k]->state == SESS_CLOSED)
                    set_remove(&set, set.v[k]);
                else
                    k++;
            }
            host_metrics_tick(last_sweep);
        }
        host_metrics_links(set.n);
    }
    host_metrics_stop();
    while (set.n > 0)
        set_remove(&set, set.v[set.n - 1]);
    free(set.v);
    close(ep);
    return rc;
}

/* Each session holds a descriptor: raise the soft limit to the hard one
 * so that one gateway can hold tens of thousands of links. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

#ifdef SFJ_HAVE_LIBPQ
/* Export from the shard that holds the journal. */
static int export_shard(const char *map, const char *journal_hex,
                        const char *to)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    host_shards *m = NULL;
    int rc;

    if (sfj__cli_unhex(journal_hex, jid, sizeof jid) != 0) {
        host_log("--journal wants %d hex digits", 2 * SFJ_JOURNAL_ID_BYTES);
        return HOST_EXIT_USAGE;
    }
    rc = host_shards_load(map, &m);
    if (rc == HOST_EXIT_OK)
        rc = host_export(host_shards_url(m, jid), journal_hex, to);
    host_shards_free(m);
    return rc;
}
#endif

static int export_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"store", required_argument, NULL, 'D'},
        {"shards", required_argument, NULL, 'M'},
        {"journal", required_argument, NULL, 'j'},
        {"to", required_argument, NULL, 't'},
        {NULL, 0, NULL, 0}};
    const char *url = NULL, *jid = NULL, *to = NULL, *map = NULL;
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'D')
            url = optarg;
        else if (c == 'M')
            map = optarg;
        else if (c == 'j')
            jid = optarg;
        else if (c == 't')
            to = optarg;
        else
            return HOST_EXIT_USAGE;
    }
    if ((url == NULL) == (map == NULL) || jid == NULL || to == NULL ||
        optind != argc) {
        host_log("export wants (--store URL | --shards MAP) --journal ID "
                 "--to DIR");
        return HOST_EXIT_USAGE;
    }
    if (sfj_init() != 0) {
        host_log("cannot initialise libsodium");
        return HOST_EXIT_UNAVAIL;
    }
#ifdef SFJ_HAVE_LIBPQ
    if (map != NULL)
        return export_shard(map, jid, to);
    return host_export(url, jid, to);
#else
    host_log("export: this sfj-host was built without libpq");
    return HOST_EXIT_USAGE;
#endif
}

static int provision_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"store", required_argument, NULL, 'D'},
        {"shards", required_argument, NULL, 'M'},
        {"host-key", required_argument, NULL, 'K'},
        {NULL, 0, NULL, 0}};
    const char *key = NULL;
    host_config cfg;
    int c, rc;

    memset(&cfg, 0, sizeof cfg);
    optind = 1;
    if (argc < 2 || strcmp(argv[1], "import") != 0) {
        host_log("provision wants: import FILE (--store URL | --shards MAP) "
                 "--host-key KEY");
        return HOST_EXIT_USAGE;
    }
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'D')
            cfg.store_url = optarg;
        else if (c == 'M')
            cfg.shards = optarg;
        else if (c == 'K')
            key = optarg;
        else
            return HOST_EXIT_USAGE;
    }
    if ((cfg.store_url == NULL) == (cfg.shards == NULL) || key == NULL ||
        optind != argc - 1) {
        host_log("provision wants: import FILE (--store URL | --shards MAP) "
                 "--host-key KEY");
        return HOST_EXIT_USAGE;
    }
    if (sfj_init() != 0) {
        host_log("cannot initialise libsodium");
        return HOST_EXIT_UNAVAIL;
    }
#ifdef SFJ_HAVE_LIBPQ
    rc = host_key_load(&cfg, key, 1);
    if (rc == HOST_EXIT_OK)
        rc = host_provision_import(&cfg, argv[optind]);
#else
    host_log("provision: this sfj-host was built without libpq");
    rc = HOST_EXIT_USAGE;
#endif
    host_provision_free(&cfg);
    if (cfg.store != NULL)
        cfg.store->ops->free(cfg.store);
    return rc;
}

/* sfj-host shards record: the ranges of the map (or all of them, with
 * --store) become the ones each database holds. */
static int shards_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"store", required_argument, NULL, 'D'},
        {"shards", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0}};
    host_config cfg;
    int c, rc;

    memset(&cfg, 0, sizeof cfg);
    optind = 2;
    if (argc < 2 || strcmp(argv[1], "record") != 0)
        goto usage;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        if (c == 'D')
            cfg.store_url = optarg;
        else if (c == 'M')
            cfg.shards = optarg;
        else
            goto usage;
    }
    /* The LMDB mirrors are one host's own: no shards to record. */
    if ((cfg.store_url == NULL) == (cfg.shards == NULL) || optind != argc ||
        (cfg.store_url != NULL && strcmp(cfg.store_url, "lmdb") == 0))
        goto usage;
    if (sfj_init() != 0) {
        host_log("cannot initialise libsodium");
        return HOST_EXIT_UNAVAIL;
    }
#ifdef SFJ_HAVE_LIBPQ
    cfg.shards_record = 1;
    rc = host_store_open(&cfg);
    if (cfg.store != NULL)
        cfg.store->ops->free(cfg.store);
    if (rc == HOST_EXIT_OK)
        printf("shard ranges recorded\n");
#else
    host_log("shards: this sfj-host was built without libpq");
    rc = HOST_EXIT_USAGE;
#endif
    return rc;
usage:
    host_log("shards wants: record (--store URL | --shards MAP), URL a "
             "PostgreSQL connection string");
    return HOST_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct stat st;
    host_session *serial = NULL;
    opts o;
    int lfds[MAX_LISTEN], i, nl = 0, mfd = -1, rc;

    if (argc > 1 && strcmp(argv[1], "export") == 0)
        return export_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "provision") == 0)
        return provision_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "shards") == 0)
        return shards_main(argc - 1, argv + 1);
    memset(&o, 0, sizeof o);
    o.sopts = (sfj_serial_opts)SFJ_SERIAL_OPTS_INIT;
    o.cfg.window = 256;
    o.cfg.max_bytes = 1ull << 30;
    rc = parse_args(argc, argv, &o);
    if (rc != HOST_EXIT_OK)
        return rc;
    if (sfj_init() != 0) {
        host_log("cannot initialise libsodium");
        return HOST_EXIT_UNAVAIL;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (o.cfg.dir != NULL && mkdir(o.cfg.dir, 0700) != 0 && errno != EEXIST) {
        host_log("cannot create %s: %s", o.cfg.dir, strerror(errno));
        return HOST_EXIT_CANTCREAT;
    }
    if (o.cfg.dir != NULL &&
        (stat(o.cfg.dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        host_log("--dir %s is not a directory", o.cfg.dir);
        return HOST_EXIT_CANTCREAT;
    }
    rc = o.provision != NULL ? host_provision_load(&o.cfg, o.provision)
                             : HOST_EXIT_OK;
    if (rc == HOST_EXIT_OK && o.host_key != NULL)
        rc = host_key_load(&o.cfg, o.host_key, 0);
    if (rc == HOST_EXIT_OK)
        rc = host_store_open(&o.cfg);
    if (rc != HOST_EXIT_OK)
        goto done;
    for (i = 0; i < o.nlisten && rc == HOST_EXIT_OK; i++) {
        rc = listen_on(o.listen[i], "listening", &lfds[i]);
        if (rc == HOST_EXIT_OK)
            nl++;
        else if (rc == HOST_EXIT_USAGE)
            host_log("--listen wants HOST:PORT with a port 0..65535, got %s",
                     o.listen[i]);
    }
    if (rc == HOST_EXIT_OK && o.metrics != NULL)
        rc = listen_on(o.metrics, "metrics", &mfd);
    if (rc == HOST_EXIT_OK && o.serial != NULL)
        rc = open_serial(&o, &serial);
    if (rc == HOST_EXIT_OK) {
        host_log_serving();
        rc = serve(&o, lfds, mfd, serial);
        if (rc == HOST_EXIT_OK && o.cfg.verbose)
            host_log("stopped");
    }
done:
    host_session_free(serial);
    for (i = 0; i < nl; i++)
        close(lfds[i]);
    if (mfd >= 0)
        close(mfd);
    host_provision_free(&o.cfg);
    if (o.cfg.store != NULL)
        o.cfg.store->ops->free(o.cfg.store);
    return rc;
}
