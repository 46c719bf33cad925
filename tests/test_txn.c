/* Transaction layer: every state transition and every illegal one, offline
 * risk limits at the boundary, settlement totals and the explanation of a
 * difference, a wall clock that goes backwards, index rebuild. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <lmdb.h>

#include "journal/store/journal_impl.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "sfj/sys/internal.h"
#include "support/testutil.h"

#define T0 1700000000000ll

typedef sfj_test_fixture fixture;

static void reopen(fixture *f, const sfj_journal_opts *o)
{
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, o, &f->j), SFJ_OK);
}

/* Fork a child; `close_first`: after closing the fixture's handle, so that
 * the child may take the writer lock. */
static pid_t fork_child(fixture *f, int close_first)
{
    pid_t pid;

    if (close_first) {
        assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
        f->j = NULL;
    }
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    return pid;
}

static void child_ok(pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int ev_full(sfj_journal *j, uint16_t kind, uint16_t status,
                   const char *txn, int64_t amount, const char *cur,
                   uint32_t copy, int64_t wall, uint64_t *seq)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = cur;
    ev.copy = copy;
    ev.wall_ms = wall;
    return sfj_append(j, &ev, seq);
}

static int ev(sfj_journal *j, uint16_t kind, uint16_t status, const char *txn)
{
    return ev_full(j, kind, status, txn, 1000, "EUR", 0, T0, NULL);
}

static uint64_t ok_seq(sfj_journal *j, uint16_t kind, uint16_t status,
                       const char *txn, int64_t amount, uint32_t copy)
{
    uint64_t seq = 0;
    int rc = ev_full(j, kind, status, txn, amount, "EUR", copy, T0, &seq);

    if (rc != SFJ_OK)
        fail_msg("append kind %u status %u txn %s: %s (%s)", kind, status,
                 txn ? txn : "-", sfj_strerror(rc), sfj_journal_errmsg(j));
    assert_true(seq > 0);
    return seq;
}

static sfj_txn get(sfj_journal *j, const char *txn)
{
    sfj_txn t = SFJ_TXN_INIT;

    assert_int_equal(sfj_txn_get(j, txn, &t), SFJ_OK);
    return t;
}

static uint64_t last_seq(sfj_journal *j)
{
    sfj_stats st = SFJ_STATS_INIT;

    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    return st.last_seq;
}

/* The happy online path: INTENT -> DONE(approved) -> CLOSED, with every
 * seq recorded; a declined one closes when its receipt prints. */
static void test_online_lifecycle(void **state)
{
    fixture *f = *state;
    uint64_t si, so, sr, sp;
    sfj_txn t = SFJ_TXN_INIT;

    assert_int_equal(sfj_txn_get(f->j, "A", &t), SFJ_ENOTFOUND);
    si = ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "A", 1250, 0);
    t = get(f->j, "A");
    assert_int_equal(t.state, SFJ_TXN_INTENT);
    assert_int_equal(t.intent_seq, si);
    assert_int_equal(t.first_seq, si);
    assert_int_equal(t.outcome_seq, 0);
    so = ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A", 1250, 0);
    t = get(f->j, "A");
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_APPROVED);
    assert_int_equal(t.outcome_seq, so);
    assert_int_equal(t.flags & SFJ_TXN_F_PRINTED, 0);
    sr = ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "A", 1250, 1);
    t = get(f->j, "A");
    assert_int_equal(t.state, SFJ_TXN_CLOSED);
    assert_int_equal(t.receipt_seq, sr);
    assert_int_equal(t.copies, 1);
    sp = ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "A", 1250, 2);
    t = get(f->j, "A");
    assert_int_equal(t.state, SFJ_TXN_CLOSED);
    assert_int_equal(t.reprint_seq, sp);
    assert_int_equal(t.copies, 2);
    assert_true(t.flags & SFJ_TXN_F_REPRINTED);
    assert_int_equal(t.last_seq, sp);
    assert_int_equal(t.receipt_seq, sr);

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "D", 500, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "D", 500, 0);
    t = get(f->j, "D");
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_DECLINED);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "D", 500, 0);
    assert_int_equal(get(f->j, "D").state, SFJ_TXN_CLOSED);
}

/* Repeats reuse the txn_id; an ERROR outcome leaves the txn in doubt and
 * a later answer still settles it; reversal from in doubt; a reopen makes
 * a waiting intent IN_DOUBT. */
static void test_doubt_repeat_reversal(void **state)
{
    fixture *f = *state;
    uint64_t s1, s2, se, sv, sv2;
    sfj_txn t = SFJ_TXN_INIT;

    s1 = ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "R", 700, 0);
    s2 = ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "R", 700, 0);
    t = get(f->j, "R");
    assert_int_equal(t.state, SFJ_TXN_INTENT);
    assert_int_equal(t.intent_seq, s1);
    assert_int_equal(t.last_intent_seq, s2);
    assert_int_equal(t.repeats, 1);
    assert_true(t.flags & SFJ_TXN_F_REPEATED);
    se = ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_ERROR, "R", 700, 0);
    t = get(f->j, "R");
    assert_int_equal(t.state, SFJ_TXN_IN_DOUBT);
    assert_int_equal(t.outcome_seq, se);
    assert_true(t.flags & SFJ_TXN_F_HOST_ERROR);
    /* An inquiry answer settles it. */
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "R", 700, 0);
    assert_int_equal(get(f->j, "R").state, SFJ_TXN_DONE);

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "W", 300, 0);
    assert_int_equal(get(f->j, "W").state, SFJ_TXN_INTENT);
    reopen(f, NULL);
    t = get(f->j, "W");
    assert_int_equal(t.state, SFJ_TXN_IN_DOUBT);
    sv = ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "W", 300, 0);
    sv2 = ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_APPROVED, "W", 300, 0);
    t = get(f->j, "W");
    assert_int_equal(t.state, SFJ_TXN_REVERSED);
    assert_int_equal(t.reversal_seq, sv);
    assert_int_equal(t.reversal_last_seq, sv2);
    assert_int_equal(t.reversal, SFJ_ST_APPROVED);
    /* A void of an approved, printed sale. */
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "V", 100, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "V", 100, 0);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "V", 100, 0);
    ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_SENT, "V", 100, 0);
    assert_int_equal(get(f->j, "V").state, SFJ_TXN_REVERSED);
}

/* A jammed receipt is reprinted as a DUPLICATE (part of the original may
 * be with the customer); the reprint closes the txn. */
static void test_reprint_after_jam(void **state)
{
    fixture *f = *state;
    uint64_t sr;
    sfj_txn t = SFJ_TXN_INIT;

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "J", 2300, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "J", 2300, 0);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINT_FAILED, "J", 2300, 1);
    assert_int_equal(get(f->j, "J").state, SFJ_TXN_DONE);
    /* A reprint is a copy >= 2. */
    assert_int_equal(ev_full(f->j, SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "J", 2300,
                             "EUR", 1, T0, NULL),
                     SFJ_ESTATE);
    sr = ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "J", 2300, 2);
    t = get(f->j, "J");
    assert_int_equal(t.state, SFJ_TXN_CLOSED);
    assert_int_equal(t.reprint_seq, sr);
    assert_true(t.flags & SFJ_TXN_F_REPRINTED);
    assert_int_equal(t.flags & SFJ_TXN_F_PRINT_FAILED, 0);
}

/* OFFLINE -> FORWARDED once acknowledged; receipts on offline sales; an
 * offline decline is DONE(declined). */
static void test_offline_forwarded(void **state)
{
    fixture *f = *state;
    uint64_t so;
    sfj_txn t = SFJ_TXN_INIT;
    sfj_stats st = SFJ_STATS_INIT;

    so = ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "O", 900, 0);
    t = get(f->j, "O");
    assert_int_equal(t.state, SFJ_TXN_OFFLINE);
    assert_int_equal(t.offline_seq, so);
    assert_int_equal(t.outcome, SFJ_ST_APPROVED);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINT_FAILED, "O", 900, 0);
    t = get(f->j, "O");
    assert_true(t.flags & SFJ_TXN_F_PRINT_FAILED);
    assert_true(t.print_failed_seq > so);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "O", 900, 0);
    t = get(f->j, "O");
    assert_int_equal(t.flags & SFJ_TXN_F_PRINT_FAILED, 0);
    assert_true(t.flags & SFJ_TXN_F_PRINTED);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.offline_pending, 1);
    assert_int_equal(sfj__journal_ack(f->j, so, NULL, 0), SFJ_OK);
    assert_int_equal(get(f->j, "O").state, SFJ_TXN_FORWARDED);
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.offline_pending, 0);

    ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_DECLINED, "OD", 50, 0);
    t = get(f->j, "OD");
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_DECLINED);
}

/* Every illegal transition is refused with SFJ_ESTATE (or SFJ_EINVAL for
 * a status the kind does not take) and writes nothing. */
static void test_illegal_transitions(void **state)
{
    fixture *f = *state;
    static const struct {
        uint16_t kind, status;
        const char *txn;
        uint32_t copy;
        int rc;
    } bad[] = {
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "NOPE", 0, SFJ_ESTATE},
        {SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "NOPE", 0, SFJ_ESTATE},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "NOPE", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "AP", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "AP", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_INTENT, 0, "AP", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "AP", 0, SFJ_ESTATE},
        {SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "AP", 2, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "DE", 0, SFJ_ESTATE},
        {SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "DE", 0, SFJ_ESTATE},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "WA", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "WA", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "RV", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_INTENT, 0, "RV", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "OF", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_INTENT, 0, "OF", 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OF", 0, SFJ_ESTATE},
        {SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "PR", 1, SFJ_ESTATE},
        {SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "PR", 2, SFJ_ESTATE},
        {SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL, 0, SFJ_ESTATE},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_PRINTED, "WA", 0, SFJ_EINVAL},
        {SFJ_EV_RECEIPT, SFJ_ST_APPROVED, "AP", 0, SFJ_EINVAL},
        {SFJ_EV_TXN_INTENT, SFJ_ST_APPROVED, "NEW", 0, SFJ_EINVAL},
        {SFJ_EV_SETTLEMENT, SFJ_ST_PRINTED, NULL, 0, SFJ_EINVAL},
    };
    uint64_t before;
    size_t i;
    sfj_txn t = SFJ_TXN_INIT;

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "AP", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "AP", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "DE", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "DE", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "WA", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "RV", 1, 0);
    ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "RV", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OF", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "PR", 1, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "PR", 1, 0);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "PR", 1, 1);
    ok_seq(f->j, SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, "PR", 1, 3);
    before = last_seq(f->j);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = ev_full(f->j, bad[i].kind, bad[i].status, bad[i].txn, 1, "EUR",
                         bad[i].copy, T0, NULL);

        if (rc != bad[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, bad[i].rc);
    }
    assert_int_equal(last_seq(f->j), before);
    assert_int_equal(sfj_txn_get(f->j, "NOPE", &t), SFJ_ENOTFOUND);
    t = get(f->j, "AP");
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_APPROVED);
    assert_int_equal(get(f->j, "PR").copies, 3);
}

/* A refused event inside a group commit does not disturb the others. */
static void test_refusal_in_batch_keeps_others(void **state)
{
    fixture *f = *state;

    assert_int_equal(ev(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "X"),
                     SFJ_ESTATE);
    assert_int_equal(ev(f->j, SFJ_EV_TXN_INTENT, 0, "X"), SFJ_OK);
    assert_int_equal(ev(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "X"),
                     SFJ_OK);
    assert_int_equal(last_seq(f->j), 2);
}

static void offline_at(fixture *f, const char *txn, int64_t amount,
                       const char *cur, int64_t wall, int want)
{
    int rc = ev_full(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, txn, amount,
                     cur, 0, wall, NULL);

    if (rc != want)
        fail_msg("offline %s: rc %d, want %d (%s)", txn, rc, want,
                 sfj_journal_errmsg(f->j));
}

static int limit_hit(fixture *f)
{
    sfj_stats st = SFJ_STATS_INIT;

    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    return st.limit_hit;
}

/* Count: max 3 pending is accepted, the 4th refused; an ack frees room. */
static void test_limit_count(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    uint64_t before;

    o.max_offline_count = 3;
    reopen(f, &o);
    offline_at(f, "C1", 10, "EUR", T0, SFJ_OK);
    offline_at(f, "C2", 10, "EUR", T0, SFJ_OK);
    offline_at(f, "C3", 10, "EUR", T0, SFJ_OK);
    assert_int_equal(limit_hit(f), 0);
    before = last_seq(f->j);
    offline_at(f, "C4", 10, "EUR", T0, SFJ_ELIMIT);
    assert_int_equal(limit_hit(f), 1);
    assert_int_equal(last_seq(f->j), before);
    assert_int_equal(sfj_txn_get(f->j, "C4", &(sfj_txn)SFJ_TXN_INIT),
                     SFJ_ENOTFOUND);
    /* Online sales do not count. */
    assert_int_equal(ev(f->j, SFJ_EV_TXN_INTENT, 0, "ON"), SFJ_OK);
    /* Forwarding one makes room for exactly one more. */
    assert_int_equal(sfj__journal_ack(f->j, 1, NULL, 0), SFJ_OK);
    offline_at(f, "C4", 10, "EUR", T0, SFJ_OK);
    assert_int_equal(limit_hit(f), 0);
    offline_at(f, "C5", 10, "EUR", T0, SFJ_ELIMIT);
    /* The limit also holds after a reopen (totals come from the index). */
    reopen(f, &o);
    offline_at(f, "C5", 10, "EUR", T0, SFJ_ELIMIT);
}

/* Amount per currency: reaching the maximum exactly is accepted, one
 * minor unit more is refused; another currency has its own total. */
static void test_limit_amount(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    o.max_offline_amount = 10000;
    reopen(f, &o);
    offline_at(f, "A1", 6000, "EUR", T0, SFJ_OK);
    offline_at(f, "A2", 4001, "EUR", T0, SFJ_ELIMIT);
    assert_int_equal(limit_hit(f), 2);
    offline_at(f, "A2", 4000, "EUR", T0, SFJ_OK);
    offline_at(f, "A3", 1, "EUR", T0, SFJ_ELIMIT);
    offline_at(f, "U1", 10000, "USD", T0, SFJ_OK);
    offline_at(f, "U2", 1, "USD", T0, SFJ_ELIMIT);
    /* A reversed (voided) offline sale no longer counts. */
    assert_int_equal(ev_full(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "A2",
                             4000, "EUR", 0, T0, NULL),
                     SFJ_OK);
    offline_at(f, "A3", 4000, "EUR", T0, SFJ_OK);
    reopen(f, &o);
    offline_at(f, "A4", 1, "EUR", T0, SFJ_ELIMIT);
}

/* Age: the oldest pending one may be max_age old, not a ms more; a clock
 * set back does not make it younger. */
static void test_limit_age_and_clock_back(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_entry *e;
    uint64_t s1, s2;

    o.max_offline_age_ms = 60000;
    reopen(f, &o);
    offline_at(f, "G1", 1, "EUR", T0, SFJ_OK);
    offline_at(f, "G2", 1, "EUR", T0 + 60000, SFJ_OK);
    offline_at(f, "G3", 1, "EUR", T0 + 60001, SFJ_ELIMIT);
    assert_int_equal(limit_hit(f), 3);
    /* An online sale records the time; then the clock jumps back an hour:
     * the oldest pending one is still too old. */
    assert_int_equal(ev_full(f->j, SFJ_EV_TXN_INTENT, 0, "B0", 5, "EUR", 0,
                             T0 + 90000, NULL),
                     SFJ_OK);
    offline_at(f, "G3", 1, "EUR", T0 - 3600000, SFJ_ELIMIT);
    /* Online txns go on, ordered by seq, times kept as recorded. */
    assert_int_equal(ev_full(f->j, SFJ_EV_TXN_INTENT, 0, "B1", 5, "EUR", 0,
                             T0 - 3600000, &s1),
                     SFJ_OK);
    assert_int_equal(ev_full(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "B1", 5,
                             "EUR", 0, T0 - 7200000, &s2),
                     SFJ_OK);
    assert_true(s2 == s1 + 1);
    assert_int_equal(get(f->j, "B1").state, SFJ_TXN_DONE);
    assert_int_equal(sfj_read(f->j, s2, &e), SFJ_OK);
    assert_int_equal(e->wall_ms, T0 - 7200000);
    sfj_entry_free(e);
    /* Forward the old ones: the age limit lifts. */
    assert_int_equal(sfj__journal_ack(f->j, 2, NULL, 0), SFJ_OK);
    offline_at(f, "G3", 1, "EUR", T0 - 3600000, SFJ_OK);
}

/* The index's own position, meta "to2" ("to" before txn record version
 * 2), as stored. */
static uint64_t index_to(fixture *f)
{
    uint8_t kb[4] = {'M', 't', 'o', '2'};
    MDB_val k = {sizeof kb, kb}, v;
    MDB_txn *txn;
    uint64_t to = 0;
    int i;

    assert_int_equal(mdb_txn_begin(f->j->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_get(txn, f->j->db_txns, &k, &v), 0);
    assert_int_equal(v.mv_size, 8);
    for (i = 0; i < 8; i++)
        to = to << 8 | ((const uint8_t *)v.mv_data)[i];
    mdb_txn_abort(txn);
    return to;
}

/* The index's position as the handle sees it (overlay rows included). */
static uint64_t view_to(fixture *f)
{
    MDB_txn *txn;
    uint64_t to = 0;
    int found = 0;

    assert_int_equal(sfj__txi_read_begin(f->j, &txn), SFJ_OK);
    assert_int_equal(sfj__txm_get(f->j, txn, SFJ__TXM_TO, &to, &found), SFJ_OK);
    sfj__txi_read_end(f->j, txn);
    assert_true(found);
    return to;
}

static void note_at(fixture *f, int64_t wall)
{
    assert_int_equal(
        ev_full(f->j, SFJ_EV_NOTE, 0, NULL, 0, NULL, 0, wall, NULL), SFJ_OK);
}

/* A NOTE leaves the index alone (its commit dirties no index page), yet
 * its time counts for the age limit at once, after a child that appended
 * it died without closing, and after a clean close; a checkpoint moves
 * the index position over it. */
static void test_note_outside_index(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    uint64_t to, s1;
    pid_t pid;

    o.max_offline_age_ms = 60000;
    reopen(f, &o);
    offline_at(f, "N1", 1, "EUR", T0, SFJ_OK);
    /* The append wrote its index rows into the overlay only. */
    to = view_to(f);
    assert_int_equal(to, last_seq(f->j));
    assert_true(index_to(f) < to);
    note_at(f, T0 + 90000);
    note_at(f, T0 + 1000);
    /* The index did not move: nothing of it was written. */
    assert_int_equal(view_to(f), to);
    /* The note's time counts: the clock set back an hour does not make
     * N1 (90 s old by the note) young enough. */
    offline_at(f, "N2", 1, "EUR", T0 - 3600000, SFJ_ELIMIT);
    /* The index is level: nothing to replay, the txns are as before. */
    reopen(f, &o);
    assert_true(index_to(f) > to);
    assert_int_equal(get(f->j, "N1").state, SFJ_TXN_OFFLINE);
    offline_at(f, "N2", 1, "EUR", T0 - 3600000, SFJ_ELIMIT);

    /* A child opens the journal, appends a later note and dies without
     * closing (no checkpoint moves the index over it). */
    s1 = last_seq(f->j);
    pid = fork_child(f, 1);
    if (pid == 0) {
        sfj_event ev = SFJ_EVENT_INIT;
        sfj_journal *j = NULL;

        ev.kind = SFJ_EV_NOTE;
        ev.wall_ms = T0 + 7200000;
        _exit(sfj_journal_open(f->path, f->keys, &o, &j) == SFJ_OK &&
                      sfj_append(j, &ev, NULL) == SFJ_OK
                  ? 0
                  : 1);
    }
    child_ok(pid);
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &f->j), SFJ_OK);
    assert_true(last_seq(f->j) > s1);
    /* N1 is two hours old by the note the child wrote. */
    offline_at(f, "N3", 1, "EUR", T0 + 3600000, SFJ_ELIMIT);
    /* Forwarding the pending ones lifts the limit, as before. */
    assert_int_equal(sfj__journal_ack(f->j, last_seq(f->j), NULL, 0), SFJ_OK);
    offline_at(f, "N3", 1, "EUR", T0 + 3600000, SFJ_OK);
    assert_int_equal(view_to(f), last_seq(f->j));
}

/* Open a second handle on the journal, read-only, with the key. */
static sfj_journal *open_ro(fixture *f)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *r = NULL;

    o.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &r), SFJ_OK);
    return r;
}

static int state_of(sfj_journal *j, const char *id)
{
    sfj_txn t = SFJ_TXN_INIT;
    int rc = sfj_txn_get(j, id, &t);

    return rc == SFJ_OK ? (int)t.state : rc;
}

#define RACE_THREADS 3
#define RACE_TXNS    40

typedef struct race {
    sfj_journal *j;
    volatile int done[RACE_THREADS]; /* txns whose outcome returned */
    volatile int stop;
    int failures;
} race;

typedef struct race_arg {
    race *r;
    int t;
} race_arg;

static void *race_writer(void *p)
{
    race_arg *a = p;
    char id[32];
    int i;

    for (i = 0; i < RACE_TXNS; i++) {
        snprintf(id, sizeof id, "RC%d-%d", a->t, i);
        if (ev(a->r->j, SFJ_EV_TXN_INTENT, 0, id) != SFJ_OK ||
            ev(a->r->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, id) != SFJ_OK)
            __atomic_add_fetch(&a->r->failures, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&a->r->done[a->t], i + 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void *race_reader(void *p)
{
    race *r = p;
    char id[32];
    int t, n, i;

    while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
        for (t = 0; t < RACE_THREADS; t++) {
            n = __atomic_load_n(&r->done[t], __ATOMIC_SEQ_CST);
            for (i = 0; i < n; i++) {
                snprintf(id, sizeof id, "RC%d-%d", t, i);
                if (state_of(r->j, id) != SFJ_TXN_DONE)
                    __atomic_add_fetch(&r->failures, 1, __ATOMIC_SEQ_CST);
                /* Let the writers in: a mutex is not fair, and under
                 * valgrind's one-thread-at-a-time scheduler a reader
                 * that took the index lock again at once starved them
                 * for minutes. */
                sched_yield();
            }
        }
    }
    return NULL;
}

/* Readers on other threads never see a txn go missing or step back while
 * appends on three threads fill the overlay and checkpoints every few
 * entries persist and drop its rows. */
static void test_overlay_threads(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    pthread_t w[RACE_THREADS], rd;
    race_arg a[RACE_THREADS];
    race r;
    int t;

    o.checkpoint_every = 7;
    reopen(f, &o);
    memset(&r, 0, sizeof r);
    r.j = f->j;
    assert_int_equal(pthread_create(&rd, NULL, race_reader, &r), 0);
    for (t = 0; t < RACE_THREADS; t++) {
        a[t].r = &r;
        a[t].t = t;
        assert_int_equal(pthread_create(&w[t], NULL, race_writer, &a[t]), 0);
    }
    for (t = 0; t < RACE_THREADS; t++)
        pthread_join(w[t], NULL);
    __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(rd, NULL);
    assert_int_equal(r.failures, 0);
    assert_int_equal(state_of(f->j, "RC2-39"), SFJ_TXN_DONE);
}

/* Retention pruning entries the persisted index has not seen persists the
 * overlay in the same commit: a crash right after must not leave a txn
 * whose first events are gone without their index record. */
static void test_prune_past_persisted_index(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_txn t = SFJ_TXN_INIT;
    pid_t pid;

    o.checkpoint_every = 100000;
    o.retention_days = 1;
    pid = fork_child(f, 1);
    if (pid == 0) {
        sfj_journal *c = NULL;
        uint64_t s = 0;
        int64_t later = T0 + 3 * 86400000ll;

        /* Sold and answered on day 0, printed on day 3, all forwarded;
         * a note an hour later prunes the day-0 entries, then the
         * process dies. */
        _exit(sfj_journal_open(f->path, f->keys, &o, &c) == SFJ_OK &&
                      ev(c, SFJ_EV_TXN_INTENT, 0, "PR-X") == SFJ_OK &&
                      ev(c, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "PR-X") ==
                          SFJ_OK &&
                      ev_full(c, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "PR-X", 1000,
                              "EUR", 1, later, &s) == SFJ_OK &&
                      sfj__journal_ack(c, s, NULL, 0) == SFJ_OK &&
                      ev_full(c, SFJ_EV_NOTE, 0, NULL, 0, NULL, 0,
                              later + 3600000, NULL) == SFJ_OK
                  ? 0
                  : 1);
    }
    child_ok(pid);
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &f->j), SFJ_OK);
    assert_int_equal(sfj_txn_get(f->j, "PR-X", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_CLOSED);
    /* Its intent went with the prune, yet the record remembers it. */
    assert_true(t.intent_seq != 0);
    assert_int_equal(t.first_seq, t.intent_seq);
    assert_int_equal(sfj_read(f->j, t.intent_seq, &(sfj_entry *){NULL}),
                     SFJ_ENOTFOUND);
}

/* The txn index overlay: a TXN_INTENT leaves the persisted index as it
 * was, yet every reader sees it: this handle, a read-only handle and a
 * reader in another process, each replaying the tail after the persisted
 * position. A crash before the next persist loses nothing the state
 * checks need; a checkpoint, the rows bound and close persist. */
static void test_overlay_persist_and_readers(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *r;
    sfj_report *rep = NULL;
    sfj_event *evs;
    char ids[600][16];
    uint64_t stored, s;
    pid_t pid;
    int i;

    o.checkpoint_every = 100000;
    reopen(f, &o);
    stored = index_to(f);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "OV-A", 500, 0);
    /* Nothing of the index was written by the append... */
    assert_int_equal(index_to(f), stored);
    /* ...and every reader sees the txn all the same. */
    assert_int_equal(state_of(f->j, "OV-A"), SFJ_TXN_INTENT);
    r = open_ro(f);
    assert_int_equal(state_of(r, "OV-A"), SFJ_TXN_IN_DOUBT);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "OV-A", 500, 0);
    /* The read-only handle follows the writer's newer entries. */
    assert_int_equal(state_of(r, "OV-A"), SFJ_TXN_DONE);
    assert_int_equal(sfj_recover(r, &rep), SFJ_OK);
    assert_int_equal(rep->index_stale, 0);
    assert_int_equal(rep->n_no_receipt, 1);
    sfj_report_free(rep);
    /* A state check sees the overlay: a second sale under the id is
     * refused as before. */
    assert_int_equal(ev(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OV-A"),
                     SFJ_ESTATE);
    pid = fork_child(f, 0);
    if (pid == 0) {
        sfj_journal *c = open_ro(f);

        _exit(state_of(c, "OV-A") == SFJ_TXN_DONE ? 0 : 1);
    }
    child_ok(pid);

    /* A crash before any persist: the child appends and dies. */
    pid = fork_child(f, 1);
    if (pid == 0) {
        sfj_journal *c = NULL;

        _exit(sfj_journal_open(f->path, f->keys, &o, &c) == SFJ_OK &&
                      ev(c, SFJ_EV_TXN_INTENT, 0, "OV-B") == SFJ_OK &&
                      ev(c, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OV-C") ==
                          SFJ_OK
                  ? 0
                  : 1);
    }
    child_ok(pid);
    /* The read-only handle replays what the dead writer never persisted. */
    assert_int_equal(state_of(r, "OV-B"), SFJ_TXN_IN_DOUBT);
    assert_int_equal(state_of(r, "OV-C"), SFJ_TXN_OFFLINE);
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &f->j), SFJ_OK);
    assert_int_equal(state_of(f->j, "OV-B"), SFJ_TXN_IN_DOUBT);
    assert_int_equal(state_of(f->j, "OV-C"), SFJ_TXN_OFFLINE);
    assert_int_equal(ev(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OV-C"),
                     SFJ_ESTATE);
    assert_int_equal(ev(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "OV-B"),
                     SFJ_ESTATE);

    /* A checkpoint persists the rows: the stored position is the view. */
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "OV-D", 500, 0);
    assert_true(index_to(f) < view_to(f));
    assert_int_equal(sfj__journal_checkpoint(f->j, &s), SFJ_OK);
    assert_int_equal(index_to(f), view_to(f));
    assert_int_equal(state_of(r, "OV-D"), SFJ_TXN_IN_DOUBT);

    /* The rows bound persists without a checkpoint. */
    stored = index_to(f);
    evs = calloc(600, sizeof *evs);
    assert_non_null(evs);
    for (i = 0; i < 600; i++) {
        evs[i] = (sfj_event)SFJ_EVENT_INIT;
        snprintf(ids[i], sizeof ids[i], "OV-N%d", i);
        evs[i].kind = SFJ_EV_TXN_OFFLINE;
        evs[i].status = SFJ_ST_APPROVED;
        evs[i].txn_id = ids[i];
        evs[i].amount = 100 + i;
        evs[i].currency = "EUR";
        evs[i].wall_ms = T0;
    }
    for (i = 0; i < 8; i++) {
        assert_int_equal(sfj__journal_append_batch(f->j, evs + i * 75, 75),
                         SFJ_OK);
    }
    free(evs);
    assert_true(index_to(f) > stored);
    assert_int_equal(state_of(r, "OV-N599"), SFJ_TXN_OFFLINE);
    assert_int_equal(state_of(f->j, "OV-N0"), SFJ_TXN_OFFLINE);

    /* Close persists whatever is left. */
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "OV-E", 500, 0);
    s = last_seq(f->j);
    reopen(f, &o);
    assert_true(index_to(f) >= s);
    assert_int_equal(state_of(r, "OV-E"), SFJ_TXN_IN_DOUBT);
    sfj_journal_close(r);
}

static const sfj_total *find_total(const sfj_batch *b, const char *cur,
                                   uint16_t kind)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (b->totals[i].kind == kind &&
            strcmp(b->totals[i].currency, cur) == 0)
            return &b->totals[i];
    }
    return NULL;
}

/* Totals per currency and kind since the last settlement; a settlement
 * answer does not open a new batch. */
static void test_batch_totals(void **state)
{
    fixture *f = *state;
    sfj_batch *b = NULL;
    const sfj_total *t;
    uint64_t ss;

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "OLD", 99, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "OLD", 99, 0);
    ss = ok_seq(f->j, SFJ_EV_SETTLEMENT, 0, NULL, 0, 0);
    ok_seq(f->j, SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL, 0, 0);
    assert_int_equal(ev(f->j, SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL),
                     SFJ_ESTATE);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "S1", 1000, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "S1", 1000, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "S2", 250, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "S2", 250, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "S3", 77, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "S3", 77, 0);
    ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "S4", 400, 0);
    assert_int_equal(ev_full(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "S5",
                             30, "USD", 0, T0, NULL),
                     SFJ_OK);
    ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "S2", 250, 0);
    ok_seq(f->j, SFJ_EV_REVERSAL, SFJ_ST_APPROVED, "S2", 250, 0);
    assert_int_equal(sfj_batch_totals(f->j, &b), SFJ_OK);
    assert_int_equal(b->settlement_seq, ss);
    assert_int_equal(b->from_seq, ss + 1);
    assert_int_equal(b->partial, 0);
    assert_int_equal(b->n, 4);
    t = find_total(b, "EUR", SFJ_EV_TXN_OUTCOME);
    assert_non_null(t);
    assert_int_equal(t->count, 2);
    assert_int_equal(t->amount, 1250);
    t = find_total(b, "EUR", SFJ_EV_TXN_OFFLINE);
    assert_non_null(t);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->amount, 400);
    t = find_total(b, "EUR", SFJ_EV_REVERSAL);
    assert_non_null(t);
    assert_int_equal(t->count, 1);
    assert_int_equal(t->amount, 250);
    t = find_total(b, "USD", SFJ_EV_TXN_OFFLINE);
    assert_non_null(t);
    assert_int_equal(t->amount, 30);
    /* Sorted by currency, then kind. */
    assert_string_equal(b->totals[0].currency, "EUR");
    assert_string_equal(b->totals[3].currency, "USD");
    assert_true(b->totals[0].kind < b->totals[1].kind);
    sfj_batch_free(b);

    /* A new settlement empties the batch. */
    ok_seq(f->j, SFJ_EV_SETTLEMENT, 0, NULL, 0, 0);
    assert_int_equal(sfj_batch_totals(f->j, &b), SFJ_OK);
    assert_int_equal(b->n, 0);
    sfj_batch_free(b);
}

/* Host has less: the unforwarded entry explains it. Host has more: the
 * in-doubt intent explains it. Same count, other amount: unexplained. */
static void test_batch_compare(void **state)
{
    fixture *f = *state;
    sfj_total host[3];
    sfj_batch_diff *d = NULL;
    uint64_t s_off2, s_doubt;

    ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "F1", 100, 0);
    s_off2 = ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "F2", 200, 0);
    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "N1", 500, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "N1", 500, 0);
    s_doubt = ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, "N2", 800, 0);
    reopen(f, NULL); /* N2 is now in doubt */
    assert_int_equal(sfj__journal_ack(f->j, 1, NULL, 0), SFJ_OK);

    memset(host, 0, sizeof host);
    strcpy(host[0].currency, "EUR");
    host[0].kind = SFJ_EV_TXN_OFFLINE;
    host[0].count = 2;
    host[0].amount = 300;
    strcpy(host[1].currency, "EUR");
    host[1].kind = SFJ_EV_TXN_OUTCOME;
    host[1].count = 1;
    host[1].amount = 500;
    assert_int_equal(sfj_batch_compare(f->j, host, 2, &d), SFJ_OK);
    assert_true(d->balanced);
    assert_int_equal(d->n_lines, 0);
    sfj_batch_diff_free(d);

    host[0].count = 1;
    host[0].amount = 100; /* F2 never reached the host */
    host[1].count = 2;
    host[1].amount = 1300; /* the host approved N2 */
    assert_int_equal(sfj_batch_compare(f->j, host, 2, &d), SFJ_OK);
    assert_false(d->balanced);
    assert_int_equal(d->n_lines, 2);
    assert_int_equal(d->lines[0].explained, 1);
    assert_int_equal(d->lines[1].explained, 1);
    assert_int_equal(d->n_entries, 2);
    assert_int_equal(d->entries[0].seq, s_off2);
    assert_int_equal(d->entries[0].reason, SFJ_DIFF_UNFORWARDED);
    assert_string_equal(d->entries[0].txn_id, "F2");
    assert_int_equal(d->entries[0].amount, 200);
    assert_int_equal(d->entries[1].seq, s_doubt);
    assert_int_equal(d->entries[1].reason, SFJ_DIFF_IN_DOUBT);
    assert_string_equal(d->entries[1].txn_id, "N2");
    sfj_batch_diff_free(d);

    /* The host has F1 with another amount: same count, nothing fits. */
    host[0].count = 2;
    host[0].amount = 310;
    assert_int_equal(sfj_batch_compare(f->j, host, 1, &d), SFJ_OK);
    assert_int_equal(d->n_lines, 2); /* outcome missing; offline differs */
    assert_int_equal(d->lines[1].kind, SFJ_EV_TXN_OFFLINE);
    assert_int_equal(d->lines[1].local_amount, 300);
    assert_int_equal(d->lines[1].host_amount, 310);
    assert_int_equal(d->lines[1].explained, 0);
    sfj_batch_diff_free(d);

    /* The host lacks a sale that it did acknowledge: the entry whose
     * amount is the difference is named. */
    host[0].count = 1;
    host[0].amount = 200;
    assert_int_equal(sfj_batch_compare(f->j, host, 1, &d), SFJ_OK);
    assert_int_equal(d->lines[0].explained, 1);
    assert_int_equal(d->n_entries >= 1, 1);
    assert_int_equal(d->entries[0].reason, SFJ_DIFF_AMOUNT);
    assert_string_equal(d->entries[0].txn_id, "F1");
    sfj_batch_diff_free(d);
}

/* The index holds neither txn ids nor amounts in clear, and is rebuilt
 * from the entries when it is dropped. */
static void test_index_rebuild_and_secrecy(void **state)
{
    fixture *f = *state;
    static const char id[] = "TXN-SECRET-ID-4242";
    MDB_txn *txn;
    sfj_txn before = SFJ_TXN_INIT;
    sfj_txn after = SFJ_TXN_INIT;
    sfj_report *r = NULL;
    uint8_t *data;
    size_t len = 0;
    char *p;

    ok_seq(f->j, SFJ_EV_TXN_INTENT, 0, id, 123456789, 0);
    ok_seq(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, id, 123456789, 0);
    ok_seq(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OFF-SECRET", 987654321,
           0);
    before = get(f->j, id);
    /* Drop the index behind the library's back. */
    assert_int_equal(sfj__read_begin(f->j, &txn), SFJ_OK);
    sfj__read_end(f->j, txn);
    assert_int_equal(mdb_txn_begin(f->j->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_drop(txn, f->j->db_txns, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    assert_int_equal(sfj_txn_get(f->j, id, &after), SFJ_ENOTFOUND);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->index_rebuilt, 1);
    assert_int_equal(r->index_replayed, 3);
    sfj_report_free(r);
    after = get(f->j, id);
    assert_memory_equal(&before, &after, sizeof before);
    assert_int_equal(get(f->j, "OFF-SECRET").state, SFJ_TXN_OFFLINE);

    sfj_journal_close(f->j);
    f->j = NULL;
    p = sfj_test_path(f->path, "data.mdb");
    data = sfj_test_read_file(p, &len);
    assert_non_null(data);
    assert_false(sfj_test_memmem(data, len, id, strlen(id)));
    assert_false(sfj_test_memmem(data, len, "OFF-SECRET", 10));
    {
        /* The online sale's amount: the offline one's is the pending-sales
         * total (docs/FORMAT.md, "Pending sales"), in clear by design. */
        uint8_t be[8];
        uint64_t v = 123456789;
        int i;

        for (i = 0; i < 8; i++)
            be[i] = (uint8_t)(v >> (56 - 8 * i));
        assert_false(sfj_test_memmem(data, len, be, 8));
    }
    free(data);
    free(p);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
}

/* A journal growing its map never has a batch fail on MDB_MAP_FULL and
 * replay the txn overlay from the entries: the map grows before a batch
 * (commit.c, grow_ahead). Before, the batch that met the full map failed,
 * dropped the overlay, and its retry replayed every entry since the last
 * persist. */
static void test_map_grows_ahead(void **state)
{
    fixture *f = *state;
    enum { BATCHES = 80, PER = 50, PAYLOAD = 300 };
    static char ids[PER][32];
    static uint8_t payload[PER][PAYLOAD];
    sfj_event evs[PER];
    uint64_t replayed = 0, bad_seq = 0;
    int b, i, bad_rc = 0;

    for (b = 0; b < BATCHES; b++) {
        for (i = 0; i < PER; i++) {
            evs[i] = (sfj_event)SFJ_EVENT_INIT;
            snprintf(ids[i], sizeof ids[i], "GROW-%d-%d", b, i);
            /* Incompressible, so that the entries fill the map. */
            randombytes_buf(payload[i], sizeof payload[i]);
            evs[i].kind = SFJ_EV_TXN_INTENT;
            evs[i].txn_id = ids[i];
            evs[i].amount = 100 + i;
            evs[i].currency = "EUR";
            evs[i].wall_ms = T0 + b;
            evs[i].payload = payload[i];
            evs[i].payload_len = sizeof payload[i];
        }
        assert_int_equal(sfj__journal_append_batch(f->j, evs, PER), SFJ_OK);
        sfj__txi_replay_info(f->j, &replayed, &bad_seq, &bad_rc);
        assert_int_equal(replayed, 0);
    }
    /* The map did grow, more than once, from the 1 MiB a new journal's
     * map starts with. */
    assert_true(f->j->map_size >= (4u << 20));
    assert_int_equal(state_of(f->j, "GROW-79-49"), SFJ_TXN_INTENT);
}

/* A persist of the overlay into a big index copies about a leaf per txn
 * (their keys are hashed). LMDB lists the pages a commit frees in a
 * record of its free list and writes back what it has not reused with
 * every later commit: past about 250 pages that record takes an overflow
 * page, which every later commit copies again (2 to 3 pages more per
 * append on a journal of 100,000 intents). The overlay is persisted
 * before a persist would copy SFJ__TXI_PAGES_MAX pages, so the free list
 * stays in its leaf. Before, the rows waited for SFJ__TXI_ROWS_MAX (512
 * intents) and this journal's free list had an overflow page. */
/* Intents FREE-<from>-0 .. FREE-<to - 1>-<per - 1>, `per` to a commit. */
static int append_free_intents(sfj_journal *j, int from, int to, int per)
{
    static char ids[8][32];
    static uint8_t payload[200]; /* zeros: entries as small as a sale's */
    sfj_event evs[8];
    int b, i, rc = SFJ_OK;

    for (b = from; b < to && rc == SFJ_OK; b++) {
        for (i = 0; i < per; i++) {
            evs[i] = (sfj_event)SFJ_EVENT_INIT;
            snprintf(ids[i], sizeof ids[i], "FREE-%d-%d", b, i);
            evs[i].kind = SFJ_EV_TXN_INTENT;
            evs[i].txn_id = ids[i];
            evs[i].amount = 100 + i;
            evs[i].currency = "EUR";
            evs[i].wall_ms = T0 + b;
            evs[i].payload = payload;
            evs[i].payload_len = sizeof payload;
        }
        rc = per == 1 ? sfj_append(j, &evs[0], NULL)
                      : sfj__journal_append_batch(j, evs, (size_t)per);
    }
    return rc;
}

/* A persist of the overlay into a big index copies about a leaf per txn
 * (their keys are hashed). LMDB lists the pages a commit frees in a
 * record of its free list and writes back what it has not reused with
 * every later commit: past about 250 pages that record takes an overflow
 * page, which every later commit copies again (2 to 3 pages more per
 * append on a journal of 100,000 intents). The overlay is persisted
 * before a persist would copy SFJ__TXI_PAGES_MAX pages, so the free list
 * stays in its leaf. Before, the rows waited for SFJ__TXI_ROWS_MAX (512
 * intents) and this journal's free list had an overflow page. The single
 * appends run in a child that dies without closing, so the index after
 * those persists is also read back from a crash. */
static void test_persist_keeps_free_list_small(void **state)
{
    fixture *f = *state;
    enum { BATCHES = 8000, SINGLES = 2000 };
    MDB_txn *txn;
    MDB_stat st;
    uint64_t before;
    pid_t pid;

    /* Groups of 8 as 8 threads would commit them. */
    assert_int_equal(append_free_intents(f->j, 0, BATCHES, 8), SFJ_OK);
    pid = fork_child(f, 1);
    if (pid == 0) {
        sfj_journal *j = NULL;

        _exit(sfj_journal_open(f->path, f->keys, NULL, &j) == SFJ_OK &&
                      append_free_intents(j, BATCHES, BATCHES + SINGLES, 1) ==
                          SFJ_OK
                  ? 0
                  : 1);
    }
    child_ok(pid);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    before = 8 * BATCHES;

    /* The index was persisted along the way, and says what it should,
     * with the entries after its position replayed: every intent is in
     * doubt after the reopen, the last one too, and takes its outcome. */
    assert_true(index_to(f) > before);
    assert_int_equal(state_of(f->j, "FREE-4321-5"), SFJ_TXN_IN_DOUBT);
    assert_int_equal(state_of(f->j, "FREE-9999-0"), SFJ_TXN_IN_DOUBT);
    /* Its amount came back too: an outcome of another is refused. */
    assert_int_equal(
        ev(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "FREE-9999-0"),
        SFJ_EAMOUNT);
    assert_int_equal(ev_full(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED,
                             "FREE-9999-0", 100, "EUR", 0, T0, NULL),
                     SFJ_OK);
    assert_int_equal(state_of(f->j, "FREE-9999-0"), SFJ_TXN_DONE);
    assert_int_equal(ev(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "FREE-X"),
                     SFJ_ESTATE);

    assert_int_equal(mdb_txn_begin(f->j->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_stat(txn, 0 /* FREE_DBI */, &st), 0);
    mdb_txn_abort(txn);
    assert_int_equal(st.ms_overflow_pages, 0);
}

static void test_txn_id_new(void **state)
{
    char a[SFJ_TXN_ID_NEW_LEN + 1], b[SFJ_TXN_ID_NEW_LEN + 1], small[8];
    fixture *f = *state;

    assert_int_equal(sfj_txn_id_new(a, sizeof a), SFJ_OK);
    assert_int_equal(sfj_txn_id_new(b, sizeof b), SFJ_OK);
    assert_int_equal(strlen(a), SFJ_TXN_ID_NEW_LEN);
    assert_string_not_equal(a, b);
    assert_int_equal(sfj_txn_id_new(small, sizeof small), SFJ_EBUFS);
    assert_int_equal(ev(f->j, SFJ_EV_TXN_INTENT, 0, a), SFJ_OK);
    assert_int_equal(get(f->j, a).state, SFJ_TXN_INTENT);
    assert_int_equal(sfj_txn_get(f->j, b, &(sfj_txn)SFJ_TXN_INIT),
                     SFJ_ENOTFOUND);
    assert_int_equal(sfj_txn_get(f->j, "", &(sfj_txn)SFJ_TXN_INIT), SFJ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_online_lifecycle,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_doubt_repeat_reversal,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_reprint_after_jam,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_offline_forwarded,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_illegal_transitions,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_in_batch_keeps_others,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_limit_count, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_limit_amount, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_note_outside_index,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_limit_age_and_clock_back,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_batch_totals, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_batch_compare, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_prune_past_persisted_index,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_overlay_threads,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_overlay_persist_and_readers,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_index_rebuild_and_secrecy,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_persist_keeps_free_list_small,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_txn_id_new, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_map_grows_ahead,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
