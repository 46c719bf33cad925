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

/** The library version string; never freed. */
SFJ_EXTERN const char *sfj_version(void);

#ifdef __cplusplus
}
#endif
#endif
