/* Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b; see noise.h. The functions keep
 * the names of the Noise specification (rev 34, sections 4 and 5). */
#include "sfj/sys/noise.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/tags.h"
#include "sfj/errors.h"

#define BLOCKLEN 128

#ifndef NDEBUG
static int assert_noise_state(const sfj__noise *hs)
{
    return hs->step >= SFJ_NOISE_INIT && hs->step <= SFJ_NOISE_FAILED &&
           (hs->step == SFJ_NOISE_INIT || hs->step == SFJ_NOISE_FAILED ||
            hs->has_k);
}
#endif

static void hash2(const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                  uint8_t out[SFJ_NOISE_HASHLEN])
{
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, SFJ_NOISE_HASHLEN);
    crypto_generichash_update(&st, a, an);
    crypto_generichash_update(&st, b, bn);
    crypto_generichash_final(&st, out, SFJ_NOISE_HASHLEN);
    sodium_memzero(&st, sizeof st);
}

/* HMAC-HASH(key, data) per RFC 2104 with BLAKE2b-512, block 128 bytes;
 * `key` is HASHLEN bytes (Noise only ever keys HMAC with ck or a
 * temp_key). `d2` is a second piece of data appended to `d1`. */
static void hmac(const uint8_t key[SFJ_NOISE_HASHLEN], const uint8_t *d1,
                 size_t n1, const uint8_t *d2, size_t n2,
                 uint8_t out[SFJ_NOISE_HASHLEN])
{
    crypto_generichash_state st;
    uint8_t pad[BLOCKLEN], inner[SFJ_NOISE_HASHLEN];
    size_t i;

    memset(pad, 0x36, sizeof pad);
    for (i = 0; i < SFJ_NOISE_HASHLEN; i++)
        pad[i] ^= key[i];
    crypto_generichash_init(&st, NULL, 0, SFJ_NOISE_HASHLEN);
    crypto_generichash_update(&st, pad, sizeof pad);
    crypto_generichash_update(&st, d1, n1);
    crypto_generichash_update(&st, d2, n2);
    crypto_generichash_final(&st, inner, sizeof inner);
    memset(pad, 0x5c, sizeof pad);
    for (i = 0; i < SFJ_NOISE_HASHLEN; i++)
        pad[i] ^= key[i];
    crypto_generichash_init(&st, NULL, 0, SFJ_NOISE_HASHLEN);
    crypto_generichash_update(&st, pad, sizeof pad);
    crypto_generichash_update(&st, inner, sizeof inner);
    crypto_generichash_final(&st, out, SFJ_NOISE_HASHLEN);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(pad, sizeof pad);
    sodium_memzero(inner, sizeof inner);
}

/* HKDF(chaining_key, input_key_material, num_outputs) with 2 or 3
 * outputs (`o3` NULL for 2). */
static void hkdf(const uint8_t ck[SFJ_NOISE_HASHLEN], const uint8_t *ikm,
                 size_t ikm_len, uint8_t *o1, uint8_t *o2, uint8_t *o3)
{
    uint8_t tk[SFJ_NOISE_HASHLEN], one = 1, two = 2, three = 3;

    hmac(ck, ikm, ikm_len, NULL, 0, tk);
    hmac(tk, &one, 1, NULL, 0, o1);
    hmac(tk, o1, SFJ_NOISE_HASHLEN, &two, 1, o2);
    if (o3 != NULL)
        hmac(tk, o2, SFJ_NOISE_HASHLEN, &three, 1, o3);
    sodium_memzero(tk, sizeof tk);
}

static void nonce_of(uint64_t n, uint8_t out[12])
{
    int i;

    memset(out, 0, 4);
    for (i = 0; i < 8; i++)
        out[4 + i] = (uint8_t)(n >> (8 * i));
}

int sfj__cipher_seal(sfj__cipher *c, const uint8_t *ad, size_t ad_len,
                     const uint8_t *pt, size_t len, uint8_t *ct)
{
    uint8_t npub[12];

    if (c->n == UINT64_MAX)
        return SFJ_ELIMIT;
    nonce_of(c->n, npub);
    crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, len, ad, ad_len,
                                              NULL, npub, c->k);
    sfj__wipe_dead_stack();
    c->n++;
    return SFJ_OK;
}

int sfj__cipher_open(sfj__cipher *c, const uint8_t *ad, size_t ad_len,
                     const uint8_t *ct, size_t len, uint8_t *pt)
{
    uint8_t npub[12];
    int bad;

    if (len < SFJ_NOISE_TAGLEN || c->n == UINT64_MAX)
        return SFJ_EAUTH;
    nonce_of(c->n, npub);
    bad = crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, len, ad,
                                                    ad_len, npub, c->k);
    sfj__wipe_dead_stack();
    if (bad) {
        sodium_memzero(pt, len - SFJ_NOISE_TAGLEN);
        return SFJ_EAUTH;
    }
    c->n++;
    return SFJ_OK;
}

static void mix_hash(sfj__noise *hs, const uint8_t *data, size_t n)
{
    hash2(hs->h, SFJ_NOISE_HASHLEN, data, n, hs->h);
}

static void mix_key(sfj__noise *hs, const uint8_t *ikm, size_t n)
{
    uint8_t tk[SFJ_NOISE_HASHLEN];

    hkdf(hs->ck, ikm, n, hs->ck, tk, NULL);
    memcpy(hs->c.k, tk, SFJ_NOISE_KEYLEN);
    hs->c.n = 0;
    hs->has_k = 1;
    sodium_memzero(tk, sizeof tk);
}

static void mix_key_and_hash(sfj__noise *hs, const uint8_t *ikm, size_t n)
{
    uint8_t th[SFJ_NOISE_HASHLEN], tk[SFJ_NOISE_HASHLEN];

    hkdf(hs->ck, ikm, n, hs->ck, th, tk);
    mix_hash(hs, th, sizeof th);
    memcpy(hs->c.k, tk, SFJ_NOISE_KEYLEN);
    hs->c.n = 0;
    hs->has_k = 1;
    sodium_memzero(th, sizeof th);
    sodium_memzero(tk, sizeof tk);
}

/* EncryptAndHash: `has_k` always holds here (psk0 keys the first
 * message). */
static int encrypt_and_hash(sfj__noise *hs, const uint8_t *pt, size_t n,
                            uint8_t *ct)
{
    int rc = sfj__cipher_seal(&hs->c, hs->h, SFJ_NOISE_HASHLEN, pt, n, ct);

    if (rc == SFJ_OK)
        mix_hash(hs, ct, n + SFJ_NOISE_TAGLEN);
    return rc;
}

static int decrypt_and_hash(sfj__noise *hs, const uint8_t *ct, size_t n,
                            uint8_t *pt)
{
    int rc = sfj__cipher_open(&hs->c, hs->h, SFJ_NOISE_HASHLEN, ct, n, pt);

    if (rc == SFJ_OK)
        mix_hash(hs, ct, n);
    return rc;
}

static __attribute__((noinline)) sfj__noise *
noise_init(sfj__noise *hs, int initiator, const uint8_t *prologue,
           size_t prologue_len, const uint8_t *psk)
{
    static const char name[] = SFJ__NOISE_NAME;

    memset(hs, 0, sizeof *hs);
    hs->initiator = initiator != 0;
    /* InitializeSymmetric: the name fits in HASHLEN, so h = name padded
     * with zeros; ck = h. */
    memcpy(hs->h, name, sizeof name - 1);
    memcpy(hs->ck, hs->h, SFJ_NOISE_HASHLEN);
    mix_hash(hs, prologue, prologue_len);
    memcpy(hs->psk, psk, SFJ_NOISE_PSKLEN);
    randombytes_buf(hs->e_priv, sizeof hs->e_priv);
    hs->step = SFJ_NOISE_INIT;
    return hs;
}

/* The work is done a frame below, so that the wipe after it reaches
 * every frame that held the PSK. */
int sfj__noise_new(sfj__noise **out, int initiator, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t *psk)
{
    sfj__noise *hs = sodium_malloc(sizeof *hs);

    *out = NULL;
    if (hs == NULL)
        return SFJ_ENOMEM;
    *out = noise_init(hs, initiator, prologue, prologue_len, psk);
    sfj__wipe_dead_stack();
    return SFJ_OK;
}

void sfj__noise_free(sfj__noise *hs)
{
    if (hs != NULL)
        sodium_free(hs); /* sodium_free wipes before it unmaps */
}

void sfj__noise_set_ephemeral(sfj__noise *hs, const uint8_t *priv)
{
    memcpy(hs->e_priv, priv, SFJ_NOISE_DHLEN);
}

/* Is it this side's turn to write (`writing`) or to read a message? The
 * initiator writes message 1, the responder message 2. */
static int my_turn(const sfj__noise *hs, int writing)
{
    int initiator_writes = hs->step == SFJ_NOISE_INIT;

    if (hs->step != SFJ_NOISE_INIT && hs->step != SFJ_NOISE_MSG1_DONE)
        return 0;
    return writing ? hs->initiator == initiator_writes
                   : hs->initiator != initiator_writes;
}

int sfj__noise_write(sfj__noise *hs, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t dh[SFJ_NOISE_DHLEN];
    int rc = SFJ_EINVAL, first;

    assert(assert_noise_state(hs));
    *out_len = 0;
    first = hs->step == SFJ_NOISE_INIT;
    if (!my_turn(hs, 1) ||
        len > SFJ_NOISE_MSG_MAX - SFJ_NOISE_DHLEN - SFJ_NOISE_TAGLEN ||
        cap < SFJ_NOISE_DHLEN + len + SFJ_NOISE_TAGLEN)
        goto done;
    if (first)
        mix_key_and_hash(hs, hs->psk, SFJ_NOISE_PSKLEN); /* psk */
    /* e: in a psk handshake, e is also mixed into the key. */
    crypto_scalarmult_base(hs->e_pub, hs->e_priv);
    memcpy(out, hs->e_pub, SFJ_NOISE_DHLEN);
    mix_hash(hs, hs->e_pub, SFJ_NOISE_DHLEN);
    mix_key(hs, hs->e_pub, SFJ_NOISE_DHLEN);
    if (!first) {
        rc =
            crypto_scalarmult(dh, hs->e_priv, hs->re) == 0 ? SFJ_OK : SFJ_EAUTH;
        if (rc != SFJ_OK)
            goto done;
        mix_key(hs, dh, sizeof dh); /* ee */
    }
    rc = encrypt_and_hash(hs, payload, len, out + SFJ_NOISE_DHLEN);
    if (rc != SFJ_OK)
        goto done;
    *out_len = SFJ_NOISE_DHLEN + len + SFJ_NOISE_TAGLEN;
    hs->step = first ? SFJ_NOISE_MSG1_DONE : SFJ_NOISE_DONE;
done:
    sodium_memzero(dh, sizeof dh);
    if (rc != SFJ_OK && rc != SFJ_EINVAL)
        hs->step = SFJ_NOISE_FAILED;
    return rc;
}

int sfj__noise_read(sfj__noise *hs, const uint8_t *msg, size_t len,
                    uint8_t *payload, size_t cap, size_t *payload_len)
{
    uint8_t dh[SFJ_NOISE_DHLEN];
    int rc = SFJ_EAUTH, first;

    assert(assert_noise_state(hs));
    *payload_len = 0;
    first = hs->step == SFJ_NOISE_INIT;
    if (!my_turn(hs, 0) || len < SFJ_NOISE_DHLEN + SFJ_NOISE_TAGLEN ||
        len > SFJ_NOISE_MSG_MAX ||
        cap < len - SFJ_NOISE_DHLEN - SFJ_NOISE_TAGLEN)
        goto done;
    if (first)
        mix_key_and_hash(hs, hs->psk, SFJ_NOISE_PSKLEN); /* psk */
    memcpy(hs->re, msg, SFJ_NOISE_DHLEN);                /* e */
    mix_hash(hs, hs->re, SFJ_NOISE_DHLEN);
    mix_key(hs, hs->re, SFJ_NOISE_DHLEN);
    if (!first) {
        crypto_scalarmult_base(hs->e_pub, hs->e_priv);
        if (crypto_scalarmult(dh, hs->e_priv, hs->re) != 0)
            goto done;
        mix_key(hs, dh, sizeof dh); /* ee */
    }
    rc = decrypt_and_hash(hs, msg + SFJ_NOISE_DHLEN, len - SFJ_NOISE_DHLEN,
                          payload);
    if (rc != SFJ_OK)
        goto done;
    *payload_len = len - SFJ_NOISE_DHLEN - SFJ_NOISE_TAGLEN;
    hs->step = first ? SFJ_NOISE_MSG1_DONE : SFJ_NOISE_DONE;
done:
    sodium_memzero(dh, sizeof dh);
    if (rc != SFJ_OK) {
        hs->step = SFJ_NOISE_FAILED;
        rc = SFJ_EAUTH;
    }
    return rc;
}

static __attribute__((noinline)) void split(sfj__noise *hs, sfj__cipher *send,
                                            sfj__cipher *recv, uint8_t *hash)
{
    uint8_t k1[SFJ_NOISE_HASHLEN], k2[SFJ_NOISE_HASHLEN];

    hkdf(hs->ck, NULL, 0, k1, k2, NULL);
    /* c1 carries initiator -> responder, c2 the other way. */
    memcpy(hs->initiator ? send->k : recv->k, k1, SFJ_NOISE_KEYLEN);
    memcpy(hs->initiator ? recv->k : send->k, k2, SFJ_NOISE_KEYLEN);
    send->n = recv->n = 0;
    if (hash != NULL)
        memcpy(hash, hs->h, SFJ_NOISE_HASHLEN);
    sodium_memzero(k1, sizeof k1);
    sodium_memzero(k2, sizeof k2);
}

/* As sfj__noise_new: the keys are made a frame below the wipe. */
int sfj__noise_split(sfj__noise *hs, sfj__cipher *send, sfj__cipher *recv,
                     uint8_t *hash)
{
    if (hs->step != SFJ_NOISE_DONE)
        return SFJ_EINVAL;
    split(hs, send, recv, hash);
    sfj__wipe_dead_stack();
    return SFJ_OK;
}
