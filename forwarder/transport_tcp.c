/* TCP transport: non-blocking connect with a timeout, poll-based I/O.
 *
 * States: a handle exists only connected (fd >= 0) until close frees it.
 * The socket is non-blocking with TCP_NODELAY (acks are small and
 * latency-bound) and close-on-exec. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "forwarder/fdio.h"
#include "forwarder/transport_tcp.h"
#include "sfj/errors.h"
#include "sfj/sys/transport.h"

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return SFJ_ELINK;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return SFJ_ELINK;
    return SFJ_OK;
}

int sfj_transport_tcp_from_fd(int fd, sfj_transport **out)
{
    int one = 1, rc = SFJ_OK;

    if (out == NULL || fd < 0) {
        rc = SFJ_EINVAL;
        goto done;
    }
    *out = NULL;
    rc = set_nonblock(fd);
    if (rc != SFJ_OK)
        goto done;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    rc = sfj__fd_transport_new(out, fd, 1, SFJ_FRAMING_STREAM);
    fd = -1; /* owned by the transport now */
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

int sfj__tcp_split_addr(const char *in, char *host, size_t hcap, char *port,
                        size_t pcap)
{
    const char *colon, *h = in, *hend, *d;
    unsigned long v = 0;

    if (in[0] == '[') {
        hend = strchr(in, ']');
        if (hend == NULL || hend[1] != ':')
            return SFJ_EINVAL;
        h = in + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(in, ':');
        if (colon == NULL)
            return SFJ_EINVAL;
        hend = colon;
    }
    if (hend == h || (size_t)(hend - h) >= hcap || colon[1] == '\0' ||
        strlen(colon + 1) >= pcap || strlen(colon + 1) > 5)
        return SFJ_EINVAL;
    /* A decimal port 1..65535: getaddrinfo would take 70000 as 70000 mod
     * 65536, and a name or 0 never reaches an upstream. */
    for (d = colon + 1; *d != '\0'; d++) {
        if (*d < '0' || *d > '9')
            return SFJ_EINVAL;
        v = v * 10 + (unsigned long)(*d - '0');
    }
    if (v == 0 || v > 65535)
        return SFJ_EINVAL;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    strcpy(port, colon + 1);
    return SFJ_OK;
}

/* One non-blocking connect attempt; returns the connected fd or an error
 * (`*refused` set for ECONNREFUSED). */
static int try_connect(const struct addrinfo *ai, long long deadline,
                       int *fd_out, int *refused)
{
    struct pollfd p;
    socklen_t elen = sizeof(int);
    int fd, err = 0, n, rc = SFJ_ELINK;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return SFJ_ELINK;
    if (set_nonblock(fd) != SFJ_OK)
        goto done;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        rc = SFJ_OK;
        goto done;
    }
    if (errno != EINPROGRESS) {
        *refused = errno == ECONNREFUSED;
        goto done;
    }
    p.fd = fd;
    p.events = POLLOUT;
    do {
        n = poll(&p, 1, sfj__ms_left(deadline));
    } while (n < 0 && errno == EINTR);
    if (n == 0) {
        rc = SFJ_ETIMEDOUT;
        goto done;
    }
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ||
        err != 0) {
        *refused = err == ECONNREFUSED;
        goto done;
    }
    rc = SFJ_OK;
done:
    if (rc == SFJ_OK)
        *fd_out = fd;
    else
        close(fd);
    return rc;
}

int sfj__tcp_connect(const char *host_port, int timeout_ms, sfj_transport **out,
                     sfj_link_cause *cause)
{
    struct addrinfo hints, *res = NULL, *ai;
    char host[256], port[16];
    long long deadline;
    sfj_link_cause why = SFJ_CAUSE_LINK;
    int rc, fd = -1, refused = 0, all_refused = 1;

    if (out == NULL || host_port == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    rc = sfj__tcp_split_addr(host_port, host, sizeof host, port, sizeof port);
    if (rc != SFJ_OK)
        goto done;
    deadline = timeout_ms < 0 ? -1 : (long long)sfj__mono_ms() + timeout_ms;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        why = SFJ_CAUSE_RESOLVE;
        rc = SFJ_ELINK;
        goto done;
    }
    rc = SFJ_ELINK;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        refused = 0;
        rc = try_connect(ai, deadline, &fd, &refused);
        all_refused &= refused;
        if (rc == SFJ_OK || rc == SFJ_ETIMEDOUT)
            break;
    }
    if (rc == SFJ_ETIMEDOUT)
        why = SFJ_CAUSE_TIMEOUT;
    else if (rc != SFJ_OK && all_refused)
        why = SFJ_CAUSE_REFUSED;
    if (rc == SFJ_OK)
        rc = sfj_transport_tcp_from_fd(fd, out);
done:
    if (res != NULL)
        freeaddrinfo(res);
    if (cause != NULL)
        *cause = rc == SFJ_OK ? SFJ_CAUSE_NONE : why;
    return rc;
}

int sfj_transport_tcp_connect(const char *host_port, int timeout_ms,
                              sfj_transport **out)
{
    return sfj__tcp_connect(host_port, timeout_ms, out, NULL);
}
