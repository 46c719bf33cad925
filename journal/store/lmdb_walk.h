/* A structural check of LMDB's B-trees before LMDB walks them.
 *
 * LMDB 0.9 trusts every page it reads: one flipped bit in a page header or
 * a node offset (bit rot, a bad copy) makes it read outside the page or
 * the map and the process dies (SIGSEGV), as test_corruption shows. This
 * walk reads pages with pread, never through the map, and checks what
 * LMDB would trust: page numbers, page kinds, the key count and free-space
 * bounds, every node's offset and size within its page, child and
 * overflow page numbers within the file, and that no page is reached
 * twice. It runs inside a transaction, whose snapshot LMDB keeps intact
 * against writers in other processes, and before any database is
 * opened. */
#ifndef SFJ_JOURNAL_LMDB_WALK_H
#define SFJ_JOURNAL_LMDB_WALK_H

#include <lmdb.h>

#include "journal/store/journal_impl.h"

/* Check the trees of the snapshot `txn` sees. `full`: every page of every
 * database (reads the whole used file); otherwise every page of the small
 * databases and the first and last root-to-leaf paths of the others,
 * which is what opening a journal touches. SFJ_ECORRUPT with the detail
 * in the handle, SFJ_EIO, SFJ_ESTATE when writers in other processes
 * overwrote both meta pages since `txn` began (retry with a new
 * transaction), or SFJ_OK. */
int sfj__lmdb_walk(sfj_journal *j, MDB_txn *txn, int full);

#endif
