/* Memory for decrypted plaintext: the entries sfj_read and the iterators
 * return (struct and payload) and the transient buffers a record is
 * opened in.
 *
 * Blocks come from a pool of anonymous mappings marked MADV_DONTDUMP, so
 * that a core dump of a process that reads a journal holds none of it,
 * even when the process never turned dumps off; a block is wiped when it
 * is freed. The pool keeps one free list per power-of-two size class
 * (64 B .. 128 KiB) carved from 256 KiB arenas: a read costs a mutex and
 * a list pop, never a system call once the pool is warm. Arenas are kept
 * for the life of the process (their pages hold zeros when free).
 * Thread-safe and fork-safe (pthread_atfork takes the pool mutex around
 * fork()). */
#ifndef SFJ_COMMON_SECMEM_H
#define SFJ_COMMON_SECMEM_H

#include <stddef.h>

/* `n` zeroed bytes (n >= 1) excluded from core dumps, or NULL. */
void *sfj__secmem_alloc(size_t n);

/* Wipe and return a block of sfj__secmem_alloc. Accepts NULL. */
void sfj__secmem_free(void *p);

/* Bytes of arenas mapped so far (for tests and the bench). */
size_t sfj__secmem_mapped(void);

#endif
