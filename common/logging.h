/* Lines for the application's log callback (sfj_log_set). Callers pass
 * only codes, seqs and one-line causes: never a key, plaintext field,
 * payload or PAN. */
#ifndef SFJ_COMMON_LOG_H
#define SFJ_COMMON_LOG_H

#include "sfj/log.h"

void sfj__log(sfj_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
