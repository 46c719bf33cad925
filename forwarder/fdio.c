/* poll-based descriptor I/O; see fdio.h. */
#include "forwarder/fdio.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"
#include "sfj/errors.h"

int sfj__ms_left(long long deadline)
{
    long long left;

    if (deadline < 0)
        return -1;
    left = deadline - (long long)sfj__mono_ms();
    if (left < 0)
        return 0;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    int n;

    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return SFJ_ELINK;
    if (n == 0)
        return SFJ_ETIMEDOUT;
    if ((p.revents & POLLNVAL) != 0)
        return SFJ_ELINK;
    return SFJ_OK;
}

int sfj__fd_send_all(int fd, int is_socket, const void *buf, size_t len,
                     size_t *sent, int timeout_ms)
{
    const char *p = buf;
    long long deadline =
        timeout_ms < 0 ? -1 : (long long)sfj__mono_ms() + timeout_ms;
    size_t done = 0;
    ssize_t n;
    int rc = SFJ_OK;

    while (done < len) {
        if (is_socket)
            n = send(fd, p + done, len - done, MSG_NOSIGNAL);
        else
            n = write(fd, p + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            /* The time runs from the last progress: a slow line that
             * keeps taking bytes is alive, however long it takes. */
            if (timeout_ms >= 0)
                deadline = (long long)sfj__mono_ms() + timeout_ms;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = wait_fd(fd, POLLOUT, sfj__ms_left(deadline));
            if (rc != SFJ_OK)
                break;
            continue;
        }
        rc = (n < 0 && (errno == EPIPE || errno == ECONNRESET)) ? SFJ_ECLOSED
                                                                : SFJ_ELINK;
        break;
    }
    if (sent != NULL)
        *sent = done;
    return rc;
}

int sfj__fd_recv(int fd, void *buf, size_t cap, size_t *got, int timeout_ms)
{
    ssize_t n;
    int rc;

    *got = 0;
    for (;;) {
        n = read(fd, buf, cap);
        if (n > 0) {
            *got = (size_t)n;
            return SFJ_OK;
        }
        if (n == 0)
            return SFJ_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == ECONNRESET)
            return SFJ_ECLOSED;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return errno == EIO ? SFJ_ECLOSED : SFJ_ELINK;
        rc = wait_fd(fd, POLLIN, timeout_ms);
        if (rc != SFJ_OK)
            return rc;
    }
}

typedef struct fd_transport {
    sfj_transport base;
    int fd;
    int is_socket;
} fd_transport;

static int fdt_send(sfj_transport *t, const void *buf, size_t len,
                    int timeout_ms, size_t *sent)
{
    fd_transport *ft = (fd_transport *)t;

    return sfj__fd_send_all(ft->fd, ft->is_socket, buf, len, sent, timeout_ms);
}

static int fdt_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                    size_t *got)
{
    return sfj__fd_recv(((fd_transport *)t)->fd, buf, cap, got, timeout_ms);
}

static int fdt_fd(sfj_transport *t)
{
    return ((fd_transport *)t)->fd;
}

static void fdt_close(sfj_transport *t)
{
    fd_transport *ft = (fd_transport *)t;

    if (ft->fd >= 0)
        close(ft->fd);
    free(ft);
}

static const sfj_transport_ops fd_ops = {SFJ_TRANSPORT_OPS_VERSION, fdt_send,
                                         fdt_recv, fdt_fd, fdt_close};

int sfj__fd_transport_new(sfj_transport **out, int fd, int is_socket,
                          int framing)
{
    fd_transport *ft = calloc(1, sizeof *ft);

    if (ft == NULL) {
        close(fd);
        return SFJ_ENOMEM;
    }
    ft->base.ops = &fd_ops;
    ft->base.framing = framing;
    ft->fd = fd;
    ft->is_socket = is_socket;
    *out = &ft->base;
    return SFJ_OK;
}
