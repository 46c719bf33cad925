/* Record seal and open: the layout against a record built by hand with
 * libsodium, every header field authenticated (each single flipped bit of a
 * sealed record is refused), the wrong journal or key refused, and the
 * signed checkpoint likewise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "common/bytes.h"
#include "journal/format/record.h"
#include "sfj/sfj.h"

static const uint8_t JID[SFJ_JOURNAL_ID_BYTES] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void test_key(uint8_t key[SFJ_KEY_BYTES], uint8_t seed)
{
    memset(key, seed, SFJ_KEY_BYTES);
}

static sfj__rec_hdr sample_hdr(void)
{
    sfj__rec_hdr h;
    size_t i;

    memset(&h, 0, sizeof h);
    h.format = SFJ_REC_FORMAT;
    h.kind = SFJ_EV_TXN_OUTCOME;
    h.epoch = 3;
    h.seq = 0x1122334455667788ull;
    h.wall_ms = 1700000000123;
    for (i = 0; i < sizeof h.prev_chain; i++)
        h.prev_chain[i] = (uint8_t)(0xc0 + i);
    return h;
}

/* Decode then open, as every reader does. */
static int read_record(const uint8_t *jid, const uint8_t *ekey,
                       const uint8_t *rec, size_t len, uint8_t *pt,
                       size_t *pt_len)
{
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    if (rc != SFJ_OK)
        return rc;
    return sfj__rec_open(jid, ekey, rec, len, pt, pt_len);
}

/* Seal, then open by hand with the documented construction: key =
 * KDF(epoch_key, seq, "sfjrecrd"), AD = journal_id || header, nonce at
 * offset 56. And the reverse: a record sealed by hand opens. */
static void test_layout_by_hand(void **state)
{
    static const uint8_t pt[] = "an outcome, approved, 12.34 EUR";
    uint8_t ekey[SFJ_KEY_BYTES], rkey[SFJ_KEY_BYTES];
    uint8_t rec[SFJ_REC_HDR_BYTES + sizeof pt + SFJ_REC_TAG_BYTES];
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ_REC_HDR_BYTES], out[sizeof pt];
    unsigned long long n = 0;
    sfj__rec_hdr h = sample_hdr(), d;
    size_t out_len = 0;

    (void)state;
    test_key(ekey, 0x42);
    sfj__rec_seal(JID, ekey, &h, pt, sizeof pt, rec);
    /* Header fields at their documented offsets, big-endian. */
    assert_int_equal(rec[0], SFJ_REC_FORMAT);
    assert_int_equal(rec[1], 0);
    assert_int_equal(sfj__get_u16(rec + 2), SFJ_EV_TXN_OUTCOME);
    assert_int_equal(sfj__get_u32(rec + 4), 3);
    assert_int_equal(sfj__get_u64(rec + 8), 0x1122334455667788ull);
    assert_int_equal(sfj__get_u64(rec + 16), 1700000000123ull);
    assert_memory_equal(rec + 24, h.prev_chain, 32);
    assert_memory_equal(rec + 56, h.nonce, SFJ_REC_NONCE_BYTES);
    assert_int_equal(sfj__rec_hdr_decode(rec, sizeof rec, &d), SFJ_OK);
    assert_int_equal(d.seq, h.seq);
    assert_int_equal(d.wall_ms, h.wall_ms);
    assert_memory_equal(d.nonce, h.nonce, SFJ_REC_NONCE_BYTES);

    sfj__record_key(ekey, h.seq, rkey);
    memcpy(ad, JID, SFJ_JOURNAL_ID_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, rec, SFJ_REC_HDR_BYTES);
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
                         out, &n, NULL, rec + SFJ_REC_HDR_BYTES,
                         sizeof rec - SFJ_REC_HDR_BYTES, ad, sizeof ad,
                         rec + 56, rkey),
                     0);
    assert_int_equal(n, sizeof pt);
    assert_memory_equal(out, pt, sizeof pt);

    /* Sealed by hand with a fresh nonce: the library opens it. */
    randombytes_buf(rec + 56, SFJ_REC_NONCE_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, rec, SFJ_REC_HDR_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(rec + SFJ_REC_HDR_BYTES, NULL,
                                               pt, sizeof pt, ad, sizeof ad,
                                               NULL, rec + 56, rkey);
    memset(out, 0, sizeof out);
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, out, &out_len),
                     SFJ_OK);
    assert_int_equal(out_len, sizeof pt);
    assert_memory_equal(out, pt, sizeof pt);
    sodium_memzero(rkey, sizeof rkey);
}

/* Every single-bit flip anywhere in a sealed record is refused, the
 * plaintext buffer left zeroed. A flip in a header field that the clear
 * header check catches is SFJ_EVERSION (format) or SFJ_ECORRUPT (flags,
 * kind, seq); every other one fails the tag: SFJ_EAUTH. */
static void test_every_bit_refused(void **state)
{
    static const uint8_t pt[] = "receipt printed, copy 1";
    uint8_t ekey[SFJ_KEY_BYTES];
    uint8_t rec[SFJ_REC_HDR_BYTES + sizeof pt + SFJ_REC_TAG_BYTES];
    uint8_t bad[sizeof rec], out[sizeof pt];
    sfj__rec_hdr h = sample_hdr();
    size_t bit, out_len, eauth = 0;
    int rc;

    (void)state;
    test_key(ekey, 0x17);
    sfj__rec_seal(JID, ekey, &h, pt, sizeof pt, rec);
    out_len = 0;
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, out, &out_len),
                     SFJ_OK);
    assert_memory_equal(out, pt, sizeof pt);
    for (bit = 0; bit < 8 * sizeof rec; bit++) {
        size_t byte = bit / 8;

        memcpy(bad, rec, sizeof rec);
        bad[byte] ^= (uint8_t)(1u << (bit % 8));
        memset(out, 0xee, sizeof out);
        rc = read_record(JID, ekey, bad, sizeof bad, out, &out_len);
        if (byte == 0) {
            assert_int_equal(rc, SFJ_EVERSION);
        } else if (byte == 1) {
            /* Unknown flag bits and CLEAR on a sealed kind are structural;
             * DEFLATE is a known bit that only the tag can catch. */
            assert_int_equal(rc, bit % 8 == 0 ? SFJ_EAUTH : SFJ_ECORRUPT);
        } else if (rc == SFJ_ECORRUPT) {
            /* Only a kind turned into 0 or CHECKPOINT is structural (kind 2
             * becomes 0 with one flip); seq 0x11.. cannot become 0. */
            assert_true(byte == 2 || byte == 3);
            assert_true(sfj__get_u16(bad + 2) == 0 ||
                        sfj__get_u16(bad + 2) == SFJ_EV_CHECKPOINT);
        } else {
            assert_int_equal(rc, SFJ_EAUTH);
        }
        if (rc == SFJ_EAUTH) {
            static const uint8_t zero[sizeof pt];

            assert_memory_equal(out, zero, sizeof out);
            eauth++;
        }
    }
    /* All but the 1 format byte, 7 flag bits and one kind bit went to the
     * tag check. */
    assert_int_equal(eauth, 8 * sizeof rec - 8 - 7 - 1);
}

/* Another journal's id, another epoch key, or a record moved to another
 * length is refused. */
static void test_wrong_context(void **state)
{
    static const uint8_t pt[] = "intent";
    uint8_t ekey[SFJ_KEY_BYTES], other[SFJ_KEY_BYTES], jid2[sizeof JID];
    uint8_t rec[SFJ_REC_HDR_BYTES + sizeof pt + SFJ_REC_TAG_BYTES + 1];
    uint8_t out[sizeof pt + 1];
    sfj__rec_hdr h = sample_hdr();
    size_t len = sizeof rec - 1, out_len = 0;

    (void)state;
    test_key(ekey, 1);
    test_key(other, 2);
    memcpy(jid2, JID, sizeof JID);
    jid2[15] ^= 0x80;
    sfj__rec_seal(JID, ekey, &h, pt, sizeof pt, rec);
    assert_int_equal(read_record(JID, ekey, rec, len, out, &out_len), SFJ_OK);
    assert_int_equal(out_len, sizeof pt);
    assert_int_equal(read_record(jid2, ekey, rec, len, out, &out_len),
                     SFJ_EAUTH);
    assert_int_equal(read_record(JID, other, rec, len, out, &out_len),
                     SFJ_EAUTH);
    rec[len] = 0;
    assert_int_equal(read_record(JID, ekey, rec, len + 1, out, &out_len),
                     SFJ_EAUTH);
    assert_int_equal(read_record(JID, ekey, rec, len - 1, out, &out_len),
                     SFJ_EAUTH);
    /* Shorter than header + tag is structural. */
    assert_int_equal(read_record(JID, ekey, rec,
                                 SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES - 1, out,
                                 &out_len),
                     SFJ_ECORRUPT);
    assert_int_equal(
        read_record(JID, ekey, rec, SFJ_REC_HDR_BYTES - 1, out, &out_len),
        SFJ_ECORRUPT);
}

/* An empty plaintext seals and opens too (header + tag only). */
static void test_empty_plaintext(void **state)
{
    uint8_t ekey[SFJ_KEY_BYTES], rec[SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES];
    uint8_t out[1];
    sfj__rec_hdr h = sample_hdr();
    size_t out_len = 99;

    (void)state;
    test_key(ekey, 9);
    sfj__rec_seal(JID, ekey, &h, NULL, 0, rec);
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, out, &out_len),
                     SFJ_OK);
    assert_int_equal(out_len, 0);
    rec[sizeof rec - 1] ^= 1;
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, out, &out_len),
                     SFJ_EAUTH);
}

/* Checkpoints: the signature covers the tag, the journal id, the whole
 * header and the boot counter; any flipped bit is refused. */
static void test_checkpoint(void **state)
{
    uint8_t m[SFJ_KEY_BYTES], pk[SFJ_PUBKEY_BYTES], jid2[sizeof JID];
    uint8_t rec[SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES], bad[sizeof rec];
    sfj__rec_hdr h = sample_hdr();
    sfj_keys *k = NULL;
    uint32_t boot = 0;
    size_t bit;
    int rc;

    (void)state;
    memset(m, 0x33, sizeof m);
    assert_int_equal(sfj_keys_from_bytes(m, sizeof m, &k), SFJ_OK);
    assert_int_equal(sfj_keys_public_key(k, pk), SFJ_OK);
    sfj__rec_checkpoint(JID, k->sign_sk, &h, 0xdeadbeef, rec);
    assert_int_equal(rec[1], SFJ_REC_F_CLEAR);
    assert_int_equal(sfj__get_u16(rec + 2), SFJ_EV_CHECKPOINT);
    assert_int_equal(
        sfj__rec_checkpoint_verify(JID, pk, rec, sizeof rec, &boot), SFJ_OK);
    assert_int_equal(boot, 0xdeadbeef);
    memcpy(jid2, JID, sizeof JID);
    jid2[0] ^= 1;
    assert_int_equal(
        sfj__rec_checkpoint_verify(jid2, pk, rec, sizeof rec, NULL), SFJ_EAUTH);
    for (bit = 0; bit < 8 * sizeof rec; bit++) {
        memcpy(bad, rec, sizeof rec);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        rc = sfj__rec_checkpoint_verify(JID, pk, bad, sizeof bad, NULL);
        if (bit / 8 == 0)
            assert_int_equal(rc, SFJ_EVERSION);
        else if (bit / 8 < 4)
            assert_true(rc == SFJ_ECORRUPT || rc == SFJ_EAUTH);
        else
            assert_int_equal(rc, SFJ_EAUTH);
    }
    /* A sealed-looking checkpoint (CLEAR bit off) is structural. */
    memcpy(bad, rec, sizeof rec);
    bad[1] = 0;
    assert_int_equal(sfj__rec_checkpoint_verify(JID, pk, bad, sizeof bad, NULL),
                     SFJ_ECORRUPT);
    sodium_memzero(m, sizeof m);
    sfj_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_by_hand),
        cmocka_unit_test(test_every_bit_refused),
        cmocka_unit_test(test_wrong_context),
        cmocka_unit_test(test_empty_plaintext),
        cmocka_unit_test(test_checkpoint),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
