/* sfj-host: the reference upstream for sfj forwarders.
 *
 * Listens on TCP (many terminals at once) and/or one serial line, keeps
 * one mirror journal per provisioned terminal under --dir, and acks
 * entries only once its own commit is durable. One poll loop, one thread.
 * SIGTERM or SIGINT stops it cleanly (exit 0). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_file.h"
#include "host.h"
#include "sfj/sfj.h"

#define MAX_LISTEN   8
#define MAX_SESSIONS 1024

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out)
{
    fputs(
        "usage: sfj-host --dir DIR --provision FILE [--listen HOST:PORT]...\n"
        "                [--serial PATH [--serial-backend termios|"
        "libserialport]\n"
        "                 [--baud N] [--parity none|odd|even] "
        "[--stop-bits 1|2]\n"
        "                 [--flow none|rtscts|dtrdsr]]\n"
        "                [--window N] [--max-bytes N] [--allow-v1] "
        "[--verbose]\n"
        "\n"
        "The reference upstream for sfj forwarders: keeps one mirror journal\n"
        "per provisioned terminal under DIR and acknowledges entries once\n"
        "they are durable. Port 0 picks a free port; the bound address is\n"
        "printed as \"listening HOST:PORT\" on stdout. SIGTERM stops it.\n"
        "\n"
        "  --dir DIR          mirror journals, one subdirectory per terminal\n"
        "  --provision FILE   terminals: \"sfj-terminal-v1 <journal_id> "
        "<terminal_id>\n"
        "                     <link_key> <pubkey>\" per line (mode 0600)\n"
        "  --listen HOST:PORT TCP address to listen on (repeatable)\n"
        "  --serial PATH      also serve one terminal on a serial line\n"
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
        "Exit: 0 stopped by signal, 64 usage, 66 bad provisioning file,\n"
        "69 cannot listen / open the line, 73 cannot create DIR or it is\n"
        "not a directory, 74 a mirror failed, 78 provisioning file\n"
        "readable by others (docs/CLI.md).\n",
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

static int listen_on(const char *addr, int *fd_out)
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
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        host_log("cannot listen on %s: %s", addr, strerror(errno));
        goto done;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &slen) != 0 ||
        getnameinfo((struct sockaddr *)&ss, slen, hbuf, sizeof hbuf, pbuf,
                    sizeof pbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        host_log("cannot name the bound address: %s", strerror(errno));
        goto done;
    }
    printf(strchr(hbuf, ':') ? "listening [%s]:%s\n" : "listening %s:%s\n",
           hbuf, pbuf);
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
    const char *listen[MAX_LISTEN];
    int nlisten;
    const char *serial;
    int serial_lsp;
    sfj_serial_opts sopts;
} opts;

static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},
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
    if (o->cfg.dir == NULL || o->provision == NULL) {
        host_log("--dir and --provision are required (see --help)");
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

static void accept_one(opts *o, int lfd, host_session **sess, int *nsess)
{
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    char hbuf[64], pbuf[16], peer[96];
    sfj_transport *t = NULL;
    int fd;

    fd = accept(lfd, (struct sockaddr *)&ss, &slen);
    if (fd < 0)
        return;
    if (*nsess == MAX_SESSIONS) {
        host_log("refusing a connection: %d links open", MAX_SESSIONS);
        close(fd);
        return;
    }
    if (getnameinfo((struct sockaddr *)&ss, slen, hbuf, sizeof hbuf, pbuf,
                    sizeof pbuf, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        snprintf(peer, sizeof peer, "peer");
    else
        snprintf(peer, sizeof peer, "%s:%s", hbuf, pbuf);
    if (sfj_transport_tcp_from_fd(fd, &t) != SFJ_OK)
        return;
    if (host_session_new(&sess[*nsess], &o->cfg, t, 0, peer) != SFJ_OK)
        return;
    (*nsess)++;
}

static int serve(opts *o, int *lfds, host_session *serial)
{
    static host_session *sess[MAX_SESSIONS];
    struct pollfd pfd[MAX_LISTEN + MAX_SESSIONS + 1];
    int nsess = 0, n, i, k, rc = HOST_EXIT_OK;

    while (!g_stop && rc == HOST_EXIT_OK) {
        n = 0;
        for (i = 0; i < o->nlisten; i++) {
            pfd[n].fd = lfds[i];
            pfd[n++].events = POLLIN;
        }
        for (i = 0; i < nsess; i++) {
            pfd[n].fd = sfj_transport_fd(sess[i]->t);
            pfd[n++].events = POLLIN;
        }
        if (serial != NULL) {
            pfd[n].fd = sfj_transport_fd(serial->t);
            pfd[n++].events = POLLIN;
        }
        if (poll(pfd, (nfds_t)n, 200) < 0) {
            if (errno == EINTR)
                continue;
            host_log("poll: %s", strerror(errno));
            rc = HOST_EXIT_IOERR;
            break;
        }
        /* Sessions first: pfd indices match sess[] before any accept. */
        for (i = 0; i < nsess && rc == HOST_EXIT_OK; i++) {
            if (pfd[o->nlisten + i].revents != 0)
                rc = host_session_input(sess[i]);
        }
        if (serial != NULL && pfd[n - 1].revents != 0 && rc == HOST_EXIT_OK) {
            rc = host_session_input(serial);
            if ((pfd[n - 1].revents & (POLLHUP | POLLERR)) != 0) {
                /* The other end of a pty is gone for now: do not spin. */
                usleep(50000);
            }
        }
        for (i = 0; i < o->nlisten; i++) {
            if (pfd[i].revents & POLLIN)
                accept_one(o, lfds[i], sess, &nsess);
        }
        for (i = 0, k = 0; i < nsess; i++) {
            host_session_tick(sess[i], now_ms());
            if (sess[i]->state == SESS_CLOSED)
                host_session_free(sess[i]);
            else
                sess[k++] = sess[i];
        }
        nsess = k;
    }
    for (i = 0; i < nsess; i++)
        host_session_free(sess[i]);
    return rc;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    struct stat st;
    host_session *serial = NULL;
    opts o;
    int lfds[MAX_LISTEN], i, nl = 0, rc;

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
    signal(SIGPIPE, SIG_IGN);
    if (mkdir(o.cfg.dir, 0700) != 0 && errno != EEXIST) {
        host_log("cannot create %s: %s", o.cfg.dir, strerror(errno));
        return HOST_EXIT_CANTCREAT;
    }
    if (stat(o.cfg.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        host_log("--dir %s is not a directory", o.cfg.dir);
        return HOST_EXIT_CANTCREAT;
    }
    rc = host_provision_load(&o.cfg, o.provision);
    if (rc != HOST_EXIT_OK)
        goto done;
    for (i = 0; i < o.nlisten && rc == HOST_EXIT_OK; i++) {
        rc = listen_on(o.listen[i], &lfds[i]);
        if (rc == HOST_EXIT_OK)
            nl++;
        else if (rc == HOST_EXIT_USAGE)
            host_log("--listen wants HOST:PORT with a port 0..65535, got %s",
                     o.listen[i]);
    }
    if (rc == HOST_EXIT_OK && o.serial != NULL)
        rc = open_serial(&o, &serial);
    if (rc == HOST_EXIT_OK) {
        host_log_serving();
        rc = serve(&o, lfds, serial);
        if (rc == HOST_EXIT_OK && o.cfg.verbose)
            host_log("stopped");
    }
done:
    host_session_free(serial);
    for (i = 0; i < nl; i++)
        close(lfds[i]);
    host_provision_free(&o.cfg);
    return rc;
}
