/* The transport cipher states of link sessions, many to a guarded block
 * (cipher_slab.c). Private to crypto/. */
#ifndef SFJ_CRYPTO_CIPHER_SLAB_H
#define SFJ_CRYPTO_CIPHER_SLAB_H

#include "sfj/sys/noise.h"

/* Two zeroed cipher states (send, receive) in sodium_malloc'd memory, or
 * NULL when out of memory. Thread-safe. */
sfj__cipher *sfj__cipher_pair_take(void);
/* Wipe a pair from sfj__cipher_pair_take and give it back; NULL is
 * ignored. */
void sfj__cipher_pair_give(sfj__cipher *pair);

#endif
