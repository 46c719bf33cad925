/* sfj: an offline store-and-forward transaction journal for payment
 * terminals. Include this header; it includes the rest of the public API. */
#ifndef SFJ_H
#define SFJ_H

#include "export.h"
#include "errors.h"
#include "keys.h"
#include "journal.h"
#include "txn.h"
#include "reconcile.h"
#include "sfj/version.h" /* generated into the build tree */
#include "forwarder.h"
#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Initialise the library (libsodium). Call once before anything else;
 *  further calls are harmless. Thread-safe. */
SFJ_EXTERN int sfj_init(void);

/** Release library-wide resources: the pooled compression streams, whose
 *  buffers are wiped before they are freed. Call it when the process no
 *  longer needs sfj, after closing every handle (e.g. before exit). The
 *  library stays usable: the pool refills on demand. Thread-safe; streams
 *  in use by another thread meanwhile are wiped when they are returned. */
SFJ_EXTERN void sfj_shutdown(void);

/** The library version string; never freed. */
SFJ_EXTERN const char *sfj_version(void);

#ifdef __cplusplus
}
#endif
#endif
