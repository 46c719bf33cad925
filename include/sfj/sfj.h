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

#ifdef __cplusplus
}
#endif
#endif
