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

/** Initialise the library (libsodium). Call once before anything else,
 *  and before starting threads or forking; further calls are harmless.
 *  Thread-safe.
 *
 *  Fork: after sfj_init, a process may fork at any moment, from any thread,
 *  even while other threads append, read or forward: the library's
 *  process-wide state (the compression stream pool, libsodium) stays usable
 *  in the child. The child may use an inherited sfj_keys and may open
 *  journals afresh with sfj_journal_open (as another process: the rules
 *  for two processes apply). It must never use,
 *  close or free a sfj_journal, sfj_iter or sfj_forwarder it inherited:
 *  LMDB forbids using an environment in a child (closing one would clear
 *  the parent's reader slots), and a forwarder's thread and locks do not
 *  exist there. Leave them to _exit or exec. */
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
