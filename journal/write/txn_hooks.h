/* Transaction-layer hooks called by sfj_append inside the group commit. */
#ifndef SFJ_JOURNAL_TXN_HOOKS_H
#define SFJ_JOURNAL_TXN_HOOKS_H

#include "journal/store/journal_impl.h"
#include "journal/write/txn_index.h"

/* Check an event against the txn state machine and the offline risk
 * limits before anything is written: SFJ_ESTATE, SFJ_ELIMIT or 0. `look`
 * receives the txn's hash and record as the check read them, for
 * sfj__txn_apply of the same event. */
int sfj__txn_check(sfj__wctx *w, const sfj_event *ev, int64_t wall_ms,
                   sfj__txn_look *look);

/* Update the txns index for the event just stored at `seq`, in the same
 * transaction, with the check's `look` (nothing may write the index in
 * between). */
int sfj__txn_apply(sfj__wctx *w, const sfj_event *ev, uint64_t seq,
                   int64_t wall_ms, const sfj__txn_look *look);

/* Fill the transaction-layer fields of sfj_stats (offline pending, last
 * limit hit) inside a read transaction. */
void sfj__txn_stats(sfj_journal *j, MDB_txn *txn, sfj_stats *out);

#endif
