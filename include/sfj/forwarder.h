/* sfj forwarder: ships every journal entry upstream, in order, at least
 * once, and replays whatever is unacknowledged after any outage.
 *
 * Delivery state is the journal's persisted ack watermark; "in flight"
 * exists only in memory, so after a restart everything above the
 * watermark is simply pending again. A link that is down never blocks
 * sfj_append.
 *
 * Two kinds of sink:
 *  - a framed link to an upstream such as sfj-host (docs/PROTOCOL.md),
 *    over TCP, a serial line, or a transport the app provides. Acks are
 *    authenticated with the link key and checked against the journal's own
 *    chain hash before the watermark moves;
 *  - an app callback that receives each decrypted entry and delivers it
 *    through the app's own host protocol.
 *
 * A forwarder runs on its own thread (sfj_forwarder_start) or is driven by
 * the app (sfj_forwarder_poll), never both at once. */
#ifndef SFJ_FORWARDER_H
#define SFJ_FORWARDER_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "journal.h"
#include "sys/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Sinks (sfj_forwarder_opts.sink). */
typedef enum sfj_sink {
    SFJ_SINK_TCP = 1,      /**< framed link over TCP to `address` */
    SFJ_SINK_SERIAL = 2,   /**< framed link over the serial `address` */
    SFJ_SINK_CALLBACK = 3, /**< the app's `deliver` callback */
    SFJ_SINK_TRANSPORT = 4 /**< framed link over the app's `connect` */
} sfj_sink;

/** Serial backends (sfj_forwarder_opts.serial_backend). */
typedef enum sfj_serial_backend {
    SFJ_SERIAL_LIBSERIALPORT = 0, /**< real ports through libserialport */
    SFJ_SERIAL_TERMIOS = 1        /**< plain termios (ptys, simple UARTs) */
} sfj_serial_backend;

/** Answers of a deliver callback. */
typedef enum sfj_deliver_answer {
    SFJ_DELIVER_ACK = 0,   /**< delivered: the entry is done */
    SFJ_DELIVER_RETRY = 1, /**< not now: retry this entry after a backoff;
                                the entries behind it wait */
    SFJ_DELIVER_REJECT = 2 /**< refused for good: set aside as
                                needs-attention (never deleted), the queue
                                goes on */
} sfj_deliver_answer;

/** Flags (sfj_forwarder_opts.flags), or-ed together. */
typedef enum sfj_forwarder_flags {
    SFJ_FWD_F_DELIVER_CHECKPOINTS = 0x1 /**< also hand sfj's own entries
                                             (CHECKPOINT, KEY_ROTATION,
                                             DICTIONARY) to the callback (by
                                             default they are acked
                                             unseen) */
} sfj_forwarder_flags;

/** Deliver one decrypted entry (callback sink). `entry` is borrowed for the
 *  call. Return an sfj_deliver_answer; anything else counts as RETRY.
 *  Called on the forwarder's thread (or the sfj_forwarder_poll caller). */
typedef int (*sfj_deliver_cb)(const sfj_entry *entry, void *payload);

/** Open a transport to the upstream (SFJ_SINK_TRANSPORT). Return 0 with
 *  `*out` set, or an SFJ_E* code; the forwarder closes `*out`. */
typedef int (*sfj_connect_cb)(sfj_transport **out, void *payload);

/** Status events. */
typedef enum sfj_forwarder_event {
    SFJ_FWD_ONLINE = 1,    /**< the sink accepts entries; detail "link up",
                                or, when the upstream holds less than this
                                journal's acknowledged watermark (another
                                upstream, or its store lost entries), both
                                seqs: those entries are sent again */
    SFJ_FWD_OFFLINE = 2,   /**< the link went down (error, detail) */
    SFJ_FWD_FORWARDED = 3, /**< first_seq..last_seq are now acknowledged
                                and the watermark is persisted */
    SFJ_FWD_ERROR = 4,     /**< a problem with `seq` (0: the link); error,
                                detail */
    SFJ_FWD_REJECTED = 5,  /**< `seq` was set aside as needs-attention */
    SFJ_FWD_REFUSED = 6    /**< the upstream refused the link for good
                                (unknown terminal, diverged journal, its
                                mirror unavailable, protocol version): not
                                an outage but a person's job; error,
                                detail. Retried only after ten times
                                backoff_max_ms; the first refusal also
                                leaves a needs-attention note in the
                                journal */
} sfj_forwarder_event;

/** One status event, made by the forwarder and borrowed for the duration
 *  of the callback (so it carries no version: the library allocates it). */
typedef struct sfj_forwarder_status {
    sfj_forwarder_event event; /**< what happened */
    uint64_t first_seq;        /**< FORWARDED: first newly acknowledged seq */
    uint64_t last_seq;         /**< FORWARDED: last newly acknowledged seq */
    uint64_t seq;       /**< ERROR, REJECTED: the entry concerned (or 0) */
    int error;          /**< OFFLINE, ERROR, REJECTED: an SFJ_E* code */
    const char *detail; /**< one line, never a key, plaintext or PAN */
} sfj_forwarder_status;

/** Status callback; runs on the forwarder's thread and must not call back
 *  into the forwarder. */
typedef void (*sfj_status_cb)(const sfj_forwarder_status *status,
                              void *payload);

/** Forwarder options. Zero fields take the defaults in brackets. */
typedef struct sfj_forwarder_opts {
    unsigned version;    /**< SFJ_FORWARDER_OPTS_VERSION (or older) */
    sfj_sink sink;       /**< where entries go */
    const char *address; /**< "host:port" (TCP) or device path (serial);
                              copied */
    sfj_serial_backend serial_backend; /**< SFJ_SINK_SERIAL only */
    sfj_serial_opts serial;            /**< line settings for SFJ_SINK_SERIAL */
    sfj_deliver_cb deliver;            /**< SFJ_SINK_CALLBACK */
    void *deliver_payload;
    sfj_connect_cb connect; /**< SFJ_SINK_TRANSPORT */
    void *connect_payload;
    sfj_status_cb status; /**< optional */
    void *status_payload;
    unsigned window;        /**< ENTRY frames in flight [256], max 1024 */
    int backoff_min_ms;     /**< first reconnect / retry delay [250] */
    int backoff_max_ms;     /**< longest delay [30000] */
    int connect_timeout_ms; /**< [5000] */
    int ack_timeout_ms;     /**< no progress for this long with frames in
                                 flight: the link is dead [10000] */
    int ping_interval_ms;   /**< ping an idle link [15000] */
    unsigned ack_batch;     /**< persist the watermark after this many
                                 acknowledged seqs [256] ... */
    int ack_flush_ms;       /**< ... or after this long [100] */
    unsigned flags;         /**< sfj_forwarder_flags, or-ed */
} sfj_forwarder_opts;

#define SFJ_FORWARDER_OPTS_VERSION 1
#define SFJ_FORWARDER_OPTS_INIT                                                \
    {                                                                          \
        SFJ_FORWARDER_OPTS_VERSION, (sfj_sink)0, NULL,                         \
            SFJ_SERIAL_LIBSERIALPORT, SFJ_SERIAL_OPTS_INIT, NULL, NULL, NULL,  \
            NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0                        \
    }

/** Opaque forwarder. */
typedef struct sfj_forwarder sfj_forwarder;

/** Create a forwarder for journal `j` (which must outlive it and be
 *  writable, or opened with SFJ_OPEN_ACKS in a forwarder process of its
 *  own: acks are persisted in it). Nothing connects yet. A TCP
 *  address that is not "host:port" or "[v6]:port" with a decimal port
 *  1..65535 is refused here (SFJ_EINVAL), not retried forever. `*out`
 *  belongs to the caller; release it with sfj_forwarder_free. SFJ_EVERSION
 *  when opts->version (or, for a serial sink, opts->serial.version) is 0
 *  or newer than this header's. A connect callback's transport whose ops
 *  version is unknown is closed and reported as SFJ_EVERSION. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_forwarder_new(sfj_journal *j,
                                                 const sfj_forwarder_opts *opts,
                                                 sfj_forwarder **out);

/** Link states of sfj_forwarder_info. */
typedef enum sfj_link_state {
    SFJ_LINK_IDLE = 0,     /**< not started, or stopped */
    SFJ_LINK_STARTING = 1, /**< started, no answer from the sink yet */
    SFJ_LINK_ONLINE = 2,   /**< the sink accepts entries */
    SFJ_LINK_OFFLINE = 3,  /**< down: see last_error and cause; retrying */
    SFJ_LINK_REFUSED = 4   /**< refused by the upstream for good (see
                                SFJ_FWD_REFUSED and cause): needs a person */
} sfj_link_state;

/** What the last error of sfj_forwarder_info was, told apart for a status
 *  screen (sfj_forwarder_info.cause_code). Values never change. */
typedef enum sfj_link_cause {
    SFJ_CAUSE_NONE = 0,      /**< no error since start */
    SFJ_CAUSE_RESOLVE = 1,   /**< the host name did not resolve (DNS) */
    SFJ_CAUSE_REFUSED = 2,   /**< connection refused: nothing listens at
                                  the address */
    SFJ_CAUSE_TIMEOUT = 3,   /**< connect, handshake or ack timed out */
    SFJ_CAUSE_HANDSHAKE = 4, /**< handshake or authentication failed: not
                                  the provisioned upstream, another link
                                  key, a forged or unverifiable frame or
                                  ack, a protocol version refused */
    SFJ_CAUSE_HOST = 5,      /**< refused by the host with a status
                                  (host_status): unknown terminal,
                                  diverged, mirror unavailable, busy, an
                                  entry refused */
    SFJ_CAUSE_LINK = 6,      /**< the link failed or closed after it was
                                  up, or the network is unreachable */
    SFJ_CAUSE_PROTOCOL = 7,  /**< malformed or damaged frames */
    SFJ_CAUSE_JOURNAL = 8    /**< this side: an entry could not be read or
                                  acks could not be persisted */
} sfj_link_cause;

/** How the forwarder is, for a status screen or a log. A snapshot taken
 *  from the same events the status callback gets; readable from any
 *  thread. */
typedef struct sfj_forwarder_info {
    unsigned version;       /**< SFJ_FORWARDER_INFO_VERSION (or older) */
    sfj_link_state state;   /**< SFJ_LINK_* */
    int last_error;         /**< SFJ_E* of the last OFFLINE or ERROR
                                 event (0: none since start) */
    char cause[128];        /**< its one-line text (the transport's:
                                 resolve failure, refused, timeout,
                                 handshake, the host's refusal), never a
                                 key, plaintext or PAN; "" when none */
    uint64_t acknowledged;  /**< entries acknowledged and persisted since
                                 sfj_forwarder_new */
    uint64_t acked_seq;     /**< the persisted ack watermark */
    uint64_t reconnects;    /**< times the link came up after the first */
    uint64_t errors;        /**< OFFLINE and ERROR events */
    uint64_t rejected;      /**< entries set aside as needs-attention */
    int64_t last_ack_ms;    /**< wall time of the last persisted ack
                                 (0: none since start) */
    int64_t last_change_ms; /**< wall time state last changed */
    /* Version 2. Counters are since sfj_forwarder_new. */
    sfj_link_cause cause_code; /**< what last_error was (SFJ_CAUSE_*) */
    int host_status;           /**< SFJ_CAUSE_HOST: what the host
                                    answered (docs/PROTOCOL.md): the
                                    HELLO_ACK status (1 unknown terminal,
                                    4 busy, 5 diverged, ...) or, for an
                                    entry refused, the NAK reason; 0
                                    otherwise */
    uint64_t sent;             /**< entries handed to the sink (ENTRY
                                    frames sent, or deliver calls) */
    uint64_t resent;           /**< of those, entries sent again: replays
                                    after a reconnect, retried deliveries */
    uint64_t bytes_sent;       /**< link sinks: bytes the transport took */
    uint64_t bytes_received;   /**< link sinks: bytes read from it */
} sfj_forwarder_info;

/** Layout version of sfj_forwarder_info: version 1 ends at
 *  last_change_ms. A caller of an older version gets only its fields. */
#define SFJ_FORWARDER_INFO_VERSION 2
#define SFJ_FORWARDER_INFO_INIT                                                \
    {                                                                          \
        SFJ_FORWARDER_INFO_VERSION, SFJ_LINK_IDLE, 0, "", 0, 0, 0, 0, 0, 0, 0, \
            SFJ_CAUSE_NONE, 0, 0, 0, 0, 0                                      \
    }

/** Copy the forwarder's status into `out`, whose version the caller set
 *  (SFJ_FORWARDER_INFO_INIT). SFJ_EVERSION, writing nothing, for version 0
 *  or a newer one; SFJ_EINVAL for NULL. Thread-safe. */
SFJ_EXTERN int sfj_forwarder_info_get(sfj_forwarder *f,
                                      sfj_forwarder_info *out);

/** Run the forwarder on its own thread until sfj_forwarder_stop.
 *  SFJ_ESTATE if it already runs. The thread is not copied by fork: a
 *  child never uses or frees an inherited forwarder (see sfj_init). */
SFJ_EXTERN int sfj_forwarder_start(sfj_forwarder *f);

/** Drive a forwarder without a thread: do the pending work and wait for
 *  the link or new entries for at most `timeout_ms` (0: do not wait).
 *  Call it regularly. May block up to connect_timeout_ms while connecting.
 *  SFJ_ESTATE while the thread runs; SFJ_EDEAD / SFJ_EIO if the journal
 *  failed. Link problems are reported through the status callback. */
SFJ_EXTERN int sfj_forwarder_poll(sfj_forwarder *f, int timeout_ms);

/** Deliver the backlog now and wait: append a checkpoint (so the upstream
 *  holds a signed head), skip any reconnect backoff, and return 0 once
 *  every entry present at the call is acknowledged and the watermark is
 *  durable, or SFJ_ETIMEDOUT after `timeout_ms` (-1: no limit). Works with
 *  and without the thread (without, it drives the forwarder itself). */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_forwarder_flush(sfj_forwarder *f,
                                                   int timeout_ms);

/** Stop the thread (if running), persist the acks received so far and
 *  close the link. The forwarder can be started again. */
SFJ_EXTERN int sfj_forwarder_stop(sfj_forwarder *f);

/** Stop and free. Accepts NULL. */
SFJ_EXTERN void sfj_forwarder_free(sfj_forwarder *f);

#ifdef __cplusplus
}
#endif
#endif
