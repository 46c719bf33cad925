/* Sealed record layout (docs/FORMAT.md is the normative copy).
 *
 *   u8 format | u8 flags | u16 kind | u32 epoch | u64 seq | i64 wall_ms |
 *   u8[32] prev_chain | u8[24] nonce | body
 *
 * All integers big-endian; the header is 80 bytes. For every kind but
 * CHECKPOINT the body is XChaCha20-Poly1305 ciphertext + 16-byte tag under
 * record_key = KDF(epoch_key, seq), with associated data journal_id ||
 * header. A CHECKPOINT body is clear: u32 boot || Ed25519 signature. */
#ifndef SFJ_JOURNAL_RECORD_H
#define SFJ_JOURNAL_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/keys.h"

#define SFJ_REC_FORMAT          1
#define SFJ_REC_HDR_BYTES       80
#define SFJ_REC_NONCE_BYTES     24
#define SFJ_REC_TAG_BYTES       16
#define SFJ_REC_CKPT_BODY_BYTES (4 + 64)
/* Largest sealed record: header + encoded event + tag, with slack for an
 * incompressible payload. */
#define SFJ_REC_MAX_BYTES (SFJ_REC_HDR_BYTES + 65536 + 512 + SFJ_REC_TAG_BYTES)

/* Byte offsets of the clear header's fields, and of a checkpoint's clear
 * body (u32 boot, then the signature). */
#define SFJ_REC_OFF_FORMAT 0
#define SFJ_REC_OFF_FLAGS  1
#define SFJ_REC_OFF_KIND   2
#define SFJ_REC_OFF_EPOCH  4
#define SFJ_REC_OFF_SEQ    8
#define SFJ_REC_OFF_WALL   16
#define SFJ_REC_OFF_PREV   24
#define SFJ_REC_OFF_NONCE  56
#define SFJ_REC_OFF_BOOT   SFJ_REC_HDR_BYTES
#define SFJ_REC_OFF_SIG    (SFJ_REC_HDR_BYTES + 4)
/* A key rotation record's clear body: u32 new epoch, the new public key,
 * then the old key's signature. */
#define SFJ_REC_ROT_BODY_BYTES (4 + 32 + 64)
#define SFJ_REC_OFF_ROT_EPOCH  SFJ_REC_HDR_BYTES
#define SFJ_REC_OFF_ROT_PK     (SFJ_REC_HDR_BYTES + 4)
#define SFJ_REC_OFF_ROT_SIG    (SFJ_REC_HDR_BYTES + 4 + 32)

#define SFJ_REC_F_DEFLATE 0x01 /* plaintext raw-deflated, dictionary v1 */
#define SFJ_REC_F_CLEAR   0x02 /* body is clear (checkpoints only) */
#define SFJ_REC_F_DICT2   0x04 /* with DEFLATE: dictionary v2, not v1 */
#define SFJ_REC_F_DICTJ   0x08 /* with DEFLATE: the journal's dictionary */
#define SFJ_REC_F_KNOWN                                                        \
    (SFJ_REC_F_DEFLATE | SFJ_REC_F_CLEAR | SFJ_REC_F_DICT2 | SFJ_REC_F_DICTJ)

/* Associated data of a record made with the journal's dictionary: the
 * clear header, then the dictionary's id. */
#define SFJ_REC_AD_HDR_MAX (SFJ_REC_HDR_BYTES + 16)

typedef struct sfj__rec_hdr {
    uint8_t format;
    uint8_t flags;
    uint16_t kind;
    uint32_t epoch;
    uint64_t seq;
    int64_t wall_ms;
    uint8_t prev_chain[32];
    uint8_t nonce[SFJ_REC_NONCE_BYTES];
} sfj__rec_hdr;

void sfj__rec_hdr_encode(const sfj__rec_hdr *h, uint8_t *out);

/* Parse and sanity-check the clear header of a stored record:
 * SFJ_EVERSION for an unknown format, SFJ_ECORRUPT for a short record,
 * unknown flag bits or a body of impossible size. */
int sfj__rec_hdr_decode(const uint8_t *rec, size_t len, sfj__rec_hdr *h);

/* Seal `pt` into `out` (SFJ_REC_HDR_BYTES + pt_len + SFJ_REC_TAG_BYTES
 * bytes). Fills h->nonce with fresh random bytes. With SFJ_REC_F_DICTJ
 * in h->flags, `dict_id` (16 bytes) is the id of the journal dictionary
 * the plaintext was deflated with; otherwise it is not used (NULL). */
void sfj__rec_seal(const uint8_t *journal_id, const uint8_t *epoch_key,
                   sfj__rec_hdr *h, const uint8_t *dict_id, const uint8_t *pt,
                   size_t pt_len, uint8_t *out);

/* The header part of a stored record's associated data into `out`
 * (SFJ_REC_AD_HDR_MAX bytes): its clear header, followed, when its flags
 * carry SFJ_REC_F_DICTJ, by `dict_id`. Returns the length. */
size_t sfj__rec_ad_header(const uint8_t *rec, const uint8_t *dict_id,
                          uint8_t *out);

/* Record key of a stored record (at least a header long) from the key of
 * its epoch: the one place a record key is derived. `out` receives
 * SFJ_KEY_BYTES; the caller wipes it. */
void sfj__rec_key(const uint8_t *epoch_key, const uint8_t *rec, uint8_t *out);

/* The chain hash h(seq) of a stored record: one chain step from its
 * header's prev_chain over its leaf. SFJ_ECORRUPT or SFJ_EVERSION for a
 * header that does not decode. */
int sfj__rec_chain(const uint8_t *rec, size_t len, uint8_t *out);

/* The one rule for a record's kind, applied by the writer (through
 * sfj__event_validate) and by every reader (sfj__rec_hdr_decode): 1..10 or
 * at least SFJ_EV_APP. Kind 0 is invalid and 11..0x0fff are reserved. */
int sfj__rec_kind_valid(uint16_t kind);

/* Is `kind` one of the clear kinds sfj writes itself (checkpoint, key
 * rotation), whose body is signed rather than sealed? */
int sfj__rec_is_clear(uint16_t kind);

/* Build a key rotation record for header `h` (seq, wall_ms, prev_chain
 * and the epoch it closes set by the caller) into `out`
 * (SFJ_REC_HDR_BYTES + SFJ_REC_ROT_BODY_BYTES), naming `new_pk` as the
 * public key of epoch h->epoch + 1, signed with the closing epoch's
 * `sign_sk`. */
void sfj__rec_rotation(const uint8_t *journal_id, const uint8_t *sign_sk,
                       sfj__rec_hdr *h, const uint8_t *new_pk, uint8_t *out);

/* Verify a key rotation record with the public key `pk` of the epoch it
 * closes: 0, SFJ_EAUTH (bad signature) or SFJ_ECORRUPT (not a rotation
 * record, or a new epoch other than the header's plus one). `new_epoch`
 * and `new_pk` (32 bytes) may be NULL. */
int sfj__rec_rotation_verify(const uint8_t *journal_id, const uint8_t *pk,
                             const uint8_t *rec, size_t len,
                             uint32_t *new_epoch, uint8_t *new_pk);

/* Build a signed checkpoint record for header `h` (kind, seq, wall_ms,
 * prev_chain, epoch set by the caller) into `out`
 * (SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES). */
void sfj__rec_checkpoint(const uint8_t *journal_id, const uint8_t *sign_sk,
                         sfj__rec_hdr *h, uint32_t boot, uint8_t *out);

/* Verify a checkpoint record's signature with public key `pk`:
 * 0, SFJ_EAUTH (bad signature) or SFJ_ECORRUPT (not a checkpoint).
 * `boot_out` may be NULL. */
int sfj__rec_checkpoint_verify(const uint8_t *journal_id, const uint8_t *pk,
                               const uint8_t *rec, size_t len,
                               uint32_t *boot_out);

#endif
