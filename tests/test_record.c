/* Record seal and open: the layout against a record built by hand with
 * libsodium, every header field authenticated (each single flipped bit of a
 * sealed record is refused), the wrong journal, key or length refused, a
 * plaintext that authenticates but is no event refused, and the signed
 * checkpoint likewise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/entry.h"
#include "journal/format/event_codec.h"
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

/* The event every sealed record below carries, packed raw (a random
 * payload keeps deflate from winning). */
typedef struct sealed {
    uint8_t *pt, *rec;
    size_t pt_len, len;
    uint8_t payload[200];
} sealed;

static void seal_sample(sealed *s, const uint8_t *ekey)
{
    sfj_event ev = SFJ_EVENT_INIT;
    sfj__rec_hdr h = sample_hdr();
    uint8_t flags = 0xff;

    randombytes_buf(s->payload, sizeof s->payload);
    ev.kind = SFJ_EV_TXN_OUTCOME;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "T-77";
    ev.amount = 1234;
    ev.currency = "EUR";
    ev.auth_code = "A1";
    ev.payload = s->payload;
    ev.payload_len = sizeof s->payload;
    assert_int_equal(sfj__event_pack(&ev, 9, &s->pt, &s->pt_len, &flags),
                     SFJ_OK);
    assert_int_equal(flags, 0);
    s->len = SFJ_REC_HDR_BYTES + s->pt_len + SFJ_REC_TAG_BYTES;
    s->rec = malloc(s->len + 1);
    assert_non_null(s->rec);
    sfj__rec_seal(JID, ekey, &h, NULL, s->pt, s->pt_len, s->rec);
}

static void sealed_free(sealed *s)
{
    sodium_memzero(s->pt, s->pt_len);
    free(s->pt);
    free(s->rec);
}

/* Open as every reader does: the record key from the header, then the one
 * record-open. */
static int read_record(const uint8_t *jid, const uint8_t *ekey,
                       const uint8_t *rec, size_t len, sfj_entry **e)
{
    uint8_t rkey[SFJ_KEY_BYTES];
    int rc;

    *e = (sfj_entry *)rkey; /* must be reset */
    if (len < SFJ_REC_HDR_BYTES)
        return sfj__rec_open(jid, ekey, NULL, rec, len, e);
    sfj__rec_key(ekey, rec, rkey);
    rc = sfj__rec_open(jid, rkey, NULL, rec, len, e);
    sodium_memzero(rkey, sizeof rkey);
    return rc;
}

static void check_entry(const sfj_entry *e, const sealed *s)
{
    assert_int_equal(e->seq, 0x1122334455667788ull);
    assert_int_equal(e->kind, SFJ_EV_TXN_OUTCOME);
    assert_int_equal(e->epoch, 3);
    assert_int_equal(e->wall_ms, 1700000000123);
    assert_int_equal(e->status, SFJ_ST_APPROVED);
    assert_int_equal(e->boot, 9);
    assert_string_equal(e->txn_id, "T-77");
    assert_int_equal(e->amount, 1234);
    assert_string_equal(e->currency, "EUR");
    assert_string_equal(e->auth_code, "A1");
    assert_int_equal(e->payload_len, sizeof s->payload);
    assert_memory_equal(e->payload, s->payload, sizeof s->payload);
}

/* Seal, then open by hand with the documented construction: key =
 * KDF(epoch_key, seq, "sfjrecrd"), AD = journal_id || header, nonce at
 * offset 56. And the reverse: a record sealed by hand opens. */
static void test_layout_by_hand(void **state)
{
    uint8_t ekey[SFJ_KEY_BYTES], rkey[SFJ_KEY_BYTES];
    uint8_t ad[SFJ_JOURNAL_ID_BYTES + SFJ_REC_HDR_BYTES], *out;
    unsigned long long n = 0;
    sfj__rec_hdr d;
    sfj_entry *e = NULL;
    sealed s;

    (void)state;
    test_key(ekey, 0x42);
    seal_sample(&s, ekey);
    /* Header fields at their documented offsets, big-endian. */
    assert_int_equal(s.rec[0], SFJ_REC_FORMAT);
    assert_int_equal(s.rec[1], 0);
    assert_int_equal(sfj__get_u16(s.rec + 2), SFJ_EV_TXN_OUTCOME);
    assert_int_equal(sfj__get_u32(s.rec + 4), 3);
    assert_int_equal(sfj__get_u64(s.rec + 8), 0x1122334455667788ull);
    assert_int_equal(sfj__get_u64(s.rec + 16), 1700000000123ull);
    assert_memory_equal(s.rec + 24, sample_hdr().prev_chain, 32);
    assert_int_equal(sfj__rec_hdr_decode(s.rec, s.len, &d), SFJ_OK);
    assert_int_equal(d.seq, 0x1122334455667788ull);
    assert_memory_equal(d.nonce, s.rec + 56, SFJ_REC_NONCE_BYTES);

    sfj__record_key(ekey, 0x1122334455667788ull, rkey);
    memcpy(ad, JID, SFJ_JOURNAL_ID_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, s.rec, SFJ_REC_HDR_BYTES);
    out = malloc(s.pt_len);
    assert_non_null(out);
    assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
                         out, &n, NULL, s.rec + SFJ_REC_HDR_BYTES,
                         s.len - SFJ_REC_HDR_BYTES, ad, sizeof ad, s.rec + 56,
                         rkey),
                     0);
    assert_int_equal(n, s.pt_len);
    assert_memory_equal(out, s.pt, s.pt_len);
    sodium_memzero(out, s.pt_len);
    free(out);

    /* Sealed by hand with a fresh nonce: the library opens it. */
    randombytes_buf(s.rec + 56, SFJ_REC_NONCE_BYTES);
    memcpy(ad + SFJ_JOURNAL_ID_BYTES, s.rec, SFJ_REC_HDR_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(s.rec + SFJ_REC_HDR_BYTES, NULL,
                                               s.pt, s.pt_len, ad, sizeof ad,
                                               NULL, s.rec + 56, rkey);
    assert_int_equal(read_record(JID, ekey, s.rec, s.len, &e), SFJ_OK);
    check_entry(e, &s);
    sfj_entry_free(e);
    sodium_memzero(rkey, sizeof rkey);
    sealed_free(&s);
}

/* Every single-bit flip anywhere in a sealed record is refused and no
 * entry is returned. A flip the clear header check catches is
 * SFJ_EVERSION (format) or SFJ_ECORRUPT (unknown flags, CLEAR on a sealed
 * kind, a kind of 0 or CHECKPOINT); every other one fails the tag:
 * SFJ_EAUTH. */
static void test_every_bit_refused(void **state)
{
    uint8_t ekey[SFJ_KEY_BYTES], *bad;
    size_t bit, eauth = 0, structural = 0;
    sfj_entry *e = NULL;
    sealed s;
    int rc;

    (void)state;
    test_key(ekey, 0x17);
    seal_sample(&s, ekey);
    assert_int_equal(read_record(JID, ekey, s.rec, s.len, &e), SFJ_OK);
    check_entry(e, &s);
    sfj_entry_free(e);
    bad = malloc(s.len);
    assert_non_null(bad);
    for (bit = 0; bit < 8 * s.len; bit++) {
        size_t byte = bit / 8;

        memcpy(bad, s.rec, s.len);
        bad[byte] ^= (uint8_t)(1u << (bit % 8));
        rc = read_record(JID, ekey, bad, s.len, &e);
        assert_null(e);
        if (byte == 0) {
            assert_int_equal(rc, SFJ_EVERSION);
        } else if (byte == 1) {
            /* DEFLATE is a known bit that only the tag can catch. */
            assert_int_equal(rc, bit % 8 == 0 ? SFJ_EAUTH : SFJ_ECORRUPT);
        } else if (rc == SFJ_ECORRUPT) {
            /* Only a kind turned invalid (0), reserved (11..0x0fff) or
             * CHECKPOINT, or an epoch turned 0, is structural; seq 0x11..
             * cannot become 0. */
            uint16_t kind = sfj__get_u16(bad + 2);

            assert_true(byte >= 2 && byte <= 7);
            if (byte <= 3)
                assert_true(!sfj__rec_kind_valid(kind) ||
                            kind == SFJ_EV_CHECKPOINT);
            else
                assert_int_equal(sfj__get_u32(bad + 4), 0);
            structural++;
        } else {
            assert_int_equal(rc, SFJ_EAUTH);
            eauth++;
        }
    }
    /* All but the format byte, 7 flag bits and the structural flips went
     * to the tag check (the DEFLATE bit counted among them). Kind 2 has
     * 9 flips to a kind no writer uses: 0, 0x12, 0x22, 0x42, 0x82, 0x0102,
     * 0x0202, 0x0402, 0x0802 (and none to CHECKPOINT; 10 is DICTIONARY,
     * caught by the tag). */
    assert_int_equal(structural, 9);
    assert_int_equal(eauth + 1, 8 * s.len - 8 - 7 - structural);
    free(bad);
    sealed_free(&s);
}

/* Another journal's id, another epoch key, or a record of another length
 * is refused; so is a record shorter than a header and a tag. */
static void test_wrong_context(void **state)
{
    uint8_t ekey[SFJ_KEY_BYTES], other[SFJ_KEY_BYTES], jid2[sizeof JID];
    sfj_entry *e = NULL;
    sealed s;

    (void)state;
    test_key(ekey, 1);
    test_key(other, 2);
    memcpy(jid2, JID, sizeof JID);
    jid2[15] ^= 0x80;
    seal_sample(&s, ekey);
    assert_int_equal(read_record(JID, ekey, s.rec, s.len, &e), SFJ_OK);
    sfj_entry_free(e);
    assert_int_equal(read_record(jid2, ekey, s.rec, s.len, &e), SFJ_EAUTH);
    assert_null(e);
    assert_int_equal(read_record(JID, other, s.rec, s.len, &e), SFJ_EAUTH);
    assert_null(e);
    s.rec[s.len] = 0;
    assert_int_equal(read_record(JID, ekey, s.rec, s.len + 1, &e), SFJ_EAUTH);
    assert_int_equal(read_record(JID, ekey, s.rec, s.len - 1, &e), SFJ_EAUTH);
    assert_int_equal(read_record(JID, ekey, s.rec,
                                 SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES - 1, &e),
                     SFJ_ECORRUPT);
    assert_int_equal(read_record(JID, ekey, s.rec, SFJ_REC_HDR_BYTES - 1, &e),
                     SFJ_ECORRUPT);
    assert_null(e);
    sealed_free(&s);
}

/* The tag is checked before the plaintext is decoded: a record whose tag
 * verifies but whose plaintext is no event (here, empty) is SFJ_ECORRUPT,
 * and the same record with its tag flipped is SFJ_EAUTH. */
static void test_authentic_but_malformed(void **state)
{
    uint8_t ekey[SFJ_KEY_BYTES], rec[SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES];
    sfj__rec_hdr h = sample_hdr();
    sfj_entry *e = NULL;

    (void)state;
    test_key(ekey, 9);
    sfj__rec_seal(JID, ekey, &h, NULL, NULL, 0, rec);
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, &e), SFJ_ECORRUPT);
    assert_null(e);
    rec[sizeof rec - 1] ^= 1;
    assert_int_equal(read_record(JID, ekey, rec, sizeof rec, &e), SFJ_EAUTH);
    assert_null(e);
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
    /* The record-open refuses a checkpoint: it is signed, not sealed. */
    {
        uint8_t ekey[SFJ_KEY_BYTES];
        sfj_entry *e = NULL;

        test_key(ekey, 5);
        assert_int_equal(read_record(JID, ekey, rec, sizeof rec, &e),
                         SFJ_ECORRUPT);
        assert_null(e);
    }
    sodium_memzero(m, sizeof m);
    sfj_keys_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_by_hand),
        cmocka_unit_test(test_every_bit_refused),
        cmocka_unit_test(test_wrong_context),
        cmocka_unit_test(test_authentic_but_malformed),
        cmocka_unit_test(test_checkpoint),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
