/* Library-wide entry points: initialisation, version, error texts and the
 * process-wide cleanup.
 *
 * They sit at the top of the journal rather than in common/ because the
 * cleanup releases state owned by layers below (the format layer's pooled
 * compression streams), and common/ uses nothing. */
#include <sodium.h>

#include "sfj/errors.h"
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
    return sodium_init() < 0 ? SFJ_ENOMEM : SFJ_OK;
}

const char *sfj_version(void)
{
    return SFJ_VERSION_STRING;
}

void sfj_shutdown(void)
{
    /* Nothing process-wide is held yet beyond what the pooled compression
     * streams keep; releasing those is added with the pool's cleanup. */
}
