/* Key set internals: the master key and the subkeys derived from it.
 *
 * Every subkey is derived once at load time with crypto_kdf_derive_from_key
 * and an 8-byte context naming its purpose, so that handing out one subkey
 * (e.g. the link key to sfj-host) discloses nothing else. The whole struct
 * lives in one sodium_malloc region, read-only after derivation, and is
 * wiped by sodium_free. */
#ifndef SFJ_CRYPTO_KEYS_H
#define SFJ_CRYPTO_KEYS_H

#include <sodium.h>
#include <stdint.h>

#include "crypto/tags.h"
#include "sfj/keys.h"

/* A key set is a ring: the head is the key new records are sealed and
 * signed under, `next` the keys of other epochs (each its own
 * sodium_malloc region), kept for reading what they sealed. `epoch` is 0
 * until a journal binds the key to the epoch whose public key it has
 * (open.c); an unbound key is tried on records of any epoch. */
struct sfj_keys {
    uint8_t master[SFJ_KEY_BYTES];
    uint8_t txnidx[SFJ_KEY_BYTES];
    uint8_t link[SFJ_KEY_BYTES];
    uint8_t check[SFJ_KEY_BYTES];
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
    uint32_t epoch;
    struct sfj_keys *next;
};

/* A deep copy of the ring `src` (every key, its epoch binding included),
 * writable until the caller seals it with sfj__keys_seal. With `head_only`
 * only the head is copied. */
int sfj__keys_copy(const sfj_keys *src, int head_only, sfj_keys **out);

/* Make every key of the ring read-only again after sfj__keys_copy or a
 * change of its bindings. */
void sfj__keys_seal(sfj_keys *ring);

/* Make every key of the ring writable (to bind epochs or relink). */
void sfj__keys_unseal(sfj_keys *ring);

/* Derive the key for one epoch into `out` (SFJ_KEY_BYTES). */
void sfj__epoch_key(const sfj_keys *keys, uint32_t epoch, uint8_t *out);

/* Derive the key of the record at `seq` from its epoch key. */
void sfj__record_key(const uint8_t *epoch_key, uint64_t seq, uint8_t *out);

/* Derive the key of the amount boxes in the txns index into `out`
 * (crypto_aead_xchacha20poly1305_ietf_KEYBYTES). */
void sfj__amount_key(const sfj_keys *keys, uint8_t *out);

/* The key check value of a journal: a MAC of its id under the check key.
 * It lets open tell a wrong key (SFJ_EAUTH) from a damaged record. */
void sfj__key_check(const sfj_keys *keys, const uint8_t *journal_id,
                    uint8_t *out);

/* Zero SFJ__DEAD_STACK_BYTES of the stack below the caller's frame, where
 * the frames of a call it just made lay, and the registers that held what
 * they computed (sfj__clear_registers, crypto/registers.h): libsodium
 * leaves key material there (BLAKE2b's state after a key derivation, a
 * decrypted record's last block, a link frame's key), and a core dump
 * holds every thread's stack and registers.
 * Called after each key derivation, each record decrypted, and each use
 * of the link's PSK or session keys (noise.c). */
#define SFJ__DEAD_STACK_BYTES 4096
void sfj__wipe_dead_stack(void);

/* sodium_init, called until it has once succeeded and never after:
 * libsodium takes a process-wide mutex on every sodium_init call, and a
 * fork while another thread holds it would hang the child's next call.
 * Returns sodium_init's result (< 0: failed). Thread-safe. */
int sfj__sodium_init(void);

#endif
