/* The txn index overlay's life: rebuilt from the entries, persisted in
 * batches (see txn_overlay.c for when and why). */
#ifndef SFJ_JOURNAL_TXN_OVERLAY_H
#define SFJ_JOURNAL_TXN_OVERLAY_H

#include <stdint.h>

#include "journal/store/journal_impl.h"

/* Rows that make the next commit persist the overlay. */
#define SFJ__TXI_ROWS_MAX 1024
/* Pages of `txns` a persist may copy before the rows are due. */
#define SFJ__TXI_PAGES_MAX 192

/* Give a handle that reads or writes the txn index its overlay (keyed
 * terminal journals); a no-op for mirrors, keyless and acks-only handles. */
int sfj__txi_attach(sfj_journal *j);
void sfj__txi_detach(sfj_journal *j);

/* Take / release the overlay (no-ops without one). The commit leader holds
 * it from before its write transaction until after the commit. */
void sfj__txi_lock(sfj_journal *j);
void sfj__txi_unlock(sfj_journal *j);

/* Bring the overlay level with the entries `txn` sees: when the persisted
 * position moved (another handle persisted) or the overlay is invalid,
 * start again from the persisted index; then replay the entries after
 * the newest one the overlay reflects. `last_seq` is the newest entry's
 * seq when the caller has read it in `txn` (the commit leader has), else
 * SFJ__SEQ_UNKNOWN: with nothing after the overlay's newest entry, no
 * cursor is needed to find that out. Locked. */
#define SFJ__SEQ_UNKNOWN UINT64_MAX
int sfj__txi_sync(sfj_journal *j, MDB_txn *txn, uint64_t last_seq);

/* A read transaction whose view of the index includes the overlay: locks,
 * begins, syncs. End it with sfj__txi_read_end. */
int sfj__txi_read_begin(sfj_journal *j, MDB_txn **txn);
void sfj__txi_read_end(sfj_journal *j, MDB_txn *txn);

/* Ask the commit in progress to persist the overlay (`txn`'s caller holds
 * the lock), e.g. because retention prunes entries the persisted index
 * has not seen. */
void sfj__txi_want_flush(sfj_journal *j);

/* The persisted index's position: entries up to it may be pruned without
 * persisting the overlay first. */
uint64_t sfj__txi_base(sfj_journal *j);

/* Just before a write transaction commits (locked): persist the overlay
 * into it when a checkpoint was written (`ckpt`), retention asked for it,
 * the handle is closing (`closing`), the rows passed SFJ__TXI_ROWS_MAX or
 * persisting them would copy SFJ__TXI_PAGES_MAX pages. */
int sfj__txi_before_commit(sfj_journal *j, MDB_txn *txn, int ckpt, int closing);

/* After the write transaction ended (locked): on success (`ok`) the
 * persisted rows are dropped and the overlay reflects `last_seq` (0:
 * unchanged); on failure the overlay is invalid until the next sync. */
void sfj__txi_after_commit(sfj_journal *j, int ok, uint64_t last_seq);

/* Does the overlay hold rows not yet persisted? */
int sfj__txi_dirty(sfj_journal *j);

/* Entries replayed by the newest sync and the first record it could not
 * replay (0: none), with its error. Locked. */
void sfj__txi_replay_info(sfj_journal *j, uint64_t *replayed, uint64_t *bad_seq,
                          int *bad_rc);

#endif
