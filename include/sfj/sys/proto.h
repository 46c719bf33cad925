/* Message bodies of the sfj link (docs/PROTOCOL.md section 3): encoders
 * write a body into a caller buffer, decoders check lengths and point into
 * the frame. Pure, allocation-free. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_PROTO_H
#define SFJ_SYS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../journal.h"
#include "chain.h"
#include "frame.h"
#include "link_mac.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_PROTO_VERSION    1
#define SFJ_HELLO_NONCE      16
#define SFJ_PROTO_TEXT_MAX   255
#define SFJ_PROTO_WINDOW_MAX 1024

/* HELLO_ACK status. */
#define SFJ_HELLO_OK               0
#define SFJ_HELLO_UNKNOWN_TERMINAL 1
#define SFJ_HELLO_BAD_AUTH         2
#define SFJ_HELLO_VERSION          3
#define SFJ_HELLO_BUSY             4
#define SFJ_HELLO_DIVERGED         5
#define SFJ_HELLO_INVALID          6 /* resume point not sane */

/* NAK reasons. */
#define SFJ_NAK_BAD_FRAME    1
#define SFJ_NAK_OUT_OF_ORDER 2
#define SFJ_NAK_BUSY         3
#define SFJ_NAK_REFUSED      4
#define SFJ_NAK_UNSUPPORTED  5

typedef struct sfj__hello {
    uint16_t version;
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    char terminal_id[SFJ_TERMINAL_ID_MAX + 1];
    uint64_t first_unacked;
    uint64_t last_seq;
    uint8_t nonce[SFJ_HELLO_NONCE];
    uint8_t mac[SFJ_MAC_BYTES];
} sfj__hello;

typedef struct sfj__hello_ack {
    uint16_t version;
    uint8_t status;
    uint16_t window;
    uint64_t next_seq;
    uint8_t chain[SFJ_HASH_BYTES];
    uint8_t mac[SFJ_MAC_BYTES];
    char text[SFJ_PROTO_TEXT_MAX + 1];
} sfj__hello_ack;

typedef struct sfj__ack {
    uint64_t seq;
    uint8_t chain[SFJ_HASH_BYTES];
    uint8_t mac[SFJ_MAC_BYTES];
} sfj__ack;

typedef struct sfj__nak {
    uint64_t seq;
    uint8_t reason;
    char text[SFJ_PROTO_TEXT_MAX + 1];
} sfj__nak;

/* Largest HELLO and HELLO_ACK bodies. */
#define SFJ_HELLO_MAX_BODY                                                     \
    (2 + SFJ_JOURNAL_ID_BYTES + 1 + SFJ_TERMINAL_ID_MAX + 8 + 8 +              \
     SFJ_HELLO_NONCE + SFJ_MAC_BYTES)
#define SFJ_HELLO_ACK_MAX_BODY                                                 \
    (2 + 1 + 2 + 8 + SFJ_HASH_BYTES + SFJ_MAC_BYTES + 1 + SFJ_PROTO_TEXT_MAX)
#define SFJ_ACK_BODY     (8 + SFJ_HASH_BYTES + SFJ_MAC_BYTES)
#define SFJ_NAK_MAX_BODY (8 + 1 + 1 + SFJ_PROTO_TEXT_MAX)
#define SFJ_PING_BODY    8

/* ENTRY body: u64be seq || the sealed record. */
#define SFJ_ENTRY_HEAD_BYTES 8
void sfj__entry_head_encode(uint64_t seq, uint8_t *out);
uint64_t sfj__entry_head_seq(const uint8_t *body);

/* Each encoder writes into `out` (at least the matching _MAX_BODY bytes)
 * and returns the body length. */
size_t sfj__hello_encode(const sfj__hello *m, uint8_t *out);
size_t sfj__hello_ack_encode(const sfj__hello_ack *m, uint8_t *out);
size_t sfj__ack_encode(const sfj__ack *m, uint8_t *out);
size_t sfj__nak_encode(const sfj__nak *m, uint8_t *out);

/* Each decoder returns 0, or SFJ_EPROTO for a malformed body. */
int sfj__hello_decode(const uint8_t *b, size_t n, sfj__hello *m);
int sfj__hello_ack_decode(const uint8_t *b, size_t n, sfj__hello_ack *m);
int sfj__ack_decode(const uint8_t *b, size_t n, sfj__ack *m);
int sfj__nak_decode(const uint8_t *b, size_t n, sfj__nak *m);

#pragma GCC visibility pop

#endif
