/* The txn record's layouts (journal/write/txn_rec.c): every txn state
 * round-trips through version 2, edge values included; damaged records
 * are refused; a journal whose index holds version 1 records (as written
 * before version 2) reads the same, and a txn's record moves to version 2
 * when the txn changes. */
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
#include "journal/store/journal_impl.h"
#include "journal/write/txn_index.h"
#include "sfj/sys/internal.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

static void assert_rec_equal(const sfj__txnrec *a, const sfj__txnrec *b)
{
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->outcome, b->outcome);
    assert_int_equal(a->rev_status, b->rev_status);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->boot, b->boot);
    assert_int_equal(a->repeats, b->repeats);
    assert_int_equal(a->copies, b->copies);
    assert_int_equal(a->first_seq, b->first_seq);
    assert_int_equal(a->last_seq, b->last_seq);
    assert_int_equal(a->intent_seq, b->intent_seq);
    assert_int_equal(a->last_intent_seq, b->last_intent_seq);
    assert_int_equal(a->outcome_seq, b->outcome_seq);
    assert_int_equal(a->offline_seq, b->offline_seq);
    assert_int_equal(a->receipt_seq, b->receipt_seq);
    assert_int_equal(a->fail_seq, b->fail_seq);
    assert_int_equal(a->reprint_seq, b->reprint_seq);
    assert_int_equal(a->reversal_seq, b->reversal_seq);
    assert_int_equal(a->rev_last_seq, b->rev_last_seq);
    assert_int_equal(a->first_wall_ms, b->first_wall_ms);
}

/* Version 1 as the library wrote it before version 2: the fixture
 * generator for journals of the old layout. */
static void encode_v1(const sfj__txnrec *r, uint8_t p[SFJ__TXNREC_V1_BYTES])
{
    const uint64_t seqs[11] = {
        r->first_seq,   r->last_seq,     r->intent_seq,  r->last_intent_seq,
        r->outcome_seq, r->offline_seq,  r->receipt_seq, r->fail_seq,
        r->reprint_seq, r->reversal_seq, r->rev_last_seq};
    size_t i;

    p[0] = 1;
    p[1] = r->state;
    sfj__put_u16(p + 2, r->outcome);
    sfj__put_u16(p + 4, r->rev_status);
    sfj__put_u16(p + 6, r->flags);
    sfj__put_u32(p + 8, r->boot);
    sfj__put_u32(p + 12, r->repeats);
    sfj__put_u32(p + 16, r->copies);
    for (i = 0; i < 11; i++)
        sfj__put_u64(p + 20 + 8 * i, seqs[i]);
    sfj__put_u64(p + 20 + 88, (uint64_t)r->first_wall_ms);
}

/* Encode in version 2, decode, compare; the length of the encoding. */
static size_t roundtrip(const sfj__txnrec *r)
{
    uint8_t buf[SFJ__TXNREC_MAX_BYTES + 8], v1[SFJ__TXNREC_V1_BYTES];
    sfj__txnrec back;
    size_t n;

    memset(buf, 0xee, sizeof buf);
    n = sfj__txnrec_encode(r, buf);
    assert_true(n >= 4 && n <= SFJ__TXNREC_MAX_BYTES);
    assert_int_equal(buf[0], 2);
    assert_int_equal(buf[n], 0xee); /* nothing written past the length */
    assert_int_equal(sfj__txnrec_decode(buf, n, &back), SFJ_OK);
    assert_rec_equal(r, &back);
    /* The same state in version 1 reads the same. */
    encode_v1(r, v1);
    assert_int_equal(sfj__txnrec_decode(v1, sizeof v1, &back), SFJ_OK);
    assert_rec_equal(r, &back);
    return n;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* 0, small, near a boundary or anything: what the fields of real and
 * damaged txns hold. */
static uint64_t rnd_value(uint64_t max)
{
    switch (rnd() % 5) {
    case 0:
        return 0;
    case 1:
        return rnd() % 300;
    case 2:
        return max;
    case 3:
        return max - rnd() % 3;
    default:
        return rnd() & max;
    }
}

static void test_roundtrip_edges(void **state)
{
    sfj__txnrec r;
    int s, i;

    (void)state;
    /* Every state with nothing else set. */
    for (s = SFJ__TS_INTENT; s <= SFJ__TS_REVERSED; s++) {
        memset(&r, 0, sizeof r);
        r.state = (uint8_t)s;
        assert_int_equal(roundtrip(&r), 4);
    }
    /* A closed online sale of a million-entry journal: 22 bytes. */
    memset(&r, 0, sizeof r);
    r.state = SFJ__TS_DONE;
    r.outcome = SFJ_ST_APPROVED;
    r.flags = SFJ_TXN_F_PRINTED;
    r.boot = 3;
    r.copies = 1;
    r.first_seq = r.intent_seq = r.last_intent_seq = 999001;
    r.outcome_seq = 999002;
    r.receipt_seq = r.last_seq = 999003;
    r.first_wall_ms = 1700000000000ll;
    assert_int_equal(roundtrip(&r), 22);
    /* Every field at its widest: the longest record. */
    memset(&r, 0, sizeof r);
    r.state = SFJ__TS_REVERSED;
    r.outcome = r.rev_status = r.flags = UINT16_MAX;
    r.boot = r.repeats = r.copies = UINT32_MAX;
    r.first_seq = UINT64_MAX; /* every other seq 2^64 - 1 after it */
    r.last_seq = r.intent_seq = r.last_intent_seq = r.outcome_seq =
        r.offline_seq = r.receipt_seq = r.fail_seq = r.reprint_seq =
            r.reversal_seq = r.rev_last_seq = UINT64_MAX - 1;
    r.first_wall_ms = INT64_MIN;
    assert_int_equal(roundtrip(&r), SFJ__TXNREC_MAX_BYTES);
    r.first_seq = 0;
    r.first_wall_ms = INT64_MAX;
    roundtrip(&r);
    r.first_wall_ms = -1;
    roundtrip(&r);
    /* Seqs below first_seq, first_seq at the top. */
    memset(&r, 0, sizeof r);
    r.state = SFJ__TS_INTENT;
    r.first_seq = UINT64_MAX;
    r.intent_seq = 1;
    r.last_seq = UINT64_MAX;
    roundtrip(&r);
    /* Random states mixing zeros, small values and boundaries. */
    for (i = 0; i < 20000; i++) {
        memset(&r, 0, sizeof r);
        r.state = (uint8_t)(1 + rnd() % 4);
        r.outcome = (uint16_t)rnd_value(UINT16_MAX);
        r.rev_status = (uint16_t)rnd_value(UINT16_MAX);
        r.flags = (uint16_t)rnd_value(UINT16_MAX);
        r.boot = (uint32_t)rnd_value(UINT32_MAX);
        r.repeats = (uint32_t)rnd_value(UINT32_MAX);
        r.copies = (uint32_t)rnd_value(UINT32_MAX);
        r.first_seq = rnd_value(UINT64_MAX);
        r.last_seq = rnd_value(UINT64_MAX);
        r.intent_seq = rnd_value(UINT64_MAX);
        r.last_intent_seq = rnd_value(UINT64_MAX);
        r.outcome_seq = rnd_value(UINT64_MAX);
        r.offline_seq = rnd_value(UINT64_MAX);
        r.receipt_seq = rnd_value(UINT64_MAX);
        r.fail_seq = rnd_value(UINT64_MAX);
        r.reprint_seq = rnd_value(UINT64_MAX);
        r.reversal_seq = rnd_value(UINT64_MAX);
        r.rev_last_seq = rnd_value(UINT64_MAX);
        r.first_wall_ms = (int64_t)rnd_value(UINT64_MAX);
        roundtrip(&r);
    }
}

static int decodes(const uint8_t *p, size_t len)
{
    sfj__txnrec r;

    return sfj__txnrec_decode(p, len, &r);
}

/* Each kind of damage is refused, never read as some other state. */
static void test_damaged_refused(void **state)
{
    uint8_t buf[SFJ__TXNREC_MAX_BYTES + 16], v1[SFJ__TXNREC_V1_BYTES + 1];
    sfj__txnrec r;
    size_t n, i;

    (void)state;
    memset(&r, 0, sizeof r);
    r.state = SFJ__TS_DONE;
    r.outcome = SFJ_ST_APPROVED;
    r.boot = 7;
    r.first_seq = 100000;
    r.last_seq = r.outcome_seq = 100001;
    r.first_wall_ms = 1700000000000ll;
    n = sfj__txnrec_encode(&r, buf);
    assert_int_equal(decodes(buf, n), SFJ_OK);
    /* Cut anywhere. */
    for (i = 0; i < n; i++)
        assert_int_equal(decodes(buf, i), SFJ_ECORRUPT);
    /* A byte after the last field. */
    buf[n] = 0;
    assert_int_equal(decodes(buf, n + 1), SFJ_ECORRUPT);
    /* Unknown versions, states out of range. */
    buf[0] = 3;
    assert_int_equal(decodes(buf, n), SFJ_ECORRUPT);
    buf[0] = 0;
    assert_int_equal(decodes(buf, n), SFJ_ECORRUPT);
    buf[0] = 2;
    buf[1] = 0;
    assert_int_equal(decodes(buf, n), SFJ_ECORRUPT);
    buf[1] = SFJ__TS_REVERSED + 1;
    assert_int_equal(decodes(buf, n), SFJ_ECORRUPT);
    buf[1] = SFJ__TS_DONE;
    assert_int_equal(decodes(buf, n), SFJ_OK);

    /* Hand-made records: version, state, mask, first_seq, fields. */
    {
        static const uint8_t ok[] = {2, 1, 0x01, 0x05, 0x01};
        static const uint8_t mask_bit17[] = {2, 1, 0x80, 0x80, 0x08, 0x05};
        static const uint8_t redundant[] = {2, 1, 0x81, 0x00, 0x05, 0x01};
        static const uint8_t wide_outcome[] = {2,    1,    0x01, 0x05,
                                               0x80, 0x80, 0x04};
        static const uint8_t zero_outcome[] = {2, 1, 0x01, 0x05, 0x00};
        /* last_seq = 5 + (2^64 - 5) = 0: present but 0. */
        static const uint8_t seq_wraps_to_0[] = {2,    1,    0x10, 0x05, 0xfb,
                                                 0xff, 0xff, 0xff, 0xff, 0xff,
                                                 0xff, 0xff, 0xff, 0x01};
        /* A first_seq of eleven bytes, and one whose tenth byte carries
         * more than the 64th bit. */
        static const uint8_t too_long[] = {2,    1,    0x00, 0x80, 0x80,
                                           0x80, 0x80, 0x80, 0x80, 0x80,
                                           0x80, 0x80, 0x80, 0x01};
        static const uint8_t past_64[] = {2,    1,    0x00, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0x02};
        static const uint8_t max_64[] = {2,    1,    0x00, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0x01};

        assert_int_equal(decodes(ok, sizeof ok), SFJ_OK);
        assert_int_equal(sfj__txnrec_decode(ok, sizeof ok, &r), SFJ_OK);
        assert_int_equal(r.first_seq, 5);
        assert_int_equal(r.outcome, 1);
        assert_int_equal(decodes(mask_bit17, sizeof mask_bit17), SFJ_ECORRUPT);
        assert_int_equal(decodes(redundant, sizeof redundant), SFJ_ECORRUPT);
        assert_int_equal(decodes(wide_outcome, sizeof wide_outcome),
                         SFJ_ECORRUPT);
        assert_int_equal(decodes(zero_outcome, sizeof zero_outcome),
                         SFJ_ECORRUPT);
        assert_int_equal(decodes(seq_wraps_to_0, sizeof seq_wraps_to_0),
                         SFJ_ECORRUPT);
        assert_int_equal(decodes(too_long, sizeof too_long), SFJ_ECORRUPT);
        assert_int_equal(decodes(past_64, sizeof past_64), SFJ_ECORRUPT);
        assert_int_equal(decodes(max_64, sizeof max_64), SFJ_OK);
        assert_int_equal(sfj__txnrec_decode(max_64, sizeof max_64, &r), SFJ_OK);
        assert_true(r.first_seq == UINT64_MAX);
    }
    /* Version 1 of the wrong length. */
    memset(&r, 0, sizeof r);
    r.state = SFJ__TS_INTENT;
    encode_v1(&r, v1);
    v1[SFJ__TXNREC_V1_BYTES] = 0;
    assert_int_equal(decodes(v1, SFJ__TXNREC_V1_BYTES), SFJ_OK);
    assert_int_equal(decodes(v1, SFJ__TXNREC_V1_BYTES - 1), SFJ_ECORRUPT);
    assert_int_equal(decodes(v1, SFJ__TXNREC_V1_BYTES + 1), SFJ_ECORRUPT);
}

static int append(sfj_journal *j, uint16_t kind, uint16_t status,
                  const char *txn, uint32_t copy)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = 1250;
    ev.currency = "EUR";
    ev.copy = copy;
    ev.wall_ms = 1700000000000ll;
    return sfj_append(j, &ev, NULL);
}

/* The stored record of `txn` (not through the overlay). */
static size_t stored(fixture *f, const char *txn, uint8_t *val)
{
    uint8_t key[1 + SFJ__TXN_HASH_BYTES];
    MDB_txn *t;
    MDB_val k, v;
    size_t n = 0;

    key[0] = SFJ__TXK_TXN;
    sfj__txn_hash(f->j->keys, txn, key + 1);
    k.mv_data = key;
    k.mv_size = sizeof key;
    assert_int_equal(mdb_txn_begin(f->j->env, NULL, MDB_RDONLY, &t), 0);
    if (mdb_get(t, f->j->db_txns, &k, &v) == 0) {
        n = v.mv_size;
        memcpy(val, v.mv_data, n);
    }
    mdb_txn_abort(t);
    return n;
}

/* Meta `name` of the stored index: 1 and its value in `*v`, or 0. */
static int stored_meta(fixture *f, const char *name, uint64_t *v)
{
    uint8_t key[16];
    MDB_txn *t;
    MDB_val k, val;
    int found;

    key[0] = SFJ__TXK_META;
    memcpy(key + 1, name, strlen(name));
    k.mv_data = key;
    k.mv_size = 1 + strlen(name);
    assert_int_equal(mdb_txn_begin(f->j->env, NULL, MDB_RDONLY, &t), 0);
    found = mdb_get(t, f->j->db_txns, &k, &val) == 0;
    if (found) {
        assert_int_equal(val.mv_size, 8);
        *v = sfj__get_u64(val.mv_data);
    }
    mdb_txn_abort(t);
    return found;
}

/* Rewrite the stored index as a library before version 2 left it: every
 * txn record in version 1, the position under meta "to". The number of
 * records rewritten. */
static int index_to_v1(fixture *f)
{
    MDB_txn *t;
    MDB_cursor *c;
    MDB_val k, v, nv;
    sfj__txnrec r;
    uint8_t v1[SFJ__TXNREC_V1_BYTES], key[64], pos[8];
    int n = 0, mrc;

    assert_int_equal(mdb_txn_begin(f->j->env, NULL, 0, &t), 0);
    assert_int_equal(mdb_cursor_open(t, f->j->db_txns, &c), 0);
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (((const uint8_t *)k.mv_data)[0] != SFJ__TXK_TXN)
            continue;
        assert_int_equal(((const uint8_t *)v.mv_data)[0], 2);
        assert_int_equal(sfj__txnrec_decode(v.mv_data, v.mv_size, &r), SFJ_OK);
        encode_v1(&r, v1);
        nv.mv_data = v1;
        nv.mv_size = sizeof v1;
        /* The key lives in a page the put may move: copy it first. */
        assert_true(k.mv_size <= sizeof key);
        memcpy(key, k.mv_data, k.mv_size);
        k.mv_data = key;
        assert_int_equal(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
        n++;
    }
    assert_int_equal(mrc, MDB_NOTFOUND);
    mdb_cursor_close(c);
    memcpy(key, "Mto2", 4);
    k.mv_data = key;
    k.mv_size = 4;
    assert_int_equal(mdb_get(t, f->j->db_txns, &k, &v), 0);
    memcpy(pos, v.mv_data, sizeof pos);
    assert_int_equal(mdb_del(t, f->j->db_txns, &k, NULL), 0);
    k.mv_size = 3;
    nv.mv_data = pos;
    nv.mv_size = sizeof pos;
    assert_int_equal(mdb_put(t, f->j->db_txns, &k, &nv, 0), 0);
    assert_int_equal(mdb_txn_commit(t), 0);
    return n;
}

static sfj_txn get(sfj_journal *j, const char *txn)
{
    sfj_txn t = SFJ_TXN_INIT;

    assert_int_equal(sfj_txn_get(j, txn, &t), SFJ_OK);
    return t;
}

/* A journal indexed in version 1 reads the same; a txn that changes moves
 * to version 2, the others stay as they are; recovery reads both. */
static void test_v1_journal(void **state)
{
    fixture *f = *state;
    static const char *const ids[] = {"CLOSED", "DONE", "WAIT", "OFF", "REV"};
    sfj_txn before[5], after;
    sfj_report *rep = NULL;
    uint8_t val[256];
    uint64_t pos = 0, pos1 = 0;
    size_t i;

    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "CLOSED", 0), 0);
    assert_int_equal(
        append(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "CLOSED", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "CLOSED", 1),
                     0);
    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "DONE", 0), 0);
    assert_int_equal(
        append(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "DONE", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "WAIT", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "WAIT", 0), 0);
    assert_int_equal(
        append(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OFF", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "REV", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_REVERSAL, SFJ_ST_APPROVED, "REV", 0),
                     0);
    /* Close persists the index (version 2); rewrite it in version 1. */
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    for (i = 0; i < 5; i++)
        before[i] = get(f->j, ids[i]);
    /* Seqs and boot of one byte: 20 bytes. */
    assert_int_equal(stored(f, "CLOSED", val), 20);
    /* The position is "to2": a library before version 2 finds no "to",
     * takes the index for missing and rebuilds it in version 1. */
    assert_true(stored_meta(f, "to2", &pos));
    assert_true(pos > 0);
    assert_false(stored_meta(f, "to", &pos1));
    assert_int_equal(index_to_v1(f), 5);
    assert_true(stored_meta(f, "to", &pos1));
    assert_int_equal(pos1, pos);
    for (i = 0; i < 5; i++) {
        assert_int_equal(stored(f, ids[i], val), SFJ__TXNREC_V1_BYTES);
        assert_int_equal(val[0], 1);
    }

    /* Read as before, by this handle, a reopened one and a read-only
     * one. */
    for (i = 0; i < 5; i++) {
        after = get(f->j, ids[i]);
        assert_memory_equal(&before[i], &after, sizeof after);
    }
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    for (i = 0; i < 5; i++) {
        after = get(f->j, ids[i]);
        /* The waiting intent is in doubt after a reopen, as before. */
        if (strcmp(ids[i], "WAIT") == 0) {
            assert_int_equal(after.state, SFJ_TXN_IN_DOUBT);
            after.state = before[i].state;
        }
        assert_memory_equal(&before[i], &after, sizeof after);
    }
    assert_int_equal(sfj_recover(f->j, &rep), SFJ_OK);
    /* WAIT in doubt; DONE and OFF approved without a receipt. */
    assert_int_equal(rep->n_in_doubt, 1);
    assert_int_equal(rep->n_no_receipt, 2);
    sfj_report_free(rep);

    /* The rules still apply to version 1 records: a second OUTCOME for
     * DONE is refused, a receipt closes it. */
    assert_int_equal(
        append(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "CLOSED", 0),
        SFJ_ESTATE);
    assert_int_equal(append(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "DONE", 1),
                     0);
    assert_int_equal(get(f->j, "DONE").state, SFJ_TXN_CLOSED);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    /* The persist moved the position to "to2" in the commit that wrote
     * the first version 2 record. */
    assert_true(stored_meta(f, "to2", &pos));
    assert_true(pos > pos1);
    assert_false(stored_meta(f, "to", &pos1));
    /* DONE changed: version 2 now; the others untouched in version 1. */
    assert_int_equal(stored(f, "DONE", val), 20);
    assert_int_equal(val[0], 2);
    for (i = 0; i < 5; i++) {
        if (strcmp(ids[i], "DONE") == 0)
            continue;
        assert_int_equal(stored(f, ids[i], val), SFJ__TXNREC_V1_BYTES);
    }
    after = get(f->j, "DONE");
    assert_int_equal(after.state, SFJ_TXN_CLOSED);
    assert_int_equal(after.first_seq, before[1].first_seq);
    assert_int_equal(after.outcome_seq, before[1].outcome_seq);
    assert_true(after.receipt_seq > before[1].last_seq);
}

/* A damaged record in the stored index: the txn's reads and appends are
 * refused with a clear error, the other txns unaffected; the index
 * rebuilt from the entries (sfj_recover, as for a dropped index) reads
 * right again. */
static void test_damaged_in_journal(void **state)
{
    fixture *f = *state;
    uint8_t key[1 + SFJ__TXN_HASH_BYTES], bad[] = {2, 2, 0x81, 0x00, 0x01};
    sfj_txn t = SFJ_TXN_INIT, ok_before;
    sfj_report *rep = NULL;
    MDB_txn *txn;
    MDB_val k, v;

    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "HURT", 0), 0);
    assert_int_equal(
        append(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "HURT", 0), 0);
    assert_int_equal(append(f->j, SFJ_EV_TXN_INTENT, 0, "FINE", 0), 0);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    ok_before = get(f->j, "FINE");
    key[0] = SFJ__TXK_TXN;
    sfj__txn_hash(f->j->keys, "HURT", key + 1);
    k.mv_data = key;
    k.mv_size = sizeof key;
    v.mv_data = bad;
    v.mv_size = sizeof bad;
    assert_int_equal(mdb_txn_begin(f->j->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->j->db_txns, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);

    assert_int_equal(sfj_txn_get(f->j, "HURT", &t), SFJ_ECORRUPT);
    assert_non_null(strstr(sfj_journal_errmsg(f->j), "damaged"));
    assert_int_equal(append(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "HURT", 1),
                     SFJ_ECORRUPT);
    t = get(f->j, "FINE");
    assert_memory_equal(&t, &ok_before, sizeof t);

    /* Rebuilt from the entries. */
    assert_int_equal(mdb_txn_begin(f->j->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_drop(txn, f->j->db_txns, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(sfj_recover(f->j, &rep), SFJ_OK);
    assert_int_equal(rep->index_rebuilt, 1);
    sfj_report_free(rep);
    t = get(f->j, "HURT");
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_APPROVED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_edges),
        cmocka_unit_test(test_damaged_refused),
        cmocka_unit_test_setup_teardown(test_v1_journal, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_in_journal,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
