/* Readers refuse what writers refuse. For each value sfj_append refuses
 * (currency outside A-Z, an auth code with a space, a txn kind without a
 * txn id, kind 0, reserved kinds, epoch 0, unknown flags), a record that
 * carries it is sealed with the right key, chained correctly and put at
 * the end of a journal as only someone with the key and the disk could.
 * Every reader must refuse it: sfj_read, the verifier with and (for the
 * clear header) without the key, sfj-dump listing and --verify, and the
 * host's mirror put (which sees only the clear header). */
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
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/rawjournal.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

typedef struct bad_case {
    const char *name;
    uint16_t kind;
    uint32_t epoch;
    uint8_t flags;
    const char *txn_id;
    const char currency[3];
    const char *auth_code;
    int in_header; /* visible without the key */
} bad_case;

static const bad_case cases[] = {
    {"currency E\\0R", SFJ_EV_NOTE, 1, 0, NULL, {'E', 0, 'R'}, NULL, 0},
    {"currency eur", SFJ_EV_NOTE, 1, 0, NULL, {'e', 'u', 'r'}, NULL, 0},
    {"currency \\0ER", SFJ_EV_NOTE, 1, 0, NULL, {0, 'E', 'R'}, NULL, 0},
    {"currency \\x01UR", SFJ_EV_NOTE, 1, 0, NULL, {1, 'U', 'R'}, NULL, 0},
    {"auth code with a space", SFJ_EV_NOTE, 1, 0, NULL, {0}, "A 1", 0},
    {"txn kind without txn id", SFJ_EV_TXN_INTENT, 1, 0, NULL, {0}, NULL, 0},
    {"kind 0", 0, 1, 0, NULL, {0}, NULL, 1},
    {"kind 9 (key rotation) sealed", 9, 1, 0, NULL, {0}, NULL, 1},
    {"kind 10 (dictionary) with a txn id", 10, 1, 0, "T1", {0}, NULL, 0},
    {"kind 11", 11, 1, 0, NULL, {0}, NULL, 1},
    {"kind 0x0fff", 0x0fff, 1, 0, NULL, {0}, NULL, 1},
    {"epoch 0", SFJ_EV_NOTE, 0, 0, NULL, {0}, NULL, 1},
    {"unknown flag", SFJ_EV_NOTE, 1, 0x80, NULL, {0}, NULL, 1},
};

/* The event codec's layout, written by hand (sfj__event_pack would refuse
 * nothing, but it is only ever given validated events). */
static size_t plaintext(const bad_case *c, uint8_t *pt)
{
    size_t tl = c->txn_id ? strlen(c->txn_id) : 0;
    size_t al = c->auth_code ? strlen(c->auth_code) : 0;
    uint8_t *p = pt;

    *p++ = SFJ__EVENT_CODEC_V2;
    sfj__put_u16(p, 0);
    sfj__put_u32(p + 2, 1);
    p[6] = (uint8_t)tl;
    p += 7;
    memcpy(p, c->txn_id ? c->txn_id : "", tl);
    p += tl;
    sfj__put_u64(p, 100);
    memcpy(p + 8, c->currency, 3);
    p[11] = (uint8_t)al;
    p += 12;
    memcpy(p, c->auth_code ? c->auth_code : "", al);
    p += al;
    sfj__put_u32(p, 0);
    sfj__put_u32(p + 4, 0);
    return (size_t)(p + 8 - pt);
}

static void raw_put_entry(fixture *f, uint64_t seq, const uint8_t *rec,
                          size_t len)
{
    sfj_test_raw r;
    MDB_val k, v = {len, (void *)rec};

    sfj_test_raw_open(f->path, &r);
    k = sfj_test_raw_key(&r, seq);
    assert_int_equal(mdb_put(r.txn, r.entries, &k, &v, 0), 0);
    sfj_test_raw_close(&r);
}

/* NULL when the open itself refuses the journal (ECORRUPT: a newest
 * record whose clear header no writer makes). */
static sfj_journal *open_ro(fixture *f, int keyed)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    int rc;

    o.flags = SFJ_OPEN_RDONLY;
    rc = sfj_journal_open(f->path, keyed ? f->keys : NULL, &o, &j);
    if (rc != SFJ_OK)
        assert_int_equal(rc, SFJ_ECORRUPT);
    return j;
}

/* Every reader against one bad record. */
static void feed(fixture *f, const bad_case *c)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[SFJ_PUBKEY_BYTES], ekey[32];
    uint8_t pt[256], rec[SFJ_REC_HDR_BYTES + 256 + SFJ_REC_TAG_BYTES];
    uint8_t *recs[8];
    size_t lens[8];
    char mdir[4096];
    sfj__verify_result vr;
    sfj__rec_hdr h;
    sfj_journal *j, *m = NULL;
    sfj_entry *e = NULL;
    uint64_t last = 0, s;
    size_t pt_len, len;
    int k;

    sfj_test_rmrf(f->path);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &j), SFJ_OK);
    {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = SFJ_EV_NOTE;
        for (k = 0; k < 3; k++)
            assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    }
    assert_int_equal(sfj_journal_close(j), SFJ_OK); /* seqs 1..4 */
    j = open_ro(f, 1);
    assert_non_null(j);
    memset(&h, 0, sizeof h);
    assert_int_equal(sfj__journal_head(j, &last, h.prev_chain), SFJ_OK);
    sfj_journal_id(j, jid);
    sfj__journal_pubkey(j, pk);
    assert_true(last < 8);
    for (s = 1; s <= last; s++)
        assert_int_equal(
            sfj__journal_read_sealed(j, s, &recs[s - 1], &lens[s - 1]), SFJ_OK);
    sfj_journal_close(j);

    h.format = SFJ_REC_FORMAT;
    h.flags = c->flags;
    h.kind = c->kind;
    h.epoch = c->epoch;
    h.seq = last + 1;
    h.wall_ms = 1700000000000ll;
    pt_len = plaintext(c, pt);
    sfj__epoch_key(f->keys, c->epoch, ekey);
    sfj__rec_seal(jid, ekey, &h, NULL, pt, pt_len, rec);
    len = SFJ_REC_HDR_BYTES + pt_len + SFJ_REC_TAG_BYTES;
    raw_put_entry(f, last + 1, rec, len);

    /* sfj_read and the verifier with the key (or the open refuses). */
    j = open_ro(f, 1);
    if (j != NULL) {
        assert_int_not_equal(sfj_read(j, last + 1, &e), SFJ_OK);
        assert_null(e);
        assert_int_equal(sfj__verify(j, 0, NULL, 1, &vr), SFJ_OK);
        if (vr.bad_seq != last + 1)
            fail_msg("%s: verify with the key accepted it", c->name);
        sfj_journal_close(j);
    } else if (!c->in_header) {
        fail_msg("%s: refused at open, not by the record check", c->name);
    }
    /* Without the key only the clear header can tell. */
    j = c->in_header ? open_ro(f, 0) : NULL;
    if (j != NULL) {
        assert_int_equal(sfj__verify(j, 0, NULL, 0, &vr), SFJ_OK);
        if (vr.bad_seq != last + 1)
            fail_msg("%s: verify without the key accepted it", c->name);
        sfj_journal_close(j);
    }
    /* The tools: damage found (65), also when the open refuses the
     * journal. */
    k = sfj_test_run_tool(f, "sfj-dump", f->path, "--key", f->keyfile,
                          (char *)NULL);
    if (k != 65)
        fail_msg("%s: sfj-dump listed it (exit %d)", c->name, k);
    k = sfj_test_run_tool(f, "sfj-dump", f->path, "--key", f->keyfile,
                          "--verify", (char *)NULL);
    if (k != 65)
        fail_msg("%s: sfj-dump --verify accepted it (exit %d)", c->name, k);
    /* The host's mirror: the good records go in, the bad one does not
     * when its header shows it (the host holds no key). */
    snprintf(mdir, sizeof mdir, "%s/mirror", f->dir);
    sfj_test_rmrf(mdir);
    assert_int_equal(sfj__mirror_open(&m, mdir, jid, "t", pk, 0), SFJ_OK);
    assert_int_equal(sfj__mirror_put_batch(m, 1, (const uint8_t *const *)recs,
                                           lens, last, NULL),
                     SFJ_OK);
    if (c->in_header && sfj__mirror_put(m, last + 1, rec, len) == SFJ_OK)
        fail_msg("%s: the mirror took it", c->name);
    sfj_journal_close(m);
    for (s = 1; s <= last; s++)
        free(recs[s - 1]);
    sodium_memzero(ekey, sizeof ekey);
}

static void test_readers_refuse(void **state)
{
    fixture *f = *state;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        feed(f, &cases[i]);
}

/* The writer refuses the same values (the other half of the rule). */
static void test_writer_refuses(void **state)
{
    sfj_event ev = SFJ_EVENT_INIT;

    (void)state;
    ev.kind = SFJ_EV_NOTE;
    assert_int_equal(sfj__event_validate(&ev), SFJ_OK);
    ev.currency = "E\0R";
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.currency = "eur";
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.currency = NULL;
    ev.auth_code = "A 1";
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.auth_code = NULL;
    ev.kind = 0;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.kind = (sfj_kind)9;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.kind = (sfj_kind)10;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.kind = (sfj_kind)0x0fff;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
    ev.kind = SFJ_EV_TXN_INTENT;
    assert_int_equal(sfj__event_validate(&ev), SFJ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_readers_refuse, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test(test_writer_refuses),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
