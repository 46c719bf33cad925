/* The fixed text of each error code. Every layer reports through it, so it
 * sits at the bottom with the other shared basics and uses nothing but the
 * public error codes. */
#include "sfj/errors.h"

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
    case SFJ_EAMOUNT:
        return "amount or currency differs from the transaction's";
    case SFJ_EPAN:
        return "card number in clear; only a masked one is allowed";
    case SFJ_EREPORT:
        return "acquirer report cannot be read";
    case SFJ_EBUSY:
        return "journal is open for writing elsewhere";
    case SFJ_ENOKEY:
        return "no key for the epoch this record is sealed under";
    default:
        return "unknown error";
    }
}
