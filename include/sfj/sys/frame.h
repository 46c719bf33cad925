/* Frame codec for the sfj link (docs/PROTOCOL.md section 2).
 *
 *   u8 type | u8 flags | u32be length | body | u32be CRC-32(type..body)
 *
 * Pure and allocation-free: callers hand in every buffer. The stream
 * decoder is incremental, for byte streams such as TCP. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_FRAME_H
#define SFJ_SYS_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_FRAME_HDR_BYTES 6
#define SFJ_FRAME_CRC_BYTES 4
#define SFJ_FRAME_OVERHEAD  (SFJ_FRAME_HDR_BYTES + SFJ_FRAME_CRC_BYTES)
#define SFJ_FRAME_MAX_BODY  66560u
#define SFJ_FRAME_MAX_BYTES (SFJ_FRAME_OVERHEAD + SFJ_FRAME_MAX_BODY)

/* Message types. */
#define SFJ_MSG_HELLO     0x01
#define SFJ_MSG_HELLO_ACK 0x02
#define SFJ_MSG_ENTRY     0x03
#define SFJ_MSG_ACK       0x04
#define SFJ_MSG_NAK       0x05
#define SFJ_MSG_PING      0x06
#define SFJ_MSG_PONG      0x07

/* A decoded frame; `body` points into the decoder's (or caller's) buffer
 * and is valid until the next call on it. */
typedef struct sfj__frame {
    uint8_t type;
    uint8_t flags;
    uint32_t len;
    const uint8_t *body;
} sfj__frame;

/* Encode a frame into `out` (capacity `cap`). Returns the frame size, or
 * 0 when `len` exceeds SFJ_FRAME_MAX_BODY or `cap` is too small. `body`
 * may already sit at out + SFJ_FRAME_HDR_BYTES (encoding in place). */
size_t sfj__frame_encode(uint8_t *out, size_t cap, uint8_t type, uint8_t flags,
                         const uint8_t *body, uint32_t len);

/* Check one complete frame of exactly `len` bytes (e.g. a decoded COBS
 * packet): SFJ_EPROTO when it is short or its length field disagrees,
 * SFJ_ELIMIT when the body is larger than `max_body`, SFJ_ECORRUPT on a
 * CRC mismatch. `out->body` points into `buf`. */
int sfj__frame_parse(const uint8_t *buf, size_t len, uint32_t max_body,
                     sfj__frame *out);

/* Incremental decoder for a byte stream.
 *
 * States: HEADER (collecting 6 bytes) -> BODY (collecting length + 4) ->
 * back to HEADER after a frame is returned or skipped; FAILED after an
 * oversize length, from which only sfj__frame_dec_reset leaves.
 * Invariant: `have` <= `need` <= `cap`. */
typedef struct sfj__frame_dec {
    uint8_t *buf;
    size_t cap;
    size_t have;
    size_t need;
    uint32_t max_body;
    int failed;
} sfj__frame_dec;

/* `buf` must hold SFJ_FRAME_OVERHEAD + max_body bytes. */
void sfj__frame_dec_init(sfj__frame_dec *d, uint8_t *buf, size_t cap,
                         uint32_t max_body);
void sfj__frame_dec_reset(sfj__frame_dec *d);

/* Consume bytes of `in` until one frame completes. `*used` receives the
 * bytes consumed; feed the rest again. Returns 1 with `*out` filled for a
 * good frame, 0 when more input is needed (all consumed), SFJ_ECORRUPT
 * for a frame whose CRC failed (it was skipped; decoding continues), or
 * SFJ_ELIMIT for an oversize length (the stream cannot be resynchronised:
 * the decoder stays failed). */
int sfj__frame_dec_feed(sfj__frame_dec *d, const uint8_t *in, size_t len,
                        size_t *used, sfj__frame *out);

#pragma GCC visibility pop

#endif
