/* Error codes, their fixed texts, and per-handle detail messages. */
#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keys.h"
#include "journal/journal_impl.h"
#include "sfj/sfj.h"

const char *sfj_strerror(int err)
{
    switch (err) {
    case SFJ_OK:
        return "success";
    case SFJ_EINVAL:
        return "invalid argument";
    case SFJ_ENOMEM:
        return "out of memory";
    case SFJ_EIO:
        return "I/O error";
    case SFJ_ENOTFOUND:
        return "not found";
    case SFJ_EFULL:
        return "journal full: only unacknowledged entries remain";
    case SFJ_ELIMIT:
        return "offline risk limit reached";
    case SFJ_ECORRUPT:
        return "data is corrupt";
    case SFJ_EAUTH:
        return "authentication failed";
    case SFJ_EVERSION:
        return "unsupported format version";
    case SFJ_ESTATE:
        return "invalid state for this operation";
    case SFJ_ETIMEDOUT:
        return "timed out";
    case SFJ_ECLOSED:
        return "closed";
    case SFJ_ELINK:
        return "link to upstream failed";
    case SFJ_EPROTO:
        return "protocol error";
    case SFJ_EBUFS:
        return "buffer too small";
    case SFJ_EPERM:
        return "permission denied or unsafe permissions";
    case SFJ_EEXIST:
        return "already exists";
    case SFJ_EDEAD:
        return "journal handle unusable after an I/O failure; reopen it";
    case SFJ_EREJECTED:
        return "rejected by upstream";
    default:
        return "unknown error";
    }
}

int sfj_init(void)
{
    return sfj__sodium_init() < 0 ? SFJ_ENOMEM : SFJ_OK;
}

const char *sfj_version(void)
{
    return SFJ_VERSION_STRING;
}

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
