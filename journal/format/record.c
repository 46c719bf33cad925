/* Sealing and opening of records; the layout is in record.h. */
#include "journal/format/record.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "sfj/errors.h"
#include "sfj/journal.h"

#define CKPT_TAG "sfj-ckpt-v1"

void sfj__rec_hdr_encode(const sfj__rec_hdr *h, uint8_t *out)
{
    out[0] = h->format;
    out[1] = h->flags;
    sfj__put_u16(out + 2, h->kind);
    sfj__put_u32(out + 4, h->epoch);
    sfj__put_u64(out + 8, h->seq);
    sfj__put_u64(out + 16, (uint64_t)h->wall_ms);
    memcpy(out + 24, h->prev_chain, 32);
    memcpy(out + 56, h->nonce, SFJ_REC_NONCE_BYTES);
}

int sfj__rec_hdr_decode(const uint8_t *rec, size_t len, sfj__rec_hdr *h)
{
    if (len < SFJ_REC_HDR_BYTES)
        return SFJ_ECORRUPT;
    h->format = rec[0];
    if (h->format != SFJ_REC_FORMAT)
        return SFJ_EVERSION;
    h->flags = rec[1];
    h->kind = sfj__get_u16(rec + 2);
    h->epoch = sfj__get_u32(rec + 4);
    h->seq = sfj__get_u64(rec + 8);
    h->wall_ms = (int64_t)sfj__get_u64(rec + 16);
    memcpy(h->prev_chain, rec + 24, 32);
    memcpy(h->nonce, rec + 56, SFJ_REC_NONCE_BYTES);
    if ((h->flags & ~SFJ_REC_F_KNOWN) != 0 || h->kind == 0 || h->seq == 0)
        return SFJ_ECORRUPT;
    /* Only checkpoints are clear, and they are never compressed. */
    if ((h->flags & SFJ_REC_F_CLEAR) != 0) {
        if (h->kind != SFJ_EV_CHECKPOINT || (h->flags & SFJ_REC_F_DEFLATE) ||
            len != SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES)
            return SFJ_ECORRUPT;
    } else if (h->kind == SFJ_EV_CHECKPOINT ||
               len < SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES ||
               len > SFJ_REC_MAX_BYTES) {
        return SFJ_ECORRUPT;
    }
    return SFJ_OK;
}

/* Associated data: journal_id || clear header. Binding the journal id and
 * the whole header means a record cannot be moved to another seq, another
 * journal or another epoch without failing its tag. */
static void make_ad(const uint8_t *journal_id, const uint8_t *hdr, uint8_t *ad)
{
    memcpy(ad, journal_id, SFJ_JOURNAL_ID_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, hdr, SFJ_REC_HDR_BYTES);
}

void sfj__rec_seal(const uint8_t *journal_id, const uint8_t *epoch_key,
                   sfj__rec_hdr *h, const uint8_t *pt, size_t pt_len,
                   uint8_t *out)
{
    uint8_t key[SFJ_KEY_BYTES];
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ_REC_HDR_BYTES];

    randombytes_buf(h->nonce, sizeof h->nonce);
    sfj__rec_hdr_encode(h, out);
    make_ad(journal_id, out, ad);
    sfj__record_key(epoch_key, h->seq, key);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SFJ_REC_HDR_BYTES, NULL,
                                               pt, pt_len, ad, sizeof ad, NULL,
                                               h->nonce, key);
    sodium_memzero(key, sizeof key);
}

int sfj__rec_open(const uint8_t *journal_id, const uint8_t *epoch_key,
                  const uint8_t *rec, size_t len, uint8_t *pt, size_t *pt_len)
{
    uint8_t key[SFJ_KEY_BYTES];
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ_REC_HDR_BYTES];
    unsigned long long n = 0;
    uint64_t seq = sfj__get_u64(rec + 8);
    int rc;

    make_ad(journal_id, rec, ad);
    sfj__record_key(epoch_key, seq, key);
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        pt, &n, NULL, rec + SFJ_REC_HDR_BYTES, len - SFJ_REC_HDR_BYTES, ad,
        sizeof ad, rec + 56, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        sodium_memzero(pt, len - SFJ_REC_HDR_BYTES - SFJ_REC_TAG_BYTES);
        return SFJ_EAUTH;
    }
    *pt_len = (size_t)n;
    return SFJ_OK;
}

/* Signed message (plain Ed25519, detached):
 *   "sfj-ckpt-v1" || journal_id || clear header || u32be boot.
 * The header carries seq, wall time, epoch and the chain head h(seq-1). */
#define CKPT_MSG_BYTES                                                         \
    (sizeof CKPT_TAG - 1 + SFJ_JOURNAL_ID_BYTES + SFJ_REC_HDR_BYTES + 4)

static void ckpt_message(const uint8_t *journal_id, const uint8_t *hdr,
                         const uint8_t *boot_be, uint8_t *msg)
{
    size_t off = sizeof CKPT_TAG - 1;

    memcpy(msg, CKPT_TAG, off);
    memcpy(msg + off, journal_id, SFJ_JOURNAL_ID_BYTES);
    off += SFJ_JOURNAL_ID_BYTES;
    memcpy(msg + off, hdr, SFJ_REC_HDR_BYTES);
    memcpy(msg + off + SFJ_REC_HDR_BYTES, boot_be, 4);
}

void sfj__rec_checkpoint(const uint8_t *journal_id, const uint8_t *sign_sk,
                         sfj__rec_hdr *h, uint32_t boot, uint8_t *out)
{
    uint8_t msg[CKPT_MSG_BYTES];

    h->format = SFJ_REC_FORMAT;
    h->flags = SFJ_REC_F_CLEAR;
    h->kind = SFJ_EV_CHECKPOINT;
    memset(h->nonce, 0, sizeof h->nonce);
    sfj__rec_hdr_encode(h, out);
    sfj__put_u32(out + SFJ_REC_HDR_BYTES, boot);
    ckpt_message(journal_id, out, out + SFJ_REC_HDR_BYTES, msg);
    crypto_sign_detached(out + SFJ_REC_HDR_BYTES + 4, NULL, msg, sizeof msg,
                         sign_sk);
}

int sfj__rec_checkpoint_verify(const uint8_t *journal_id, const uint8_t *pk,
                               const uint8_t *rec, size_t len,
                               uint32_t *boot_out)
{
    uint8_t msg[CKPT_MSG_BYTES];
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (rc != SFJ_OK)
        return rc;
    if (h.kind != SFJ_EV_CHECKPOINT)
        return SFJ_ECORRUPT;
    ckpt_message(journal_id, rec, rec + SFJ_REC_HDR_BYTES, msg);
    if (crypto_sign_verify_detached(rec + SFJ_REC_HDR_BYTES + 4, msg,
                                    sizeof msg, pk) != 0)
        return SFJ_EAUTH;
    if (boot_out != NULL)
        *boot_out = sfj__get_u32(rec + SFJ_REC_HDR_BYTES);
    return SFJ_OK;
}
