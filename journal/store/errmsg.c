/* Per-handle detail messages and the translation of LMDB codes. */
#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "journal/store/journal_impl.h"
#include "sfj/errors.h"

void sfj__set_err(sfj_journal *j, const char *fmt, ...)
{
    va_list ap;

    if (j == NULL)
        return;
    pthread_mutex_lock(&j->lock);
    va_start(ap, fmt);
    vsnprintf(j->errmsg, sizeof j->errmsg, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&j->lock);
}

/* Detail of this thread's last failed open: the handle is gone by then. */
static _Thread_local char open_err[sizeof((sfj_journal *)0)->errmsg];

void sfj__keep_open_err(sfj_journal *j)
{
    pthread_mutex_lock(&j->lock);
    memcpy(open_err, j->errmsg, sizeof open_err);
    pthread_mutex_unlock(&j->lock);
}

const char *sfj_journal_errmsg(sfj_journal *j)
{
    static _Thread_local char copy[sizeof((sfj_journal *)0)->errmsg];

    if (j == NULL)
        return open_err;
    pthread_mutex_lock(&j->lock);
    memcpy(copy, j->errmsg, sizeof copy);
    pthread_mutex_unlock(&j->lock);
    return copy;
}

int sfj__mdb_found(sfj_journal *j, int mrc, const char *what, int *found)
{
    *found = mrc == MDB_SUCCESS;
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, what);
}

int sfj__mdb_rc(sfj_journal *j, int rc, const char *what)
{
    int err;

    switch (rc) {
    case MDB_SUCCESS:
        return SFJ_OK;
    case MDB_NOTFOUND:
    case ENOENT:
        err = SFJ_ENOTFOUND;
        break;
    case MDB_MAP_FULL:
        err = SFJ_EFULL;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_BAD_DBI:
    case MDB_INCOMPATIBLE:
        err = SFJ_ECORRUPT;
        break;
    case MDB_VERSION_MISMATCH:
        err = SFJ_EVERSION;
        break;
    case MDB_PANIC:
        err = SFJ_EDEAD;
        break;
    case ENOMEM:
        err = SFJ_ENOMEM;
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        err = SFJ_EPERM;
        break;
    default:
        err = SFJ_EIO;
        break;
    }
    sfj__set_err(j, "%s: %s", what, mdb_strerror(rc));
    return err;
}
