/* The hash chain over sealed records.
 *
 *   h(0)   = BLAKE2b-256("sfj-chain-v1" || journal_id)
 *   leaf   = BLAKE2b-256(sealed record)      (clear header || ciphertext)
 *   h(seq) = BLAKE2b-256(h(seq-1) || leaf(seq))
 *
 * Hashing the record into a leaf first lets an evidence bundle link a
 * disclosed record to a checkpoint with only the leaves of the records in
 * between. The chain covers ciphertext, so it verifies without any key. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_CHAIN_H
#define SFJ_SYS_CHAIN_H

#include <stddef.h>
#include <stdint.h>

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_HASH_BYTES 32

void sfj__chain_genesis(const uint8_t *journal_id, uint8_t *out);
void sfj__chain_leaf(const uint8_t *record, size_t len, uint8_t *out);
void sfj__chain_next(const uint8_t *prev, const uint8_t *leaf, uint8_t *out);

#pragma GCC visibility pop

#endif
