/* Event plaintext codec: validation of every field, a round trip for every
 * kind (raw and compressed), and refusal of malformed plaintext: each
 * truncation, a wrong version, bad lengths, bad characters and trailing
 * bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "journal/format/compress.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/sfj.h"

static const char TXN_MAX[] =
    "T123456789012345678901234567890123456789012345678901234567890123";
static const char AUTH_MAX[] = "A12345678901";

static sfj_event sample(uint16_t kind)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "T-0001";
    ev.amount = -1234;
    ev.currency = "EUR";
    ev.auth_code = "A1B2C3";
    ev.copy = 2;
    return ev;
}

/* Pack, unpack and compare every field; returns the record flags used. */
static uint8_t roundtrip(const sfj_event *ev, uint32_t boot)
{
    sfj_entry e;
    uint8_t *pt = NULL, flags = 0xff;
    size_t len = 0;

    assert_int_equal(sfj__event_validate(ev), SFJ_OK);
    assert_int_equal(sfj__event_pack(ev, boot, &pt, &len, &flags), SFJ_OK);
    assert_non_null(pt);
    assert_true(flags == 0 || flags == (SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2));
    memset(&e, 0xa5, sizeof e);
    e.payload = NULL;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_int_equal(e.status, ev->status);
    assert_int_equal(e.boot, boot);
    assert_string_equal(e.txn_id, ev->txn_id ? ev->txn_id : "");
    assert_int_equal(e.amount, ev->amount);
    assert_string_equal(e.currency, ev->currency ? ev->currency : "");
    assert_string_equal(e.auth_code, ev->auth_code ? ev->auth_code : "");
    assert_int_equal(e.copy, ev->copy);
    assert_int_equal(e.payload_len, ev->payload_len);
    if (ev->payload_len > 0)
        assert_memory_equal(e.payload, ev->payload, ev->payload_len);
    else
        assert_null(e.payload);
    sfj__secmem_free(e.payload);
    sodium_memzero(pt, len);
    free(pt);
    return flags;
}

static void test_every_kind(void **state)
{
    static const uint16_t kinds[] = {
        SFJ_EV_TXN_INTENT, SFJ_EV_TXN_OUTCOME, SFJ_EV_TXN_OFFLINE,
        SFJ_EV_REVERSAL,   SFJ_EV_RECEIPT,     SFJ_EV_SETTLEMENT,
        SFJ_EV_NOTE,       SFJ_EV_APP,         0xffff};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        sfj_event ev = sample(kinds[i]);

        ev.status = (uint16_t)(i * 3);
        roundtrip(&ev, (uint32_t)i + 1);
        /* Kinds that need no txn id take none, and no optional field. */
        if (kinds[i] == SFJ_EV_SETTLEMENT || kinds[i] >= SFJ_EV_NOTE) {
            sfj_event bare = SFJ_EVENT_INIT;

            bare.kind = kinds[i];
            roundtrip(&bare, 0xffffffffu);
        }
    }
}

static void test_field_edges(void **state)
{
    uint8_t *payload = malloc(SFJ_PAYLOAD_MAX);
    sfj_event ev = sample(SFJ_EV_TXN_OFFLINE);
    size_t sizes[] = {
        1, 2, 255, 256, 4096, SFJ_PAYLOAD_MAX - 1, SFJ_PAYLOAD_MAX};
    size_t i;

    (void)state;
    assert_non_null(payload);
    ev.txn_id = TXN_MAX;
    ev.auth_code = AUTH_MAX;
    ev.amount = INT64_MIN;
    ev.copy = UINT32_MAX;
    ev.status = 0xffff;
    roundtrip(&ev, 0);
    ev.amount = INT64_MAX;
    ev.currency = "";
    ev.auth_code = "";
    roundtrip(&ev, 0);
    /* Random payloads of every size; repetitive ones are compressed. */
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ev.payload = payload;
        ev.payload_len = sizes[i];
        randombytes_buf(payload, sizes[i]);
        roundtrip(&ev, 7);
        memset(payload, '0', sizes[i]);
        assert_int_equal(roundtrip(&ev, 7),
                         SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2);
    }
    free(payload);
}

static void test_validate_refusals(void **state)
{
    static const uint16_t bad_kinds[] = {0, SFJ_EV_CHECKPOINT, 9, 0x0fff};
    static const char *bad_txn[] = {"", "has space", "tab\t", "\x7f", "é"};
    static const char *bad_cur[] = {"eur", "EU", "EURO", "E1R", "E R"};
    static const char *bad_auth[] = {"A123456789012", "a b"};
    sfj_event ev;
    size_t i;

    (void)state;
    assert_int_equal(sfj__event_validate(NULL), SFJ_EINVAL);
    for (i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        ev = sample(bad_kinds[i]);
        assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    }
    /* txn_id is required for txn, reversal and receipt kinds. */
    for (i = SFJ_EV_TXN_INTENT; i <= SFJ_EV_RECEIPT; i++) {
        ev = sample((uint16_t)i);
        ev.txn_id = NULL;
        assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    }
    ev = sample(SFJ_EV_NOTE);
    ev.txn_id = NULL;
    assert_int_equal(sfj__event_validate(&ev), SFJ_OK);
    for (i = 0; i < sizeof bad_txn / sizeof bad_txn[0]; i++) {
        ev = sample(SFJ_EV_TXN_INTENT);
        ev.txn_id = bad_txn[i];
        assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    }
    ev = sample(SFJ_EV_TXN_INTENT);
    ev.txn_id = TXN_MAX;
    assert_int_equal(sfj__event_validate(&ev), SFJ_OK);
    ev.txn_id = "T1234567890123456789012345678901234567890123456789012345678901"
                "234";
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    for (i = 0; i < sizeof bad_cur / sizeof bad_cur[0]; i++) {
        ev = sample(SFJ_EV_TXN_INTENT);
        ev.currency = bad_cur[i];
        assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    }
    for (i = 0; i < sizeof bad_auth / sizeof bad_auth[0]; i++) {
        ev = sample(SFJ_EV_TXN_INTENT);
        ev.auth_code = bad_auth[i];
        assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    }
    ev = sample(SFJ_EV_TXN_INTENT);
    ev.payload_len = 1; /* with a NULL payload */
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.payload = "x";
    assert_int_equal(sfj__event_validate(&ev), SFJ_OK);
    ev.payload_len = SFJ_PAYLOAD_MAX + 1;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
}

/* The documented layout of `ev`'s plaintext, written by hand here:
 * u8 version | u16 status | u32 boot | u8 txn_len | txn_id | u64 amount |
 * u8[3] currency | u8 auth_len | auth_code | u32 copy | u32 payload_len |
 * payload. */
static uint8_t *raw_plaintext(const sfj_event *ev, size_t *len)
{
    size_t tl = strlen(ev->txn_id), al = strlen(ev->auth_code);
    uint8_t *pt = malloc(SFJ_EVENT_FIXED_BYTES + tl + al + ev->payload_len);
    uint8_t *p = pt;

    assert_non_null(pt);
    *p++ = SFJ__EVENT_CODEC_V1;
    sfj__put_u16(p, ev->status);
    sfj__put_u32(p + 2, 5);
    p[6] = (uint8_t)tl;
    memcpy(p + 7, ev->txn_id, tl);
    p += 7 + tl;
    sfj__put_u64(p, (uint64_t)ev->amount);
    memcpy(p + 8, ev->currency, 3);
    p[11] = (uint8_t)al;
    memcpy(p + 12, ev->auth_code, al);
    p += 12 + al;
    sfj__put_u32(p, ev->copy);
    sfj__put_u32(p + 4, (uint32_t)ev->payload_len);
    memcpy(p + 8, ev->payload, ev->payload_len);
    *len = (size_t)(p + 8 - pt) + ev->payload_len;
    assert_int_equal(*len, SFJ_EVENT_FIXED_BYTES + tl + al + ev->payload_len);
    return pt;
}

static int unpack(const uint8_t *pt, size_t len, uint8_t flags)
{
    sfj_entry e;
    int rc;

    memset(&e, 0, sizeof e);
    rc = sfj__event_unpack(pt, len, flags, &e);
    sfj__secmem_free(e.payload);
    return rc;
}

static void test_malformed_refused(void **state)
{
    sfj_event ev = sample(SFJ_EV_TXN_OUTCOME);
    uint8_t *pt, *bad;
    size_t len, n, txn_off = 7, auth_off;

    (void)state;
    ev.payload = "abc";
    ev.payload_len = 3;
    pt = raw_plaintext(&ev, &len);
    bad = malloc(len + 1);
    assert_non_null(bad);
    {
        sfj_entry e;

        memset(&e, 0, sizeof e);
        assert_int_equal(sfj__event_unpack(pt, len, 0, &e), SFJ_OK);
        assert_int_equal(e.status, ev.status);
        assert_int_equal(e.boot, 5);
        assert_string_equal(e.txn_id, ev.txn_id);
        assert_int_equal(e.amount, ev.amount);
        assert_string_equal(e.currency, "EUR");
        assert_string_equal(e.auth_code, ev.auth_code);
        assert_int_equal(e.copy, ev.copy);
        assert_int_equal(e.payload_len, 3);
        assert_memory_equal(e.payload, "abc", 3);
        sfj__secmem_free(e.payload);
    }
    /* Every truncation, and one trailing byte. */
    for (n = 0; n < len; n++)
        assert_int_equal(unpack(pt, n, 0), SFJ_ECORRUPT);
    memcpy(bad, pt, len);
    bad[len] = 0;
    assert_int_equal(unpack(bad, len + 1, 0), SFJ_ECORRUPT);
    /* Wrong codec version. */
    bad[0] = SFJ__EVENT_CODEC_V2 + 1;
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    /* txn_id: longer than the rest, above the maximum, not printable. */
    memcpy(bad, pt, len);
    bad[txn_off] = 0xff;
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    bad[txn_off] = SFJ_TXN_ID_MAX + 1;
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    memcpy(bad, pt, len);
    bad[txn_off + 1] = ' ';
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    /* auth_code length above its maximum, or a control character. */
    auth_off = txn_off + 1 + strlen(ev.txn_id) + 11;
    memcpy(bad, pt, len);
    assert_int_equal(bad[auth_off], strlen(ev.auth_code));
    bad[auth_off] = SFJ_AUTH_CODE_MAX + 1;
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    memcpy(bad, pt, len);
    bad[auth_off + 1] = '\n';
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    /* payload_len disagreeing with the bytes left. */
    memcpy(bad, pt, len);
    sfj__put_u32(bad + len - 3 - 4, 4);
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    sfj__put_u32(bad + len - 3 - 4, 2);
    assert_int_equal(unpack(bad, len, 0), SFJ_ECORRUPT);
    /* Raw bytes labelled compressed are not a stream. */
    assert_int_equal(unpack(pt, len, SFJ_REC_F_DEFLATE), SFJ_ECORRUPT);
    sodium_memzero(pt, len);
    free(pt);
    free(bad);
}

/* Records written before dictionary v2 (SFJ_REC_F_DEFLATE alone, deflated
 * with v1) still decode. */
static void test_v1_records_read(void **state)
{
    sfj_event ev = SFJ_EVENT_INIT;
    static const char payload[] =
        "{\"mti\":\"0200\",\"amount\":\"000000001250\",\"currency\":\"978\","
        "\"emv\":{\"9F26\":\"0011223344556677\",\"9F27\":\"80\"}}";
    uint8_t *pt = NULL, flags = 0, *raw, *v1;
    size_t len = 0, raw_len = 0, v1_len = 0;
    sfj_entry e;

    (void)state;
    ev.kind = SFJ_EV_TXN_INTENT;
    ev.txn_id = "T-v1";
    ev.amount = 1250;
    ev.currency = "EUR";
    ev.payload = (const uint8_t *)payload;
    ev.payload_len = sizeof payload - 1;
    assert_int_equal(sfj__event_pack(&ev, 4, &pt, &len, &flags), SFJ_OK);
    assert_int_equal(flags, SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2);
    assert_int_equal(sfj__inflate_len(pt, len, 1u << 20, &raw_len), SFJ_OK);
    raw = malloc(raw_len);
    v1 = malloc(raw_len);
    assert_non_null(raw);
    assert_non_null(v1);
    assert_int_equal(sfj__inflate(SFJ__DICT_V2, pt, len, raw, raw_len), SFJ_OK);
    assert_int_equal(
        sfj__deflate(SFJ__DICT_V1, raw, raw_len, v1, raw_len, &v1_len), 1);
    memset(&e, 0, sizeof e);
    assert_int_equal(sfj__event_unpack(v1, v1_len, SFJ_REC_F_DEFLATE, &e),
                     SFJ_OK);
    assert_string_equal(e.txn_id, "T-v1");
    assert_int_equal(e.amount, 1250);
    assert_int_equal(e.payload_len, sizeof payload - 1);
    assert_memory_equal(e.payload, payload, sizeof payload - 1);
    sfj__secmem_free(e.payload);
    sodium_memzero(raw, raw_len);
    free(raw);
    free(v1);
    sodium_memzero(pt, len);
    free(pt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_field_edges),
        cmocka_unit_test(test_validate_refusals),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_v1_records_read),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
