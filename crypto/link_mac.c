/* Keyed BLAKE2b MAC over an acknowledgement; see link_mac.h. */
#include "crypto/link_mac.h"

#include <sodium.h>

#include "common/bytes.h"
#include "crypto/chain.h"
#include "sfj/errors.h"

#define ACK_TAG "sfj-ack-v1"

void sfj__ack_mac(const uint8_t *link_key, const uint8_t *journal_id,
                  uint64_t seq, const uint8_t *chain, uint8_t *out)
{
    crypto_generichash_state st;
    uint8_t seq_be[8];

    sfj__put_u64(seq_be, seq);
    crypto_generichash_init(&st, link_key, 32, SFJ_MAC_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)ACK_TAG,
                              sizeof ACK_TAG - 1);
    crypto_generichash_update(&st, journal_id, 16);
    crypto_generichash_update(&st, seq_be, sizeof seq_be);
    crypto_generichash_update(&st, chain, SFJ_HASH_BYTES);
    crypto_generichash_final(&st, out, SFJ_MAC_BYTES);
}

int sfj__ack_mac_verify(const uint8_t *link_key, const uint8_t *journal_id,
                        uint64_t seq, const uint8_t *chain, const uint8_t *mac)
{
    uint8_t want[SFJ_MAC_BYTES];
    int ok;

    sfj__ack_mac(link_key, journal_id, seq, chain, want);
    ok = sodium_memcmp(want, mac, SFJ_MAC_BYTES) == 0;
    sodium_memzero(want, sizeof want);
    return ok ? SFJ_OK : SFJ_EAUTH;
}
