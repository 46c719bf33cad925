/* Frame codec, COBS and message bodies: round trips, every bad-frame
 * case, truncated input and the size limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "sfj/sys/cobs.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/proto.h"
#include "support/testutil.h"

static uint8_t *big(size_t n)
{
    uint8_t *p = malloc(n);

    assert_non_null(p);
    return p;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    size_t i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void test_frame_roundtrip(void **state)
{
    static const uint32_t sizes[] = {
        0, 1, 253, 254, 255, 4096, SFJ_FRAME_MAX_BODY};
    uint8_t *body = big(SFJ_FRAME_MAX_BODY), *buf = big(SFJ_FRAME_MAX_BYTES);
    sfj__frame f;
    size_t i, n;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill(body, sizes[i], (uint32_t)i);
        n = sfj__frame_encode(buf, SFJ_FRAME_MAX_BYTES, SFJ_MSG_ENTRY, 0x5a,
                              body, sizes[i]);
        assert_int_equal(n, sizes[i] + SFJ_FRAME_OVERHEAD);
        assert_int_equal(sfj__get_u32(buf + 2), sizes[i]);
        assert_int_equal(sfj__frame_parse(buf, n, SFJ_FRAME_MAX_BODY, &f), 0);
        assert_int_equal(f.type, SFJ_MSG_ENTRY);
        assert_int_equal(f.flags, 0x5a);
        assert_int_equal(f.len, sizes[i]);
        if (sizes[i] > 0)
            assert_memory_equal(f.body, body, sizes[i]);
    }
    /* Encoding in place gives the same bytes. */
    fill(buf + SFJ_FRAME_HDR_BYTES, 100, 9);
    memcpy(body, buf + SFJ_FRAME_HDR_BYTES, 100);
    n = sfj__frame_encode(buf, SFJ_FRAME_MAX_BYTES, 1, 0,
                          buf + SFJ_FRAME_HDR_BYTES, 100);
    assert_int_equal(sfj__frame_parse(buf, n, SFJ_FRAME_MAX_BODY, &f), 0);
    assert_memory_equal(f.body, body, 100);
    free(body);
    free(buf);
}

static void test_frame_limits(void **state)
{
    uint8_t *buf = big(SFJ_FRAME_MAX_BYTES + 16), body[16] = {0};
    sfj__frame f;
    size_t n;

    (void)state;
    /* Too big to encode, or a buffer one byte short. */
    assert_int_equal(sfj__frame_encode(buf, SFJ_FRAME_MAX_BYTES + 16, 1, 0,
                                       buf + 6, SFJ_FRAME_MAX_BODY + 1),
                     0);
    assert_int_equal(sfj__frame_encode(buf, 10 + 15, 1, 0, body, 16), 0);
    assert_int_equal(sfj__frame_encode(buf, 10 + 16, 1, 0, body, 16), 26);
    /* Oversize and over the caller's max. */
    n = sfj__frame_encode(buf, 64, 1, 0, body, 16);
    assert_int_equal(sfj__frame_parse(buf, n, 15, &f), SFJ_ELIMIT);
    sfj__put_u32(buf + 2, SFJ_FRAME_MAX_BODY + 1);
    assert_int_equal(
        sfj__frame_parse(buf, SFJ_FRAME_MAX_BODY + 11, 0xffffffffu, &f),
        SFJ_ELIMIT);
    free(buf);
}

static void test_frame_bad(void **state)
{
    uint8_t buf[64], body[20];
    sfj__frame f;
    size_t n, i;

    (void)state;
    fill(body, sizeof body, 3);
    n = sfj__frame_encode(buf, sizeof buf, SFJ_MSG_ACK, 0, body, 20);
    /* Every single bit flip is caught (CRC or length disagreement). */
    for (i = 0; i < n * 8; i++) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_not_equal(sfj__frame_parse(buf, n, 1000, &f), 0);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    assert_int_equal(sfj__frame_parse(buf, n, 1000, &f), 0);
    /* Truncated and overlong packets. */
    for (i = 0; i < n; i++)
        assert_int_not_equal(sfj__frame_parse(buf, i, 1000, &f), 0);
    assert_int_equal(sfj__frame_parse(buf, n - 1, 1000, &f), SFJ_EPROTO);
    assert_int_equal(sfj__frame_parse(buf, n + 1, 1000, &f), SFJ_EPROTO);
    assert_int_equal(sfj__frame_parse(buf, 9, 1000, &f), SFJ_EPROTO);
    buf[n - 1] ^= 1;
    assert_int_equal(sfj__frame_parse(buf, n, 1000, &f), SFJ_ECORRUPT);
}

/* Three frames fed in every chunk size decode to the same three frames. */
static void test_stream_decoder(void **state)
{
    uint8_t stream[600], *dbuf = big(SFJ_FRAME_MAX_BYTES), body[200];
    sfj__frame_dec d;
    sfj__frame f;
    size_t len = 0, chunk, pos, used, got;
    int rc, k;

    (void)state;
    for (k = 0; k < 3; k++) {
        fill(body, 100 + 50 * (size_t)k, (uint32_t)k);
        len += sfj__frame_encode(stream + len, sizeof stream - len,
                                 (uint8_t)(k + 1), 0, body,
                                 100 + 50 * (uint32_t)k);
    }
    for (chunk = 1; chunk <= len; chunk += (chunk < 16 ? 1 : 37)) {
        sfj__frame_dec_init(&d, dbuf, SFJ_FRAME_MAX_BYTES, SFJ_FRAME_MAX_BODY);
        got = 0;
        for (pos = 0; pos < len;) {
            size_t n = len - pos < chunk ? len - pos : chunk;
            rc = sfj__frame_dec_feed(&d, stream + pos, n, &used, &f);
            assert_true(rc >= 0);
            pos += used;
            if (rc == 1) {
                fill(body, 100 + 50 * got, (uint32_t)got);
                assert_int_equal(f.type, got + 1);
                assert_int_equal(f.len, 100 + 50 * got);
                assert_memory_equal(f.body, body, f.len);
                got++;
            } else {
                assert_int_equal(used, n);
            }
        }
        assert_int_equal(got, 3);
        /* Nothing buffered: a truncated frame never completes. */
        rc = sfj__frame_dec_feed(&d, stream, 7, &used, &f);
        assert_int_equal(rc, 0);
        assert_int_equal(d.have, 7);
    }
    free(dbuf);
}

static void test_stream_decoder_bad(void **state)
{
    uint8_t stream[300], *dbuf = big(SFJ_FRAME_MAX_BYTES), body[50];
    sfj__frame_dec d;
    sfj__frame f;
    size_t a, b, used;
    int rc;

    (void)state;
    fill(body, sizeof body, 1);
    a = sfj__frame_encode(stream, sizeof stream, 3, 0, body, 50);
    b = sfj__frame_encode(stream + a, sizeof stream - a, 4, 0, body, 40);
    stream[20] ^= 0x40; /* corrupt the first frame's body */
    sfj__frame_dec_init(&d, dbuf, SFJ_FRAME_MAX_BYTES, SFJ_FRAME_MAX_BODY);
    rc = sfj__frame_dec_feed(&d, stream, a + b, &used, &f);
    assert_int_equal(rc, SFJ_ECORRUPT);
    assert_int_equal(used, a);
    /* The decoder goes on with the next frame. */
    rc = sfj__frame_dec_feed(&d, stream + a, b, &used, &f);
    assert_int_equal(rc, 1);
    assert_int_equal(f.type, 4);
    assert_int_equal(f.len, 40);
    /* An oversize length fails the stream for good. */
    sfj__put_u32(stream + 2, SFJ_FRAME_MAX_BODY + 1);
    rc = sfj__frame_dec_feed(&d, stream, 6, &used, &f);
    assert_int_equal(rc, SFJ_ELIMIT);
    rc = sfj__frame_dec_feed(&d, stream + a, b, &used, &f);
    assert_int_equal(rc, SFJ_ELIMIT);
    assert_int_equal(used, 0);
    sfj__frame_dec_reset(&d);
    rc = sfj__frame_dec_feed(&d, stream + a, b, &used, &f);
    assert_int_equal(rc, 1);
    /* A smaller per-decoder limit (e.g. a tight receiver). */
    sfj__frame_dec_init(&d, dbuf, SFJ_FRAME_MAX_BYTES, 45);
    rc = sfj__frame_dec_feed(&d, stream + a, b, &used, &f);
    assert_int_equal(rc, 1);
    sfj__frame_encode(stream, sizeof stream, 3, 0, body, 50);
    rc = sfj__frame_dec_feed(&d, stream, a, &used, &f);
    assert_int_equal(rc, SFJ_ELIMIT);
    free(dbuf);
}

static void cobs_roundtrip(const uint8_t *in, size_t len)
{
    uint8_t *enc = big(SFJ_COBS_MAX(len)), *dec = big(len + 1);
    size_t n, out_len = 0, i;

    n = sfj__cobs_encode(in, len, enc, SFJ_COBS_MAX(len));
    assert_true(n > 0 && n <= SFJ_COBS_MAX(len));
    for (i = 0; i < n; i++)
        assert_int_not_equal(enc[i], 0);
    assert_int_equal(sfj__cobs_decode(enc, n, dec, len + 1, &out_len), 0);
    assert_int_equal(out_len, len);
    if (len > 0)
        assert_memory_equal(dec, in, len);
    /* One byte short of room fails cleanly. */
    if (len > 0)
        assert_int_equal(sfj__cobs_encode(in, len, enc, n - 1), 0);
    free(enc);
    free(dec);
}

static void test_cobs(void **state)
{
    static const size_t sizes[] = {0,   1,   2,   253, 254,  255,
                                   256, 508, 509, 510, 4000, 70000};
    uint8_t *buf = big(70000);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(buf, 0, sizes[i]);
        cobs_roundtrip(buf, sizes[i]); /* all zeros */
        memset(buf, 0x11, sizes[i]);
        cobs_roundtrip(buf, sizes[i]); /* no zeros: longest encoding */
        fill(buf, sizes[i], (uint32_t)i);
        cobs_roundtrip(buf, sizes[i]);
    }
    /* Known vectors from the COBS paper / Wikipedia. */
    {
        const uint8_t in[] = {0x11, 0x22, 0x00, 0x33};
        const uint8_t want[] = {0x03, 0x11, 0x22, 0x02, 0x33};
        uint8_t out[8];
        assert_int_equal(sfj__cobs_encode(in, 4, out, sizeof out), 5);
        assert_memory_equal(out, want, 5);
    }
    free(buf);
}

static void test_cobs_bad(void **state)
{
    uint8_t out[16];
    size_t n;

    (void)state;
    /* A block promising more bytes than the packet holds. */
    assert_int_equal(sfj__cobs_decode((const uint8_t *)"\x05\x01\x02", 3, out,
                                      sizeof out, &n),
                     SFJ_EPROTO);
    /* A zero inside a packet. */
    assert_int_equal(sfj__cobs_decode((const uint8_t *)"\x03\x01\x00", 3, out,
                                      sizeof out, &n),
                     SFJ_EPROTO);
    /* Output too small. */
    assert_int_equal(
        sfj__cobs_decode((const uint8_t *)"\x04\x01\x02\x03", 4, out, 2, &n),
        SFJ_EBUFS);
}

/* COBS stream: garbage, empty packets, a packet cut short, an oversize
 * one, then good frames; the good ones all come out. */
static void test_cobs_stream(void **state)
{
    uint8_t frame[SFJ_FRAME_OVERHEAD + 300], body[300];
    uint8_t *line = big(8192), *dbuf = big(SFJ_FRAME_MAX_BYTES);
    size_t len = 0, n, used, pkt_len, pos;
    const uint8_t *pkt;
    sfj__cobs_dec d;
    sfj__frame f;
    int rc, good = 0, bad = 0, k;

    (void)state;
    line[len++] = 0x42; /* line noise before the first delimiter */
    line[len++] = 0x00;
    line[len++] = 0x00; /* empty packet */
    fill(body, sizeof body, 5);
    n = sfj__frame_encode(frame, sizeof frame, 3, 0, body, 300);
    len += sfj__cobs_encode(frame, n, line + len, 8192 - len) - 10;
    line[len++] = 0x00; /* truncated packet */
    for (k = 0; k < 3; k++) {
        body[0] = (uint8_t)k;
        n = sfj__frame_encode(frame, sizeof frame, 3, 0, body, 300);
        len += sfj__cobs_encode(frame, n, line + len, 8192 - len);
        line[len++] = 0x00;
    }
    memset(line + len, 0x07, 600); /* oversize for a 512-byte decoder */
    len += 600;
    line[len++] = 0x00;
    n = sfj__frame_encode(frame, sizeof frame, 6, 0, body, 8);
    len += sfj__cobs_encode(frame, n, line + len, 8192 - len);
    line[len++] = 0x00;

    sfj__cobs_dec_init(&d, dbuf, 512);
    for (pos = 0; pos < len; pos += used) {
        rc = sfj__cobs_dec_feed(&d, line + pos, len - pos, &used, &pkt,
                                &pkt_len);
        if (rc == 1) {
            rc = sfj__frame_parse(pkt, pkt_len, SFJ_FRAME_MAX_BODY, &f);
            if (rc == 0) {
                assert_true(f.type == 3 || f.type == 6);
                if (f.type == 3)
                    assert_int_equal(f.body[0], good);
                good++;
            } else {
                bad++;
            }
        } else if (rc < 0) {
            assert_true(rc == SFJ_ELIMIT || rc == SFJ_EPROTO);
            bad++;
        }
    }
    assert_int_equal(good, 4);
    assert_int_equal(bad, 3); /* noise, the truncated one, the oversize */
    free(line);
    free(dbuf);
}

static void test_messages(void **state)
{
    uint8_t body[512], key[32];
    sfj__hello h, h2;
    sfj__hello_ack ha, ha2;
    sfj__ack a, a2;
    sfj__nak k, k2;
    size_t n;

    (void)state;
    memset(key, 9, sizeof key);
    memset(&h, 0, sizeof h);
    h.version = SFJ_PROTO_VERSION;
    memset(h.journal_id, 0xab, sizeof h.journal_id);
    strcpy(h.terminal_id, "T-0001");
    h.first_unacked = 17;
    h.last_seq = 99;
    memset(h.nonce, 3, sizeof h.nonce);
    n = sfj__hello_encode(&h, body);
    sfj__hello_sign(key, body, n);
    assert_int_equal(sfj__hello_verify(key, body, n), 0);
    assert_int_equal(sfj__hello_decode(body, n, &h2), 0);
    assert_string_equal(h2.terminal_id, "T-0001");
    assert_int_equal(h2.first_unacked, 17);
    assert_int_equal(h2.last_seq, 99);
    assert_memory_equal(h2.journal_id, h.journal_id, 16);
    body[5] ^= 1; /* any change breaks the MAC */
    assert_int_equal(sfj__hello_verify(key, body, n), SFJ_EAUTH);
    body[5] ^= 1;
    key[0] ^= 1; /* and so does another key */
    assert_int_equal(sfj__hello_verify(key, body, n), SFJ_EAUTH);
    assert_int_equal(sfj__hello_decode(body, n - 1, &h2), SFJ_EPROTO);
    assert_int_equal(sfj__hello_decode(body, n + 1, &h2), SFJ_EPROTO);
    body[18] = 0; /* empty terminal id */
    assert_int_equal(sfj__hello_decode(body, n, &h2), SFJ_EPROTO);

    memset(&ha, 0, sizeof ha);
    ha.version = 1;
    ha.window = 64;
    ha.next_seq = 1234;
    memset(ha.chain, 7, sizeof ha.chain);
    memset(ha.mac, 8, sizeof ha.mac);
    strcpy(ha.text, "ok");
    n = sfj__hello_ack_encode(&ha, body);
    assert_int_equal(sfj__hello_ack_decode(body, n, &ha2), 0);
    assert_int_equal(ha2.next_seq, 1234);
    assert_int_equal(ha2.window, 64);
    assert_string_equal(ha2.text, "ok");
    assert_memory_equal(ha2.mac, ha.mac, 32);
    assert_int_equal(sfj__hello_ack_decode(body, n - 1, &ha2), SFJ_EPROTO);
    ha.window = 0;
    n = sfj__hello_ack_encode(&ha, body);
    assert_int_equal(sfj__hello_ack_decode(body, n, &ha2), SFJ_EPROTO);

    a.seq = 77;
    memset(a.chain, 1, 32);
    memset(a.mac, 2, 32);
    n = sfj__ack_encode(&a, body);
    assert_int_equal(n, SFJ_ACK_BODY);
    assert_int_equal(sfj__ack_decode(body, n, &a2), 0);
    assert_int_equal(a2.seq, 77);
    assert_memory_equal(a2.mac, a.mac, 32);
    assert_int_equal(sfj__ack_decode(body, n - 1, &a2), SFJ_EPROTO);

    k.seq = 5;
    k.reason = SFJ_NAK_BAD_FRAME;
    strcpy(k.text, "crc\x01");
    n = sfj__nak_encode(&k, body);
    assert_int_equal(sfj__nak_decode(body, n, &k2), 0);
    assert_int_equal(k2.seq, 5);
    assert_int_equal(k2.reason, SFJ_NAK_BAD_FRAME);
    assert_string_equal(k2.text, "crc?"); /* control bytes never reach logs */
    assert_int_equal(sfj__nak_decode(body, n + 1, &k2), SFJ_EPROTO);
    assert_int_equal(sfj__nak_decode(body, 9, &k2), SFJ_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_roundtrip),
        cmocka_unit_test(test_frame_limits),
        cmocka_unit_test(test_frame_bad),
        cmocka_unit_test(test_stream_decoder),
        cmocka_unit_test(test_stream_decoder_bad),
        cmocka_unit_test(test_cobs),
        cmocka_unit_test(test_cobs_bad),
        cmocka_unit_test(test_cobs_stream),
        cmocka_unit_test(test_messages),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
