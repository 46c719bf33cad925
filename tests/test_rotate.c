/* Key rotation: a journal moves to a new master key through a record
 * signed by the old signing key that names the new public key. Reading
 * needs the key of each epoch, verification and evidence bundles follow
 * the chain of trust across it, a forged rotation record is refused by
 * verify and by a mirror, and sfj-host follows a rotation over a live
 * forwarder. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <lmdb.h>
#include <sodium.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/record.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/hosttest.h"
#ifdef SFJ_HAVE_LIBPQ
#include "support/pgtest.h"
#endif
#include "support/rawjournal.h"
#include "support/testutil.h"

typedef struct fx {
    char *dir;
    char *path;
    sfj_keys *a, *b, *c; /* first key, next key, an attacker's key */
    sfj_journal *j;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->path = sfj_test_path(f->dir, "j");
    f->a = sfj_test_keys(1);
    f->b = sfj_test_keys(2);
    f->c = sfj_test_keys(3);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    sfj_journal_close(f->j);
    sfj_keys_free(f->a);
    sfj_keys_free(f->b);
    sfj_keys_free(f->c);
    sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static int open_with(fx *f, const sfj_keys *keys, unsigned flags)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    sfj_journal_close(f->j);
    f->j = NULL;
    o.flags = flags;
    o.terminal_id = "T-ROT";
    return sfj_journal_open(f->path, keys, &o, &f->j);
}

static void close_j(fx *f)
{
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
}

static uint64_t put(sfj_journal *j, sfj_kind kind, sfj_status st,
                    const char *txn)
{
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t seq = 0;

    ev.kind = kind;
    ev.status = st;
    ev.txn_id = txn;
    ev.amount = kind == SFJ_EV_NOTE ? 0 : 1500;
    ev.currency = kind == SFJ_EV_NOTE ? NULL : "EUR";
    ev.payload = "canary-rotate";
    ev.payload_len = 13;
    assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
    return seq;
}

/* A ring holding `first` and then `second`. */
static sfj_keys *ring_of(const sfj_keys *first, const sfj_keys *second)
{
    sfj_keys *r = NULL;

    assert_int_equal(sfj__keys_copy(first, 1, &r), SFJ_OK);
    sfj__keys_seal(r);
    assert_int_equal(sfj_keys_add(r, second), SFJ_OK);
    return r;
}

/* T1 sold under key A, the journal rotated to B, T1 answered under B;
 * returns the rotation record's seq. The journal is closed. */
static uint64_t make_rotated(fx *f)
{
    uint64_t rot = 0;

    assert_int_equal(open_with(f, f->a, 0), SFJ_OK);
    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "T1");
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL);
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->b, &rot), SFJ_OK);
    /* The txn index was rebuilt under B's key: T1's outcome finds its
     * sale (an outcome without one would be refused). */
    put(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T1");
    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "T2");
    close_j(f);
    return rot;
}

static void verify_ok(sfj_journal *j, const uint8_t *pin, int decrypt,
                      uint64_t rotations)
{
    sfj__verify_result r;

    assert_int_equal(sfj__verify(j, 0, pin, decrypt, &r), SFJ_OK);
    if (r.bad_seq != 0)
        print_message("verify: seq %llu: %s\n", (unsigned long long)r.bad_seq,
                      r.reason);
    assert_int_equal(r.bad_seq, 0);
    assert_int_equal(r.rotations, rotations);
}

/* ---- rotation and reading across it ---- */

static void test_rotation(void **state)
{
    fx *f = *state;
    uint8_t pa[32], pb[32], pk[32];
    sfj_keys *ring = ring_of(f->b, f->a);
    sfj_entry *e = NULL;
    sfj_txn t = SFJ_TXN_INIT;
    uint64_t rot = make_rotated(f), seq, last = 0;

    sfj_keys_public_key(f->a, pa);
    sfj_keys_public_key(f->b, pb);
    /* Before: a checkpoint under A closes what A wrote; then the
     * rotation record, epoch 1, naming B for epoch 2. */
    assert_int_equal(open_with(f, ring, SFJ_OPEN_RDONLY), SFJ_OK);
    assert_int_equal(sfj_read(f->j, rot - 1, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_CHECKPOINT);
    assert_int_equal(e->epoch, 1);
    sfj_entry_free(e);
    assert_int_equal(sfj_read(f->j, rot, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_KEY_ROTATION);
    assert_int_equal(e->epoch, 1);
    sfj_entry_free(e);
    assert_int_equal(sfj__journal_pubkey(f->j, pk), SFJ_OK);
    assert_memory_equal(pk, pb, 32);
    assert_int_equal(sfj__journal_pubkey_of(f->j, 1, pk), SFJ_OK);
    assert_memory_equal(pk, pa, 32);
    /* Reopened with both keys, every record opens, each under its own
     * epoch. */
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), SFJ_OK);
    for (seq = 1; seq <= last; seq++) {
        assert_int_equal(sfj_read(f->j, seq, &e), SFJ_OK);
        assert_int_equal(e->epoch, seq <= rot ? 1 : 2);
        sfj_entry_free(e);
    }
    assert_int_equal(sfj_txn_get(f->j, "T1", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_DONE);
    verify_ok(f->j, NULL, 1, 1);
    /* The original public key alone leads to B through the record. */
    verify_ok(f->j, pa, 0, 1);
    close_j(f);
    sfj_keys_free(ring);
}

static void test_new_key_alone(void **state)
{
    fx *f = *state;
    sfj_entry *e = NULL;
    uint64_t rot = make_rotated(f);

    /* The newest key opens and appends; records of the first epoch need
     * the first key and say so. */
    assert_int_equal(open_with(f, f->b, 0), SFJ_OK);
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL);
    assert_int_equal(sfj_read(f->j, 1, &e), SFJ_ENOKEY);
    assert_null(e);
    assert_non_null(strstr(sfj_journal_errmsg(f->j), "epoch 1"));
    assert_int_equal(sfj_read(f->j, rot + 1, &e), SFJ_OK);
    sfj_entry_free(e);
    close_j(f);
    /* Another journal's key given with it changes nothing: the first
     * epoch's records still need their own key, they are not damage. */
    {
        sfj_keys *with_foreign = ring_of(f->b, f->c);

        assert_int_equal(open_with(f, with_foreign, SFJ_OPEN_RDONLY), SFJ_OK);
        assert_int_equal(sfj_read(f->j, 1, &e), SFJ_ENOKEY);
        assert_non_null(strstr(sfj_journal_errmsg(f->j), "epoch 1"));
        close_j(f);
        sfj_keys_free(with_foreign);
    }
    /* The old key alone no longer opens it: the journal names the epoch
     * whose key is missing. */
    assert_int_equal(open_with(f, f->a, SFJ_OPEN_RDONLY), SFJ_EAUTH);
    assert_non_null(strstr(sfj_journal_errmsg(NULL), "newest key"));
    /* A key of no epoch is the wrong key, as before. */
    assert_int_equal(open_with(f, f->c, SFJ_OPEN_RDONLY), SFJ_EAUTH);
}

static void test_rotate_refusals(void **state)
{
    fx *f = *state;
    sfj_keys *ring = ring_of(f->b, f->a);

    make_rotated(f);
    assert_int_equal(open_with(f, ring, 0), SFJ_OK);
    /* Back to a key the journal used is refused, nothing written. */
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->a, NULL), SFJ_EINVAL);
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->b, NULL), SFJ_EINVAL);
    /* A second rotation, to C, chains on. */
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->c, NULL), SFJ_OK);
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL);
    verify_ok(f->j, NULL, 1, 2);
    close_j(f);
    assert_int_equal(open_with(f, ring, SFJ_OPEN_RDONLY), SFJ_EAUTH);
    assert_int_equal(open_with(f, f->a, SFJ_OPEN_RDONLY), SFJ_EAUTH);
    assert_int_equal(open_with(f, ring, 0), SFJ_EAUTH);
    /* Read-only handles never rotate. */
    assert_int_equal(sfj_keys_add(ring, f->c), SFJ_OK);
    assert_int_equal(open_with(f, ring, SFJ_OPEN_RDONLY), SFJ_OK);
    verify_ok(f->j, NULL, 1, 2);
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->a, NULL), SFJ_ESTATE);
    close_j(f);
    sfj_keys_free(ring);
}

/* ---- forged rotation records ---- */

static void raw_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                    const void *val, size_t vlen)
{
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};

    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
}

/* What someone with the disk and a key of their own (C) would write: a
 * rotation record signed by C naming C, and meta that agrees. Returns its
 * seq. */
static uint64_t forge_rotation(fx *f)
{
    uint8_t rec[SFJ_REC_HDR_BYTES + SFJ_REC_ROT_BODY_BYTES], kb[8];
    uint8_t head[32], pa[32], pc[32], hist[72], check[32];
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    uint64_t last = 0;
    sfj__rec_hdr h;
    sfj_test_raw r;
    MDB_val k;

    assert_int_equal(open_with(f, f->a, 0), SFJ_OK);
    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "T1");
    assert_int_equal(sfj__journal_checkpoint(f->j, NULL), SFJ_OK);
    assert_int_equal(sfj__journal_head(f->j, &last, head), SFJ_OK);
    sfj_journal_id(f->j, jid);
    close_j(f);
    sfj_keys_public_key(f->a, pa);
    sfj_keys_public_key(f->c, pc);
    memset(&h, 0, sizeof h);
    h.epoch = 1;
    h.seq = last + 1;
    h.wall_ms = 1700000000000ll;
    memcpy(h.prev_chain, head, 32);
    sfj__rec_rotation(jid, f->c->sign_sk, &h, pc, rec);
    sfj__put_u32(hist, 1);
    memcpy(hist + 4, pa, 32);
    sfj__put_u32(hist + 36, 2);
    memcpy(hist + 40, pc, 32);
    sfj__key_check(f->c, jid, check);
    sfj_test_raw_open(f->path, &r);
    k = sfj_test_raw_key(&r, last + 1);
    raw_put(r.txn, r.entries, k.mv_data, k.mv_size, rec, sizeof rec);
    raw_put(r.txn, r.meta, "keys", 4, hist, sizeof hist);
    sfj__put_u64(kb, 2);
    raw_put(r.txn, r.meta, "epoch", 5, kb, 8);
    raw_put(r.txn, r.meta, "pubkey", 6, pc, 32);
    raw_put(r.txn, r.meta, "keycheck", 8, check, 32);
    sfj_test_raw_close(&r);
    return last + 1;
}

static void expect_refused(fx *f, uint64_t seq, int rc)
{
    sfj__verify_result r;

    assert_int_equal(open_with(f, NULL, SFJ_OPEN_RDONLY), SFJ_OK);
    assert_int_equal(sfj__verify(f->j, 0, NULL, 0, &r), SFJ_OK);
    assert_int_equal(r.bad_seq, seq);
    assert_int_equal(r.bad_rc, rc);
    close_j(f);
}

static void test_forged_rotation_verify(void **state)
{
    fx *f = *state;
    uint64_t seq = forge_rotation(f);

    /* Signed by a key other than the one in force: refused at that seq
     * (a verifier that skipped the signature would follow it to C, whose
     * key meta now names, and call the journal clean). */
    expect_refused(f, seq, SFJ_EAUTH);
}

static void test_altered_rotation_verify(void **state)
{
    fx *f = *state;
    uint64_t rot = make_rotated(f);
    uint8_t *copy;
    MDB_val k, v;
    sfj_test_raw r;

    /* The named public key altered in place (one bit). */
    sfj_test_raw_open(f->path, &r);
    k = sfj_test_raw_key(&r, rot);
    assert_int_equal(mdb_get(r.txn, r.entries, &k, &v), 0);
    copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[SFJ_REC_OFF_ROT_PK + 5] ^= 0x10;
    raw_put(r.txn, r.entries, k.mv_data, k.mv_size, copy, v.mv_size);
    free(copy);
    sfj_test_raw_close(&r);
    expect_refused(f, rot, SFJ_EAUTH);
}

/* A mirror (the host's store) takes a terminal's records one by one: it
 * follows a genuine rotation and refuses a forged one. The mirror is
 * removed, or kept at `*kept` (the caller frees the path) when given. */
static void copy_to_mirror(fx *f, const uint8_t *pk, uint64_t *stop_seq,
                           int *stop_rc, uint8_t *pk_after, char **kept)
{
    char *mpath = sfj_test_path(f->dir, "mirror");
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], *rec;
    sfj_journal *m = NULL;
    uint64_t last = 0, seq;
    size_t len;
    int rc = SFJ_OK;

    assert_int_equal(open_with(f, NULL, SFJ_OPEN_RDONLY), SFJ_OK);
    sfj_journal_id(f->j, jid);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), SFJ_OK);
    assert_int_equal(sfj__mirror_open(&m, mpath, jid, "T-ROT", pk, 0), 0);
    *stop_seq = 0;
    for (seq = 1; seq <= last && rc == SFJ_OK; seq++) {
        assert_int_equal(sfj__journal_read_sealed(f->j, seq, &rec, &len), 0);
        rc = sfj__mirror_put(m, seq, rec, len);
        free(rec);
        if (rc != SFJ_OK)
            *stop_seq = seq;
    }
    *stop_rc = rc;
    assert_int_equal(sfj__journal_pubkey(m, pk_after), SFJ_OK);
    if (rc == SFJ_OK)
        verify_ok(m, NULL, 0, 1);
    sfj_journal_close(m);
    close_j(f);
    if (kept != NULL) {
        *kept = mpath;
        return;
    }
    sfj_test_rmrf(mpath);
    free(mpath);
}

static void test_mirror_follows(void **state)
{
    fx *f = *state;
    uint8_t pa[32], pb[32], after[32];
    uint64_t stop = 0;
    int rc;

    make_rotated(f);
    sfj_keys_public_key(f->a, pa);
    sfj_keys_public_key(f->b, pb);
    copy_to_mirror(f, pa, &stop, &rc, after, NULL);
    assert_int_equal(rc, SFJ_OK);
    assert_memory_equal(after, pb, 32);
}

static void test_mirror_refuses_forged(void **state)
{
    fx *f = *state;
    uint8_t pa[32], after[32];
    uint64_t seq = forge_rotation(f), stop = 0;
    int rc;

    sfj_keys_public_key(f->a, pa);
    copy_to_mirror(f, pa, &stop, &rc, after, NULL);
    assert_int_equal(rc, SFJ_EAUTH);
    assert_int_equal(stop, seq);
    assert_memory_equal(after, pa, 32);
}

/* A mirror read with the keys of some of its epochs (sfj-dump on the
 * host): each key opens the records of its own epoch wherever it stands
 * in the set, and a record of an epoch whose key was not given is a key
 * not given (SFJ_ENOKEY, naming the epoch), not damage. */
static void test_mirror_read_by_epoch(void **state)
{
    fx *f = *state;
    sfj_keys *old_first = ring_of(f->a, f->b),
             *with_foreign = ring_of(f->a, f->c);
    const sfj_keys *sets[4];
    uint8_t pa[32], after[32];
    uint64_t stop = 0, last = 0, seq;
    char *mpath = NULL;
    int rc, s;

    make_rotated(f);
    sfj_keys_public_key(f->a, pa);
    copy_to_mirror(f, pa, &stop, &rc, after, &mpath);
    assert_int_equal(rc, SFJ_OK);
    sets[0] = old_first; /* both keys, the old one first */
    sets[1] = f->a;
    sets[2] = f->b;
    sets[3] = with_foreign; /* the old key and another journal's */
    for (s = 0; s < 4; s++) {
        sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
        sfj_journal *m = NULL;

        ro.flags = SFJ_OPEN_RDONLY;
        assert_int_equal(sfj_journal_open(mpath, sets[s], &ro, &m), SFJ_OK);
        assert_int_equal(sfj__journal_head(m, &last, NULL), SFJ_OK);
        for (seq = 1; seq <= last; seq++) {
            uint8_t *rec;
            size_t len;
            sfj_entry *e = NULL, h;
            uint32_t given = s == 1 || s == 3 ? 1 : 2;

            assert_int_equal(sfj__journal_read_sealed(m, seq, &rec, &len),
                             SFJ_OK);
            assert_int_equal(sfj__record_peek(rec, len, &h), SFJ_OK);
            free(rec);
            rc = sfj_read(m, seq, &e);
            /* Checkpoints and rotations are in clear: no key needed. */
            if (s == 0 || h.epoch == given || sfj__rec_is_clear(h.kind)) {
                if (rc != SFJ_OK)
                    print_message("set %d, seq %llu (epoch %u): %s\n", s,
                                  (unsigned long long)seq, h.epoch,
                                  sfj_journal_errmsg(m));
                assert_int_equal(rc, SFJ_OK);
                assert_int_equal(e->epoch, h.epoch);
                sfj_entry_free(e);
                continue;
            }
            if (rc != SFJ_ENOKEY)
                print_message("set %d, seq %llu (epoch %u): %s\n", s,
                              (unsigned long long)seq, h.epoch,
                              sfj_journal_errmsg(m));
            assert_int_equal(rc, SFJ_ENOKEY);
            assert_null(e);
            assert_non_null(strstr(sfj_journal_errmsg(m), h.epoch == 1
                                                              ? "key epoch 1"
                                                              : "key epoch 2"));
        }
        assert_int_equal(sfj_journal_close(m), SFJ_OK);
    }
    /* A key of none of its epochs is another journal's key: refused at
     * the open, as a terminal's journal refuses it, not read as damage. */
    {
        sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
        sfj_journal *m = NULL;

        ro.flags = SFJ_OPEN_RDONLY;
        assert_int_equal(sfj_journal_open(mpath, f->c, &ro, &m), SFJ_EAUTH);
        assert_null(m);
        assert_non_null(strstr(sfj_journal_errmsg(NULL), "does not belong"));
    }
    sfj_test_rmrf(mpath);
    free(mpath);
    sfj_keys_free(old_first);
    sfj_keys_free(with_foreign);
}

/* ---- evidence bundles across a rotation ---- */

static void bundle_ok(fx *f, const char *txn, const sfj_keys *signer)
{
    uint8_t *buf = NULL, pk[32];
    char reason[200];
    sfj__bundle b;
    size_t len = 0;

    memset(&b, 0, sizeof b);
    sfj_keys_public_key(signer, pk);
    assert_int_equal(
        sfj__bundle_build(f->j, txn, &buf, &len, reason, sizeof reason),
        SFJ_OK);
    assert_int_equal(sfj__bundle_check(buf, len, pk, &b), SFJ_OK);
    assert_true(b.n_events >= 1);
    assert_string_equal(b.events[0]->txn_id, txn);
    sfj__bundle_clear(&b);
    free(buf);
}

static void test_bundle_across(void **state)
{
    fx *f = *state;
    sfj_keys *ring = ring_of(f->b, f->a);

    make_rotated(f);
    assert_int_equal(open_with(f, ring, SFJ_OPEN_RDONLY), SFJ_OK);
    /* T1 spans the rotation: closed by a checkpoint under B. */
    bundle_ok(f, "T1", f->b);
    /* Q1 lies wholly before the rotation: closed under A. */
    close_j(f);
    sfj_keys_free(ring);
}

static void test_bundle_before(void **state)
{
    fx *f = *state;
    sfj_keys *ring = ring_of(f->b, f->a);

    assert_int_equal(open_with(f, f->a, 0), SFJ_OK);
    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "Q1");
    put(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "Q1");
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->b, NULL), SFJ_OK);
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL);
    close_j(f);
    assert_int_equal(open_with(f, ring, SFJ_OPEN_RDONLY), SFJ_OK);
    /* Closed by the checkpoint the rotation wrote under A. */
    bundle_ok(f, "Q1", f->a);
    close_j(f);
    sfj_keys_free(ring);
}

/* ---- the tools ---- */

static int tool(const char *out, const char *err, const char *name, ...)
{
    const char *argv[16];
    va_list ap;
    int n = 0;

    argv[n++] = name;
    va_start(ap, name);
    while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    return sfj_test_run_argv(out, err, 60, argv);
}

static void test_keygen_rotate(void **state)
{
    fx *f = *state;
    char *ka = sfj_test_path(f->dir, "a.key"),
         *kb = sfj_test_path(f->dir, "b.key");
    char *out = sfj_test_path(f->dir, "out"),
         *err = sfj_test_path(f->dir, "err");
    sfj_keys *a = NULL;
    char *text;

    assert_int_equal(sfj_keys_generate_file(ka), SFJ_OK);
    assert_int_equal(sfj_keys_load_file(ka, &a), SFJ_OK);
    assert_int_equal(open_with(f, a, 0), SFJ_OK);
    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "K1");
    close_j(f);
    assert_int_equal(tool(out, err, "sfj-keygen", "rotate", f->path, "-k", ka,
                          "--new-key", kb, NULL),
                     0);
    /* A second run finds the journal already moved. */
    assert_int_equal(tool(out, err, "sfj-keygen", "rotate", f->path, "-k", ka,
                          "--new-key", kb, NULL),
                     0);
    text = sfj_test_slurp(out);
    assert_non_null(strstr(text, "already seals under"));
    free(text);
    /* Dump with both keys decrypts all; with the new key alone the
     * records of the first epoch are counted as needing their key (exit
     * 77), not as damage. */
    assert_int_equal(tool(out, err, "sfj-dump", f->path, "-k", kb, "-k", ka,
                          "--verify", NULL),
                     0);
    assert_int_equal(tool(out, err, "sfj-dump", f->path, "-k", kb, NULL), 77);
    text = sfj_test_slurp(err);
    assert_non_null(strstr(text, "earlier key epoch"));
    free(text);
    /* The old key alone is no longer this journal's key. */
    assert_int_equal(tool(out, err, "sfj-dump", f->path, "-k", ka, NULL), 77);
    /* Reconciliation takes the keyring the same way: K1, sold under the
     * first key, is found in doubt and approved at the acquirer (exit 1,
     * action needed) only with both keys. */
    {
        char *report = sfj_test_path(f->dir, "report.csv");
        FILE *fp = fopen(report, "w");

        assert_non_null(fp);
        fprintf(fp,
                "reference,amount,currency,time,status,auth_code,card,"
                "terminal_id\nK1,15.00,EUR,%lld,approved,A1B2C3,,\n",
                (long long)time(NULL));
        fclose(fp);
        assert_int_equal(tool(out, err, "sfj-reconcile", f->path, "-k", kb,
                              "-k", ka, report, NULL),
                         1);
        text = sfj_test_slurp(out);
        assert_non_null(strstr(text, "K1"));
        free(text);
        assert_int_equal(
            tool(out, err, "sfj-reconcile", f->path, "-k", kb, report, NULL),
            77);
        free(report);
    }
    /* A host's mirror of it dumps the same way, whatever the order of the
     * keys; one epoch's key alone leaves the other's records as needing
     * their key (77), not as damage (65). */
    {
        uint8_t pa[32], after[32];
        uint64_t stop = 0;
        char *mpath = NULL;
        sfj_keys *b = NULL;
        int rc;

        /* A record sealed under the new key too. */
        assert_int_equal(sfj_keys_load_file(kb, &b), SFJ_OK);
        assert_int_equal(open_with(f, b, 0), SFJ_OK);
        put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL);
        close_j(f);
        sfj_keys_free(b);
        assert_int_equal(sfj_keys_public_key(a, pa), SFJ_OK);
        copy_to_mirror(f, pa, &stop, &rc, after, &mpath);
        assert_int_equal(rc, SFJ_OK);
        assert_int_equal(tool(out, err, "sfj-dump", mpath, "-k", ka, "-k", kb,
                              "--verify", NULL),
                         0);
        assert_int_equal(tool(out, err, "sfj-dump", mpath, "-k", ka, NULL), 77);
        assert_int_equal(tool(out, err, "sfj-dump", mpath, "-k", kb, NULL), 77);
        text = sfj_test_slurp(err);
        assert_null(strstr(text, "authentication"));
        free(text);
        /* Another journal's key is refused as on a terminal's journal. */
        {
            char *kc = sfj_test_path(f->dir, "c.key");

            assert_int_equal(sfj_keys_generate_file(kc), SFJ_OK);
            assert_int_equal(tool(out, err, "sfj-dump", mpath, "-k", kc, NULL),
                             77);
            text = sfj_test_slurp(err);
            assert_non_null(strstr(text, "does not belong"));
            free(text);
            free(kc);
        }
        sfj_test_rmrf(mpath);
        free(mpath);
    }
    sfj_keys_free(a);
    free(ka);
    free(kb);
    free(out);
    free(err);
}

/* ---- sfj-host follows a rotation over a live forwarder ---- */

/* 50 entries forwarded under A, the journal rotated to B while the
 * forwarder runs, 5 more and a checkpoint under B: the host takes them
 * all (it checks B's checkpoint under the key the rotation named).
 * `store` is NULL for the LMDB mirrors, or a PostgreSQL URL; `*pk_out`
 * gets the key the store holds in force afterwards. */
static void host_follows(fx *f, const char *store, uint8_t *pk_out)
{
    sfj_test_host host;
    sfj_test_status st;
    sfj_forwarder_opts o;
    sfj_forwarder *fw = NULL;
    char addr[64];
    uint64_t last = 0, wm = 0;
    int i;

    memset(&host, 0, sizeof host);
    host.dir = store == NULL ? sfj_test_path(f->dir, "mirrors") : NULL;
    host.prov = sfj_test_path(f->dir, "terminals.conf");
    host.log = sfj_test_path(f->dir, "host.log");
    if (store != NULL)
        snprintf(host.extra, sizeof host.extra, "--store %s", store);
    sfj_test_status_init(&st);
    assert_int_equal(open_with(f, f->a, 0), SFJ_OK);
    sfj_test_provision(host.prov, f->j, f->a, "T-ROT");
    sfj_test_host_start(&host);
    o = sfj_test_tcp_opts(addr, sizeof addr, host.port, &st);
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), 0);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    sfj_test_append(f->j, 50);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    assert_int_equal(sfj_journal_rotate_keys(f->j, f->b, NULL), SFJ_OK);
    for (i = 0; i < 5; i++)
        put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, i % 2 ? "H1" : "H2");
    assert_int_equal(sfj__journal_checkpoint(f->j, NULL), SFJ_OK);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_forwarder_free(fw);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), 0);
    assert_int_equal(sfj__journal_watermark(f->j, &wm), 0);
    assert_int_equal(wm, last);
    assert_int_equal(sfj_test_counted(&st, &st.auth_errors), 0);
    sfj_test_host_stop(&host, SIGTERM);
    if (store == NULL) {
        /* The mirror holds every record, the key B in force, and
         * verifies across the rotation from A. */
        uint8_t jid[16], pa[32];
        char hj[33], *mpath;
        sfj_journal *m = NULL;

        sfj_journal_id(f->j, jid);
        sfj_keys_public_key(f->a, pa);
        for (i = 0; i < 16; i++)
            snprintf(hj + 2 * i, 3, "%02x", jid[i]);
        mpath = sfj_test_path(host.dir, hj);
        assert_int_equal(sfj__mirror_open(&m, mpath, jid, NULL, pa, 0), 0);
        assert_int_equal(sfj__journal_head(m, &wm, NULL), 0);
        assert_int_equal(wm, last);
        assert_int_equal(sfj__journal_pubkey(m, pk_out), 0);
        verify_ok(m, NULL, 0, 1);
        verify_ok(m, pa, 0, 1);
        sfj_journal_close(m);
        free(mpath);
    }
#ifdef SFJ_HAVE_LIBPQ
    if (store != NULL) {
        PGconn *c = PQconnectdb(store);
        PGresult *r;

        assert_int_equal(PQstatus(c), CONNECTION_OK);
        r = PQexecParams(c, "SELECT pubkey, seq FROM sfj_head", 0, NULL, NULL,
                         NULL, NULL, 1);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(r), 1);
        assert_int_equal(PQgetlength(r, 0, 0), 32);
        memcpy(pk_out, PQgetvalue(r, 0, 0), 32);
        assert_int_equal(sfj__get_u64((const uint8_t *)PQgetvalue(r, 0, 1)),
                         last);
        PQclear(r);
        PQfinish(c);
    }
#endif
    free(host.dir);
    free(host.prov);
    free(host.log);
    sfj_test_status_destroy(&st);
}

static void test_host_follows(void **state)
{
    fx *f = *state;
    uint8_t pb[32], pk[32];

    host_follows(f, NULL, pk);
    sfj_keys_public_key(f->b, pb);
    assert_memory_equal(pk, pb, 32);
}

/* The PostgreSQL store: its head row takes the new key in the commit that
 * stores the rotation record. */
static void test_host_pg_follows(void **state)
{
#ifdef SFJ_HAVE_LIBPQ
    fx *f = *state;
    sfj_test_pg pg;
    uint8_t pb[32], pk[32];

    if (!sfj_test_pg_available()) {
        print_message("SKIPPED: no PostgreSQL server binaries\n");
        skip();
    }
    memset(&pg, 0, sizeof pg);
    sfj_test_pg_init(&pg);
    host_follows(f, pg.url, pk);
    sfj_test_pg_cleanup(&pg);
    sfj_keys_public_key(f->b, pb);
    assert_memory_equal(pk, pb, 32);
#else
    (void)state;
    print_message("SKIPPED: built without libpq\n");
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_key_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_rotation_verify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_altered_rotation_verify, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mirror_refuses_forged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mirror_read_by_epoch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bundle_across, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bundle_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keygen_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_follows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_pg_follows, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
