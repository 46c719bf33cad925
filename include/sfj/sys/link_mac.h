/* Authentication on the link: acknowledgements and HELLO.
 *
 * ACK mac = BLAKE2b-256 keyed with the link key over
 *   "sfj-ack-v1" || journal_id || u64be seq || chain hash h(seq)
 * so a forged or replayed-for-another-journal ack never moves the
 * terminal's watermark. The tags are in crypto/tags.h. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_LINK_MAC_H
#define SFJ_SYS_LINK_MAC_H

#include <stddef.h>
#include <stdint.h>

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_MAC_BYTES 32

void sfj__ack_mac(const uint8_t *link_key, const uint8_t *journal_id,
                  uint64_t seq, const uint8_t *chain, uint8_t *out);

/* 0 when `mac` is right, SFJ_EAUTH otherwise (constant time). */
int sfj__ack_mac_verify(const uint8_t *link_key, const uint8_t *journal_id,
                        uint64_t seq, const uint8_t *chain, const uint8_t *mac);

/* HELLO MAC: keyed BLAKE2b-256 over "sfj-hello-v1" || the body before the
 * MAC. `body`/`n` is a whole encoded HELLO body. sign fills the MAC field
 * in place; verify returns 0 or SFJ_EAUTH (constant time). */
void sfj__hello_sign(const uint8_t *link_key, uint8_t *body, size_t n);
int sfj__hello_verify(const uint8_t *link_key, const uint8_t *body, size_t n);

#pragma GCC visibility pop

#endif
