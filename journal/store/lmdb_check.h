/* A look at an LMDB data file before LMDB maps it.
 *
 * LMDB trusts its meta pages: a data file cut short (a truncating file
 * system repair, a bad copy) is mapped anyway and the first read of a
 * page past the end kills the process with SIGBUS, and a damaged page
 * count makes it ask for an impossible mapping (ENOMEM). This check reads
 * the two meta pages the way LMDB does and refuses such a file with
 * SFJ_ECORRUPT before anything is mapped. */
#ifndef SFJ_JOURNAL_LMDB_CHECK_H
#define SFJ_JOURNAL_LMDB_CHECK_H

#include "journal/store/journal_impl.h"

/* Check `dir`/data.mdb. SFJ_OK when it is absent, empty (LMDB creates a
 * new environment there; a read-only handle gets SFJ_ENOTFOUND instead)
 * or consistent with its newest meta page; SFJ_ECORRUPT with the detail
 * in the handle otherwise; SFJ_EIO when it cannot be read. Meta pages
 * LMDB itself refuses (bad magic, version) are left for it to report. */
int sfj__lmdb_precheck(sfj_journal *j, const char *dir);

#endif
