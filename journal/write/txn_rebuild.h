/* Keeping the txns index level with the entries (see txn_rebuild.c). */
#ifndef SFJ_JOURNAL_TXN_REBUILD_H
#define SFJ_JOURNAL_TXN_REBUILD_H

#include <stdint.h>

#include "journal/store/journal_impl.h"

/* Is the index behind (an entry of an indexed kind after its position) or
 * missing? `*from` is the first seq a replay would start at. */
int sfj__txn_index_state(sfj_journal *j, MDB_txn *txn, int *behind,
                         int *missing, uint64_t *from);

/* Replay what the index lacks in one durable commit. SFJ_ESTATE when it
 * is behind but the handle cannot write. A record that does not decrypt
 * stops the replay there and is named in `*bad_seq` / `*bad_rc`. */
int sfj__txn_catch_up(sfj_journal *j, int *rebuilt, uint64_t *replayed,
                      uint64_t *bad_seq, int *bad_rc);

/* Inside a write context: empty the index and index every entry held
 * again, with the handle's keys as they now are (a key rotation changes
 * the txn-index key). A record that does not open fails it with its
 * error. */
int sfj__txn_rebuild_in(sfj__wctx *w);

/* Called by sfj_journal_open on a writable keyed journal: catch the index
 * up. Damage marks the index (j->txn_index_bad) but does not fail the
 * open. */
int sfj__txn_open(sfj_journal *j);

#endif
