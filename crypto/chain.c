/* BLAKE2b-256 hash chain; see sfj/sys/chain.h for the construction. */
#include "sfj/sys/chain.h"

#include <sodium.h>
#include <string.h>

#include "crypto/tags.h"

void sfj__chain_genesis(const uint8_t *journal_id, uint8_t *out)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, SFJ_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)SFJ__TAG_CHAIN,
                              sizeof SFJ__TAG_CHAIN - 1);
    crypto_generichash_update(&st, journal_id, 16);
    crypto_generichash_final(&st, out, SFJ_HASH_BYTES);
}

void sfj__chain_leaf(const uint8_t *record, size_t len, uint8_t *out)
{
    crypto_generichash(out, SFJ_HASH_BYTES, record, len, NULL, 0);
}

void sfj__chain_next(const uint8_t *prev, const uint8_t *leaf, uint8_t *out)
{
    uint8_t both[2 * SFJ_HASH_BYTES];

    memcpy(both, prev, SFJ_HASH_BYTES);
    memcpy(both + SFJ_HASH_BYTES, leaf, SFJ_HASH_BYTES);
    crypto_generichash(out, SFJ_HASH_BYTES, both, sizeof both, NULL, 0);
}
