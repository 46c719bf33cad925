/* Keyed BLAKE2b MACs of the link: acknowledgements and HELLO; see
 * sfj/sys/link_mac.h. */
#include "sfj/sys/link_mac.h"

#include <sodium.h>

#include "common/bytes.h"
#include "crypto/tags.h"
#include "sfj/errors.h"
#include "sfj/keys.h"
#include "sfj/sys/chain.h"

void sfj__ack_mac(const uint8_t *link_key, const uint8_t *journal_id,
                  uint64_t seq, const uint8_t *chain, uint8_t *out)
{
    crypto_generichash_state st;
    uint8_t seq_be[8];

    sfj__put_u64(seq_be, seq);
    crypto_generichash_init(&st, link_key, 32, SFJ_MAC_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)SFJ__TAG_ACK,
                              sizeof SFJ__TAG_ACK - 1);
    crypto_generichash_update(&st, journal_id, 16);
    crypto_generichash_update(&st, seq_be, sizeof seq_be);
    crypto_generichash_update(&st, chain, SFJ_HASH_BYTES);
    crypto_generichash_final(&st, out, SFJ_MAC_BYTES);
    sodium_memzero(&st, sizeof st);
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

static void hello_mac(const uint8_t *link_key, const uint8_t *body, size_t n,
                      uint8_t *out)
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, link_key, SFJ_KEY_BYTES, SFJ_MAC_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)SFJ__TAG_HELLO,
                              sizeof SFJ__TAG_HELLO - 1);
    crypto_generichash_update(&st, body, n - SFJ_MAC_BYTES);
    crypto_generichash_final(&st, out, SFJ_MAC_BYTES);
    sodium_memzero(&st, sizeof st);
}

void sfj__hello_sign(const uint8_t *link_key, uint8_t *body, size_t n)
{
    if (n >= SFJ_MAC_BYTES)
        hello_mac(link_key, body, n, body + n - SFJ_MAC_BYTES);
}

int sfj__hello_verify(const uint8_t *link_key, const uint8_t *body, size_t n)
{
    uint8_t want[SFJ_MAC_BYTES];
    int rc = SFJ_EAUTH;

    if (n < SFJ_MAC_BYTES)
        goto done;
    hello_mac(link_key, body, n, want);
    if (sodium_memcmp(want, body + n - SFJ_MAC_BYTES, SFJ_MAC_BYTES) == 0)
        rc = SFJ_OK;
done:
    sodium_memzero(want, sizeof want);
    return rc;
}
