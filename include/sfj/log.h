/** @file log.h
 *  An optional log callback for the library: one line per event worth a
 *  log (the forwarder's link going up or down, errors, entries set aside),
 *  never a key, a plaintext field, a payload or a PAN. */
#ifndef SFJ_LOG_H
#define SFJ_LOG_H

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Log levels, most severe first. */
typedef enum sfj_log_level {
    SFJ_LOG_ERROR = 0, /**< needs a person: an entry set aside, I/O */
    SFJ_LOG_WARN = 1,  /**< the link went down, an error it retries */
    SFJ_LOG_INFO = 2,  /**< the link came up */
    SFJ_LOG_DEBUG = 3  /**< entries acknowledged */
} sfj_log_level;

/** Receives one line (no newline); may run on any library thread,
 *  including the forwarder's, and must not call back into sfj. */
typedef void (*sfj_log_cb)(sfj_log_level level, const char *line,
                           void *payload);

/** Send lines of `max_level` and more severe to `cb` (NULL: none, the
 *  default). Process-wide; thread-safe. */
SFJ_EXTERN void sfj_log_set(sfj_log_cb cb, sfj_log_level max_level,
                            void *payload);

#ifdef __cplusplus
}
#endif

#endif
