/* The sealed constructions of sfj (docs/FORMAT.md is normative):
 *
 *   record body   XChaCha20-Poly1305 under a record key, the nonce taken
 *                 from the clear header, associated data
 *                 journal_id || clear header
 *   checkpoint    Ed25519 over "sfj-ckpt-v1" || journal_id ||
 *                 clear header || u32be boot
 *   amount box    XChaCha20-Poly1305 under the amount key with a random
 *                 nonce, associated data chosen by the caller (the index
 *                 key), laid out nonce || ciphertext || tag
 *
 * The clear header arrives as bytes: its layout belongs to the format
 * layer (journal/format/record.h), the constructions belong here. Keys
 * come from keys.h; every key copy made here is wiped before return. */
#ifndef SFJ_CRYPTO_SEAL_H
#define SFJ_CRYPTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"

#define SFJ__SEAL_NONCE_BYTES 24
#define SFJ__SEAL_TAG_BYTES   16
#define SFJ__SEAL_SIG_BYTES   64
/* Longest clear header the record and checkpoint constructions take. */
#define SFJ__SEAL_HDR_MAX 96

/* Amount box size for `pt_len` bytes of plaintext. */
#define SFJ__AMOUNT_BOX_BYTES(pt_len)                                          \
    (SFJ__SEAL_NONCE_BYTES + (pt_len) + SFJ__SEAL_TAG_BYTES)

/* Encrypt a record body: `ct` receives pt_len + SFJ__SEAL_TAG_BYTES. */
void sfj__aead_record_seal(const uint8_t *journal_id, const uint8_t *record_key,
                           const uint8_t *hdr, size_t hdr_len,
                           const uint8_t *nonce, const uint8_t *pt,
                           size_t pt_len, uint8_t *ct);

/* Check and decrypt a record body into `pt` (capacity ct_len - tag).
 * SFJ_EAUTH when the tag does not verify; `pt` is zeroed then. */
int sfj__aead_record_open(const uint8_t *journal_id, const uint8_t *record_key,
                          const uint8_t *hdr, size_t hdr_len,
                          const uint8_t *nonce, const uint8_t *ct,
                          size_t ct_len, uint8_t *pt, size_t *pt_len);

/* Sign / verify a checkpoint. verify returns 0 or SFJ_EAUTH. */
void sfj__ckpt_sign(const uint8_t *journal_id, const uint8_t *hdr,
                    size_t hdr_len, const uint8_t *boot_be,
                    const uint8_t *sign_sk, uint8_t *sig);
int sfj__ckpt_verify(const uint8_t *journal_id, const uint8_t *hdr,
                     size_t hdr_len, const uint8_t *boot_be, const uint8_t *sig,
                     const uint8_t *pk);

/* Sign / verify a prune anchor: the signing key vouches that every entry
 * up to `seq` was pruned on purpose and that h(seq) is `hash`. Message:
 * SFJ__TAG_PRUNE | journal_id | u64be seq | hash. verify returns 0 or
 * SFJ_EAUTH. */
void sfj__prune_sign(const uint8_t *journal_id, uint64_t seq,
                     const uint8_t *hash, const uint8_t *sign_sk, uint8_t *sig);
int sfj__prune_verify(const uint8_t *journal_id, uint64_t seq,
                      const uint8_t *hash, const uint8_t *sig,
                      const uint8_t *pk);

/* Sign / verify a key rotation record with the signing key of the epoch
 * it closes. Message: SFJ__TAG_ROTATE | journal_id | clear header |
 * body (u32be new epoch | new public key), `body` being
 * SFJ__ROTATE_BODY_BYTES. verify returns 0 or SFJ_EAUTH. */
#define SFJ__ROTATE_BODY_BYTES (4 + 32)
void sfj__rotate_sign(const uint8_t *journal_id, const uint8_t *hdr,
                      size_t hdr_len, const uint8_t *body,
                      const uint8_t *sign_sk, uint8_t *sig);
int sfj__rotate_verify(const uint8_t *journal_id, const uint8_t *hdr,
                       size_t hdr_len, const uint8_t *body, const uint8_t *sig,
                       const uint8_t *pk);

/* Seal `pt` into `box` (SFJ__AMOUNT_BOX_BYTES(pt_len) bytes), bound to
 * `ad`. */
void sfj__amount_seal(const sfj_keys *keys, const uint8_t *ad, size_t ad_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *box);

/* Open a box of SFJ__AMOUNT_BOX_BYTES(pt_len) bytes into `pt`: 0, or
 * SFJ_EAUTH (then `pt` holds nothing of the box). */
int sfj__amount_open(const sfj_keys *keys, const uint8_t *ad, size_t ad_len,
                     const uint8_t *box, uint8_t *pt, size_t pt_len);

#endif
