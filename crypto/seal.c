/* Record AEAD, checkpoint signatures and the amount box; see seal.h. */
#include "crypto/seal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/tags.h"
#include "sfj/errors.h"
#include "sfj/journal.h"
#include "sfj/sys/chain.h"

/* Associated data: journal_id || clear header. Binding the journal id and
 * the whole header means a record cannot be moved to another seq, another
 * journal or another epoch without failing its tag. Returns its length. */
static size_t record_ad(const uint8_t *journal_id, const uint8_t *hdr,
                        size_t hdr_len, uint8_t *ad)
{
    assert(hdr_len <= SFJ__SEAL_HDR_MAX);
    memcpy(ad, journal_id, SFJ_JOURNAL_ID_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, hdr, hdr_len);
    return SFJ_JOURNAL_ID_BYTES + hdr_len;
}

void sfj__aead_record_seal(const uint8_t *journal_id, const uint8_t *record_key,
                           const uint8_t *hdr, size_t hdr_len,
                           const uint8_t *nonce, const uint8_t *pt,
                           size_t pt_len, uint8_t *ct)
{
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ__SEAL_HDR_MAX];
    size_t ad_len = record_ad(journal_id, hdr, hdr_len, ad);

    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, pt, pt_len, ad, ad_len,
                                               NULL, nonce, record_key);
}

int sfj__aead_record_open(const uint8_t *journal_id, const uint8_t *record_key,
                          const uint8_t *hdr, size_t hdr_len,
                          const uint8_t *nonce, const uint8_t *ct,
                          size_t ct_len, uint8_t *pt, size_t *pt_len)
{
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ__SEAL_HDR_MAX];
    size_t ad_len = record_ad(journal_id, hdr, hdr_len, ad);
    unsigned long long n = 0;

    if (ct_len < SFJ__SEAL_TAG_BYTES)
        return SFJ_EAUTH;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &n, NULL, ct, ct_len, ad, ad_len, nonce, record_key) != 0) {
        sodium_memzero(pt, ct_len - SFJ__SEAL_TAG_BYTES);
        return SFJ_EAUTH;
    }
    *pt_len = (size_t)n;
    return SFJ_OK;
}

/* Signed message (plain Ed25519, detached):
 *   "sfj-ckpt-v1" || journal_id || clear header || u32be boot.
 * The header carries seq, wall time, epoch and the chain head h(seq-1). */
#define CKPT_MSG_MAX                                                           \
    (sizeof SFJ__TAG_CKPT - 1 + SFJ_JOURNAL_ID_BYTES + SFJ__SEAL_HDR_MAX + 4)

static size_t ckpt_message(const uint8_t *journal_id, const uint8_t *hdr,
                           size_t hdr_len, const uint8_t *boot_be, uint8_t *msg)
{
    size_t off = sizeof SFJ__TAG_CKPT - 1;

    assert(hdr_len <= SFJ__SEAL_HDR_MAX);
    memcpy(msg, SFJ__TAG_CKPT, off);
    memcpy(msg + off, journal_id, SFJ_JOURNAL_ID_BYTES);
    off += SFJ_JOURNAL_ID_BYTES;
    memcpy(msg + off, hdr, hdr_len);
    memcpy(msg + off + hdr_len, boot_be, 4);
    return off + hdr_len + 4;
}

void sfj__ckpt_sign(const uint8_t *journal_id, const uint8_t *hdr,
                    size_t hdr_len, const uint8_t *boot_be,
                    const uint8_t *sign_sk, uint8_t *sig)
{
    uint8_t msg[CKPT_MSG_MAX];
    size_t n = ckpt_message(journal_id, hdr, hdr_len, boot_be, msg);

    crypto_sign_detached(sig, NULL, msg, n, sign_sk);
}

int sfj__ckpt_verify(const uint8_t *journal_id, const uint8_t *hdr,
                     size_t hdr_len, const uint8_t *boot_be, const uint8_t *sig,
                     const uint8_t *pk)
{
    uint8_t msg[CKPT_MSG_MAX];
    size_t n = ckpt_message(journal_id, hdr, hdr_len, boot_be, msg);

    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? SFJ_OK
                                                             : SFJ_EAUTH;
}

static size_t prune_message(const uint8_t *journal_id, uint64_t seq,
                            const uint8_t *hash, uint8_t *msg)
{
    size_t off = sizeof SFJ__TAG_PRUNE - 1;

    memcpy(msg, SFJ__TAG_PRUNE, off);
    memcpy(msg + off, journal_id, SFJ_JOURNAL_ID_BYTES);
    off += SFJ_JOURNAL_ID_BYTES;
    sfj__put_u64(msg + off, seq);
    off += 8;
    memcpy(msg + off, hash, SFJ_HASH_BYTES);
    return off + SFJ_HASH_BYTES;
}

#define PRUNE_MSG_MAX                                                          \
    (sizeof SFJ__TAG_PRUNE - 1 + SFJ_JOURNAL_ID_BYTES + 8 + SFJ_HASH_BYTES)

void sfj__prune_sign(const uint8_t *journal_id, uint64_t seq,
                     const uint8_t *hash, const uint8_t *sign_sk, uint8_t *sig)
{
    uint8_t msg[PRUNE_MSG_MAX];
    size_t n = prune_message(journal_id, seq, hash, msg);

    crypto_sign_detached(sig, NULL, msg, n, sign_sk);
}

int sfj__prune_verify(const uint8_t *journal_id, uint64_t seq,
                      const uint8_t *hash, const uint8_t *sig,
                      const uint8_t *pk)
{
    uint8_t msg[PRUNE_MSG_MAX];
    size_t n = prune_message(journal_id, seq, hash, msg);

    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? SFJ_OK
                                                             : SFJ_EAUTH;
}

#define ROTATE_MSG_MAX                                                         \
    (sizeof SFJ__TAG_ROTATE - 1 + SFJ_JOURNAL_ID_BYTES + SFJ__SEAL_HDR_MAX +   \
     SFJ__ROTATE_BODY_BYTES)

static size_t rotate_message(const uint8_t *journal_id, const uint8_t *hdr,
                             size_t hdr_len, const uint8_t *body, uint8_t *msg)
{
    size_t off = sizeof SFJ__TAG_ROTATE - 1;

    assert(hdr_len <= SFJ__SEAL_HDR_MAX);
    memcpy(msg, SFJ__TAG_ROTATE, off);
    memcpy(msg + off, journal_id, SFJ_JOURNAL_ID_BYTES);
    off += SFJ_JOURNAL_ID_BYTES;
    memcpy(msg + off, hdr, hdr_len);
    off += hdr_len;
    memcpy(msg + off, body, SFJ__ROTATE_BODY_BYTES);
    return off + SFJ__ROTATE_BODY_BYTES;
}

void sfj__rotate_sign(const uint8_t *journal_id, const uint8_t *hdr,
                      size_t hdr_len, const uint8_t *body,
                      const uint8_t *sign_sk, uint8_t *sig)
{
    uint8_t msg[ROTATE_MSG_MAX];
    size_t n = rotate_message(journal_id, hdr, hdr_len, body, msg);

    crypto_sign_detached(sig, NULL, msg, n, sign_sk);
}

int sfj__rotate_verify(const uint8_t *journal_id, const uint8_t *hdr,
                       size_t hdr_len, const uint8_t *body, const uint8_t *sig,
                       const uint8_t *pk)
{
    uint8_t msg[ROTATE_MSG_MAX];
    size_t n = rotate_message(journal_id, hdr, hdr_len, body, msg);

    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? SFJ_OK
                                                             : SFJ_EAUTH;
}

void sfj__amount_seal(const sfj_keys *keys, const uint8_t *ad, size_t ad_len,
                      const uint8_t *pt, size_t pt_len, uint8_t *box)
{
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];

    sfj__amount_key(keys, key);
    randombytes_buf(box, SFJ__SEAL_NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(box + SFJ__SEAL_NONCE_BYTES,
                                               NULL, pt, pt_len, ad, ad_len,
                                               NULL, box, key);
    sodium_memzero(key, sizeof key);
}

int sfj__amount_open(const sfj_keys *keys, const uint8_t *ad, size_t ad_len,
                     const uint8_t *box, uint8_t *pt, size_t pt_len)
{
    uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    unsigned long long n = 0;
    int rc = SFJ_OK;

    sfj__amount_key(keys, key);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            pt, &n, NULL, box + SFJ__SEAL_NONCE_BYTES,
            pt_len + SFJ__SEAL_TAG_BYTES, ad, ad_len, box, key) != 0 ||
        n != pt_len)
        rc = SFJ_EAUTH;
    sodium_memzero(key, sizeof key);
    return rc;
}
