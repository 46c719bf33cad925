/* Evidence bundles: round trip, every single-byte change rejected, wrong
 * public key rejected, nothing of other transactions disclosed, unsealed
 * and unknown transactions refused, garbage input survived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/record.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/chain.h"
#include "support/hosttest.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

static void open_j(fixture *f)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    char *path = sfj_test_path(f->dir, "j");

    opts.checkpoint_every = 10;
    assert_int_equal(sfj_journal_open(path, f->keys, &opts, &f->j), SFJ_OK);
    free(path);
}

static void add(fixture *f, uint16_t kind, uint16_t status, const char *txn,
                int64_t amount, const char *payload)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = "EUR";
    ev.wall_ms = 1800000000000 + amount;
    ev.payload = payload;
    ev.payload_len = payload ? strlen(payload) : 0;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
}

/* T-A at seqs 2, 5 and 8, surrounded by other txns; a checkpoint at 11
 * (every 10 entries) seals them. T-B continues past it. */
static void build_journal(fixture *f)
{
    open_j(f);
    add(f, SFJ_EV_TXN_INTENT, 0, "T-B", 100, "MARKER-B-INTENT");
    add(f, SFJ_EV_TXN_INTENT, 0, "T-A", 200, "MARKER-A-INTENT");
    add(f, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T-C", 300, "MARKER-C-1");
    add(f, SFJ_EV_NOTE, 0, NULL, 400, "MARKER-NOTE");
    add(f, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T-A", 200, "MARKER-A-OUT");
    add(f, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T-B", 100, "MARKER-B-OUT");
    add(f, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T-C", 301, "MARKER-C-2");
    add(f, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T-A", 202, "MARKER-A-RCPT");
    add(f, SFJ_EV_NOTE, 0, NULL, 401, "MARKER-NOTE-2");
    add(f, SFJ_EV_NOTE, 0, NULL, 402, "MARKER-NOTE-3");
    /* seq 11 is the checkpoint */
    add(f, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "T-B", 102, "MARKER-B-REV");
    add(f, SFJ_EV_NOTE, 0, NULL, 403, "MARKER-NOTE-4");
}

static void build(fixture *f, const char *txn, uint8_t **buf, size_t *len)
{
    char reason[256];

    assert_int_equal(
        sfj__bundle_build(f->j, txn, buf, len, reason, sizeof reason), SFJ_OK);
    assert_non_null(*buf);
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    uint8_t *buf, jid[16];
    size_t len;
    sfj__bundle b;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_OK);
    sfj_journal_id(f->j, jid);
    assert_memory_equal(b.journal_id, jid, 16);
    assert_memory_equal(b.pubkey, f->pubkey, 32);
    assert_string_equal(b.txn_id, "T-A");
    assert_int_equal(b.first_seq, 2);
    assert_int_equal(b.ckpt_seq, 11);
    assert_int_equal(b.hidden, 6); /* 3, 4, 6, 7, 9, 10 */
    assert_int_equal(b.ckpt_boot, 1);
    assert_int_equal(b.n_events, 3);
    assert_int_equal(b.events[0]->seq, 2);
    assert_int_equal(b.events[0]->kind, SFJ_EV_TXN_INTENT);
    assert_int_equal(b.events[0]->amount, 200);
    assert_int_equal(b.events[0]->wall_ms, 1800000000200);
    assert_int_equal(b.events[1]->seq, 5);
    assert_int_equal(b.events[1]->status, SFJ_ST_APPROVED);
    assert_int_equal(b.events[2]->seq, 8);
    assert_int_equal(b.events[2]->kind, SFJ_EV_RECEIPT);
    assert_int_equal(b.events[2]->payload_len, 13);
    assert_memory_equal(b.events[2]->payload, "MARKER-A-RCPT", 13);
    assert_string_equal(b.events[2]->currency, "EUR");
    sfj__bundle_clear(&b);
    /* Without a pin the bundle's own key is used, and it still holds. */
    assert_int_equal(sfj__bundle_check(buf, len, NULL, &b), SFJ_OK);
    assert_int_equal(b.n_events, 3);
    sfj__bundle_clear(&b);
    free(buf);

    /* T-B spans checkpoint 11: sealed by the next one, written on close
     * and reopen. */
    sfj_journal_close(f->j);
    open_j(f);
    build(f, "T-B", &buf, &len);
    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_OK);
    assert_int_equal(b.first_seq, 1);
    assert_int_equal(b.ckpt_seq, 14);
    assert_int_equal(b.n_events, 3);
    assert_int_equal(b.events[2]->seq, 12);
    assert_int_equal(b.events[2]->kind, SFJ_EV_REVERSAL);
    sfj__bundle_clear(&b);
    free(buf);
}

static void expect_reject(const uint8_t *buf, size_t len, const uint8_t *pin,
                          size_t where)
{
    sfj__bundle b;
    int rc = sfj__bundle_check(buf, len, pin, &b);

    if (rc == SFJ_OK)
        fail_msg("a change at byte %zu was accepted", where);
    assert_true(rc == SFJ_ECORRUPT || rc == SFJ_EAUTH || rc == SFJ_EVERSION);
    assert_true(strlen(b.reason) > 0);
    assert_int_equal(b.n_events, 0);
    assert_null(b.events);
}

/* Every byte is bound to something that is checked: change any one,
 * with or without a pinned key, and the bundle is rejected. Cutting it
 * short anywhere, or appending, is rejected too. */
static void test_every_byte_change_rejected(void **state)
{
    fixture *f = *state;
    static const uint8_t deltas[] = {0x01, 0x80, 0xff};
    uint8_t *buf;
    size_t len, off, d;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    assert_true(len > 500);
    for (off = 0; off < len; off++) {
        for (d = 0; d < sizeof deltas; d++) {
            buf[off] ^= deltas[d];
            expect_reject(buf, len, f->pubkey, off);
            expect_reject(buf, len, NULL, off);
            buf[off] ^= deltas[d];
        }
    }
    for (off = 0; off < len; off++)
        expect_reject(buf, off, NULL, off);
    buf = realloc(buf, len + 1);
    buf[len] = 0;
    expect_reject(buf, len + 1, NULL, len);
    free(buf);
}

static void test_wrong_pubkey_rejected(void **state)
{
    fixture *f = *state;
    sfj_keys *other = sfj_test_keys(9);
    uint8_t *buf, opk[32];
    size_t len;
    sfj__bundle b;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    sfj_keys_public_key(other, opk);
    assert_int_equal(sfj__bundle_check(buf, len, opk, &b), SFJ_EAUTH);
    assert_non_null(strstr(b.reason, "pinned"));
    /* Swapping the key inside the bundle breaks the signature. */
    memcpy(buf + 28, opk, 32);
    assert_int_equal(sfj__bundle_check(buf, len, NULL, &b), SFJ_EAUTH);
    assert_non_null(strstr(b.reason, "signature"));
    sfj_keys_free(other);
    free(buf);
}

/* Relabelling a bundle as another txn of the same id length fails. */
static void test_relabelled_txn_rejected(void **state)
{
    fixture *f = *state;
    uint8_t *buf;
    size_t len;
    sfj__bundle b;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    assert_int_equal(buf[76], 3);
    memcpy(buf + 77, "T-B", 3);
    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_EAUTH);
    assert_non_null(strstr(b.reason, "another transaction"));
    free(buf);
}

/* The bundle holds T-A's record keys and nothing of anyone else: no
 * other record's key, no other txn id, no plaintext marker at all. */
static void test_discloses_nothing_else(void **state)
{
    fixture *f = *state;
    static const char *const others[] = {"MARKER-B", "MARKER-C", "MARKER-NOTE",
                                         "T-B", "T-C"};
    uint8_t *buf, *rec, ekey[32], rkey[32];
    size_t len, rlen, i;
    uint64_t seq;
    int mine;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    for (i = 0; i < sizeof others / sizeof others[0]; i++)
        assert_false(sfj_test_memmem(buf, len, others[i], strlen(others[i])));
    /* Even the disclosed plaintext is sealed in the file. */
    assert_false(sfj_test_memmem(buf, len, "MARKER-A", 8));
    for (seq = 1; seq <= 12; seq++) {
        assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, &rlen), 0);
        sfj__epoch_key(f->keys, sfj__get_u32(rec + 4), ekey);
        sfj__record_key(ekey, seq, rkey);
        mine = seq == 2 || seq == 5 || seq == 8;
        assert_int_equal(sfj_test_memmem(buf, len, rkey, sizeof rkey), mine);
        /* Hidden records appear only as their leaf, never whole. */
        assert_int_equal(sfj_test_memmem(buf, len, rec, rlen),
                         mine || seq == 11);
        free(rec);
    }
    /* The epoch key itself never leaves. */
    assert_false(sfj_test_memmem(buf, len, ekey, sizeof ekey));
    sodium_memzero(ekey, sizeof ekey);
    free(buf);
}

static void test_unsealed_and_unknown_refused(void **state)
{
    fixture *f = *state;
    char reason[256];
    uint8_t *buf = (uint8_t *)1;
    size_t len = 1;

    build_journal(f);
    /* T-B's reversal at 12 has no checkpoint after it yet. */
    assert_int_equal(
        sfj__bundle_build(f->j, "T-B", &buf, &len, reason, sizeof reason),
        SFJ_ESTATE);
    assert_null(buf);
    assert_non_null(strstr(reason, "not sealed"));
    assert_int_equal(
        sfj__bundle_build(f->j, "T-NONE", &buf, &len, reason, sizeof reason),
        SFJ_ENOTFOUND);
    assert_null(buf);
}

/* Random and randomly mutated input never crashes or passes. */
static void test_garbage_survived(void **state)
{
    fixture *f = *state;
    uint8_t *buf, *copy, noise[512];
    size_t len, i, k;
    sfj__bundle b;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    copy = malloc(len);
    for (i = 0; i < 2000; i++) {
        randombytes_buf(noise, sizeof noise);
        if (i % 2)
            memcpy(noise, "SFJBUNDL\0\1\0\0", 12);
        assert_int_not_equal(
            sfj__bundle_check(noise, 1 + i % sizeof noise, NULL, &b), SFJ_OK);
        memcpy(copy, buf, len);
        for (k = 0; k < 1 + i % 4; k++)
            copy[randombytes_uniform((uint32_t)len)] ^=
                (uint8_t)(1 + randombytes_uniform(255));
        assert_int_not_equal(sfj__bundle_check(copy, len, NULL, &b), SFJ_OK);
    }
    assert_int_equal(sfj__bundle_check(NULL, 0, NULL, &b), SFJ_ECORRUPT);
    free(copy);
    free(buf);
}

/* One record damaged per field class, each refused with the error and
 * reason docs/FORMAT.md ("Checking") gives, at the byte that is wrong,
 * and by sfj-dump --check-bundle with exit 65. T-A's bundle: seq 2
 * disclosed, seqs 3 and 4 hidden, seq 5 disclosed, ... */
static void expect_class(fixture *f, uint8_t *buf, size_t len, size_t at,
                         uint8_t delta, int want_rc, const char *want_reason,
                         size_t want_offset)
{
    char *file = sfj_test_path(f->dir, "bad.bundle");
    sfj__bundle b;
    FILE *fp;
    int rc;

    buf[at] ^= delta;
    rc = sfj__bundle_check(buf, len, f->pubkey, &b);
    assert_int_equal(rc, want_rc);
    if (strstr(b.reason, want_reason) == NULL)
        fail_msg("reason \"%s\" lacks \"%s\"", b.reason, want_reason);
    assert_int_equal(b.bad_offset, want_offset);
    assert_int_equal(b.n_events, 0);
    fp = fopen(file, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
    assert_int_equal(
        sfj_test_run_tool(f, "sfj-dump", "--check-bundle", file, NULL), 65);
    assert_true(sfj_test_file_contains(f->err, "bundle REJECTED"));
    assert_true(sfj_test_file_contains(f->err, want_reason));
    buf[at] ^= delta;
    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_OK);
    sfj__bundle_clear(&b);
    free(file);
}

static void test_bad_record_classes(void **state)
{
    fixture *f = *state;
    uint8_t *buf;
    size_t len, item, rec, rlen, leaf;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    /* The header, "T-A", then the first item: disclosed seq 2. */
    item = 77 + 3;
    assert_int_equal(buf[item], SFJ_BUNDLE_ITEM_RECORD);
    rec = item + 1 + SFJ_KEY_BYTES + 4;
    rlen = sfj__get_u32(buf + item + 1 + SFJ_KEY_BYTES);
    leaf = rec + rlen; /* the hidden item of seq 3 */
    assert_int_equal(buf[leaf], SFJ_BUNDLE_ITEM_LEAF);
    /* Damaged header: an unknown flag bit. */
    expect_class(f, buf, len, rec + SFJ_REC_OFF_FLAGS, 0x80, SFJ_ECORRUPT,
                 "damaged record header at seq 2", rec);
    /* Bad AEAD: one bit of the tag. */
    expect_class(f, buf, len, rec + rlen - 1, 0x01, SFJ_EAUTH,
                 "record 2 fails authentication", rec);
    /* Wrong chain leaf: seq 5's prev_chain no longer follows. */
    expect_class(f, buf, len, leaf + 1 + 7, 0x04, SFJ_EAUTH,
                 "hash chain broken before seq 5",
                 leaf + 2 * (1 + SFJ_HASH_BYTES) + 1 + SFJ_KEY_BYTES + 4 +
                     SFJ_REC_OFF_PREV);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_record_classes, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_every_byte_change_rejected,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_pubkey_rejected,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_relabelled_txn_rejected,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_discloses_nothing_else,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_unsealed_and_unknown_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_survived, sfj_test_setup,
                                        sfj_test_teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
