/* Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b (Noise Protocol Framework rev 34)
 * on libsodium: the handshake of the link, wire protocol version 2.
 *
 *   NNpsk0:
 *     -> psk, e
 *     <- e, ee
 *
 * States (sfj__noise.step): INIT (after sfj__noise_init) -> the initiator
 * writes message 1 / the responder reads it -> MSG1_DONE -> the responder
 * writes message 2 / the initiator reads it -> DONE, after which
 * sfj__noise_split gives the two transport cipher states. Any failure
 * leaves FAILED, from which nothing moves. Every secret (ck, k, the
 * ephemeral private key, the psk) lives in this struct, which callers
 * allocate with sodium_malloc through sfj__noise_new and release with
 * sfj__noise_free (wiped).
 *
 * Invariant: `has_k` is set only after MixKeyAndHash(psk), so every
 * payload of this pattern is encrypted; the message order is enforced by
 * `step` and `initiator`. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_NOISE_H
#define SFJ_SYS_NOISE_H

#include <stddef.h>
#include <stdint.h>

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_NOISE_HASHLEN 64
#define SFJ_NOISE_KEYLEN  32
#define SFJ_NOISE_DHLEN   32
#define SFJ_NOISE_TAGLEN  16
#define SFJ_NOISE_PSKLEN  32
/* Noise's limit on any one message. */
#define SFJ_NOISE_MSG_MAX 65535

/* One direction of a transport: key and 64-bit counter (Noise
 * CipherState). `n` == UINT64_MAX means exhausted. */
typedef struct sfj__cipher {
    uint8_t k[SFJ_NOISE_KEYLEN];
    uint64_t n;
} sfj__cipher;

typedef struct sfj__noise {
    int initiator;
    int step;
    int has_k;
    uint8_t ck[SFJ_NOISE_HASHLEN];
    uint8_t h[SFJ_NOISE_HASHLEN];
    sfj__cipher c;
    uint8_t psk[SFJ_NOISE_PSKLEN];
    uint8_t e_priv[SFJ_NOISE_DHLEN];
    uint8_t e_pub[SFJ_NOISE_DHLEN];
    uint8_t re[SFJ_NOISE_DHLEN];
} sfj__noise;

#define SFJ_NOISE_INIT      0
#define SFJ_NOISE_MSG1_DONE 1
#define SFJ_NOISE_DONE      2
#define SFJ_NOISE_FAILED    3

/* Allocate (sodium_malloc) and initialise a handshake: `prologue` is
 * mixed into the transcript, `psk` is the 32-byte pre-shared key. 0 or
 * SFJ_ENOMEM. */
int sfj__noise_new(sfj__noise **out, int initiator, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t *psk);
/* Wipe and free; NULL is fine. */
void sfj__noise_free(sfj__noise *hs);

/* For known-answer tests only: use this ephemeral private key instead of
 * a random one for the next message this side writes. */
void sfj__noise_set_ephemeral(sfj__noise *hs, const uint8_t *priv);

/* Write this side's next handshake message carrying `payload` into `out`
 * (capacity `cap`); `*out_len` gets its length (32 + payload + 16). 0,
 * SFJ_EINVAL (wrong turn, too large) or SFJ_EAUTH. */
int sfj__noise_write(sfj__noise *hs, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len);

/* Read the peer's next handshake message; the payload is written to
 * `payload` (capacity `cap`, which must hold len - 48 bytes) and its
 * length to `*payload_len`. 0 or SFJ_EAUTH (any failure: wrong key,
 * tampered, wrong turn, short); the state is then FAILED. */
int sfj__noise_read(sfj__noise *hs, const uint8_t *msg, size_t len,
                    uint8_t *payload, size_t cap, size_t *payload_len);

/* After DONE: the handshake hash (64 bytes) and the two cipher states,
 * `send` and `recv` from this side's point of view. 0 or SFJ_EINVAL. */
int sfj__noise_split(sfj__noise *hs, sfj__cipher *send, sfj__cipher *recv,
                     uint8_t *hash);

/* Transport: seal `len` bytes of `pt` with associated data `ad` into
 * `ct` (len + 16 bytes) with nonce c->n, then n++. 0, or SFJ_ELIMIT when
 * the counter is exhausted. */
int sfj__cipher_seal(sfj__cipher *c, const uint8_t *ad, size_t ad_len,
                     const uint8_t *pt, size_t len, uint8_t *ct);
/* Open `ct` (`len` >= 16) into `pt` (len - 16 bytes) with nonce c->n; n++
 * only on success. 0 or SFJ_EAUTH (pt is zeroed). */
int sfj__cipher_open(sfj__cipher *c, const uint8_t *ad, size_t ad_len,
                     const uint8_t *ct, size_t len, uint8_t *pt);

#pragma GCC visibility pop

#endif
