/* poll-based I/O on a non-blocking descriptor, shared by the TCP and
 * termios transports. */
#ifndef SFJ_FORWARDER_FDIO_H
#define SFJ_FORWARDER_FDIO_H

#include <stddef.h>

#include "sfj/sys/transport.h"

/* Write all of `buf`, giving up once `timeout_ms` pass with no byte
 * written (-1 = never): a slow line that keeps taking bytes is not timed
 * out however long the whole takes. `is_socket`
 * selects send(MSG_NOSIGNAL) so a closed peer never raises SIGPIPE.
 * Returns 0, SFJ_ETIMEDOUT, SFJ_ECLOSED or SFJ_ELINK; `*sent` counts what
 * went out. */
int sfj__fd_send_all(int fd, int is_socket, const void *buf, size_t len,
                     size_t *sent, int timeout_ms);

/* Read 1..cap bytes within `timeout_ms`. Returns 0, SFJ_ETIMEDOUT,
 * SFJ_ECLOSED (end of stream) or SFJ_ELINK. */
int sfj__fd_recv(int fd, void *buf, size_t cap, size_t *got, int timeout_ms);

/* Milliseconds left until `deadline` (monotonic ms), or -1 when
 * `deadline` is negative (no deadline). Never below 0 otherwise. */
int sfj__ms_left(long long deadline);

/* A transport over an open non-blocking descriptor (a TCP socket when
 * `is_socket`, else a tty) with the given SFJ_FRAMING_*. Takes ownership
 * of `fd`: it is closed on failure too. */
int sfj__fd_transport_new(sfj_transport **out, int fd, int is_socket,
                          int framing);

#endif
