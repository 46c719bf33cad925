/* sfj error codes.
 *
 * Every sfj function returns 0 on success or one of these negative codes.
 * The values are fixed forever: new codes are only ever added at the end. */
#ifndef SFJ_ERRORS_H
#define SFJ_ERRORS_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Error codes. Values never change; new ones are added after the last. */
typedef enum sfj_error {
    SFJ_OK = 0,          /**< success */
    SFJ_EINVAL = -1,     /**< invalid argument */
    SFJ_ENOMEM = -2,     /**< out of memory */
    SFJ_EIO = -3,        /**< I/O error (disk, fsync); handle may be dead */
    SFJ_ENOTFOUND = -4,  /**< no such entry, txn, file or key */
    SFJ_EFULL = -5,      /**< journal at its size cap with only unacked data */
    SFJ_ELIMIT = -6,     /**< an offline risk limit would be exceeded */
    SFJ_ECORRUPT = -7,   /**< stored data is damaged or inconsistent */
    SFJ_EAUTH = -8,      /**< authentication failed (wrong key, tampering) */
    SFJ_EVERSION = -9,   /**< unknown on-disk or wire format version, or a
                              struct version that is 0 or newer than the
                              library knows */
    SFJ_ESTATE = -10,    /**< operation not valid in the current state */
    SFJ_ETIMEDOUT = -11, /**< timed out */
    SFJ_ECLOSED = -12,   /**< handle or link closed */
    SFJ_ELINK = -13,     /**< link to the upstream failed */
    SFJ_EPROTO = -14,    /**< protocol violation by the peer */
    SFJ_EBUFS = -15,     /**< caller's buffer too small */
    SFJ_EPERM = -16,     /**< unsafe file permissions or access denied */
    SFJ_EEXIST = -17,    /**< already exists (refusing to overwrite) */
    SFJ_EDEAD = -18,     /**< handle unusable after a fatal I/O error;
                              close and reopen */
    SFJ_EREJECTED = -19, /**< the upstream rejected the entry */
    SFJ_EAMOUNT = -20,   /**< an OUTCOME's amount or currency differs from
                              its INTENT (or OFFLINE) beyond the declared
                              tip and partial approval */
    SFJ_EPAN = -21,      /**< a card number in clear where only a masked
                              one is allowed */
    SFJ_EREPORT = -22,   /**< an acquirer report cannot be read (malformed
                              line, missing column, empty, another
                              terminal's) */
    SFJ_EBUSY = -23,     /**< another handle holds the journal for writing
                              (sfj_journal_errmsg names its pid) */
    SFJ_ENOKEY = -24     /**< no key of the key set opens this record: it is
                              sealed under a key epoch whose key file was not
                              given (see sfj_keys_add) */
} sfj_error;

/** Fixed English text for an error code; never NULL, never freed.
 *  Thread-safe. Unknown codes give "unknown error". */
SFJ_EXTERN const char *sfj_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
