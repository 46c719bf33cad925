/* A link session of wire protocol version 2 (docs/PROTOCOL.md): the
 * Noise NNpsk0 handshake keyed with a terminal's link key, bound to its
 * journal id, and the two transport cipher states it yields.
 *
 * States: EMPTY (zeroed or after sfj__lsess_end) -> sfj__lsess_start ->
 * HANDSHAKE (`hs` set) -> the second handshake message written (responder)
 * or read (initiator) -> READY (`cs` set, `hs` freed). A failed handshake
 * message ends the session (EMPTY). Invariant: at most one of `hs` and
 * `cs` is set; both live in sodium_malloc'd memory, wiped when freed
 * (`cs` in a block shared with other sessions' pairs). */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_LINK_SESSION_H
#define SFJ_SYS_LINK_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_LINK_VERSION 2
/* Prologue: "sfj-link-v2" (crypto/tags.h), u16be version 2, then the
 * 16-byte journal id. */
/* Bytes a handshake message adds to its payload: e and the tag. */
#define SFJ_LINK_HS_OVERHEAD (SFJ_NOISE_DHLEN + SFJ_NOISE_TAGLEN)

typedef struct sfj__lsess {
    sfj__noise *hs;
    sfj__cipher *cs;                 /* [0] send, [1] receive */
    uint8_t hash[SFJ_NOISE_HASHLEN]; /* handshake hash once READY */
} sfj__lsess;

/* Start a handshake as initiator (terminal) or responder (upstream) for
 * `journal_id` with `link_key` as the psk. Ends what `s` held. 0 or
 * SFJ_ENOMEM. */
int sfj__lsess_start(sfj__lsess *s, int initiator, const uint8_t *journal_id,
                     const uint8_t *link_key);
/* The next handshake message (see sfj__noise_write); the session becomes
 * READY after the responder wrote message 2. 0, SFJ_EINVAL, SFJ_EAUTH,
 * SFJ_ENOMEM. */
int sfj__lsess_write(sfj__lsess *s, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len);
/* Read the peer's handshake message; READY after the initiator read
 * message 2. 0 or SFJ_EAUTH (the session is then ended). */
int sfj__lsess_read(sfj__lsess *s, const uint8_t *msg, size_t len,
                    uint8_t *payload, size_t cap, size_t *payload_len);
int sfj__lsess_ready(const sfj__lsess *s);
sfj__cipher *sfj__lsess_tx(sfj__lsess *s);
sfj__cipher *sfj__lsess_rx(sfj__lsess *s);
/* Hand the session over from `src` to `dst` (whose own is ended); `src`
 * is left EMPTY. */
void sfj__lsess_move(sfj__lsess *dst, sfj__lsess *src);
/* Wipe and free; the session is EMPTY afterwards. */
void sfj__lsess_end(sfj__lsess *s);

#pragma GCC visibility pop

#endif
