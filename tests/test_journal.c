/* Journal core: round trips, reopen, encryption at rest, tamper detection,
 * map growth to the cap, keys, bad arguments, concurrent appends. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <lmdb.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/lmdb_format.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/rawjournal.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

static sfj_journal *open_j(fixture *f, const sfj_journal_opts *opts)
{
    sfj_journal *j = NULL;
    char *path = sfj_test_path(f->dir, "j");

    assert_int_equal(sfj_journal_open(path, f->keys, opts, &j), SFJ_OK);
    free(path);
    return j;
}

static uint64_t append_ev(sfj_journal *j, uint16_t kind, uint16_t status,
                          const char *txn, int64_t amount, const void *pl,
                          size_t pl_len)
{
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t seq = 0;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = "EUR";
    ev.auth_code = status == SFJ_ST_APPROVED ? "A1B2C3" : NULL;
    ev.copy = kind == SFJ_EV_RECEIPT ? 2 : 0;
    ev.wall_ms = 1700000000000 + amount;
    ev.payload = pl;
    ev.payload_len = pl_len;
    if (sfj_append(j, &ev, &seq) != SFJ_OK)
        fail_msg("append kind %u txn %s: %s", kind, txn ? txn : "-",
                 sfj_journal_errmsg(j));
    assert_true(seq > 0);
    return seq;
}

/* Every kind and field survives the round trip: empty, 64 KiB and
 * incompressible payloads included. The events form a legal history. */
static void test_round_trip_every_kind(void **state)
{
    fixture *f = *state;
    static const struct {
        uint16_t kind;
        uint16_t status;
        const char *txn;
    } evs[] = {
        {SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "TXN-1"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "TXN-1"},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "TXN-1"},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "TXN-2"},
        {SFJ_EV_REVERSAL, SFJ_ST_REV_SENT, "TXN-1"},
        {SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL},
        {SFJ_EV_NOTE, SFJ_ST_NONE, NULL},
        {SFJ_EV_APP, 77, "APP-ID"},
        {0xffff, 0, NULL},
    };
    uint8_t *big = malloc(SFJ_PAYLOAD_MAX), *noise = malloc(4096);
    size_t i;
    sfj_entry *e = NULL;
    uint64_t seq;

    for (i = 0; i < SFJ_PAYLOAD_MAX; i++)
        big[i] = (uint8_t)(i % 7 == 0 ? 'x' : 'a' + i % 13);
    randombytes_buf(noise, 4096);
    f->j = open_j(f, NULL);
    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        const void *pl = i % 3 == 0 ? NULL : i % 3 == 1 ? big : noise;
        size_t len = i % 3 == 0 ? 0 : i % 3 == 1 ? SFJ_PAYLOAD_MAX : 4096;
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = evs[i].kind;
        ev.status = evs[i].status;
        ev.txn_id = evs[i].txn;
        /* The outcome (i = 1) carries its intent's amount. */
        ev.amount = (int64_t)(i == 1 ? 0 : i) * 100 - 50;
        ev.currency = "EUR";
        ev.auth_code = "A1B2C3";
        ev.copy = evs[i].kind == SFJ_EV_RECEIPT ? 1 : (uint32_t)i;
        ev.wall_ms = 1700000000000 + (int64_t)i;
        ev.payload = pl;
        ev.payload_len = len;
        assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
        assert_int_equal(seq, i + 1);
        assert_int_equal(sfj_read(f->j, seq, &e), SFJ_OK);
        assert_int_equal(e->seq, seq);
        assert_int_equal(e->kind, evs[i].kind);
        assert_int_equal(e->status, evs[i].status);
        assert_string_equal(e->txn_id, evs[i].txn ? evs[i].txn : "");
        assert_int_equal(e->amount, (int64_t)(i == 1 ? 0 : i) * 100 - 50);
        assert_string_equal(e->currency, "EUR");
        assert_string_equal(e->auth_code, "A1B2C3");
        assert_int_equal(e->copy, evs[i].kind == SFJ_EV_RECEIPT ? 1 : i);
        assert_int_equal(e->wall_ms, 1700000000000 + (int64_t)i);
        assert_int_equal(e->epoch, 1);
        assert_int_equal(e->payload_len, len);
        if (len > 0)
            assert_memory_equal(e->payload, pl, len);
        else
            assert_null(e->payload);
        assert_int_equal(e->boot, 1);
        sfj_entry_free(e);
    }
    free(big);
    free(noise);
}

/* A read-only handle, with or without the key, reads while the writer
 * holds the journal open; without the key it sees clear headers only. */
static void test_read_only_open(void **state)
{
    fixture *f = *state;
    sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *r = NULL;
    char *path = sfj_test_path(f->dir, "j");
    const uint8_t *rec;
    sfj_iter *it;
    sfj_entry *e;
    sfj_stats st = SFJ_STATS_INIT;
    uint64_t seq;
    size_t len;
    int n = 0;

    f->j = open_j(f, NULL);
    append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 5, "five", 4);
    append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 6, "six", 3);
    ro.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(path, NULL, &ro, &r), SFJ_OK);
    assert_int_equal(sfj_stats_get(r, &st), SFJ_OK);
    assert_int_equal(st.last_seq, 2);
    assert_int_equal(sfj_read(r, 1, &e), SFJ_ESTATE); /* no key */
    assert_int_equal(sfj_iter_open(r, NULL, &it), SFJ_OK);
    while (sfj__iter_next_sealed(it, &seq, &rec, &len) == SFJ_OK)
        n++;
    sfj_iter_free(it);
    assert_int_equal(n, 2);
    sfj_journal_close(r);
    assert_int_equal(sfj_journal_open(path, f->keys, &ro, &r), SFJ_OK);
    assert_int_equal(sfj_read(r, 2, &e), SFJ_OK);
    assert_int_equal(e->amount, 6);
    sfj_entry_free(e);
    /* Read-only never writes: no append, boot counter unchanged. */
    {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = SFJ_EV_NOTE;
        assert_int_equal(sfj_append(r, &ev, NULL), SFJ_ESTATE);
    }
    assert_int_equal(sfj_stats_get(r, &st), SFJ_OK);
    assert_int_equal(st.boot, 1);
    sfj_journal_close(r);
    free(path);
}

/* Entries and the chain survive close and reopen; seqs stay dense; each
 * record's prev_chain is the hash of everything before it. */
static void test_reopen_keeps_chain(void **state)
{
    fixture *f = *state;
    uint8_t head[32], prev[32], want[32];
    uint64_t last = 0, seq, i;
    sfj_entry *e;
    sfj_stats st = SFJ_STATS_INIT;

    f->j = open_j(f, NULL);
    for (i = 0; i < 20; i++)
        append_ev(f->j, SFJ_EV_NOTE, 0, NULL, (int64_t)i, "note", 4);
    assert_int_equal(sfj__journal_head(f->j, &last, head), SFJ_OK);
    assert_int_equal(last, 20);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = open_j(f, NULL);
    /* close sealed the tail with checkpoint 21. */
    assert_int_equal(sfj_read(f->j, 21, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_CHECKPOINT);
    sfj_entry_free(e);
    seq = append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 99, "after", 5);
    assert_int_equal(seq, 22);
    for (seq = 1; seq <= 22; seq++) {
        uint8_t *rec;
        size_t len;
        sfj__rec_hdr h;

        assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, &len), 0);
        assert_int_equal(sfj__rec_hdr_decode(rec, len, &h), SFJ_OK);
        assert_int_equal(h.seq, seq);
        if (seq > 1) {
            assert_int_equal(sfj__journal_chain_at(f->j, seq - 1, prev), 0);
            assert_memory_equal(h.prev_chain, prev, 32);
        }
        free(rec);
    }
    assert_int_equal(sfj__journal_chain_at(f->j, 20, want), SFJ_OK);
    assert_memory_equal(want, head, 32);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, 22);
    assert_int_equal(st.entries, 22);
    assert_int_equal(st.boot, 2);
    assert_int_equal(st.last_checkpoint, 21);
}

/* Where the entries are (docs/FORMAT.md, "Databases"): a new journal,
 * format 2, keeps them in LMDB's main database under 0xFF || u64be seq
 * beside the named databases' records, and has no `entries` database; a
 * journal of format 1 keeps them in its `entries` database however much
 * it is written. A format that does not match the layout is refused. */
static void test_entries_layout(void **state)
{
    fixture *f = *state;
    int format1 = sfj_test_format1();
    MDB_val k = {6, (void *)"format"}, v, ek, ev;
    uint8_t other[8];
    sfj_stats st = SFJ_STATS_INIT;
    MDB_cursor *cur;
    sfj_test_raw r;
    uint64_t i, seq = 0;
    sfj_journal *j = NULL;
    int mrc;

    f->j = open_j(f, NULL);
    for (i = 0; i < 300; i++)
        append_ev(f->j, SFJ_EV_NOTE, 0, NULL, (int64_t)i, "layout", 6);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;

    sfj_test_raw_open(f->path, &r);
    assert_int_equal(r.tagged, !format1);
    assert_int_equal(mdb_get(r.txn, r.meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    assert_int_equal(sfj__get_u64(v.mv_data), format1 ? 1 : 2);
    /* Every key is the next entry's, after the records of txns, acked,
     * attention and meta in a format 2 journal. */
    assert_int_equal(mdb_cursor_open(r.txn, r.entries, &cur), 0);
    while ((mrc = mdb_cursor_get(cur, &ek, &ev, MDB_NEXT)) == 0) {
        if (!format1 && ((uint8_t *)ek.mv_data)[0] != 0xFF) {
            assert_int_equal(seq, 0);
            continue;
        }
        assert_int_equal(ek.mv_size, format1 ? 8 : 9);
        if (!format1)
            assert_int_equal(((uint8_t *)ek.mv_data)[0], 0xFF);
        assert_int_equal(sfj__get_u64((uint8_t *)ek.mv_data + !format1), ++seq);
    }
    assert_int_equal(mrc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_true(seq > 300);
    sfj_test_raw_close(&r);

    f->j = open_j(f, NULL);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.entries, seq);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(st.last_seq, seq);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;

    /* The other format's number on this layout. */
    sfj_test_raw_open(f->path, &r);
    sfj__put_u64(other, format1 ? 2 : 1);
    v.mv_data = other;
    v.mv_size = 8;
    assert_int_equal(mdb_put(r.txn, r.meta, &k, &v, 0), 0);
    sfj_test_raw_close(&r);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &j),
                     format1 ? SFJ_ECORRUPT : SFJ_ENOTFOUND);
    assert_null(j);
    assert_string_equal(sfj_journal_errmsg(NULL),
                        format1 ? "journal format 2 has an entries database"
                                : "not an sfj journal (no entries database)");
}

/* The open's structural check reads the first and last paths of a large
 * tree of entries, whether they have a named database (format 1) or share
 * the main database with the named databases' records (format 2), and
 * every record that leads to a named database: a damaged leaf in the
 * middle of the entries is left to SFJ_OPEN_CHECK and verification, at a
 * cost of an open independent of the journal's size. */
static void test_open_walks_edges_of_large_entries(void **state)
{
    fixture *f = *state;
    char *copy = sfj_test_path(f->dir, "copy");
    char *data = sfj_test_path(copy, "data.mdb");
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    uint8_t pl[1000], page[4096];
    sfj_journal *j = NULL;
    MDB_env *env;
    uint64_t i, pgno, best = 0;
    unsigned n;
    FILE *fp;

    /* Incompressible payloads: about three records a leaf, 100 leaves. */
    f->j = open_j(f, NULL);
    for (i = 0; i < 300; i++) {
        randombytes_buf(pl, sizeof pl);
        append_ev(f->j, SFJ_EV_NOTE, 0, NULL, (int64_t)i, pl, sizeof pl);
    }
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    /* A compacted copy holds no stale page: every leaf is in the tree. */
    assert_int_equal(mkdir(copy, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, f->path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
    mdb_env_close(env);
    assert_int_equal(chmod(data, 0600), 0);
    /* The leaf that holds entry 150: its free-space bounds made
     * impossible (lower past upper). */
    fp = fopen(data, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 2 * 4096, SEEK_SET), 0);
    for (pgno = 2; fread(page, 1, sizeof page, fp) == sizeof page; pgno++) {
        uint16_t lower, ptr, ksize;
        const uint8_t *key;

        memcpy(&lower, page + SFJ__LMDB_PAGE_LOWER, 2);
        if ((page[SFJ__LMDB_PAGE_FLAGS] & SFJ__LMDB_P_LEAF) == 0 ||
            lower <= SFJ__LMDB_PAGEHDRSZ)
            continue; /* not a leaf, or empty */
        for (n = 0; n < (unsigned)(lower - SFJ__LMDB_PAGEHDRSZ) / 2; n++) {
            memcpy(&ptr, page + SFJ__LMDB_PAGEHDRSZ + 2 * n, 2);
            memcpy(&ksize, page + ptr + 6, 2);
            key = page + ptr + 8;
            if ((ksize == 9 && key[0] == 0xFF &&
                 sfj__get_u64(key + 1) == 150) ||
                (ksize == 8 && sfj__get_u64(key) == 150))
                best = pgno;
        }
    }
    assert_true(best >= 2);
    assert_int_equal(
        fseek(fp, (long)(best * 4096 + SFJ__LMDB_PAGE_LOWER), SEEK_SET), 0);
    page[0] = page[1] = 0xF0;
    assert_int_equal(fwrite(page, 1, 2, fp), 2);
    assert_int_equal(fclose(fp), 0);

    o.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    assert_int_equal(sfj_journal_open(copy, f->keys, &o, &j), SFJ_OK);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    j = NULL;
    o.flags |= SFJ_OPEN_CHECK;
    assert_int_equal(sfj_journal_open(copy, f->keys, &o, &j), SFJ_ECORRUPT);
    assert_null(j);
    free(data);
    free(copy);
}

/* A directory holding another program's LMDB data is not taken for a new
 * journal, and its database is left as it was. */
/* A journal whose LMDB file was laid out for the other word size (written
 * on a 32-bit terminal, read on a 64-bit workstation, or the reverse) is
 * refused as a format this build cannot read, not as damage, and is left
 * as it was. */
static void test_other_word_size_refused(void **state)
{
    fixture *f = *state;
    char *dir = sfj_test_path(f->dir, "other-word");
    char *file = sfj_test_path(dir, "data.mdb");
    enum { OTHER = 12 - (SIZE_MAX > 0xffffffffU ? 8 : 4), PSIZE = 4096 };
    static uint8_t pages[2 * PSIZE], after[2 * PSIZE];
    const uint16_t meta_flag = 0x08;
    const uint32_t magic = 0xBEEFC0DEu, version = 1;
    sfj_journal *j = NULL;
    char want[32];
    FILE *fp;
    int p;

    for (p = 0; p < 2; p++) {
        memcpy(pages + p * PSIZE, &p, sizeof p);
        memcpy(pages + p * PSIZE + OTHER + 2, &meta_flag, sizeof meta_flag);
        memcpy(pages + p * PSIZE + OTHER + 8, &magic, sizeof magic);
        memcpy(pages + p * PSIZE + OTHER + 12, &version, sizeof version);
    }
    assert_int_equal(mkdir(dir, 0700), 0);
    fp = fopen(file, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(pages, 1, sizeof pages, fp), sizeof pages);
    assert_int_equal(fclose(fp), 0);

    assert_int_equal(sfj_journal_open(dir, f->keys, NULL, &j), SFJ_EVERSION);
    assert_null(j);
    snprintf(want, sizeof want, "on a %d-bit processor", OTHER * 8);
    assert_non_null(strstr(sfj_journal_errmsg(NULL), want));
    fp = fopen(file, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(after, 1, sizeof after, fp), sizeof after);
    assert_int_equal(fgetc(fp), EOF);
    fclose(fp);
    assert_memory_equal(after, pages, sizeof pages);
    free(file);
    free(dir);
}

static void test_foreign_lmdb_refused(void **state)
{
    fixture *f = *state;
    char *path = sfj_test_path(f->dir, "foreign");
    MDB_val k = {5, (void *)"hello"}, v = {5, (void *)"world"};
    sfj_journal *j = NULL;
    MDB_stat st;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;

    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);

    assert_int_equal(sfj_journal_open(path, f->keys, NULL, &j), SFJ_ENOTFOUND);
    assert_null(j);
    assert_non_null(strstr(sfj_journal_errmsg(NULL), "holds other data"));

    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    assert_int_equal(st.ms_entries, 1);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    free(path);
}

/* No plaintext marker ever reaches data.mdb. */
static void test_no_plaintext_on_disk(void **state)
{
    fixture *f = *state;
    static const char marker[] = "MARKER-4111111111111111-SECRET";
    char *path;
    uint8_t *data;
    size_t len = 0;
    int i;

    f->j = open_j(f, NULL);
    for (i = 0; i < 50; i++) {
        char txn[32];

        snprintf(txn, sizeof txn, "TXN-MARKER-ID-%d", i);
        append_ev(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, txn, i, marker,
                  sizeof marker - 1);
    }
    sfj_journal_close(f->j);
    f->j = NULL;
    path = sfj_test_path(f->dir, "j/data.mdb");
    data = sfj_test_read_file(path, &len);
    assert_non_null(data);
    assert_true(len > 4096);
    assert_false(sfj_test_memmem(data, len, marker, sizeof marker - 1));
    assert_false(sfj_test_memmem(data, len, "4111111111", 10));
    assert_false(sfj_test_memmem(data, len, "TXN-MARKER-ID", 13));
    free(data);
    free(path);
}

/* Rewrite the stored value at `seq` through LMDB itself (as a disk or an
 * attacker could), with `mutate` applied. */
static void rewrite_entry(const char *dir, uint64_t seq, uint64_t new_seq,
                          size_t flip)
{
    sfj_test_raw r;
    uint8_t *copy;
    MDB_val k, v;

    sfj_test_raw_open(dir, &r);
    k = sfj_test_raw_key(&r, seq);
    assert_int_equal(mdb_get(r.txn, r.entries, &k, &v), 0);
    copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    if (flip < v.mv_size)
        copy[flip] ^= 0x01;
    v.mv_data = copy;
    k = sfj_test_raw_key(&r, new_seq);
    assert_int_equal(mdb_put(r.txn, r.entries, &k, &v, 0), 0);
    sfj_test_raw_close(&r);
    free(copy);
}

/* Any single flipped byte of a record is refused, never returned. */
static void test_flipped_byte_refused(void **state)
{
    fixture *f = *state;
    char *path = sfj_test_path(f->dir, "j");
    uint8_t *rec;
    size_t len, off;
    sfj_entry *e = NULL;
    int rc;

    f->j = open_j(f, NULL);
    append_ev(f->j, SFJ_EV_TXN_INTENT, 0, "T1", 1234, "payload-bytes", 13);
    assert_int_equal(sfj__journal_read_sealed(f->j, 1, &rec, &len), SFJ_OK);
    free(rec);
    sfj_journal_close(f->j);
    f->j = NULL;
    for (off = 0; off < len; off++) {
        rewrite_entry(path, 1, 1, off);
        f->j = open_j(f, NULL);
        rc = sfj_read(f->j, 1, &e);
        if (off >= SFJ_REC_HDR_BYTES - SFJ_REC_NONCE_BYTES - 32)
            /* prev_chain, nonce, ciphertext and tag are covered by the
             * AEAD alone: only its check can refuse them. */
            assert_int_equal(rc, SFJ_EAUTH);
        else
            assert_true(rc == SFJ_EAUTH || rc == SFJ_ECORRUPT ||
                        rc == SFJ_EVERSION);
        assert_null(e);
        sfj_journal_close(f->j);
        f->j = NULL;
        rewrite_entry(path, 1, 1, off); /* flip back */
    }
    f->j = open_j(f, NULL);
    assert_int_equal(sfj_read(f->j, 1, &e), SFJ_OK);
    assert_int_equal(e->amount, 1234);
    sfj_entry_free(e);
    free(path);
}

/* A flipped prev_chain byte breaks the chain at that very seq, and the
 * keyless walk (no AEAD to fall back on) says so. */
static void test_prev_chain_flip_breaks_chain(void **state)
{
    fixture *f = *state;
    char *path = sfj_test_path(f->dir, "j");
    sfj__verify_result vr;
    int i;

    f->j = open_j(f, NULL);
    for (i = 1; i <= 6; i++)
        append_ev(f->j, SFJ_EV_NOTE, 0, NULL, i, "note", 4);
    sfj_journal_close(f->j);
    f->j = NULL;
    /* Intact: the keyless walk reaches the closing checkpoint. */
    f->j = open_j(f, NULL);
    assert_int_equal(sfj__verify(f->j, 0, NULL, 0, &vr), SFJ_OK);
    assert_int_equal(vr.bad_seq, 0);
    assert_true(vr.last_seq >= 7);
    sfj_journal_close(f->j);
    f->j = NULL;
    rewrite_entry(path, 4, 4, 24 + 5); /* a byte of seq 4's prev_chain */
    f->j = open_j(f, NULL);
    assert_int_equal(sfj__verify(f->j, 0, NULL, 0, &vr), SFJ_OK);
    assert_int_equal(vr.bad_seq, 4);
    assert_int_equal(vr.bad_rc, SFJ_ECORRUPT);
    assert_non_null(strstr(vr.reason, "hash chain broken"));
    assert_int_equal(vr.verified_to, 0); /* no checkpoint before seq 4 */
    free(path);
}

/* A record copied to another seq does not read there. */
static void test_moved_record_refused(void **state)
{
    fixture *f = *state;
    char *path = sfj_test_path(f->dir, "j");
    sfj_entry *e = NULL;

    f->j = open_j(f, NULL);
    append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 1, "one", 3);
    append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 2, "two", 3);
    sfj_journal_close(f->j);
    f->j = NULL;
    rewrite_entry(path, 1, 2, (size_t)-1); /* copy seq 1 over seq 2 */
    f->j = open_j(f, NULL);
    assert_int_equal(sfj_read(f->j, 2, &e), SFJ_ECORRUPT);
    assert_null(e);
    assert_int_equal(sfj_read(f->j, 1, &e), SFJ_OK);
    sfj_entry_free(e);
    free(path);
}

/* The map grows up to the cap, then SFJ_EFULL; all earlier entries stay
 * readable, and the journal reopens. */
static void test_map_growth_then_full(void **state)
{
    fixture *f = *state;
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t payload[1000];
    uint64_t i, n = 0, seq;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_stats st = SFJ_STATS_INIT;
    sfj_entry *e;
    int rc;

    opts.max_bytes = 4u << 20;
    randombytes_buf(payload, sizeof payload);
    f->j = open_j(f, &opts);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_true(st.map_bytes < opts.max_bytes);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    for (i = 0; i < 100000; i++) {
        payload[0] = (uint8_t)i;
        rc = sfj_append(f->j, &ev, &seq);
        if (rc != SFJ_OK)
            break;
        n = seq;
    }
    assert_int_equal(rc, SFJ_EFULL);
    assert_true(n > 2500); /* ~3.75 MiB of ~1.1 KiB records */
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.map_bytes, opts.max_bytes);
    for (i = 1; i <= n; i++) {
        assert_int_equal(sfj_read(f->j, i, &e), SFJ_OK);
        sfj_entry_free(e);
    }
    /* Still full after a reopen; nothing was lost. */
    sfj_journal_close(f->j);
    f->j = open_j(f, &opts);
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_EFULL);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_true(st.last_seq >= n);
}

/* A writable open commits at once (boot counter, closing checkpoint of a
 * crashed tail). LMDB sizes the map of a journal above the initial size to
 * exactly the pages in use; when no freed page may be reused yet (a reader
 * elsewhere pins them), that commit needs a new page and found the map
 * full: the journal could not be reopened although it was far below its
 * cap. Here another process holds a read snapshot while the journal is
 * reopened again and again. */
static void test_reopen_while_reader_pins_pages(void **state)
{
    fixture *f = *state;
    uint8_t payload[1000];
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_stats st = SFJ_STATS_INIT;
    int go[2], done[2], i, status, rc;
    uint64_t seq;
    char c = 0;
    pid_t pid;

    randombytes_buf(payload, sizeof payload);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    f->j = open_j(f, NULL);
    for (i = 0; i < 3000; i++)
        assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
    sfj_journal_close(f->j);
    f->j = NULL;

    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        MDB_env *env;
        MDB_txn *txn;

        if (mdb_env_create(&env) != MDB_SUCCESS ||
            mdb_env_set_maxdbs(env, 8) != MDB_SUCCESS ||
            mdb_env_open(env, f->path, MDB_RDONLY, 0600) != MDB_SUCCESS ||
            mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
            _exit(1);
        if (write(go[1], "r", 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(2);
        mdb_txn_abort(txn);
        mdb_env_close(env);
        _exit(0);
    }
    assert_int_equal(read(go[0], &c, 1), 1);
    for (i = 0; i < 20; i++) {
        rc = sfj_journal_open(f->path, f->keys, NULL, &f->j);
        if (rc != SFJ_OK) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("reopen %d with a reader pinning pages: %d %s", i, rc,
                     sfj_journal_errmsg(NULL));
        }
        assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
        assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
        /* Room for the next open's commits is always there. */
        assert_true(st.map_bytes > st.used_bytes);
        sfj_journal_close(f->j);
        f->j = NULL;
    }
    assert_int_equal(write(done[1], "d", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(go[0]);
    close(go[1]);
    close(done[0]);
    close(done[1]);
}

/* A mirror batch that cannot be committed (the mirror is at its cap)
 * stores nothing, and says so: the count of records stored must match the
 * mirror's head, or the host would expect seqs it does not hold. */
static void test_mirror_batch_full_counts_true(void **state)
{
    fixture *f = *state;
    enum { N = 1500, BATCH = 64 };
    uint8_t payload[1000], jid[SFJ_JOURNAL_ID_BYTES], pk[SFJ_PUBKEY_BYTES];
    uint8_t *recs[N];
    size_t lens[N], stored, first, n;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_journal *m = NULL;
    uint64_t seq, head = 0;
    char *mdir = sfj_test_path(f->dir, "mirror");
    int rc = SFJ_OK, i;

    randombytes_buf(payload, sizeof payload);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    f->j = open_j(f, NULL);
    for (i = 0; i < N; i++) {
        payload[0] = (uint8_t)i;
        assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
    }
    for (i = 0; i < N; i++)
        assert_int_equal(
            sfj__journal_read_sealed(f->j, (uint64_t)i + 1, &recs[i], &lens[i]),
            SFJ_OK);
    assert_int_equal(sfj_journal_id(f->j, jid), SFJ_OK);
    assert_int_equal(sfj_keys_public_key(f->keys, pk), SFJ_OK);
    assert_int_equal(sfj__mirror_open(&m, mdir, jid, "t", pk, 1u << 20),
                     SFJ_OK);
    for (first = 1; first <= N && rc == SFJ_OK; first += n) {
        n = N - first + 1 < BATCH ? N - first + 1 : BATCH;
        rc = sfj__mirror_put_batch(m, first,
                                   (const uint8_t *const *)&recs[first - 1],
                                   &lens[first - 1], n, &stored);
        assert_int_equal(sfj__journal_head(m, &head, NULL), SFJ_OK);
        if (head + 1 < first + stored || (rc == SFJ_OK && stored != n))
            fail_msg("batch at %zu: %zu of %zu reported stored (rc %d), "
                     "mirror head %llu",
                     first, stored, n, rc, (unsigned long long)head);
    }
    assert_int_equal(rc, SFJ_EFULL); /* the cap was reached mid-run */
    sfj_journal_close(m);
    for (i = 0; i < N; i++)
        free(recs[i]);
    free(mdir);
}

static void test_key_file_permissions(void **state)
{
    fixture *f = *state;
    char *path = sfj_test_path(f->dir, "perm.key");
    sfj_keys *k = NULL;
    struct stat st;

    assert_int_equal(sfj_keys_generate_file(path), SFJ_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(sfj_keys_generate_file(path), SFJ_EEXIST);
    assert_int_equal(sfj_keys_load_file(path, &k), SFJ_OK);
    assert_non_null(k);
    sfj_keys_free(k);
    chmod(path, 0640);
    assert_int_equal(sfj_keys_load_file(path, &k), SFJ_EPERM);
    assert_null(k);
    chmod(path, 0604);
    assert_int_equal(sfj_keys_load_file(path, &k), SFJ_EPERM);
    chmod(path, 0600);
    truncate(path, 20);
    assert_int_equal(sfj_keys_load_file(path, &k), SFJ_ECORRUPT);
    free(path);
    path = sfj_test_path(f->dir, "missing.key");
    assert_int_equal(sfj_keys_load_file(path, &k), SFJ_ENOTFOUND);
    free(path);
}

static void test_wrong_key_and_version(void **state)
{
    fixture *f = *state;
    sfj_keys *other = sfj_test_keys(8);
    char *path = sfj_test_path(f->dir, "j");
    sfj_journal *j = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {6, (void *)"format"}, v;
    uint8_t nine[8] = {0, 0, 0, 0, 0, 0, 0, 9};

    f->j = open_j(f, NULL);
    append_ev(f->j, SFJ_EV_NOTE, 0, NULL, 1, "x", 1);
    sfj_journal_close(f->j);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(path, other, NULL, &j), SFJ_EAUTH);
    assert_null(j);
    assert_string_equal(sfj_journal_errmsg(NULL),
                        "the key does not belong to this journal");
    sfj_keys_free(other);

    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    v.mv_data = nine;
    v.mv_size = 8;
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(sfj_journal_open(path, f->keys, NULL, &j), SFJ_EVERSION);
    assert_null(j);
    free(path);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    char long_id[SFJ_TXN_ID_MAX + 2];
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_journal *j = NULL;
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint64_t seq = 99;
    sfj_entry *e;

    assert_int_equal(sfj_journal_open(f->dir, f->keys, NULL, NULL), SFJ_EINVAL);
    assert_int_equal(sfj_journal_open(NULL, f->keys, NULL, &j), SFJ_EINVAL);
    assert_int_equal(sfj_journal_open(f->dir, NULL, NULL, &j), SFJ_EINVAL);
    opts.version = 99;
    assert_int_equal(sfj_journal_open(f->dir, f->keys, &opts, &j),
                     SFJ_EVERSION);
    f->j = open_j(f, NULL);
    assert_int_equal(sfj_append(f->j, NULL, &seq), SFJ_EINVAL);
    assert_int_equal(seq, 0);
    assert_int_equal(sfj_append(NULL, &ev, NULL), SFJ_EINVAL);
    ev.kind = 0;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.kind = SFJ_EV_CHECKPOINT;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.kind = 42; /* between NOTE and APP */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.kind = SFJ_EV_TXN_INTENT; /* needs a txn_id */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    memset(long_id, 'A', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ev.txn_id = long_id;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.txn_id = "has space";
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.txn_id = "OK1";
    ev.currency = "eur";
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.currency = "EUR";
    ev.payload = "x";
    ev.payload_len = SFJ_PAYLOAD_MAX + 1;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EINVAL);
    ev.payload_len = 1;
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(sfj_read(f->j, 0, &e), SFJ_EINVAL);
    assert_int_equal(sfj_read(f->j, 2, &e), SFJ_ENOTFOUND);
    assert_int_equal(sfj_read(f->j, 1, NULL), SFJ_EINVAL);
}

typedef struct thread_arg {
    sfj_journal *j;
    int id;
    int n;
    int refuse_every; /* every k-th append (i % k == k - 1) refused; 0: none */
    uint64_t *seqs;
    int *rcs;
} thread_arg;

/* OFFLINE sales with txn ids of their own; a refused one is an OUTCOME
 * for a txn never started. */
static void *appender(void *varg)
{
    thread_arg *a = varg;
    sfj_event ev = SFJ_EVENT_INIT;
    char txn[32];
    int i, refused;

    ev.status = SFJ_ST_APPROVED;
    ev.currency = "EUR";
    for (i = 0; i < a->n; i++) {
        refused =
            a->refuse_every > 0 && i % a->refuse_every == a->refuse_every - 1;
        ev.kind = refused ? SFJ_EV_TXN_OUTCOME : SFJ_EV_TXN_OFFLINE;
        snprintf(txn, sizeof txn, "%s%d-%d", refused ? "NONE" : "T", a->id, i);
        ev.txn_id = txn;
        ev.amount = a->id * 100000 + i;
        a->rcs[i] = sfj_append(a->j, &ev, &a->seqs[i]);
    }
    return NULL;
}

enum { THREADS = 8, PER = 60 };

/* THREADS threads of PER appends each on one handle, joined. */
static void run_appenders(sfj_journal *j, int refuse_every,
                          thread_arg args[THREADS])
{
    pthread_t th[THREADS];
    int t;

    for (t = 0; t < THREADS; t++) {
        args[t].j = j;
        args[t].id = t;
        args[t].n = PER;
        args[t].refuse_every = refuse_every;
        args[t].seqs = calloc(PER, sizeof(uint64_t));
        args[t].rcs = calloc(PER, sizeof(int));
        assert_int_equal(pthread_create(&th[t], NULL, appender, &args[t]), 0);
    }
    for (t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
}

/* The appends of run_appenders: refused ones have SFJ_ESTATE and no seq,
 * the others are seqs 1..accepted, each read back as its own event. */
static void check_appenders(sfj_journal *j, thread_arg args[THREADS])
{
    uint8_t seen[THREADS * PER + 1];
    sfj_stats st = SFJ_STATS_INIT;
    sfj_entry *e;
    int t, i, k, accepted = 0;

    memset(seen, 0, sizeof seen);
    for (t = 0; t < THREADS; t++) {
        k = args[t].refuse_every;
        for (i = 0; i < PER; i++) {
            uint64_t s = args[t].seqs[i];

            if (k > 0 && i % k == k - 1) {
                assert_int_equal(args[t].rcs[i], SFJ_ESTATE);
                assert_int_equal(s, 0);
                continue;
            }
            assert_int_equal(args[t].rcs[i], SFJ_OK);
            assert_true(s >= 1 && s <= THREADS * PER);
            assert_int_equal(seen[s], 0);
            seen[s] = 1;
            accepted++;
            assert_int_equal(sfj_read(j, s, &e), SFJ_OK);
            assert_int_equal(e->amount, t * 100000 + i);
            sfj_entry_free(e);
        }
        free(args[t].seqs);
        free(args[t].rcs);
    }
    /* Dense: nothing lost, nothing refused took a seq. */
    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    assert_int_equal(st.last_seq, accepted);
}

/* Several threads appending at once lose nothing; seqs stay dense and
 * each reads back as its own event. */
static void test_concurrent_appends(void **state)
{
    fixture *f = *state;
    thread_arg args[THREADS];

    f->j = open_j(f, NULL);
    run_appenders(f->j, 0, args);
    check_appenders(f->j, args);
}

/* Refusals inside shared group commits stay with their own callers: a
 * refused op in a batch neither takes a seq nor fails the others of its
 * transaction. */
static void test_concurrent_refusals(void **state)
{
    fixture *f = *state;
    thread_arg args[THREADS];

    f->j = open_j(f, NULL);
    run_appenders(f->j, 4, args);
    check_appenders(f->j, args);
}

/* Checkpoints every N entries, each signed over the chain head. */
static void test_checkpoints_every_n(void **state)
{
    fixture *f = *state;
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t pk[32];
    uint8_t *rec;
    size_t len;
    sfj_stats st = SFJ_STATS_INIT;
    int i;

    opts.checkpoint_every = 10;
    f->j = open_j(f, &opts);
    for (i = 0; i < 25; i++)
        append_ev(f->j, SFJ_EV_NOTE, 0, NULL, i, "n", 1);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    /* A checkpoint follows every 10 entries: seqs 11 and 22. */
    assert_int_equal(st.last_checkpoint, 22);
    assert_int_equal(st.last_seq, 27);
    assert_int_equal(sfj_keys_public_key(f->keys, pk), SFJ_OK);
    assert_int_equal(sfj__journal_read_sealed(f->j, 11, &rec, &len), 0);
    {
        uint8_t jid[16];

        sfj_journal_id(f->j, jid);
        assert_int_equal(sfj__rec_checkpoint_verify(jid, pk, rec, len, NULL),
                         SFJ_OK);
        rec[30] ^= 1;
        assert_int_equal(sfj__rec_checkpoint_verify(jid, pk, rec, len, NULL),
                         SFJ_EAUTH);
    }
    free(rec);
}

static void test_iter_filters(void **state)
{
    fixture *f = *state;
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it;
    sfj_entry *e;
    int i, n;

    f->j = open_j(f, NULL);
    for (i = 0; i < 300; i++)
        append_ev(f->j, i % 2 ? SFJ_EV_TXN_INTENT : SFJ_EV_NOTE, 0,
                  i % 3 ? "A" : "B", i, "p", 1);
    q.kind = SFJ_EV_TXN_INTENT;
    q.from_seq = 10;
    q.to_seq = 200;
    assert_int_equal(sfj_iter_open(f->j, &q, &it), SFJ_OK);
    for (n = 0; sfj_iter_next(it, &e) == SFJ_OK; n++) {
        assert_int_equal(e->kind, SFJ_EV_TXN_INTENT);
        assert_true(e->seq >= 10 && e->seq <= 200);
        sfj_entry_free(e);
    }
    sfj_iter_free(it);
    assert_int_equal(n, 96); /* even seqs 10..200 */
    q = (sfj_query)SFJ_QUERY_INIT;
    q.txn_id = "B";
    q.since_ms = 1700000000000 + 30;
    q.until_ms = 1700000000000 + 60;
    assert_int_equal(sfj_iter_open(f->j, &q, &it), SFJ_OK);
    for (n = 0; sfj_iter_next(it, &e) == SFJ_OK; n++) {
        assert_string_equal(e->txn_id, "B");
        assert_true(e->amount >= 30 && e->amount < 60);
        sfj_entry_free(e);
    }
    sfj_iter_free(it);
    assert_int_equal(n, 10);
}

static void test_mask_pan(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(sfj_mask_pan("4111111111111111", out, sizeof out), 0);
    assert_string_equal(out, "411111******1111");
    assert_int_equal(sfj_mask_pan("4111111111111111", out, 8), SFJ_EBUFS);
    assert_int_equal(sfj_mask_pan("4111-1111-1111", out, sizeof out),
                     SFJ_EINVAL);
    assert_string_equal(sfj_strerror(SFJ_EFULL),
                        "journal full: only unacknowledged entries remain");
    assert_string_equal(sfj_strerror(-999), "unknown error");
    {
        sfj_kind code = (sfj_kind)0;
        sfj_status st = SFJ_ST_NONE;

        assert_string_equal(sfj_kind_name(SFJ_EV_TXN_OFFLINE), "offline");
        assert_string_equal(sfj_kind_name(SFJ_EV_APP + 5), "app");
        assert_string_equal(sfj_kind_name(42), "unknown");
        assert_string_equal(sfj_status_name(SFJ_ST_PRINT_FAILED),
                            "print_failed");
        assert_int_equal(sfj_kind_from_name("receipt", &code), SFJ_OK);
        assert_int_equal(code, SFJ_EV_RECEIPT);
        assert_int_equal(sfj_status_from_name("rev_sent", &st), SFJ_OK);
        assert_int_equal(st, SFJ_ST_REV_SENT);
        assert_int_equal(sfj_kind_from_name("Receipt", &code), SFJ_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_every_kind,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_read_only_open, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_entries_layout, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_open_walks_edges_of_large_entries,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_foreign_lmdb_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_other_word_size_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_chain, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_prev_chain_flip_breaks_chain,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_moved_record_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_map_growth_then_full,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_while_reader_pins_pages,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_mirror_batch_full_counts_true,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_permissions,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_and_version,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_refusals,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints_every_n,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_iter_filters, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test(test_mask_pan),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
