/* Transaction-layer hooks. The txns index and offline limits are not built
 * yet: every event is accepted and nothing is indexed. */
#include "journal/txn_hooks.h"

#include "sfj/errors.h"

int sfj__txn_check(sfj__wctx *w, const sfj_event *ev, int64_t wall_ms)
{
    (void)w;
    (void)ev;
    (void)wall_ms;
    return SFJ_OK;
}

int sfj__txn_apply(sfj__wctx *w, const sfj_event *ev, uint64_t seq,
                   int64_t wall_ms)
{
    (void)w;
    (void)ev;
    (void)seq;
    (void)wall_ms;
    return SFJ_OK;
}

void sfj__txn_stats(sfj_journal *j, MDB_txn *txn, sfj_stats *out)
{
    (void)j;
    (void)txn;
    (void)out;
}
