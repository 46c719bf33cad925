/* COBS (Consistent Overhead Byte Stuffing) for serial links: frames are
 * encoded without 0x00 bytes and delimited by 0x00 (docs/PROTOCOL.md 2.2).
 * Pure and allocation-free. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_COBS_H
#define SFJ_SYS_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

/* Largest encoding of `n` bytes (without delimiters). */
#define SFJ_COBS_MAX(n) ((n) + (n) / 254 + 1)

/* Encode `len` bytes of `in` into `out` (capacity `cap`, must not overlap
 * `in`). Returns the encoded size, or 0 when `cap` is too small. */
size_t sfj__cobs_encode(const uint8_t *in, size_t len, uint8_t *out,
                        size_t cap);

/* Decode one packet (without delimiters). Returns 0 and `*out_len`, or
 * SFJ_EPROTO for a 0x00 byte or a truncated block, SFJ_EBUFS when `cap` is
 * too small. */
int sfj__cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                     size_t *out_len);

/* Incremental decoder for a 0x00-delimited byte stream.
 *
 * States: IDLE (no bytes since the last delimiter), IN_BLOCK (`left` data
 * bytes of the current block to come), BLOCK_END (`left` == 0, waiting for
 * the next code byte or a delimiter), DISCARD (packet overflowed or was
 * malformed: bytes are dropped until the next delimiter).
 * Invariant: `len` <= `cap`. */
typedef struct sfj__cobs_dec {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t raw; /* encoded bytes seen in this packet */
    uint8_t code;
    uint8_t left;
    int discard; /* 0, or the error to report at the delimiter */
} sfj__cobs_dec;

void sfj__cobs_dec_init(sfj__cobs_dec *d, uint8_t *buf, size_t cap);

/* Consume bytes of `in` until a packet ends. `*used` receives the bytes
 * consumed. Returns 1 with `*pkt`/`*pkt_len` (pointing into the decoder's
 * buffer, valid until the next call) for a packet, 0 when more input is
 * needed, SFJ_ELIMIT for a packet larger than the buffer or SFJ_EPROTO for
 * a malformed one (both dropped; decoding goes on after the delimiter).
 * Empty packets (two delimiters in a row) are skipped. */
int sfj__cobs_dec_feed(sfj__cobs_dec *d, const uint8_t *in, size_t len,
                       size_t *used, const uint8_t **pkt, size_t *pkt_len);

#pragma GCC visibility pop

#endif
