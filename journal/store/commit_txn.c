/* Committing a write transaction of the handle, and what a failed commit
 * leaves: the same for a batch's transaction (write/commit.c) and for
 * those beside it (a prune at the cap, a release of freed pages). */
#include <errno.h>
#include <pthread.h>

#include "journal/store/journal_impl.h"
#include "sfj/errors.h"

/* After a commit failed for lack of space: did LMDB fail before writing
 * its meta page? Then the last commit still stands, nothing of the failed
 * one is reachable, and the next commit writes and syncs every page it
 * uses, so the handle may go on (appends resume when space returns). A
 * failed meta write leaves LMDB in its fatal state instead: every
 * transaction then fails with MDB_PANIC, and the handle must die. */
static int env_intact(sfj_journal *j)
{
    MDB_txn *txn;

    if (mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return 0;
    mdb_txn_abort(txn);
    return 1;
}

static void mark_dead(sfj_journal *j, int mdb_rc)
{
    sfj__mdb_rc(j, mdb_rc, "commit failed; journal handle is dead");
    pthread_mutex_lock(&j->lock);
    j->dead = 1;
    pthread_mutex_unlock(&j->lock);
}

int sfj__commit_txn(sfj_journal *j, MDB_txn *txn, const char *what, int *wrote)
{
    int mrc = mdb_txn_commit(txn), rc;

    if (wrote != NULL)
        *wrote = 0;
    if (mrc == MDB_SUCCESS)
        return SFJ_OK;
    /* Found before LMDB writes anything. */
    if (mrc == MDB_MAP_FULL)
        return what != NULL ? sfj__mdb_rc(j, mrc, what) : SFJ_EFULL;
    /* Anything else may have written pages that the next commit would
     * build on: the handle dies, unless space ran out before LMDB's meta
     * page. */
    if (wrote != NULL)
        *wrote = 1;
    rc = mrc == ENOSPC || mrc == EDQUOT ? SFJ_EFULL : SFJ_EIO;
    if (rc == SFJ_EFULL && env_intact(j))
        sfj__mdb_rc(j, mrc, "commit failed: no space on the device");
    else
        mark_dead(j, mrc);
    return rc;
}
