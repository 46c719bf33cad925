/* sfj: an offline store-and-forward transaction journal for payment
 * terminals. Include this header; it includes the rest of the public API. */
#ifndef SFJ_H
#define SFJ_H

#include "export.h"
#include "errors.h"
#include "keys.h"
#include "journal.h"
#include "txn.h"
#include "forwarder.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SFJ_VERSION_MAJOR  0
#define SFJ_VERSION_MINOR  1
#define SFJ_VERSION_PATCH  0
#define SFJ_VERSION_STRING "0.1.0"

/** Initialise the library (libsodium). Call once before anything else;
 *  further calls are harmless. Thread-safe. */
SFJ_EXTERN int sfj_init(void);

/** The library version string; never freed. */
SFJ_EXTERN const char *sfj_version(void);

/** Release process-wide state the library keeps between calls (pooled
 *  compression streams and their windows). Call once at exit, after every
 *  journal and forwarder is closed; sfj_init may be called again after it.
 *  Not thread-safe against concurrent sfj calls. */
SFJ_EXTERN void sfj_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
