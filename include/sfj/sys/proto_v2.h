/* Messages of wire protocol version 2 (docs/PROTOCOL.md sections 3 and
 * 4): the two handshake frames and the sealed frame that carries every
 * later message. Pure and allocation-free, like proto.h. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_PROTO_V2_H
#define SFJ_SYS_PROTO_V2_H

#include <stddef.h>
#include <stdint.h>

#include "../forwarder.h"
#include "link_session.h"
#include "proto.h"
#include "wire.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_PROTO_V2 2

/* Every message after the handshake travels in a SEALED frame. */
#define SFJ_MSG_SEALED 0x08
/* A sealed frame's body: AEAD(inner body || inner type) with the tag. */
#define SFJ_SEAL_OVERHEAD   (1 + SFJ_NOISE_TAGLEN)
#define SFJ_SEALED_MAX_BODY (SFJ_FRAME_MAX_BODY - SFJ_SEAL_OVERHEAD)

/* HELLO (v2) frame body: u16 version | journal_id | Noise message 1. */
#define SFJ_HELLO2_HDR (2 + SFJ_JOURNAL_ID_BYTES)
/* Message 1's payload: u8 tid_len | terminal_id | u64 first_unacked |
 * u64 last_seq. */
#define SFJ_HELLO2_PAYLOAD_MAX (1 + SFJ_TERMINAL_ID_MAX + 8 + 8)
/* HELLO_ACK (v2) frame body: u16 version | u8 outer status | then, for
 * outer status 0, Noise message 2; otherwise u8 text_len | text. */
#define SFJ_HELLO_ACK2_HDR 3
/* Message 2's payload: u8 status | u16 window | u64 next_seq | chain |
 * u8 text_len | text. */
#define SFJ_HELLO_ACK2_PAYLOAD_MAX (1 + 2 + 8 + SFJ_HASH_BYTES + 1 + 255)
/* ACK (v2, inside a sealed frame): u64 seq | chain. */
#define SFJ_ACK2_BODY (8 + SFJ_HASH_BYTES)

/* The resume point a HELLO offers is sane: 1 <= first_unacked <=
 * last_seq + 1 and last_seq below 2^62. */
#define SFJ_HELLO_SEQ_MAX (UINT64_C(1) << 62)

typedef struct sfj__hello2 {
    char terminal_id[SFJ_TERMINAL_ID_MAX + 1];
    uint64_t first_unacked;
    uint64_t last_seq;
} sfj__hello2;

/* The version field of a HELLO or HELLO_ACK body, -1 when too short. */
int sfj__proto_version(const uint8_t *body, size_t n);

size_t sfj__hello2_payload_encode(const sfj__hello2 *m, uint8_t *out);
/* 0 or SFJ_EPROTO (malformed, or a resume point that is not sane). */
int sfj__hello2_payload_decode(const uint8_t *b, size_t n, sfj__hello2 *m);

/* `m->mac` is unused in version 2. */
size_t sfj__hello_ack2_payload_encode(const sfj__hello_ack *m, uint8_t *out);
int sfj__hello_ack2_payload_decode(const uint8_t *b, size_t n,
                                   sfj__hello_ack *m);

/* The fixed part of a HELLO (version, journal id) into `out`
 * (SFJ_HELLO2_HDR bytes). */
void sfj__hello2_head_encode(const uint8_t *journal_id, uint8_t *out);
/* The fixed part of a HELLO_ACK that carries Noise message 2
 * (SFJ_HELLO_ACK2_HDR bytes). */
void sfj__hello_ack2_head_encode(uint8_t *out);
/* A whole HELLO_ACK refusal in clear; returns its length (at most
 * SFJ_HELLO_ACK2_HDR + 1 + SFJ_PROTO_TEXT_MAX). */
size_t sfj__hello_ack2_clear_encode(uint8_t status, const char *text,
                                    uint8_t *out);

size_t sfj__ack2_encode(uint64_t seq, const uint8_t *chain, uint8_t *out);
int sfj__ack2_decode(const uint8_t *b, size_t n, sfj__ack *m);

/* Seal the message of `type` whose body (`len` <= SFJ_SEALED_MAX_BODY
 * bytes) was written at sfj__wire_body(w), in place, under `c`, and send
 * it as one SEALED frame. The frame header is the associated data. */
int sfj__wire_send_sealed(sfj__wire *w, sfj_transport *t, sfj__cipher *c,
                          uint8_t type, size_t len, int timeout_ms);

/* Open a SEALED frame under `c` into `out` (fr->len bytes; may be the
 * frame's own body, which then is decrypted in place). `*type` and `*len`
 * get the inner message. 0 or SFJ_EAUTH (not a SEALED frame, short, bad
 * tag, a counter other than the next one: nothing was accepted). */
int sfj__wire_open_sealed(sfj__cipher *c, const sfj__frame *fr, uint8_t *out,
                          uint8_t *type, size_t *len);

/* Make forwarder `f` speak wire protocol version 1 instead of 2. Only for
 * the benchmark that compares the two and for tests that show an attack
 * on version 1; nothing a peer sends can select it. Call before
 * sfj_forwarder_start. */
void sfj__forwarder_use_v1(sfj_forwarder *f);

#pragma GCC visibility pop

#endif
