/* Where the txns index stands against the entries, counting in the
 * entries it need not see.
 *
 * Appends of kinds the index does not see (NOTE) write nothing to it, so
 * that their commit dirties no index page: its position ("to") and
 * newest wall time ("wallhi") move over them at the next indexed append
 * or checkpoint (sfj__txn_settle_to), and every reader of the newest wall
 * time counts in the clear headers after "to" (sfj__txn_wall_hi). */
#ifndef SFJ_JOURNAL_TXN_TAIL_H
#define SFJ_JOURNAL_TXN_TAIL_H

#include <stdint.h>

#include "journal/store/journal_impl.h"

enum { SFJ__TAIL_LEVEL = 1, SFJ__TAIL_BEHIND = 2, SFJ__TAIL_MISSING = 3 };

/* The index's position and the newest wall time it has seen, with the
 * entries after "to" that the index need not see (NOTE, checkpoints, ...:
 * appended without touching the index) counted in. `*state`: LEVEL when
 * every entry after "to" is such an entry (`*to` is then the last of
 * them), BEHIND when an entry of an indexed kind (or one whose header
 * does not decode) follows ("to" as stored), MISSING when the index has
 * no "to" (0). `*wall_hi` is the newest of meta "wallhi" and the wall
 * times in the clear headers scanned. The scan stops at the first indexed
 * entry, and checkpoints move "to" forward (sfj__txn_settle_to), so it reads at
 * most about one checkpoint interval of headers. */
int sfj__txn_tail(sfj_journal *j, MDB_txn *txn, int *state, uint64_t *to,
                  int64_t *wall_hi);

/* The newest wall time recorded: sfj__txn_tail's `wall_hi`. */
int sfj__txn_wall_hi(sfj_journal *j, MDB_txn *txn, int64_t *wall_hi);

/* Inside a checkpoint's write transaction: when the index is level with
 * every indexed entry, move "to" (and "wallhi") over the entries that
 * followed without touching the index. */
int sfj__txn_settle_to(sfj_journal *j, MDB_txn *txn);

/* Apply an entry of an indexed kind, stored at `seq`, to the index: its
 * txn record, the open set, the settlement pointers, then "to" = seq and
 * "wallhi" (counting the notes before it). The one update an append and a
 * replay of the tail make. */
struct sfj__txn_ev;
int sfj__txn_index_step(sfj_journal *j, MDB_txn *txn,
                        const struct sfj__txn_ev *ev, uint64_t seq);

#endif
