/* Record AEAD, checkpoint signatures and the amount box; see seal.h. */
#include "crypto/seal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
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
    int bad;

    if (ct_len < SFJ__SEAL_TAG_BYTES)
        return SFJ_EAUTH;
    bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
        pt, &n, NULL, ct, ct_len, ad, ad_len, nonce, record_key);
    /* libsodium's ChaCha20 leaves the plaintext of a record's last block
     * in its dead frames. */
    sfj__wipe_dead_stack();
    if (bad) {
        sodium_memzero(pt, ct_len - SFJ__SEAL_TAG_BYTES);
        return SFJ_EAUTH;
    }
    *pt_len = (size_t)n;
    return SFJ_OK;
}

/* Signed messages of the clear kinds (plain Ed25519, detached):
 *   checkpoint  "sfj-ckpt-v1" || journal_id || clear header || u32be boot
 *   rotation    "sfj-rotate-v1" || journal_id || clear header ||
 *               u32be new epoch || new public key
 * The header carries seq, wall time, epoch and the chain head h(seq-1). */
#define HDR_MSG_MAX                                                            \
    (sizeof SFJ__TAG_ROTATE - 1 + SFJ_JOURNAL_ID_BYTES + SFJ__SEAL_HDR_MAX +   \
     SFJ__ROTATE_BODY_BYTES)

/* The message a record of a clear kind is signed over:
 *   tag || journal_id || clear header || tail
 * (tail: the checkpoint's u32be boot, or the rotation's u32be new epoch
 * and new public key). Returns its length. */
static size_t hdr_message(const char *tag, const uint8_t *journal_id,
                          const uint8_t *hdr, size_t hdr_len,
                          const uint8_t *tail, size_t tail_len, uint8_t *msg)
{
    size_t off = strlen(tag);

    assert(hdr_len <= SFJ__SEAL_HDR_MAX && tail_len <= SFJ__ROTATE_BODY_BYTES);
    memcpy(msg, tag, off);
    memcpy(msg + off, journal_id, SFJ_JOURNAL_ID_BYTES);
    off += SFJ_JOURNAL_ID_BYTES;
    memcpy(msg + off, hdr, hdr_len);
    memcpy(msg + off + hdr_len, tail, tail_len);
    return off + hdr_len + tail_len;
}

static void hdr_sign(const char *tag, const uint8_t *journal_id,
                     const uint8_t *hdr, size_t hdr_len, const uint8_t *tail,
                     size_t tail_len, const uint8_t *sign_sk, uint8_t *sig)
{
    uint8_t msg[HDR_MSG_MAX];
    size_t n = hdr_message(tag, journal_id, hdr, hdr_len, tail, tail_len, msg);

    crypto_sign_detached(sig, NULL, msg, n, sign_sk);
}

static int hdr_verify(const char *tag, const uint8_t *journal_id,
                      const uint8_t *hdr, size_t hdr_len, const uint8_t *tail,
                      size_t tail_len, const uint8_t *sig, const uint8_t *pk)
{
    uint8_t msg[HDR_MSG_MAX];
    size_t n = hdr_message(tag, journal_id, hdr, hdr_len, tail, tail_len, msg);

    return crypto_sign_verify_detached(sig, msg, n, pk) == 0 ? SFJ_OK
                                                             : SFJ_EAUTH;
}

void sfj__ckpt_sign(const uint8_t *journal_id, const uint8_t *hdr,
                    size_t hdr_len, const uint8_t *boot_be,
                    const uint8_t *sign_sk, uint8_t *sig)
{
    hdr_sign(SFJ__TAG_CKPT, journal_id, hdr, hdr_len, boot_be, 4, sign_sk, sig);
}

int sfj__ckpt_verify(const uint8_t *journal_id, const uint8_t *hdr,
                     size_t hdr_len, const uint8_t *boot_be, const uint8_t *sig,
                     const uint8_t *pk)
{
    return hdr_verify(SFJ__TAG_CKPT, journal_id, hdr, hdr_len, boot_be, 4, sig,
                      pk);
}

void sfj__rotate_sign(const uint8_t *journal_id, const uint8_t *hdr,
                      size_t hdr_len, const uint8_t *body,
                      const uint8_t *sign_sk, uint8_t *sig)
{
    hdr_sign(SFJ__TAG_ROTATE, journal_id, hdr, hdr_len, body,
             SFJ__ROTATE_BODY_BYTES, sign_sk, sig);
}

int sfj__rotate_verify(const uint8_t *journal_id, const uint8_t *hdr,
                       size_t hdr_len, const uint8_t *body, const uint8_t *sig,
                       const uint8_t *pk)
{
    return hdr_verify(SFJ__TAG_ROTATE, journal_id, hdr, hdr_len, body,
                      SFJ__ROTATE_BODY_BYTES, sig, pk);
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
    /* As after a record's open: libsodium's portable ChaCha20 (what ARM
     * processors run) leaves the amount in its dead frames. */
    sfj__wipe_dead_stack();
    sodium_memzero(key, sizeof key);
    return rc;
}
