/* A framed channel over a transport: frame + (for serial) COBS on the way
 * out, incremental decoding on the way in (docs/PROTOCOL.md section 2).
 *
 * States: HELD (buffers allocated by init or grow) and, for a channel
 * that sfj__wire_release found idle (no byte buffered, no frame partly
 * decoded), RELEASED (no buffers, until sfj__wire_grow); free ends both.
 * `in` holds bytes read from the transport and not yet decoded (in_pos
 * <= in_len). reset drops partial input and decoder state (new
 * connection). A stream whose length field was oversize cannot be
 * resynchronised: next reports SFJ_EPROTO until reset. Only a HELD
 * channel may be filled, decoded or sent on. Used by one thread at a
 * time. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_WIRE_H
#define SFJ_SYS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "cobs.h"
#include "frame.h"
#include "transport.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_WIRE_IN_BYTES 16384

typedef struct sfj__wire {
    int cobs;
    uint8_t *tx;  /* one frame */
    uint8_t *txc; /* its COBS encoding with delimiters (serial only) */
    uint8_t *rx;  /* decoder buffer */
    sfj__frame_dec fdec;
    sfj__cobs_dec cdec;
    uint8_t *in; /* SFJ_WIRE_IN_BYTES */
    size_t in_pos;
    size_t in_len;
    uint64_t bytes_out; /* bytes the transport took, since init */
    uint64_t bytes_in;  /* bytes read from the transport, since init */
    uint8_t *held;      /* frames gathered by sfj__wire_hold, unsent */
    size_t held_len;
    int holding;
} sfj__wire;

/* Allocate a channel for `framing` (SFJ_FRAMING_*). 0 or SFJ_ENOMEM. */
int sfj__wire_init(sfj__wire *w, int framing);
void sfj__wire_free(sfj__wire *w);
void sfj__wire_reset(sfj__wire *w);

/* An idle link holds no buffers: a gateway with tens of thousands of
 * links keeps only those that are busy. release frees the buffers when
 * nothing is buffered or partly decoded (returns 1) and leaves the
 * channel as it is otherwise (0); grow allocates them again (a no-op
 * when held): 0 or SFJ_ENOMEM. */
int sfj__wire_release(sfj__wire *w);
int sfj__wire_grow(sfj__wire *w);
/* Where the caller writes the body of the next frame to send
 * (SFJ_FRAME_MAX_BODY bytes). */
uint8_t *sfj__wire_body(sfj__wire *w);

/* Frame the body written at sfj__wire_body and send it whole within
 * `timeout_ms`. Transport errors as sfj_transport_send; a partial send
 * leaves the link unusable. */
int sfj__wire_send(sfj__wire *w, sfj_transport *t, uint8_t type,
                   size_t body_len, int timeout_ms);

/* Gather the frames sent from now on and send them together, at
 * sfj__wire_flush or whenever SFJ_WIRE_HELD_BYTES are gathered: one
 * system call (and on TCP one segment) for many frames instead of one
 * each. Stream framing only: on COBS (serial) frames still go one by one.
 * sfj__wire_reset drops what is gathered. */
#define SFJ_WIRE_HELD_BYTES 16384
void sfj__wire_hold(sfj__wire *w);

/* Send what sfj__wire_hold gathered and stop gathering; errors as
 * sfj__wire_send. */
int sfj__wire_flush(sfj__wire *w, sfj_transport *t, int timeout_ms);

/* Read more bytes from `t` if none are buffered: 0, SFJ_ETIMEDOUT,
 * SFJ_ECLOSED or SFJ_ELINK. */
int sfj__wire_fill(sfj__wire *w, sfj_transport *t, int timeout_ms);

/* Decode the next frame from buffered input: 1 with `*out` (valid until
 * the next call), 0 when more input is needed, SFJ_ECORRUPT for a bad
 * frame that was dropped (CRC, malformed, oversize COBS packet), or
 * SFJ_EPROTO when the stream cannot be resynchronised (close the link). */
int sfj__wire_next(sfj__wire *w, sfj__frame *out);

#pragma GCC visibility pop

#endif
