/* Attacks with the disk on the front of the journal: someone without the
 * key deletes the oldest entries and writes (or leaves out) prune meta.
 * Verification must start only at seq 1 or at a signed prune anchor, with
 * and without the secret key, and through sfj-dump --verify; a journal
 * pruned before anchors were signed verifies with a warning (exit 1) until
 * its next prune signs one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/rawjournal.h"
#include "support/testutil.h"

#define T0  1700000000000ll
#define DAY 86400000ll

typedef sfj_test_fixture fixture;

/* Checkpoints every `open_every` appends. Checkpoints carry the real
 * time, so pruning by age (notes are dated T0) stops at the first one. */
static unsigned open_every = 10;

static void open_j(fixture *f)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    sfj_journal_close(f->j);
    f->j = NULL;
    o.retention_days = 1;
    o.checkpoint_every = open_every;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &f->j), SFJ_OK);
}

static void note(fixture *f, int64_t wall)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = SFJ_EV_NOTE;
    ev.wall_ms = wall;
    ev.payload = "n";
    ev.payload_len = 1;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
}

/* 40 notes, checkpoints every 10: seqs 1..44 with checkpoints at 11, 22,
 * 33, 44. The journal is closed afterwards. */
static void make_journal(fixture *f)
{
    int i;

    open_j(f);
    for (i = 0; i < 40; i++)
        note(f, T0);
    sfj_journal_close(f->j);
    f->j = NULL;
}

/* Reopen, acknowledge up to `acked` and append a note dated `wall`, which
 * prunes by age; return the oldest seq held afterwards (journal closed). */
static uint64_t prune_to(fixture *f, uint64_t acked, int64_t wall)
{
    sfj_stats st = SFJ_STATS_INIT;

    open_j(f);
    assert_int_equal(sfj__journal_ack(f->j, acked, NULL, 0), SFJ_OK);
    note(f, wall);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    sfj_journal_close(f->j);
    f->j = NULL;
    return st.first_seq;
}

/* The attacker's tools: LMDB itself, no key. */
typedef sfj_test_raw raw;

static void raw_put(raw *r, const char *name, const void *data, size_t len)
{
    MDB_val k = {strlen(name), (void *)name}, v = {len, (void *)data};

    assert_int_equal(mdb_put(r->txn, r->meta, &k, &v, 0), 0);
}

static int raw_get(raw *r, const char *name, MDB_val *v)
{
    MDB_val k = {strlen(name), (void *)name};

    return mdb_get(r->txn, r->meta, &k, v);
}

/* Delete entries 1..upto. With `anchor` (ANCHOR_*), write prune_seq =
 * upto and prune_hash = the next entry's prev_chain, as an attacker can
 * read it off the clear header; then leave the signature as it was
 * (ANCHOR_KEEP_SIG), drop it to pass for an older journal
 * (ANCHOR_NO_SIG), or make one up (ANCHOR_FAKE_SIG). */
enum { NO_ANCHOR, ANCHOR_KEEP_SIG, ANCHOR_NO_SIG, ANCHOR_FAKE_SIG };

static void cut_front(fixture *f, uint64_t upto, int anchor)
{
    uint8_t seqb[8];
    MDB_val k, v;
    uint64_t s;
    raw r;

    sfj_test_raw_open(f->path, &r);
    for (s = 1; s <= upto; s++) {
        int mrc;

        k = sfj_test_raw_key(&r, s);
        mrc = mdb_del(r.txn, r.entries, &k, NULL);
        assert_true(mrc == 0 || mrc == MDB_NOTFOUND);
    }
    if (anchor) {
        k = sfj_test_raw_key(&r, upto + 1);
        assert_int_equal(mdb_get(r.txn, r.entries, &k, &v), 0);
        sfj__put_u64(seqb, upto);
        raw_put(&r, "prune_seq", seqb, 8);
        raw_put(&r, "prune_hash", (const uint8_t *)v.mv_data + SFJ_REC_OFF_PREV,
                32);
        if (anchor == ANCHOR_NO_SIG) {
            MDB_val sk = {strlen("prune_sig"), (void *)"prune_sig"};
            int mrc = mdb_del(r.txn, r.meta, &sk, NULL);

            assert_true(mrc == 0 || mrc == MDB_NOTFOUND);
        } else if (anchor == ANCHOR_FAKE_SIG) {
            uint8_t sig[64];

            memset(sig, 0x5a, sizeof sig);
            raw_put(&r, "prune_sig", sig, sizeof sig);
        }
    }
    sfj_test_raw_close(&r);
}

static sfj__verify_result verify(fixture *f, int with_key)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj__verify_result vr;
    sfj_journal *j = NULL;

    o.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(
        sfj_journal_open(f->path, with_key ? f->keys : NULL, &o, &j), SFJ_OK);
    assert_int_equal(sfj__verify(j, 0, NULL, with_key, &vr), SFJ_OK);
    sfj_journal_close(j);
    return vr;
}

static int dump_verify(fixture *f)
{
    return sfj_test_run_tool(f, "sfj-dump", f->path, "--verify", (char *)NULL);
}

/* A prefix deleted and a matching prune anchor forged without the key:
 * with a made-up signature it is damage; without one it can only pass for
 * a journal pruned before anchors were signed, which is never reported
 * clean (warning, exit 1). */
static void test_forged_anchor_refused(void **state)
{
    fixture *f = *state;
    sfj__verify_result vr;
    int k;

    make_journal(f);
    cut_front(f, 15, ANCHOR_FAKE_SIG);
    for (k = 0; k < 2; k++) {
        vr = verify(f, k);
        assert_int_equal(vr.bad_seq, 16);
        assert_int_equal(vr.bad_rc, SFJ_EAUTH);
        assert_non_null(strstr(vr.reason, "prune anchor"));
    }
    assert_int_equal(dump_verify(f), 65);
    cut_front(f, 15, ANCHOR_NO_SIG);
    for (k = 0; k < 2; k++) {
        vr = verify(f, k);
        assert_int_equal(vr.bad_seq, 0);
        assert_int_equal(vr.unsigned_anchor, 1);
    }
    assert_int_equal(dump_verify(f), 1);
}

/* Deleted up to a checkpoint, no prune meta: a checkpoint vouches for the
 * chain before it, not for where the journal starts. */
static void test_cut_to_checkpoint_refused(void **state)
{
    fixture *f = *state;
    sfj__verify_result vr;
    int k;

    make_journal(f);
    cut_front(f, 21, NO_ANCHOR); /* seq 22 is a checkpoint */
    for (k = 0; k < 2; k++) {
        vr = verify(f, k);
        assert_int_equal(vr.bad_seq, 22);
        assert_int_equal(vr.bad_rc, SFJ_ECORRUPT);
    }
    assert_int_equal(dump_verify(f), 65);
}

/* A real prune signs its anchor; replaying that anchor after deleting
 * more is refused. */
static void test_signed_anchor(void **state)
{
    fixture *f = *state;
    sfj__verify_result vr;
    uint64_t first;
    int k;

    make_journal(f);
    first = prune_to(f, 30, T0 + 2 * DAY);
    assert_true(first > 1);
    for (k = 0; k < 2; k++) {
        vr = verify(f, k);
        assert_int_equal(vr.bad_seq, 0);
        assert_int_equal(vr.first_seq, first);
        assert_int_equal(vr.unsigned_anchor, 0);
    }
    assert_int_equal(dump_verify(f), 0);
    /* One more entry gone, the signed anchor moved along by hand. */
    cut_front(f, first, ANCHOR_KEEP_SIG);
    vr = verify(f, 0);
    assert_int_equal(vr.bad_seq, first + 1);
    assert_int_equal(dump_verify(f), 65);
}

/* A journal pruned before anchors were signed: still read, verified with
 * a warning (exit 1); the next prune signs. */
static void test_unsigned_anchor_upgraded(void **state)
{
    fixture *f = *state;
    sfj__verify_result vr;
    uint64_t first;
    MDB_val v;
    raw r;

    open_every = 1000;
    make_journal(f);
    assert_true(prune_to(f, 20, T0 + 2 * DAY) > 1);
    /* What an older library left: the same anchor without a signature. */
    sfj_test_raw_open(f->path, &r);
    {
        MDB_val k = {strlen("prune_sig"), (void *)"prune_sig"};

        assert_int_equal(mdb_del(r.txn, r.meta, &k, NULL), 0);
    }
    sfj_test_raw_close(&r);
    vr = verify(f, 0);
    assert_int_equal(vr.bad_seq, 0);
    assert_int_equal(vr.unsigned_anchor, 1);
    assert_int_equal(dump_verify(f), 1);
    /* The next prune signs one. */
    first = prune_to(f, 35, T0 + 3 * DAY);
    assert_true(first > 21);
    sfj_test_raw_open(f->path, &r);
    assert_int_equal(raw_get(&r, "prune_sig", &v), 0);
    assert_int_equal(v.mv_size, 64);
    sfj_test_raw_close(&r);
    vr = verify(f, 1);
    assert_int_equal(vr.bad_seq, 0);
    assert_int_equal(vr.unsigned_anchor, 0);
    assert_int_equal(vr.first_seq, first);
    assert_int_equal(dump_verify(f), 0);
    open_every = 10;
}

/* A mirror is never pruned: a prefix deleted there with a prune anchor
 * forged to match, signed or not, is damage. */
static void test_mirror_anchor_refused(void **state)
{
    fixture *f = *state;
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[SFJ_PUBKEY_BYTES], *rec;
    char *mirror = f->path, *term = sfj_test_path(f->dir, "t");
    sfj_journal *m = NULL;
    sfj__verify_result vr;
    uint64_t last = 0, s;
    size_t len;

    /* The terminal's journal elsewhere, its copy at f->path. */
    f->path = term;
    make_journal(f);
    open_j(f);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), SFJ_OK);
    sfj_journal_id(f->j, jid);
    sfj__journal_pubkey(f->j, pk);
    assert_int_equal(sfj__mirror_open(&m, mirror, jid, "t", pk, 0), SFJ_OK);
    for (s = 1; s <= last; s++) {
        assert_int_equal(sfj__journal_read_sealed(f->j, s, &rec, &len), SFJ_OK);
        assert_int_equal(sfj__mirror_put(m, s, rec, len), SFJ_OK);
        free(rec);
    }
    sfj_journal_close(m);
    sfj_journal_close(f->j);
    f->j = NULL;
    f->path = mirror;
    vr = verify(f, 0);
    assert_int_equal(vr.bad_seq, 0);
    cut_front(f, 15, ANCHOR_NO_SIG);
    vr = verify(f, 0);
    assert_int_equal(vr.bad_seq, 16);
    assert_non_null(strstr(vr.reason, "mirror"));
    assert_int_equal(dump_verify(f), 65);
    sfj_test_rmrf(term);
    free(term);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forged_anchor_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cut_to_checkpoint_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_signed_anchor, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_mirror_anchor_refused,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_unsigned_anchor_upgraded,
                                        sfj_test_setup, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
