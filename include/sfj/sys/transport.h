/* sfj byte-stream transports: the links a forwarder (or sfj-host) speaks
 * the framed protocol over (docs/PROTOCOL.md).
 *
 * A transport moves bytes; framing is the caller's business, but each
 * transport says which framing its medium needs: length-prefixed frames on
 * reliable streams (TCP), COBS with 0x00 delimiters on serial lines.
 *
 * A transport handle is used by one thread at a time. Backends:
 *  - TCP (sfj_transport_tcp_connect / sfj_transport_tcp_from_fd),
 *  - a plain termios fd (sfj_transport_termios_open), for ptys and simple
 *    UARTs,
 *  - libserialport (sfj_transport_serial_open), for real serial ports;
 *    absent (SFJ_ESTATE) when the library is built without it.
 * Applications may provide their own by filling sfj_transport_ops. */
#ifndef SFJ_SYS_TRANSPORT_H
#define SFJ_SYS_TRANSPORT_H

#include <stddef.h>

#include "../export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Framing a transport's medium needs. */
typedef enum sfj_framing {
    SFJ_FRAMING_STREAM = 0, /**< frames back to back (TCP) */
    SFJ_FRAMING_COBS = 1    /**< COBS, 0x00-delimited (serial) */
} sfj_framing;

typedef struct sfj_transport sfj_transport;

/** Backend operations, implemented by each backend (an app may write its
 *  own). Every timeout is in milliseconds; 0 polls once, -1 waits
 *  forever. */
typedef struct sfj_transport_ops {
    /** SFJ_TRANSPORT_OPS_VERSION (or older) when the backend was built:
     *  operations are only ever added at the end. The layout of the
     *  sfj_transport head follows this version too. */
    unsigned version;
    /** Write all `len` bytes. 0 when all were written; SFJ_ETIMEDOUT when
     *  `timeout_ms` passed without a byte written (the built-in backends
     *  count it from the last progress; `*sent` tells how many went out,
     *  which may be part of a frame: the link is then unusable);
     *  SFJ_ECLOSED when the peer is gone; SFJ_ELINK for another failure.
     *  On stream framing the forwarder gathers the frames of a window into
     *  sends of up to SFJ_WIRE_HELD_BYTES (16 KiB, sfj/sys/wire.h). */
    int (*send)(sfj_transport *t, const void *buf, size_t len, int timeout_ms,
                size_t *sent);
    /** Read what is available, at least 1 byte, at most `cap`. 0 with
     *  `*got` > 0; SFJ_ETIMEDOUT when nothing came in time; SFJ_ECLOSED at
     *  end of stream; SFJ_ELINK for another failure. */
    int (*recv)(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                size_t *got);
    /** A descriptor that polls readable when recv has data, or -1. */
    int (*fd)(sfj_transport *t);
    /** Close the link and free the handle. */
    void (*close)(sfj_transport *t);
} sfj_transport_ops;

/** Layout version of sfj_transport_ops this header describes. */
#define SFJ_TRANSPORT_OPS_VERSION 1

/** The common head of every transport handle. A backend allocates a
 *  larger struct starting with this one. */
struct sfj_transport {
    const sfj_transport_ops *ops;
    sfj_framing framing; /**< what the medium needs */
};

/** Serial parity. */
typedef enum sfj_parity {
    SFJ_PARITY_NONE = 0,
    SFJ_PARITY_ODD = 1,
    SFJ_PARITY_EVEN = 2
} sfj_parity;

/** Serial flow control. XON/XOFF is not offered: COBS frames carry any
 *  byte but 0x00, so in-band flow control would corrupt them. */
typedef enum sfj_flow {
    SFJ_FLOW_NONE = 0,
    SFJ_FLOW_RTSCTS = 1,
    SFJ_FLOW_DTRDSR = 2 /**< libserialport backend only */
} sfj_flow;

/** Serial line settings. Zero fields take the defaults. */
typedef struct sfj_serial_opts {
    unsigned version;  /**< SFJ_SERIAL_OPTS_VERSION (or older) */
    int baud;          /**< bits per second (default 115200) */
    int data_bits;     /**< 5..8 (default 8) */
    sfj_parity parity; /**< default none */
    int stop_bits;     /**< 1 or 2 (default 1) */
    sfj_flow flow;     /**< default none */
} sfj_serial_opts;

#define SFJ_SERIAL_OPTS_VERSION 1
#define SFJ_SERIAL_OPTS_INIT                                                   \
    {                                                                          \
        SFJ_SERIAL_OPTS_VERSION, 115200, 8, SFJ_PARITY_NONE, 1, SFJ_FLOW_NONE  \
    }

/** Connect to "host:port" (IPv4 or IPv6 literal in brackets, or a name)
 *  within `timeout_ms`. SFJ_ETIMEDOUT, SFJ_ELINK (refused, unreachable,
 *  name not resolved), SFJ_EINVAL (malformed address). `*out` is the
 *  caller's; release it with sfj_transport_close. */
SFJ_EXTERN int sfj_transport_tcp_connect(const char *host_port, int timeout_ms,
                                         sfj_transport **out);

/* Split "host:port" or "[v6]:port" into `host` and `port`, refusing
 * (SFJ_EINVAL) an empty host, a port that is not decimal 1..65535, and
 * parts longer than the buffers. The one check of an address, used at
 * connect and by sfj_forwarder_new. */
int sfj__tcp_split_addr(const char *in, char *host, size_t hcap, char *port,
                        size_t pcap);

/** Wrap a connected TCP socket (e.g. from accept); the transport owns `fd`
 *  from then on, even when this call fails. */
SFJ_EXTERN int sfj_transport_tcp_from_fd(int fd, sfj_transport **out);

/** Open a tty (e.g. a pty from socat) in raw mode with plain termios.
 *  Standard baud rates only; flow SFJ_FLOW_DTRDSR is refused. `opts` may
 *  be NULL (defaults); SFJ_EVERSION when opts->version is 0 or newer than
 *  SFJ_SERIAL_OPTS_VERSION. */
SFJ_EXTERN int sfj_transport_termios_open(const char *path,
                                          const sfj_serial_opts *opts,
                                          sfj_transport **out);

/** Open a serial port through libserialport. SFJ_ENOTFOUND when the port
 *  does not exist, SFJ_ELINK when it cannot be opened or configured,
 *  SFJ_ESTATE when libsfj was built without libserialport, SFJ_EVERSION
 *  for an opts->version of 0 or newer than SFJ_SERIAL_OPTS_VERSION. */
SFJ_EXTERN int sfj_transport_serial_open(const char *path,
                                         const sfj_serial_opts *opts,
                                         sfj_transport **out);

/** Convenience calls through `t->ops`. SFJ_EVERSION (send, recv; -1 for
 *  fd) when t->ops->version is 0 or newer than SFJ_TRANSPORT_OPS_VERSION. */
SFJ_EXTERN int sfj_transport_send(sfj_transport *t, const void *buf, size_t len,
                                  int timeout_ms, size_t *sent);
SFJ_EXTERN int sfj_transport_recv(sfj_transport *t, void *buf, size_t cap,
                                  int timeout_ms, size_t *got);
SFJ_EXTERN int sfj_transport_fd(sfj_transport *t);
/** Close and free; accepts NULL. */
SFJ_EXTERN void sfj_transport_close(sfj_transport *t);

#ifdef __cplusplus
}
#endif
#endif
