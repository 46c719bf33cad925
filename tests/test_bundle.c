/* Evidence bundles: round trip, every single-byte change rejected, wrong
 * public key rejected, nothing of other transactions disclosed, unsealed
 * and unknown transactions refused, garbage input survived; bundles of a
 * journal with its own dictionary carry it, and every way of removing,
 * cutting, swapping or forging it is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/event_codec.h"
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
static void every_byte_change_rejected(fixture *f, uint8_t *buf, size_t len)
{
    static const uint8_t deltas[] = {0x01, 0x80, 0xff};
    size_t off, d;

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

/* Every byte change of T-A's bundle from the journal `make` builds. */
static void every_byte_change_of(fixture *f, void (*make)(fixture *))
{
    uint8_t *buf;
    size_t len;

    make(f);
    build(f, "T-A", &buf, &len);
    every_byte_change_rejected(f, buf, len);
}

static void test_every_byte_change_rejected(void **state)
{
    every_byte_change_of(*state, build_journal);
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
    size_t len, i, k, n;
    uint32_t at[4];
    sfj__bundle b;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    copy = malloc(len);
    for (i = 0; i < 2000; i++) {
        randombytes_buf(noise, sizeof noise);
        if (i % 2)
            memcpy(noise, "SFJBUNDL\0\1\0\0", 12);
        /* And with a dictionary item to parse. */
        if (i % 4 == 3)
            noise[11] = SFJ_BUNDLE_F_DICT;
        assert_int_not_equal(
            sfj__bundle_check(noise, 1 + i % sizeof noise, NULL, &b), SFJ_OK);
        memcpy(copy, buf, len);
        /* 1 to 4 bytes changed, at distinct places: two changes at one
         * place could cancel out and leave the bundle as it was. */
        for (k = 0; k < 1 + i % 4; k++) {
            at[k] = randombytes_uniform((uint32_t)len);
            for (n = 0; n < k; n++) {
                if (at[n] == at[k]) {
                    at[k] = randombytes_uniform((uint32_t)len);
                    n = (size_t)-1; /* check again from the first */
                }
            }
            copy[at[k]] ^= (uint8_t)(1 + randombytes_uniform(255));
        }
        assert_true(memcmp(copy, buf, len) != 0);
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
static void expect_refused(fixture *f, const uint8_t *buf, size_t len,
                           int want_rc, const char *want_reason,
                           size_t want_offset)
{
    char *file = sfj_test_path(f->dir, "bad.bundle");
    sfj__bundle b;
    FILE *fp;
    int rc;

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
    free(file);
}

static void expect_class(fixture *f, uint8_t *buf, size_t len, size_t at,
                         uint8_t delta, int want_rc, const char *want_reason,
                         size_t want_offset)
{
    sfj__bundle b;

    buf[at] ^= delta;
    expect_refused(f, buf, len, want_rc, want_reason, want_offset);
    buf[at] ^= delta;
    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_OK);
    sfj__bundle_clear(&b);
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

/* ---- a journal with its own dictionary ---- */

/* A template of the terminal's messages, and the same with one field
 * changed (same length, so a record deflated against the first would
 * inflate against the second into other text). */
#define DICT_REAL                                                              \
    "merchant=ACME STORE 0001;terminal=T-0042;acquirer=BANK OF EXAMPLE;"       \
    "mcc=5411;country=DE;entry_mode=chip;response_code=00;"
#define DICT_EVIL                                                              \
    "merchant=EVIL STORE 6666;terminal=T-0042;acquirer=BANK OF EXAMPLE;"       \
    "mcc=5411;country=DE;entry_mode=chip;response_code=00;"
#define DICT_OTHER "merchant=OTHER SHOP;terminal=T-9999;acquirer=ELSEWHERE;"

/* Offsets in a bundle of "T-A": the dictionary item follows the txn id. */
#define DICT_ITEM (77 + 3)
#define DICT_REC  (DICT_ITEM + SFJ_KEY_BYTES + 4)

static void open_dict(fixture *f, const char *name, const char *dict,
                      sfj_journal **out)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    char *path = sfj_test_path(f->dir, name);

    opts.checkpoint_every = 10;
    opts.dictionary = dict;
    opts.dictionary_len = strlen(dict);
    assert_int_equal(sfj_journal_open(path, f->keys, &opts, out), SFJ_OK);
    free(path);
}

/* 200 bytes that do not compress (the xorshift of Appendix B). */
static void noise_payload(uint32_t x, uint8_t *out, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)x;
    }
}

static uint64_t add_raw(sfj_journal *j, uint16_t kind, const char *txn,
                        int64_t amount, const void *payload, size_t n)
{
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t seq = 0;

    ev.kind = kind;
    ev.status = kind == SFJ_EV_TXN_OUTCOME ? SFJ_ST_APPROVED
                : kind == SFJ_EV_RECEIPT   ? SFJ_ST_PRINTED
                                           : 0;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = "EUR";
    ev.wall_ms = 1800000000000;
    ev.payload = payload;
    ev.payload_len = n;
    assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
    return seq;
}

/* The seqs of the journal build_dict_journal writes: T-A's three
 * records and T-R's first. */
static uint64_t a_seq[3], r_seq;

/* Seq 1 is the DICTIONARY record. T-A's three records repeat the
 * template (compressed with the journal's dictionary, flag bit 3); T-R's
 * two do not compress at all (flags 0); a checkpoint seals both. */
static void build_dict_journal(fixture *f)
{
    static const char *const a[] = {
        "MARKER-A-INTENT merchant=ACME STORE 0001;terminal=T-0042;"
        "acquirer=BANK OF EXAMPLE;mcc=5411;country=DE;",
        "MARKER-A-OUT merchant=ACME STORE 0001;terminal=T-0042;"
        "entry_mode=chip;response_code=00;",
        "MARKER-A-RCPT merchant=ACME STORE 0001;terminal=T-0042;"
        "acquirer=BANK OF EXAMPLE;response_code=00;"};
    uint8_t noise[200];

    open_dict(f, "j", DICT_REAL, &f->j);
    noise_payload(1, noise, sizeof noise);
    r_seq = add_raw(f->j, SFJ_EV_TXN_INTENT, "T-R", 10, noise, sizeof noise);
    a_seq[0] = add_raw(f->j, SFJ_EV_TXN_INTENT, "T-A", 200, a[0], strlen(a[0]));
    add_raw(f->j, SFJ_EV_NOTE, NULL, 400, a[1], strlen(a[1]));
    a_seq[1] =
        add_raw(f->j, SFJ_EV_TXN_OUTCOME, "T-A", 200, a[1], strlen(a[1]));
    noise_payload(2, noise, sizeof noise);
    add_raw(f->j, SFJ_EV_TXN_OUTCOME, "T-R", 10, noise, sizeof noise);
    a_seq[2] = add_raw(f->j, SFJ_EV_RECEIPT, "T-A", 202, a[2], strlen(a[2]));
    /* Reopening writes the checkpoint that seals them. */
    sfj_journal_close(f->j);
    open_dict(f, "j", DICT_REAL, &f->j);
}

static void expect_flags(fixture *f, uint64_t seq, uint8_t want)
{
    uint8_t *rec;
    size_t len;

    assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, &len), SFJ_OK);
    assert_int_equal(rec[SFJ_REC_OFF_FLAGS] & SFJ_REC_F_DICTJ, want);
    free(rec);
}

static void write_file(fixture *f, const char *name, const uint8_t *buf,
                       size_t len, char **path)
{
    FILE *fp;

    *path = sfj_test_path(f->dir, name);
    fp = fopen(*path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    fclose(fp);
}

/* `buf` checks (under `pin`) with these flags, dictionary length and
 * number of disclosed records; then it is freed. */
static void expect_ok(uint8_t *buf, size_t len, const uint8_t *pin,
                      uint16_t flags, size_t dict_len, size_t n_events)
{
    sfj__bundle b;

    assert_int_equal(sfj__bundle_check(buf, len, pin, &b), SFJ_OK);
    assert_int_equal(b.flags, flags);
    assert_int_equal(b.dict_len, dict_len);
    assert_int_equal(b.n_events, n_events);
    sfj__bundle_clear(&b);
    free(buf);
}

/* A bundle of a journal with a dictionary carries it (flag 1, the sealed
 * DICTIONARY record as stored, with its record key), checks, and shows the
 * txn's records; a txn none of whose records used it gets a flags-0
 * bundle from the same journal. */
static void test_dict_round_trip(void **state)
{
    fixture *f = *state;
    uint8_t *buf, *seq1, ekey[32], rkey[32];
    size_t len, len1, i;
    sfj__bundle b;
    char *file;

    build_dict_journal(f);
    build(f, "T-A", &buf, &len);
    assert_int_equal(sfj__get_u16(buf + 10), SFJ_BUNDLE_F_DICT);
    assert_int_equal(sfj__journal_read_sealed(f->j, 1, &seq1, &len1), SFJ_OK);
    assert_int_equal(sfj__get_u16(seq1 + SFJ_REC_OFF_KIND), SFJ_EV_DICTIONARY);
    sfj__epoch_key(f->keys, 1, ekey);
    sfj__record_key(ekey, 1, rkey);
    assert_memory_equal(buf + DICT_ITEM, rkey, 32);
    assert_int_equal(sfj__get_u32(buf + DICT_ITEM + 32), len1);
    assert_memory_equal(buf + DICT_REC, seq1, len1);
    assert_int_equal(buf[DICT_REC + len1], SFJ_BUNDLE_ITEM_RECORD);
    sodium_memzero(ekey, sizeof ekey);
    sodium_memzero(rkey, sizeof rkey);
    free(seq1);
    /* The dictionary is sealed in the file like the records. */
    assert_false(sfj_test_memmem(buf, len, "ACME", 4));

    assert_int_equal(sfj__bundle_check(buf, len, f->pubkey, &b), SFJ_OK);
    assert_int_equal(b.flags, SFJ_BUNDLE_F_DICT);
    assert_int_equal(b.dict_len, strlen(DICT_REAL));
    assert_string_equal(b.txn_id, "T-A");
    assert_int_equal(b.n_events, 3);
    assert_int_equal(b.first_seq, a_seq[0]);
    assert_int_equal(b.hidden, 2); /* the note and T-R's outcome */
    assert_int_equal(b.events[0]->seq, a_seq[0]);
    assert_int_equal(b.events[1]->seq, a_seq[1]);
    assert_int_equal(b.events[2]->seq, a_seq[2]);
    assert_int_equal(b.events[1]->kind, SFJ_EV_TXN_OUTCOME);
    assert_int_equal(b.events[1]->amount, 200);
    assert_int_equal(b.events[2]->payload_len,
                     strlen("MARKER-A-RCPT merchant=ACME STORE 0001;"
                            "terminal=T-0042;acquirer=BANK OF EXAMPLE;"
                            "response_code=00;"));
    assert_memory_equal(b.events[2]->payload,
                        "MARKER-A-RCPT merchant=ACME STORE 0001;", 39);
    /* Each of them was made with the dictionary, so the test is about
     * what it claims to be. */
    for (i = 0; i < b.n_events; i++)
        expect_flags(f, b.events[i]->seq, SFJ_REC_F_DICTJ);
    sfj__bundle_clear(&b);
    assert_int_equal(sfj__bundle_check(buf, len, NULL, &b), SFJ_OK);
    assert_int_equal(b.n_events, 3);
    sfj__bundle_clear(&b);

    /* sfj-dump shows the records and says the dictionary came along. */
    write_file(f, "T-A.sfjb", buf, len, &file);
    assert_int_equal(sfj_test_run_tool(f, "sfj-dump", "--check-bundle", file,
                                       "--payload", "text", "-o", "wide", NULL),
                     0);
    assert_true(sfj_test_file_contains(f->out, "3 record(s) disclosed"));
    assert_true(sfj_test_file_contains(f->out, "dictionary  the journal's own, "
                                               "119 bytes"));
    assert_true(sfj_test_file_contains(f->out, "MARKER-A-RCPT merchant=ACME"));
    free(file);
    free(buf);

    /* T-R's records are not compressed: no dictionary in its bundle. */
    expect_flags(f, r_seq, 0);
    build(f, "T-R", &buf, &len);
    assert_int_equal(sfj__get_u16(buf + 10), 0);
    assert_int_equal(buf[77 + 3], SFJ_BUNDLE_ITEM_RECORD);
    expect_ok(buf, len, f->pubkey, 0, 0, 2);
}

/* A journal without a dictionary gives the bundle it always gave: flags
 * 0, the first item right after the txn id, and exactly the length of
 * the header, the items and the checkpoint. */
static void test_no_dict_layout(void **state)
{
    fixture *f = *state;
    uint8_t *buf;
    size_t len, off, want = 77 + 3;
    uint64_t seq;

    build_journal(f);
    build(f, "T-A", &buf, &len);
    assert_int_equal(sfj__get_u16(buf + 10), 0);
    for (seq = 2, off = want; seq < 11; seq++) {
        if (seq == 2 || seq == 5 || seq == 8) {
            assert_int_equal(buf[off], SFJ_BUNDLE_ITEM_RECORD);
            off += 1 + SFJ_KEY_BYTES + 4 +
                   sfj__get_u32(buf + off + 1 + SFJ_KEY_BYTES);
        } else {
            assert_int_equal(buf[off], SFJ_BUNDLE_ITEM_LEAF);
            off += 1 + SFJ_HASH_BYTES;
        }
    }
    assert_int_equal(off + SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES, len);
    expect_ok(buf, len, f->pubkey, 0, 0, 3);
}

static void test_dict_every_byte_change_rejected(void **state)
{
    every_byte_change_of(*state, build_dict_journal);
}

/* buf[0..at) | ins | buf[at + cut..len): a new buffer of *out_len bytes. */
static uint8_t *splice(const uint8_t *buf, size_t len, size_t at, size_t cut,
                       const uint8_t *ins, size_t ins_len, size_t *out_len)
{
    uint8_t *out;

    *out_len = len - cut + ins_len;
    out = malloc(*out_len);
    assert_non_null(out);
    memcpy(out, buf, at);
    if (ins_len > 0)
        memcpy(out + at, ins, ins_len);
    memcpy(out + at + ins_len, buf + at + cut, len - at - cut);
    return out;
}

/* A dictionary item anyone can make: a DICTIONARY record (seq 1, kind 10)
 * of `dict`, sealed for journal `jid` under a made-up epoch key, with the
 * record key that opens it. */
static uint8_t *forge_dict_item(const uint8_t *jid, const char *dict,
                                size_t *item_len)
{
    sfj_event ev = SFJ_EVENT_INIT;
    uint8_t ekey[32], *pt, flags, *item;
    size_t pt_len, rlen;
    sfj__rec_hdr h;

    ev.kind = SFJ_EV_NOTE;
    ev.payload = dict;
    ev.payload_len = strlen(dict);
    assert_int_equal(sfj__event_pack(&ev, 1, &pt, &pt_len, &flags), SFJ_OK);
    memset(&h, 0, sizeof h);
    h.format = SFJ_REC_FORMAT;
    h.flags = flags;
    h.kind = SFJ_EV_DICTIONARY;
    h.epoch = 1;
    h.seq = 1;
    h.wall_ms = 1800000000000;
    randombytes_buf(ekey, sizeof ekey);
    rlen = SFJ_REC_HDR_BYTES + pt_len + SFJ_REC_TAG_BYTES;
    *item_len = SFJ_KEY_BYTES + 4 + rlen;
    item = malloc(*item_len);
    assert_non_null(item);
    sfj__rec_seal(jid, ekey, &h, NULL, pt, pt_len, item + SFJ_KEY_BYTES + 4);
    sfj__rec_key(ekey, item + SFJ_KEY_BYTES + 4, item);
    sfj__put_u32(item + SFJ_KEY_BYTES, (uint32_t)rlen);
    free(pt);
    return item;
}

/* Length of the dictionary item of a T-A bundle. */
static size_t dict_item_len(const uint8_t *buf)
{
    return SFJ_KEY_BYTES + 4 + sfj__get_u32(buf + DICT_ITEM + SFJ_KEY_BYTES);
}

/* The dictionary item flipped, cut, swapped for another journal's, or
 * forged: each refused with the reason and offset docs/FORMAT.md
 * ("Checking") gives, and by sfj-dump --check-bundle with exit 65. */
static void test_dict_item_damage_refused(void **state)
{
    fixture *f = *state;
    uint8_t *buf, *mod;
    size_t len, mlen, ilen, first;

    build_dict_journal(f);
    build(f, "T-A", &buf, &len);
    ilen = dict_item_len(buf);
    first = DICT_ITEM + ilen; /* the item of the first disclosed record */
    assert_int_equal(buf[first], SFJ_BUNDLE_ITEM_RECORD);

    /* A byte of its sealed record (ciphertext, tag) or of its key. */
    expect_class(f, buf, len, DICT_REC + SFJ_REC_HDR_BYTES + 3, 0x10, SFJ_EAUTH,
                 "the dictionary item fails authentication", DICT_REC);
    expect_class(f, buf, len, DICT_ITEM + ilen - 1, 0x01, SFJ_EAUTH,
                 "the dictionary item fails authentication", DICT_REC);
    expect_class(f, buf, len, DICT_ITEM + 5, 0x40, SFJ_EAUTH,
                 "the dictionary item fails authentication", DICT_REC);
    /* Its clear header: another seq or kind, an unknown flag bit. */
    expect_class(f, buf, len, DICT_REC + SFJ_REC_OFF_SEQ + 7, 0x02,
                 SFJ_ECORRUPT, "is not a DICTIONARY record at seq 1", DICT_REC);
    expect_class(f, buf, len, DICT_REC + SFJ_REC_OFF_KIND + 1, 0x02,
                 SFJ_ECORRUPT, "is not a DICTIONARY record at seq 1", DICT_REC);
    expect_class(f, buf, len, DICT_REC + SFJ_REC_OFF_FLAGS, 0x80, SFJ_ECORRUPT,
                 "damaged dictionary item header", DICT_REC);
    /* A record of the txn itself in its place: it opens, but it is not
     * the dictionary. */
    mod = splice(buf, len, DICT_ITEM, ilen, buf + first + 1,
                 SFJ_KEY_BYTES + 4 +
                     sfj__get_u32(buf + first + 1 + SFJ_KEY_BYTES),
                 &mlen);
    expect_refused(f, mod, mlen, SFJ_ECORRUPT,
                   "is not a DICTIONARY record at seq 1", DICT_REC);
    free(mod);

    /* Cut: inside its key, inside its record, or the bundle ends there. */
    expect_refused(f, buf, DICT_ITEM + 20, SFJ_ECORRUPT,
                   "the bundle ends inside it", DICT_ITEM);
    expect_refused(f, buf, DICT_REC + 40, SFJ_ECORRUPT,
                   "bad dictionary item length", DICT_ITEM + SFJ_KEY_BYTES);
    expect_refused(f, buf, DICT_ITEM, SFJ_ECORRUPT, "the bundle ends inside it",
                   DICT_ITEM);
    /* Removed, with flag 1 left: the record item that now follows the
     * txn id is no dictionary item (its key's last byte and its length
     * make an impossible length). */
    mod = splice(buf, len, DICT_ITEM, ilen, NULL, 0, &mlen);
    expect_refused(f, mod, mlen, SFJ_ECORRUPT, "bad dictionary item length",
                   DICT_ITEM + SFJ_KEY_BYTES);
    /* Removed and flag 1 cleared: the records cannot be read. */
    sfj__put_u16(mod + 10, 0);
    expect_refused(f, mod, mlen, SFJ_ECORRUPT,
                   "the bundle does not carry the journal's dictionary",
                   DICT_ITEM + 1 + SFJ_KEY_BYTES + 4);
    free(mod);
    /* Flag bits other than bit 0 stay refused. */
    expect_class(f, buf, len, 11, 0x02, SFJ_ECORRUPT, "unknown bundle flags 3",
                 10);
    expect_class(f, buf, len, 10, 0x80, SFJ_ECORRUPT,
                 "unknown bundle flags 32769", 10);
    free(buf);
}

/* Another dictionary than the one the records were made with: another
 * journal's item as it is (it does not open under this journal's id),
 * and dictionaries sealed under a made-up record key for this journal,
 * which open but make every record made with the real one fail its tag:
 * the dictionary's id is in each record's associated data. The same
 * forgery carrying the real dictionary passes, so it is the id that
 * refuses the others. */
static void test_dict_swapped_or_forged_refused(void **state)
{
    fixture *f = *state;
    uint8_t *buf, *obuf, *item, *mod, jid[16];
    size_t len, olen, ilen, first, flen, mlen, i;
    sfj_journal *other;
    char reason[256], want[128];

    build_dict_journal(f);
    build(f, "T-A", &buf, &len);
    sfj_journal_id(f->j, jid);
    ilen = dict_item_len(buf);
    first = DICT_ITEM + ilen + 1 + SFJ_KEY_BYTES + 4; /* T-A's first record */

    /* Another journal's bundle of its own T-A, dictionary and all. */
    open_dict(f, "k", DICT_OTHER, &other);
    add_raw(other, SFJ_EV_TXN_INTENT, "T-A", 1, DICT_OTHER "MARKER-K",
            strlen(DICT_OTHER) + 8);
    assert_int_equal(sfj_journal_close(other), SFJ_OK);
    open_dict(f, "k", DICT_OTHER, &other);
    assert_int_equal(
        sfj__bundle_build(other, "T-A", &obuf, &olen, reason, sizeof reason),
        SFJ_OK);
    assert_int_equal(sfj_journal_close(other), SFJ_OK);
    assert_int_equal(sfj__get_u16(obuf + 10), SFJ_BUNDLE_F_DICT);
    mod = splice(buf, len, DICT_ITEM, ilen, obuf + DICT_ITEM,
                 dict_item_len(obuf), &mlen);
    expect_refused(f, mod, mlen, SFJ_EAUTH,
                   "the dictionary item fails authentication", DICT_REC);
    free(mod);
    free(obuf);

    /* Forged for this journal: the real dictionary passes ... */
    item = forge_dict_item(jid, DICT_REAL, &flen);
    mod = splice(buf, len, DICT_ITEM, ilen, item, flen, &mlen);
    expect_ok(mod, mlen, f->pubkey, SFJ_BUNDLE_F_DICT, strlen(DICT_REAL), 3);
    free(item);
    /* ... another journal's dictionary, or one edited to keep its
     * length, does not. */
    snprintf(want, sizeof want,
             "record %llu fails authentication with the bundle's dictionary",
             (unsigned long long)a_seq[0]);
    for (i = 0; i < 2; i++) {
        item = forge_dict_item(jid, i == 0 ? DICT_OTHER : DICT_EVIL, &flen);
        mod = splice(buf, len, DICT_ITEM, ilen, item, flen, &mlen);
        expect_refused(f, mod, mlen, SFJ_EAUTH, want, first + flen - ilen);
        free(mod);
        free(item);
    }
    free(buf);
}

/* A dictionary is disclosed only with records that need it: one added to
 * a bundle none of whose records was made with it is refused. */
static void test_dict_unused_refused(void **state)
{
    fixture *f = *state;
    uint8_t *buf, *rbuf, *mod;
    size_t len, rlen, mlen, ilen;

    build_dict_journal(f);
    build(f, "T-A", &buf, &len);
    build(f, "T-R", &rbuf, &rlen);
    ilen = dict_item_len(buf);
    mod = splice(rbuf, rlen, DICT_ITEM, 0, buf + DICT_ITEM, ilen, &mlen);
    sfj__put_u16(mod + 10, SFJ_BUNDLE_F_DICT);
    expect_refused(f, mod, mlen, SFJ_ECORRUPT,
                   "carries a dictionary that none of its records was made "
                   "with",
                   DICT_ITEM);
    free(mod);
    free(rbuf);
    free(buf);
}

static void reopen(fixture *f, const sfj_keys *keys)
{
    char *path = sfj_test_path(f->dir, "j");

    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(path, keys, NULL, &f->j), SFJ_OK);
    free(path);
}

/* After a key rotation meta dict holds the DICTIONARY record sealed again
 * under the new epoch: that is the item bundles carry, for the txns of
 * either epoch, and both check. With the new key alone the records of the
 * old epoch cannot be bundled, and the reason says which key is missing. */
static void test_dict_after_rotation(void **state)
{
    fixture *f = *state;
    static const char msg[] = "MARKER-N merchant=ACME STORE 0001;"
                              "terminal=T-0042;acquirer=BANK OF EXAMPLE;";
    char *k2file = sfj_test_path(f->dir, "k2.key"),
         *out = sfj_test_path(f->dir, "t-a.bundle");
    sfj_keys *k2 = NULL, *both = NULL;
    uint8_t *buf, *seq1, k2pk[32];
    size_t len, len1;
    char reason[256];
    sfj__bundle b;

    assert_int_equal(sfj_keys_generate_file(k2file), SFJ_OK);
    assert_int_equal(sfj_keys_load_file(k2file, &k2), SFJ_OK);
    assert_int_equal(sfj_keys_load_file(k2file, &both), SFJ_OK);
    build_dict_journal(f);
    assert_int_equal(sfj_journal_rotate_keys(f->j, k2, NULL), SFJ_OK);
    add_raw(f->j, SFJ_EV_TXN_INTENT, "T-N", 5, msg, strlen(msg));
    /* Reopening writes the checkpoint that seals T-N. */
    assert_int_equal(sfj_keys_add(both, f->keys), SFJ_OK);
    reopen(f, both);
    sfj_keys_public_key(k2, k2pk);
    build(f, "T-A", &buf, &len);
    assert_int_equal(sfj__get_u16(buf + 10), SFJ_BUNDLE_F_DICT);
    assert_int_equal(sfj__get_u32(buf + DICT_REC + SFJ_REC_OFF_EPOCH), 2);
    assert_int_equal(sfj__journal_read_sealed(f->j, 1, &seq1, &len1), SFJ_OK);
    assert_int_equal(sfj__get_u32(seq1 + SFJ_REC_OFF_EPOCH), 1);
    free(seq1);
    expect_ok(buf, len, NULL, SFJ_BUNDLE_F_DICT, strlen(DICT_REAL), 3);
    build(f, "T-N", &buf, &len);
    assert_int_equal(sfj__bundle_check(buf, len, k2pk, &b), SFJ_OK);
    assert_int_equal(b.n_events, 1);
    assert_int_equal(b.events[0]->payload_len, strlen(msg));
    assert_memory_equal(b.events[0]->payload, msg, strlen(msg));
    sfj__bundle_clear(&b);
    free(buf);
    reopen(f, k2);
    buf = NULL;
    assert_int_equal(
        sfj__bundle_build(f->j, "T-A", &buf, &len, reason, sizeof reason),
        SFJ_ENOKEY);
    assert_null(buf);
    assert_non_null(strstr(reason, "seq 1 is sealed under key epoch 1: give "
                                   "that epoch's key file too"));
    /* sfj-dump says it as it says it for a listing: a key not given (77),
     * not an internal error. */
    sfj_journal_close(f->j);
    f->j = NULL;
    assert_int_equal(sfj_test_run_tool(f, "sfj-dump", f->path, "--key", k2file,
                                       "--txn", "T-A", "--bundle", out, NULL),
                     77);
    sfj_keys_free(both);
    sfj_keys_free(k2);
    free(k2file);
    free(out);
}

/* A journal whose meta dict is gone (damage): its records made with the
 * dictionary cannot be bundled, and the reason says why. */
static void test_dict_gone_no_bundle(void **state)
{
    fixture *f = *state;
    MDB_val k = {4, (void *)"dict"};
    char reason[256], want[128];
    uint8_t *buf = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    size_t len;

    build_dict_journal(f);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, f->path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(
        sfj__bundle_build(f->j, "T-A", &buf, &len, reason, sizeof reason),
        SFJ_ECORRUPT);
    assert_null(buf);
    snprintf(want, sizeof want,
             "seq %llu is compressed with the journal's dictionary, which the "
             "journal does not hold",
             (unsigned long long)a_seq[0]);
    assert_non_null(strstr(reason, want));
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
        cmocka_unit_test_setup_teardown(test_dict_round_trip, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_dict_layout, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_every_byte_change_rejected,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_item_damage_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_swapped_or_forged_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_unused_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_after_rotation,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dict_gone_no_bundle,
                                        sfj_test_setup, sfj_test_teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
