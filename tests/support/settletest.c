/* Helpers of the settlement tests: see settletest.h. */
#include "support/settletest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

sfj_event sfj_test_event(uint16_t kind, uint16_t status, const char *txn,
                         int64_t amount, const char *cur, int64_t wall_ms)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = (sfj_kind)kind;
    ev.status = (sfj_status)status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = cur;
    ev.wall_ms = wall_ms;
    return ev;
}

uint64_t sfj_test_put(sfj_journal *j, const sfj_event *ev)
{
    uint64_t seq = 0;
    int rc = sfj_append(j, ev, &seq);

    if (rc != SFJ_OK)
        fail_msg("append kind %u txn %s: %s (%s)", ev->kind,
                 ev->txn_id ? ev->txn_id : "-", sfj_strerror(rc),
                 sfj_journal_errmsg(j));
    return seq;
}

uint64_t sfj_test_last_seq(sfj_journal *j)
{
    sfj_stats st = SFJ_STATS_INIT;

    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    return st.last_seq;
}

sfj_settle_line sfj_test_settle_line(const char *cur, uint64_t count,
                                     int64_t amount)
{
    sfj_settle_line l;

    memset(&l, 0, sizeof l);
    snprintf(l.currency, sizeof l.currency, "%s", cur);
    l.count = count;
    l.amount = amount;
    return l;
}

const sfj_settle_why *sfj_test_why(const sfj_settle_diff *d, const char *txn,
                                   size_t line)
{
    size_t i;

    for (i = 0; i < d->n_why; i++) {
        if (strcmp(d->why[i].txn_id, txn) == 0 &&
            (line == 0 || d->why[i].line == line))
            return &d->why[i];
    }
    fail_msg("no part of the difference names %s line %zu", txn, line);
    return NULL;
}
