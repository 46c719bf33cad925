/* Known-answer vectors: a fixed master key, journal id, event, nonce and
 * time give exactly the bytes listed in docs/FORMAT.md, "Appendix B". The
 * test reads the appendix itself, so the spec and the code cannot drift
 * apart; SFJ_KAT_PRINT=1 prints what the code computes, in the appendix's
 * form. The dictionary of Appendix A is checked by inflating, with plain
 * zlib and that dictionary, a record the library deflated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <zlib.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "journal/format/compress.h"
#include "journal/format/entry.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/sys/chain.h"
#include "support/settletest.h"
#include "support/testutil.h"

#define SPEC SFJ_SOURCE_DIR "/docs/FORMAT.md"

static char *spec;

/* The hex value of `name` in the appendix ("    name = hex", continued on
 * following lines indented the same way until a blank line); malloc'd
 * bytes and their count. */
static uint8_t *spec_value(const char *name, size_t *len)
{
    char key[64];
    const char *p, *q;
    uint8_t *out = malloc(1 << 16);
    size_t n = 0;

    assert_non_null(out);
    snprintf(key, sizeof key, "\n    %s = ", name);
    p = strstr(spec, key);
    if (p == NULL)
        fail_msg("FORMAT.md lacks the vector %s", name);
    p += strlen(key);
    for (q = p; *q != '\0'; q++) {
        unsigned v;

        if (*q == '\n' && (q[1] == '\n' || q[1] == '\0'))
            break;
        if (*q == ' ' || *q == '\n')
            continue;
        assert_int_equal(sscanf(q, "%2x", &v), 1);
        out[n++] = (uint8_t)v;
        q++;
    }
    *len = n;
    return out;
}

static int printing;

static void check(const char *name, const uint8_t *got, size_t len)
{
    uint8_t *want;
    size_t wlen, i;

    if (printing) {
        printf("    %s = ", name);
        for (i = 0; i < len; i++) {
            if (i > 0 && i % 32 == 0)
                printf("\n      ");
            printf("%02x", got[i]);
        }
        printf("\n\n");
        return;
    }
    want = spec_value(name, &wlen);
    if (wlen != len || memcmp(want, got, len) != 0)
        fail_msg("vector %s differs from FORMAT.md", name);
    free(want);
}

static void test_vectors(void **state)
{
    uint8_t master[SFJ_KEY_BYTES], jid[SFJ_JOURNAL_ID_BYTES];
    uint8_t ekey[SFJ_KEY_BYTES], rkey[SFJ_KEY_BYTES], kc[32];
    uint8_t h0[32], h1[32], h2[32], leaf[32], sig[64];
    uint8_t rec[SFJ_REC_HDR_BYTES + 512 + SFJ_REC_TAG_BYTES], payload[200];
    uint8_t ck[SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES];
    uint8_t *pt = NULL, flags = 0xff;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_keys *keys = NULL;
    sfj__rec_hdr h;
    size_t pt_len = 0, len, i;

    (void)state;
    printing = getenv("SFJ_KAT_PRINT") != NULL;
    spec = sfj_test_slurp(SPEC);
    memset(master, 0x01, sizeof master);
    for (i = 0; i < sizeof jid; i++)
        jid[i] = (uint8_t)i;
    assert_int_equal(sfj_keys_from_bytes(master, sizeof master, &keys), 0);

    /* Keys. */
    sfj__epoch_key(keys, 1, ekey);
    check("epoch_key_1", ekey, sizeof ekey);
    sfj__record_key(ekey, 1, rkey);
    check("record_key_1_1", rkey, sizeof rkey);
    check("sign_pk", keys->sign_pk, sizeof keys->sign_pk);
    check("link_key", keys->link, sizeof keys->link);
    sfj__key_check(keys, jid, kc);
    check("keycheck", kc, sizeof kc);

    /* Event encoding, with a payload that does not compress (bytes of a
     * 32-bit xorshift from seed 1), so that it is stored without deflate
     * and the vector does not depend on the zlib version. */
    {
        uint32_t x = 1;

        for (i = 0; i < sizeof payload; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            payload[i] = (uint8_t)x;
        }
    }
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    ev.kind = SFJ_EV_TXN_OUTCOME;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "T-0001";
    ev.amount = 1234;
    ev.currency = "EUR";
    ev.auth_code = "A1B2C3";
    ev.copy = 0;
    assert_int_equal(sfj__event_pack(&ev, 1, &pt, &pt_len, &flags), 0);
    assert_int_equal(flags, 0);
    check("event_1", pt, pt_len);

    /* Event codec 3: a SETTLEMENT with two per-currency lines and the
     * same payload. */
    {
        sfj_event st = SFJ_EVENT_INIT;
        sfj_settle_line l[2];
        uint8_t *pt3 = NULL;
        size_t pt3_len = 0;

        l[0] = sfj_test_settle_line("EUR", 12, 34550);
        l[1] = sfj_test_settle_line("JPY", 3, -1200);
        st.kind = SFJ_EV_SETTLEMENT;
        st.totals = l;
        st.n_totals = 2;
        st.payload = payload;
        st.payload_len = sizeof payload;
        assert_int_equal(sfj__event_pack(&st, 1, &pt3, &pt3_len, &flags), 0);
        if (flags != 0) {
            /* The vector is the encoding itself: a writer deflates it (the
             * empty references compress), and inflating depends on no
             * zlib version. */
            uint8_t *raw;
            size_t raw_len;

            assert_int_equal(flags, SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2);
            assert_int_equal(
                sfj__inflate_len(pt3, pt3_len, SFJ__EVENT_MAX_BYTES, &raw_len),
                0);
            raw = malloc(raw_len);
            assert_non_null(raw);
            assert_int_equal(
                sfj__inflate(SFJ__DICT_V2, pt3, pt3_len, raw, raw_len), 0);
            free(pt3);
            pt3 = raw;
            pt3_len = raw_len;
        }
        check("event_3", pt3, pt3_len);
        sodium_memzero(pt3, pt3_len);
        free(pt3);
    }

    /* Record seq 1: epoch 1, wall 1700000000000, nonce 24 x 0x02. */
    sfj__chain_genesis(jid, h0);
    check("h0", h0, sizeof h0);
    memset(&h, 0, sizeof h);
    h.format = SFJ_REC_FORMAT;
    h.kind = SFJ_EV_TXN_OUTCOME;
    h.epoch = 1;
    h.seq = 1;
    h.wall_ms = 1700000000000ll;
    memcpy(h.prev_chain, h0, 32);
    memset(h.nonce, 0x02, sizeof h.nonce);
    sfj__rec_hdr_encode(&h, rec);
    sfj__aead_record_seal(jid, rkey, rec, SFJ_REC_HDR_BYTES, h.nonce, pt,
                          pt_len, rec + SFJ_REC_HDR_BYTES);
    len = SFJ_REC_HDR_BYTES + pt_len + SFJ_REC_TAG_BYTES;
    check("record_1", rec, len);
    sfj__chain_leaf(rec, len, leaf);
    sfj__chain_next(h0, leaf, h1);
    check("h1", h1, sizeof h1);

    /* Checkpoint seq 2, boot 1, same wall time. */
    memset(&h, 0, sizeof h);
    h.epoch = 1;
    h.seq = 2;
    h.wall_ms = 1700000000000ll;
    memcpy(h.prev_chain, h1, 32);
    sfj__rec_checkpoint(jid, keys->sign_sk, &h, 1, ck);
    check("checkpoint_2", ck, sizeof ck);
    sfj__chain_leaf(ck, sizeof ck, leaf);
    sfj__chain_next(h1, leaf, h2);
    check("h2", h2, sizeof h2);

    /* Prune anchor after seq 1. */
    sfj__prune_sign(jid, 1, h1, keys->sign_sk, sig);
    check("prune_sig_1", sig, sizeof sig);

    /* A journal dictionary whose payload is event_1, and record seq 3
     * holding event_1 again, deflated against it (flags 0x09), nonce 24 x
     * 0x03, prev_chain h(2). The body is the appendix's: deflate's output
     * may differ between zlib versions, inflating it may not. */
    {
        uint8_t rec3[SFJ_REC_HDR_BYTES + 512 + SFJ_REC_TAG_BYTES];
        uint8_t ad[SFJ_REC_AD_HDR_MAX], rkey3[SFJ_KEY_BYTES], *body, *raw;
        size_t body_len, ad_len;
        sfj_entry *e = NULL;
        sfj__dict *d = NULL;

        assert_int_equal(sfj__dict_make(pt, pt_len, &d), 0);
        check("dict_id", d->id, sizeof d->id);
        body = malloc(pt_len);
        raw = malloc(pt_len);
        assert_true(body != NULL && raw != NULL);
        if (printing) {
            assert_int_equal(
                sfj__deflate_dict(d, pt, pt_len, body, pt_len, &body_len), 1);
            check("body_dictj_3", body, body_len);
        } else {
            free(body);
            body = spec_value("body_dictj_3", &body_len);
        }
        assert_true(body_len < pt_len);
        assert_int_equal(sfj__get_u32(body), pt_len);
        assert_int_equal(
            sfj__inflate_with(d->bytes, d->len, body, body_len, raw, pt_len),
            0);
        assert_memory_equal(raw, pt, pt_len);
        memset(&h, 0, sizeof h);
        h.format = SFJ_REC_FORMAT;
        h.flags = SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ;
        h.kind = SFJ_EV_TXN_OUTCOME;
        h.epoch = 1;
        h.seq = 3;
        h.wall_ms = 1700000000000ll;
        memcpy(h.prev_chain, h2, 32);
        memset(h.nonce, 0x03, sizeof h.nonce);
        sfj__rec_hdr_encode(&h, rec3);
        sfj__record_key(ekey, 3, rkey3);
        ad_len = sfj__rec_ad_header(rec3, d->id, ad);
        assert_int_equal(ad_len, SFJ_REC_HDR_BYTES + 16);
        sfj__aead_record_seal(jid, rkey3, ad, ad_len, h.nonce, body, body_len,
                              rec3 + SFJ_REC_HDR_BYTES);
        len = SFJ_REC_HDR_BYTES + body_len + SFJ_REC_TAG_BYTES;
        check("record_dictj_3", rec3, len);
        assert_int_equal(sfj__rec_open(jid, rkey3, d, rec3, len, &e), 0);
        assert_string_equal(e->txn_id, "T-0001");
        sfj_entry_free(e);
        sodium_memzero(rkey3, sizeof rkey3);
        sodium_memzero(raw, pt_len);
        free(raw);
        free(body);
        sfj__dict_free(d);
    }

    sodium_memzero(pt, pt_len);
    free(pt);
    sfj_keys_free(keys);
    free(spec);
}

/* Appendix A is the dictionary the code uses: zlib given only the spec's
 * bytes inflates what the library deflated. */
static void test_dictionary(void **state)
{
    uint8_t in[600], out[1024], back[600], *dict;
    size_t dlen, n = 0, i;
    z_stream zs;
    int rc;

    (void)state;
    spec = sfj_test_slurp(SPEC);
    dict = spec_value("dict_v1", &dlen);
    assert_true(dlen > 100);
    /* Text like a payment payload, so the dictionary matters. */
    for (i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)("APPROVED EUR 0000 TXN RECEIPT "[i % 30]);
    assert_int_equal(
        sfj__deflate(SFJ__DICT_V1, in, sizeof in, out, sizeof out, &n), 1);
    /* Past the u32 raw_len prefix: a raw deflate stream. */
    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, -15), Z_OK);
    assert_int_equal(inflateSetDictionary(&zs, dict, (uInt)dlen), Z_OK);
    zs.next_in = out + 4;
    zs.avail_in = (uInt)(n - 4);
    zs.next_out = back;
    zs.avail_out = sizeof back;
    rc = inflate(&zs, Z_FINISH);
    inflateEnd(&zs);
    assert_int_equal(rc, Z_STREAM_END);
    assert_int_equal(zs.total_out, sizeof in);
    assert_memory_equal(back, in, sizeof in);
    assert_int_equal(sfj__get_u32(out), sizeof in);
    free(dict);
    free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_dictionary),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
