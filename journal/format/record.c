/* The clear header codec, sealing, record keys, the chain step over a
 * stored record and checkpoints; the layout is in record.h, the
 * constructions in crypto/seal.h. */
#include "journal/format/record.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "sfj/errors.h"
#include "sfj/journal.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

_Static_assert(SFJ_REC_HDR_BYTES <= SFJ__SEAL_HDR_MAX,
               "the seal constructions take the whole clear header");
_Static_assert(SFJ_REC_NONCE_BYTES == SFJ__SEAL_NONCE_BYTES &&
                   SFJ_REC_TAG_BYTES == SFJ__SEAL_TAG_BYTES,
               "record nonce and tag are the AEAD's");

void sfj__rec_hdr_encode(const sfj__rec_hdr *h, uint8_t *out)
{
    out[SFJ_REC_OFF_FORMAT] = h->format;
    out[SFJ_REC_OFF_FLAGS] = h->flags;
    sfj__put_u16(out + SFJ_REC_OFF_KIND, h->kind);
    sfj__put_u32(out + SFJ_REC_OFF_EPOCH, h->epoch);
    sfj__put_u64(out + SFJ_REC_OFF_SEQ, h->seq);
    sfj__put_u64(out + SFJ_REC_OFF_WALL, (uint64_t)h->wall_ms);
    memcpy(out + SFJ_REC_OFF_PREV, h->prev_chain, 32);
    memcpy(out + SFJ_REC_OFF_NONCE, h->nonce, SFJ_REC_NONCE_BYTES);
}

int sfj__rec_kind_valid(uint16_t kind)
{
    return (kind >= SFJ_EV_TXN_INTENT && kind <= SFJ_EV_DICTIONARY) ||
           kind >= SFJ_EV_APP;
}

int sfj__rec_hdr_decode(const uint8_t *rec, size_t len, sfj__rec_hdr *h)
{
    if (len < SFJ_REC_HDR_BYTES)
        return SFJ_ECORRUPT;
    h->format = rec[SFJ_REC_OFF_FORMAT];
    if (h->format != SFJ_REC_FORMAT)
        return SFJ_EVERSION;
    h->flags = rec[SFJ_REC_OFF_FLAGS];
    h->kind = sfj__get_u16(rec + SFJ_REC_OFF_KIND);
    h->epoch = sfj__get_u32(rec + SFJ_REC_OFF_EPOCH);
    h->seq = sfj__get_u64(rec + SFJ_REC_OFF_SEQ);
    h->wall_ms = (int64_t)sfj__get_u64(rec + SFJ_REC_OFF_WALL);
    memcpy(h->prev_chain, rec + SFJ_REC_OFF_PREV, 32);
    memcpy(h->nonce, rec + SFJ_REC_OFF_NONCE, SFJ_REC_NONCE_BYTES);
    /* What no writer produces: unknown flags, an invalid or reserved kind,
     * epoch 0 (epochs start at 1), seq 0. */
    if ((h->flags & ~SFJ_REC_F_KNOWN) != 0 || !sfj__rec_kind_valid(h->kind) ||
        h->epoch == 0 || h->seq == 0)
        return SFJ_ECORRUPT;
    /* Dictionary v2 and the journal's name the dictionary of a compressed
     * body only, and only one of them. */
    if ((h->flags & (SFJ_REC_F_DICT2 | SFJ_REC_F_DICTJ)) != 0 &&
        (h->flags & SFJ_REC_F_DEFLATE) == 0)
        return SFJ_ECORRUPT;
    if ((h->flags & SFJ_REC_F_DICT2) && (h->flags & SFJ_REC_F_DICTJ))
        return SFJ_ECORRUPT;
    /* The journal's dictionary is not compressed against itself. */
    if (h->kind == SFJ_EV_DICTIONARY && (h->flags & SFJ_REC_F_DICTJ))
        return SFJ_ECORRUPT;
    /* Only the kinds sfj signs are clear, and they are never compressed;
     * each has one fixed size. */
    if ((h->flags & SFJ_REC_F_CLEAR) != 0) {
        if (!sfj__rec_is_clear(h->kind) || (h->flags & SFJ_REC_F_DEFLATE) ||
            len != SFJ_REC_HDR_BYTES + (h->kind == SFJ_EV_CHECKPOINT
                                            ? SFJ_REC_CKPT_BODY_BYTES
                                            : SFJ_REC_ROT_BODY_BYTES))
            return SFJ_ECORRUPT;
    } else if (sfj__rec_is_clear(h->kind) ||
               len < SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES ||
               len > SFJ_REC_MAX_BYTES) {
        return SFJ_ECORRUPT;
    }
    return SFJ_OK;
}

int sfj__rec_is_clear(uint16_t kind)
{
    return kind == SFJ_EV_CHECKPOINT || kind == SFJ_EV_KEY_ROTATION;
}

void sfj__rec_key(const uint8_t *epoch_key, const uint8_t *rec, uint8_t *out)
{
    sfj__record_key(epoch_key, sfj__get_u64(rec + SFJ_REC_OFF_SEQ), out);
}

size_t sfj__rec_ad_header(const uint8_t *rec, const uint8_t *dict_id,
                          uint8_t *out)
{
    memcpy(out, rec, SFJ_REC_HDR_BYTES);
    if ((rec[SFJ_REC_OFF_FLAGS] & SFJ_REC_F_DICTJ) == 0)
        return SFJ_REC_HDR_BYTES;
    assert(dict_id != NULL); /* callers check bit 3 against their dict */
    memcpy(out + SFJ_REC_HDR_BYTES, dict_id,
           SFJ_REC_AD_HDR_MAX - SFJ_REC_HDR_BYTES);
    return SFJ_REC_AD_HDR_MAX;
}

void sfj__rec_seal(const uint8_t *journal_id, const uint8_t *epoch_key,
                   sfj__rec_hdr *h, const uint8_t *dict_id, const uint8_t *pt,
                   size_t pt_len, uint8_t *out)
{
    uint8_t key[SFJ_KEY_BYTES], ad[SFJ_REC_AD_HDR_MAX];
    size_t ad_len;

    randombytes_buf(h->nonce, sizeof h->nonce);
    sfj__rec_hdr_encode(h, out);
    sfj__rec_key(epoch_key, out, key);
    ad_len = sfj__rec_ad_header(out, dict_id, ad);
    sfj__aead_record_seal(journal_id, key, ad, ad_len, h->nonce, pt, pt_len,
                          out + SFJ_REC_HDR_BYTES);
    sodium_memzero(key, sizeof key);
}

int sfj__rec_chain(const uint8_t *rec, size_t len, uint8_t *out)
{
    uint8_t leaf[SFJ_HASH_BYTES];
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (rc != SFJ_OK)
        return rc;
    sfj__chain_leaf(rec, len, leaf);
    sfj__chain_next(h.prev_chain, leaf, out);
    return SFJ_OK;
}

void sfj__rec_checkpoint(const uint8_t *journal_id, const uint8_t *sign_sk,
                         sfj__rec_hdr *h, uint32_t boot, uint8_t *out)
{
    h->format = SFJ_REC_FORMAT;
    h->flags = SFJ_REC_F_CLEAR;
    h->kind = SFJ_EV_CHECKPOINT;
    memset(h->nonce, 0, sizeof h->nonce);
    sfj__rec_hdr_encode(h, out);
    sfj__put_u32(out + SFJ_REC_OFF_BOOT, boot);
    sfj__ckpt_sign(journal_id, out, SFJ_REC_HDR_BYTES, out + SFJ_REC_OFF_BOOT,
                   sign_sk, out + SFJ_REC_OFF_SIG);
}

void sfj__rec_rotation(const uint8_t *journal_id, const uint8_t *sign_sk,
                       sfj__rec_hdr *h, const uint8_t *new_pk, uint8_t *out)
{
    h->format = SFJ_REC_FORMAT;
    h->flags = SFJ_REC_F_CLEAR;
    h->kind = SFJ_EV_KEY_ROTATION;
    memset(h->nonce, 0, sizeof h->nonce);
    sfj__rec_hdr_encode(h, out);
    sfj__put_u32(out + SFJ_REC_OFF_ROT_EPOCH, h->epoch + 1);
    memcpy(out + SFJ_REC_OFF_ROT_PK, new_pk, 32);
    sfj__rotate_sign(journal_id, out, SFJ_REC_HDR_BYTES,
                     out + SFJ_REC_OFF_ROT_EPOCH, sign_sk,
                     out + SFJ_REC_OFF_ROT_SIG);
}

int sfj__rec_rotation_verify(const uint8_t *journal_id, const uint8_t *pk,
                             const uint8_t *rec, size_t len,
                             uint32_t *new_epoch, uint8_t *new_pk)
{
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (rc != SFJ_OK)
        return rc;
    if (h.kind != SFJ_EV_KEY_ROTATION || h.epoch == UINT32_MAX ||
        sfj__get_u32(rec + SFJ_REC_OFF_ROT_EPOCH) != h.epoch + 1)
        return SFJ_ECORRUPT;
    rc = sfj__rotate_verify(journal_id, rec, SFJ_REC_HDR_BYTES,
                            rec + SFJ_REC_OFF_ROT_EPOCH,
                            rec + SFJ_REC_OFF_ROT_SIG, pk);
    if (rc != SFJ_OK)
        return rc;
    if (new_epoch != NULL)
        *new_epoch = h.epoch + 1;
    if (new_pk != NULL)
        memcpy(new_pk, rec + SFJ_REC_OFF_ROT_PK, 32);
    return SFJ_OK;
}

int sfj__rec_checkpoint_verify(const uint8_t *journal_id, const uint8_t *pk,
                               const uint8_t *rec, size_t len,
                               uint32_t *boot_out)
{
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (rc != SFJ_OK)
        return rc;
    if (h.kind != SFJ_EV_CHECKPOINT)
        return SFJ_ECORRUPT;
    rc = sfj__ckpt_verify(journal_id, rec, SFJ_REC_HDR_BYTES,
                          rec + SFJ_REC_OFF_BOOT, rec + SFJ_REC_OFF_SIG, pk);
    if (rc != SFJ_OK)
        return rc;
    if (boot_out != NULL)
        *boot_out = sfj__get_u32(rec + SFJ_REC_OFF_BOOT);
    return SFJ_OK;
}

int sfj__record_extends(const uint8_t *journal_id, const uint8_t *pubkey,
                        const uint8_t *head, uint64_t seq, const uint8_t *rec,
                        size_t len, uint8_t *new_head, int *is_ckpt,
                        uint8_t *rot_pubkey)
{
    uint8_t leaf[SFJ_HASH_BYTES];
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (is_ckpt != NULL)
        *is_ckpt = 0;
    if (rc != SFJ_OK || h.seq != seq)
        return rc != SFJ_OK && rc != SFJ_ECORRUPT ? rc : SFJ_EPROTO;
    if (sodium_memcmp(h.prev_chain, head, SFJ_HASH_BYTES) != 0)
        return SFJ_ESTATE;
    if (h.kind == SFJ_EV_CHECKPOINT) {
        if (sfj__rec_checkpoint_verify(journal_id, pubkey, rec, len, NULL) !=
            SFJ_OK)
            return SFJ_EAUTH;
        if (is_ckpt != NULL)
            *is_ckpt = 1;
    } else if (h.kind == SFJ_EV_KEY_ROTATION) {
        /* Only the key in force may name its successor; a store that
         * cannot follow (no rot_pubkey) must not take the record. */
        if (rot_pubkey == NULL ||
            sfj__rec_rotation_verify(journal_id, pubkey, rec, len, NULL,
                                     rot_pubkey) != SFJ_OK)
            return SFJ_EAUTH;
        if (is_ckpt != NULL)
            *is_ckpt = 2;
    }
    if (new_head != NULL) {
        sfj__chain_leaf(rec, len, leaf);
        sfj__chain_next(head, leaf, new_head);
    }
    return SFJ_OK;
}
