/* Retention: pruning of acknowledged entries. */
#ifndef SFJ_JOURNAL_RETENTION_H
#define SFJ_JOURNAL_RETENTION_H

#include <lmdb.h>
#include <stdint.h>

#include "sfj/journal.h"

/* Called by the commit leader when the map is full at its cap: prune
 * acknowledged entries that may go (never unacked, in-doubt or
 * needs-attention ones) in their own durable commit. Returns how many
 * entries were pruned (0: nothing could go) or a negative error. */
int sfj__retention_make_room(sfj_journal *j);

/* Inside a write transaction that put events, once after them
 * (`last_seq` is the newest entry, `now_ms` the newest event's wall
 * time): prune a bounded number of the oldest entries when they are past
 * the retention period or the map is above its high-water mark. Returns
 * 0 or a negative error. */
int sfj__retention_prune_in(sfj_journal *j, MDB_txn *txn, uint64_t last_seq,
                            int64_t now_ms);

/* Key rotation, inside its write transaction and after the handle's
 * signing key changed: sign the prune anchor again with the new key when
 * it verifies under `old_pk` (the key it was signed with). An unsigned
 * anchor (an older library's) is left as it is; one whose signature does
 * not verify is SFJ_ECORRUPT. */
int sfj__retention_resign_anchor(sfj_journal *j, MDB_txn *txn,
                                 const uint8_t *old_pk);

#endif
