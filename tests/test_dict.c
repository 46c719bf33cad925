/* The journal dictionary (docs/FORMAT.md, "Journal dictionary"): a
 * journal created with one holds it, sealed, as the DICTIONARY record at
 * seq 1 and in meta `dict`, and compresses every later record against it
 * (flag bit 3, its id bound into the associated data). Records read back
 * exactly, are smaller than with dictionary v2, open with no other
 * dictionary, and stay readable across reopen, key rotation and pruning;
 * bad options are refused before anything is created. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "common/bytes.h"
#include "journal/format/compress.h"
#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

#define DAY 86400000ll

/* A terminal's template: its own fixed fields in the common layout, the
 * variable ones zero, no card data. */
static const char TEMPLATE[] =
    "0200723C448108E0820000000000000000000000000000000000000000000000005812"
    "051001003000642851750000000000TID00042MID000004410871CAFE CENTRAL "
    "HERRENG 14WIEN           AT978";

/* A message of that terminal: what the template's fields predict. */
static size_t message(int i, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "0200723C448108E08200164761739999%04d0000000000%06d%010d"
                     "%06d5812051001003000642851750000%06dTID00042"
                     "MID000004410871CAFE CENTRAL HERRENG 14WIEN           AT"
                     "978",
                     i % 10000, 100 + 37 * i, 314000000 + i, i + 1, i + 1);

    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static int open_with(fixture *f, const sfj_keys *keys, const void *dict,
                     size_t dict_len)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    sfj_journal_close(f->j);
    f->j = NULL;
    o.dictionary = dict;
    o.dictionary_len = dict_len;
    o.retention_days = 1;
    return sfj_journal_open(f->path, keys, &o, &f->j);
}

/* Message i as an intent of txn T-i, or (note) as a note without one. */
static uint64_t put_kind(fixture *f, int note, int i, int64_t wall)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char txn[32], pl[256];
    uint64_t seq = 0;

    snprintf(txn, sizeof txn, "T-%06d", i);
    ev.kind = note ? SFJ_EV_NOTE : SFJ_EV_TXN_INTENT;
    ev.txn_id = note ? NULL : txn;
    ev.amount = 100 + 37 * i;
    ev.currency = "EUR";
    ev.wall_ms = wall;
    ev.payload = pl;
    ev.payload_len = message(i, pl, sizeof pl);
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
    return seq;
}

static uint64_t put_msg(fixture *f, int i, int64_t wall)
{
    return put_kind(f, 0, i, wall);
}

static void check_msg(fixture *f, uint64_t seq, int i)
{
    sfj_entry *e = NULL;
    char txn[32], pl[256];
    size_t n = message(i, pl, sizeof pl);

    snprintf(txn, sizeof txn, "T-%06d", i);
    if (sfj_read(f->j, seq, &e) != SFJ_OK)
        fail_msg("read %llu: %s", (unsigned long long)seq,
                 sfj_journal_errmsg(f->j));
    assert_string_equal(e->txn_id, e->kind == SFJ_EV_NOTE ? "" : txn);
    assert_int_equal(e->amount, 100 + 37 * i);
    assert_int_equal(e->payload_len, n);
    assert_memory_equal(e->payload, pl, n);
    sfj_entry_free(e);
}

static uint8_t flags_of(fixture *f, uint64_t seq, size_t *len)
{
    uint8_t *rec = NULL, flags;

    assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, len), SFJ_OK);
    flags = rec[SFJ_REC_OFF_FLAGS];
    free(rec);
    return flags;
}

static void verify_ok(fixture *f)
{
    sfj__verify_result vr;

    assert_int_equal(sfj__verify(f->j, 0, NULL, 1, &vr), SFJ_OK);
    if (vr.bad_seq != 0)
        fail_msg("verify: bad seq %llu: %s", (unsigned long long)vr.bad_seq,
                 vr.reason);
}

/* Seq 1 is the DICTIONARY record with the dictionary as payload (built
 * from a sample intent carrying the template); every message after it
 * carries flag bit 3, reads back exactly, and is smaller than the same
 * message in a journal without a dictionary; a reopen without the option
 * keeps the journal's dictionary. */
static void test_create_read_reopen(void **state)
{
    fixture *f = *state;
    sfj_event sample = SFJ_EVENT_INIT;
    const sfj_event *samples[1] = {&sample};
    uint8_t dict[SFJ_DICTIONARY_MAX];
    size_t len, dict_len, with = 0, without = 0;
    sfj_entry *e = NULL;
    uint64_t seq;
    char *other;
    int i;

    sample.kind = SFJ_EV_TXN_INTENT;
    sample.txn_id = "T-000000";
    sample.currency = "EUR";
    sample.payload = TEMPLATE;
    sample.payload_len = sizeof TEMPLATE - 1;
    assert_int_equal(
        sfj_dictionary_build(samples, 1, dict, sizeof dict, &dict_len), SFJ_OK);
    assert_true(dict_len > sizeof TEMPLATE - 1);
    assert_int_equal(open_with(f, f->keys, dict, dict_len), SFJ_OK);
    assert_non_null(sfj__journal_dict(f->j));
    assert_int_equal(sfj_read(f->j, 1, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_DICTIONARY);
    assert_int_equal(e->payload_len, dict_len);
    assert_memory_equal(e->payload, dict, dict_len);
    assert_string_equal(e->txn_id, "");
    sfj_entry_free(e);
    assert_int_equal(flags_of(f, 1, &len) & SFJ_REC_F_DICTJ, 0);
    /* The open that wrote it left nothing unsigned. */
    assert_int_equal(sfj_read(f->j, 2, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_CHECKPOINT);
    sfj_entry_free(e);
    for (i = 0; i < 40; i++)
        assert_int_equal(put_msg(f, i, 0), (uint64_t)i + 3);
    for (i = 0; i < 40; i++) {
        assert_int_equal(flags_of(f, (uint64_t)i + 3, &len),
                         SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ);
        with += len;
        check_msg(f, (uint64_t)i + 3, i);
    }
    verify_ok(f);

    /* Reopened without the option: the journal keeps its dictionary. */
    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_OK);
    seq = put_msg(f, 40, 0);
    assert_int_equal(flags_of(f, seq, &len),
                     SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ);
    check_msg(f, 3, 0);
    check_msg(f, seq, 40);

    /* The same messages in a journal without one. */
    other = sfj_test_path(f->dir, "plain");
    sfj_journal_close(f->j);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(other, f->keys, NULL, &f->j), SFJ_OK);
    for (i = 0; i < 40; i++)
        assert_int_equal(put_msg(f, i, 0), (uint64_t)i + 1);
    for (i = 0; i < 40; i++) {
        assert_int_equal(flags_of(f, (uint64_t)i + 1, &len),
                         SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2);
        without += len;
    }
    assert_null(sfj__journal_dict(f->j));
    /* The template holds the fixed fields: at least 40 bytes saved on
     * each record. */
    if (with + 40 * 40 > without)
        fail_msg("records with the dictionary: %zu bytes, without: %zu", with,
                 without);
    free(other);
}

/* A journal that already holds entries ignores the option; so the
 * dictionary can never change. */
static void test_ignored_once_entries_exist(void **state)
{
    fixture *f = *state;
    static const char other[] = "another terminal's layout 0210 ........";
    size_t len;

    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_OK);
    put_msg(f, 0, 0);
    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    assert_null(sfj__journal_dict(f->j));
    assert_int_equal(flags_of(f, put_msg(f, 1, 0), &len),
                     SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2);

    /* And a journal with one keeps its first. */
    sfj_journal_close(f->j);
    f->j = NULL;
    sfj_test_rmrf(f->path);
    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    put_msg(f, 0, 0);
    assert_int_equal(open_with(f, f->keys, other, sizeof other - 1), SFJ_OK);
    assert_int_equal(sfj__journal_dict(f->j)->payload_len, sizeof TEMPLATE - 1);
    assert_memory_equal(sfj__journal_dict(f->j)->payload, TEMPLATE,
                        sizeof TEMPLATE - 1);
}

/* A journal opened, but closed before its dictionary was written (a
 * crash between the two commits), gets it at the next writable open. */
static void test_written_while_empty(void **state)
{
    fixture *f = *state;
    size_t len;

    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_OK);
    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    assert_non_null(sfj__journal_dict(f->j));
    assert_int_equal(put_msg(f, 0, 0), 3);
    assert_int_equal(flags_of(f, 3, &len), SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ);
}

/* Bad options are refused before anything is created; the kind is sfj's
 * own. */
static void test_bad_dictionaries_refused(void **state)
{
    fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    uint8_t *big;
    struct stat st;

    big = calloc(1, SFJ_DICTIONARY_MAX + 1);
    assert_non_null(big);
    memset(big, 'A', SFJ_DICTIONARY_MAX + 1);
    assert_int_equal(open_with(f, f->keys, big, SFJ_DICTIONARY_MAX + 1),
                     SFJ_EINVAL);
    assert_int_equal(open_with(f, f->keys, TEMPLATE, 0), SFJ_EINVAL);
    assert_int_equal(open_with(f, f->keys, NULL, 5), SFJ_EINVAL);
    if (!sfj_test_format1()) /* else `path` was made beforehand */
        assert_int_not_equal(stat(f->path, &st), 0);
    /* The longest one is taken. */
    assert_int_equal(open_with(f, f->keys, big, SFJ_DICTIONARY_MAX), SFJ_OK);
    put_msg(f, 0, 0);
    check_msg(f, 3, 0);
    free(big);

    ev.kind = SFJ_EV_DICTIONARY;
    ev.payload = TEMPLATE;
    ev.payload_len = sizeof TEMPLATE - 1;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
}

/* The builder takes what sfj_append takes, and nothing more than fits. */
static void test_build_from_samples(void **state)
{
    sfj_event s[2] = {SFJ_EVENT_INIT, SFJ_EVENT_INIT};
    const sfj_event *p[SFJ_DICTIONARY_SAMPLES_MAX + 1];
    size_t k;
    uint8_t out[SFJ_DICTIONARY_MAX + 64], *big;
    size_t len = 99, one;

    (void)state;
    for (k = 0; k < SFJ_DICTIONARY_SAMPLES_MAX + 1; k++)
        p[k] = &s[k % 2];
    s[0].kind = SFJ_EV_NOTE;
    s[0].payload = TEMPLATE;
    s[0].payload_len = sizeof TEMPLATE - 1;
    s[1] = s[0];
    assert_int_equal(sfj_dictionary_build(p, 1, out, sizeof out, &one), SFJ_OK);
    /* The note's encoding: the fixed fields, then the payload. */
    assert_int_equal(one, 28 + sizeof TEMPLATE - 1);
    assert_memory_equal(out + 28, TEMPLATE, sizeof TEMPLATE - 1);
    assert_int_equal(sfj_dictionary_build(p, 2, out, sizeof out, &len), SFJ_OK);
    assert_int_equal(len, 2 * one);
    assert_memory_equal(out, out + one, one);
    assert_int_equal(sfj_dictionary_build(p, 2, out, one, &len), SFJ_EINVAL);
    assert_int_equal(len, 0);
    assert_int_equal(sfj_dictionary_build(p, 0, out, sizeof out, &len),
                     SFJ_EINVAL);
    assert_int_equal(sfj_dictionary_build(p, SFJ_DICTIONARY_SAMPLES_MAX + 1,
                                          out, sizeof out, &len),
                     SFJ_EINVAL);
    /* Invalid as an append: a txn kind without a txn id; a card number in
     * clear. */
    s[1].kind = SFJ_EV_TXN_INTENT;
    assert_int_equal(sfj_dictionary_build(p, 2, out, sizeof out, &len),
                     SFJ_EINVAL);
    s[1].kind = SFJ_EV_NOTE;
    s[1].card = "4111111111111111";
    assert_int_equal(sfj_dictionary_build(p, 2, out, sizeof out, &len),
                     SFJ_EPAN);
    s[1].card = NULL;
    s[1].version = 99;
    assert_int_equal(sfj_dictionary_build(p, 2, out, sizeof out, &len),
                     SFJ_EVERSION);
    /* Longer than a journal takes. */
    big = calloc(1, SFJ_DICTIONARY_MAX);
    assert_non_null(big);
    s[0].payload = big;
    s[0].payload_len = SFJ_DICTIONARY_MAX - 27;
    assert_int_equal(sfj_dictionary_build(p, 1, out, sizeof out, &len),
                     SFJ_EINVAL);
    s[0].payload_len = SFJ_DICTIONARY_MAX - 28;
    assert_int_equal(sfj_dictionary_build(p, 1, out, sizeof out, &len), SFJ_OK);
    assert_int_equal(len, SFJ_DICTIONARY_MAX);
    free(big);
}

/* A caller built against version 1 of the options passes a shorter
 * struct: nothing past it is read. */
static void test_opts_version_1(void **state)
{
    fixture *f = *state;
    size_t n = offsetof(sfj_journal_opts, dictionary);
    unsigned version = 1;
    uint8_t *o = calloc(1, n);

    assert_non_null(o);
    memcpy(o + offsetof(sfj_journal_opts, version), &version, sizeof version);
    assert_int_equal(sfj_journal_open(f->path, f->keys,
                                      (const sfj_journal_opts *)(void *)o,
                                      &f->j),
                     SFJ_OK);
    assert_null(sfj__journal_dict(f->j));
    free(o);
}

static sfj__dict *dict_of(const char *s)
{
    sfj__dict *d = NULL;

    assert_int_equal(sfj__dict_make((const uint8_t *)s, strlen(s), &d), SFJ_OK);
    return d;
}

/* A record made with the dictionary opens only with it: another
 * dictionary fails the tag (its id is in the associated data), none is
 * damage. */
static void test_other_dictionary_fails(void **state)
{
    fixture *f = *state;
    uint8_t *rec = NULL, jid[SFJ_JOURNAL_ID_BYTES];
    sfj__dict *same = dict_of(TEMPLATE), *other = dict_of("TID00043");
    sfj_entry *e = NULL;
    size_t len;

    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    put_msg(f, 7, 0);
    assert_int_equal(sfj_journal_id(f->j, jid), SFJ_OK);
    assert_int_equal(sfj__journal_read_sealed(f->j, 3, &rec, &len), SFJ_OK);
    assert_int_equal(sfj__record_open_keys(f->keys, jid, same, rec, len, &e),
                     SFJ_OK);
    sfj_entry_free(e);
    assert_int_equal(sfj__record_open_keys(f->keys, jid, other, rec, len, &e),
                     SFJ_EAUTH);
    assert_null(e);
    assert_int_equal(sfj__record_open_keys(f->keys, jid, NULL, rec, len, &e),
                     SFJ_ECORRUPT);
    /* Bit 3 cleared: the header no longer matches the tag. */
    rec[SFJ_REC_OFF_FLAGS] &= (uint8_t)~SFJ_REC_F_DICTJ;
    rec[SFJ_REC_OFF_FLAGS] |= SFJ_REC_F_DICT2;
    assert_int_equal(sfj__record_open_keys(f->keys, jid, same, rec, len, &e),
                     SFJ_EAUTH);
    free(rec);
    sfj__dict_free(same);
    sfj__dict_free(other);
}

static void meta_edit(fixture *f, int drop)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {4, (void *)"dict"}, v;
    uint8_t *copy;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, f->path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    if (drop) {
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    } else {
        assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
        copy = malloc(v.mv_size);
        assert_non_null(copy);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[v.mv_size - 20] ^= 1;
        v.mv_data = copy;
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
        free(copy);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* meta `dict` damaged: the open says so; gone: the records made with it
 * are refused with a message that names the dictionary. */
static void test_meta_dict_damaged_or_gone(void **state)
{
    fixture *f = *state;
    sfj_entry *e = NULL;

    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    put_msg(f, 0, 0);
    sfj_journal_close(f->j);
    f->j = NULL;
    meta_edit(f, 0);
    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_ECORRUPT);
    meta_edit(f, 1);
    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_OK);
    assert_null(sfj__journal_dict(f->j));
    assert_int_equal(sfj_read(f->j, 3, &e), SFJ_ECORRUPT);
    assert_non_null(strstr(sfj_journal_errmsg(f->j), "dictionary"));
}

/* After a key rotation the newest key alone opens the dictionary (meta
 * `dict` is sealed again under the new epoch) and appends with it; with
 * both keys every record reads. */
static void test_key_rotation(void **state)
{
    fixture *f = *state;
    sfj_keys *k2 = sfj_test_keys(0x62), *both = sfj_test_keys(0x62);
    sfj_entry *e = NULL;
    uint64_t before;
    size_t len;

    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    put_msg(f, 0, 0);
    assert_int_equal(sfj_journal_rotate_keys(f->j, k2, NULL), SFJ_OK);
    before = put_msg(f, 1, 0);
    assert_int_equal(open_with(f, k2, NULL, 0), SFJ_OK);
    assert_non_null(sfj__journal_dict(f->j));
    {
        uint64_t seq = put_msg(f, 2, 0);

        assert_int_equal(flags_of(f, seq, &len),
                         SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ);
        check_msg(f, seq, 2);
        check_msg(f, before, 1);
    }
    assert_int_equal(sfj_read(f->j, 3, &e), SFJ_ENOKEY);
    /* A host's mirror of it keeps the dictionary as received, under epoch
     * 1: read with the new key alone it opens, and a record made with the
     * dictionary needs the old key, which is a key not given, not
     * damage. */
    {
        sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
        char *mdir = sfj_test_path(f->dir, "mirror");
        uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[SFJ_PUBKEY_BYTES], *rec;
        sfj_journal *m = NULL;
        sfj_stats st = SFJ_STATS_INIT;
        uint64_t s;
        size_t n;

        assert_int_equal(sfj_journal_id(f->j, jid), SFJ_OK);
        assert_int_equal(sfj_keys_public_key(f->keys, pk), SFJ_OK);
        assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
        assert_int_equal(sfj__mirror_open(&m, mdir, jid, "terminal", pk, 0),
                         SFJ_OK);
        for (s = 1; s <= st.last_seq; s++) {
            assert_int_equal(sfj__journal_read_sealed(f->j, s, &rec, &n),
                             SFJ_OK);
            assert_int_equal(sfj__mirror_put(m, s, rec, n), SFJ_OK);
            free(rec);
        }
        assert_int_equal(sfj_journal_close(m), SFJ_OK);
        m = NULL;
        ro.flags = SFJ_OPEN_RDONLY;
        assert_int_equal(sfj_journal_open(mdir, k2, &ro, &m), SFJ_OK);
        assert_null(sfj__journal_dict(m));
        assert_int_equal(sfj_read(m, before, &e), SFJ_ENOKEY);
        assert_non_null(strstr(sfj_journal_errmsg(m),
                               "dictionary, sealed under key epoch 1"));
        sfj_journal_close(m);
        free(mdir);
    }
    assert_int_equal(sfj_keys_add(both, f->keys), SFJ_OK);
    assert_int_equal(open_with(f, both, NULL, 0), SFJ_OK);
    check_msg(f, 3, 0);
    verify_ok(f);
    sfj_keys_free(both);
    sfj_keys_free(k2);
}

/* Pruned past seq 1: the dictionary stays in meta and every record held
 * still reads and verifies, after a reopen too. */
static void test_pruned_past_seq_1(void **state)
{
    fixture *f = *state;
    sfj_stats st = SFJ_STATS_INIT;
    /* After the DICTIONARY record, which takes the clock's time. */
    int64_t T0 = (int64_t)time(NULL) * 1000 + 1000;
    uint64_t last = 0;
    int i;

    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    for (i = 0; i < 30; i++)
        last = put_kind(f, 1, i, T0);
    assert_int_equal(sfj__journal_ack(f->j, last, NULL, 0), SFJ_OK);
    for (i = 30; i < 34; i++)
        last = put_kind(f, 1, i, T0 + 2 * DAY);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_true(st.first_seq > 1);
    check_msg(f, last, 33);
    verify_ok(f);
    assert_int_equal(open_with(f, f->keys, NULL, 0), SFJ_OK);
    assert_non_null(sfj__journal_dict(f->j));
    check_msg(f, last, 33);
    verify_ok(f);
}

static int delivered_kinds[16], delivered_other;

static int deliver(const sfj_entry *e, void *payload)
{
    (void)payload;
    if (e->kind < 16)
        delivered_kinds[e->kind]++;
    else
        delivered_other++;
    return SFJ_DELIVER_ACK;
}

/* The callback sink hands the app its own events only: the DICTIONARY
 * record is acknowledged unseen, as checkpoints are; with
 * SFJ_FWD_F_DELIVER_CHECKPOINTS it is handed over too. */
static void test_callback_sink_skips_it(void **state)
{
    fixture *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    int i, pass;

    assert_int_equal(open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1),
                     SFJ_OK);
    for (i = 0; i < 5; i++)
        put_msg(f, i, 0);
    for (pass = 0; pass < 2; pass++) {
        memset(delivered_kinds, 0, sizeof delivered_kinds);
        delivered_other = 0;
        if (pass == 1) {
            /* Everything again, sfj's own entries included. */
            sfj_journal_close(f->j);
            f->j = NULL;
            sfj_test_rmrf(f->path);
            assert_int_equal(
                open_with(f, f->keys, TEMPLATE, sizeof TEMPLATE - 1), SFJ_OK);
            for (i = 0; i < 5; i++)
                put_msg(f, i, 0);
            o.flags = SFJ_FWD_F_DELIVER_CHECKPOINTS;
        }
        o.sink = SFJ_SINK_CALLBACK;
        o.deliver = deliver;
        assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
        assert_int_equal(sfj_forwarder_flush(fw, 10000), SFJ_OK);
        sfj_forwarder_free(fw);
        assert_int_equal(delivered_kinds[SFJ_EV_TXN_INTENT], 5);
        assert_int_equal(delivered_kinds[SFJ_EV_DICTIONARY], pass);
        assert_int_equal(delivered_other, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_read_reopen, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_ignored_once_entries_exist,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_written_while_empty,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_dictionaries_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_opts_version_1, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test(test_build_from_samples),
        cmocka_unit_test_setup_teardown(test_other_dictionary_fails,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_meta_dict_damaged_or_gone,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_key_rotation, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_pruned_past_seq_1, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_callback_sink_skips_it,
                                        sfj_test_setup, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
