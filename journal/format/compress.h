/* Raw deflate with a versioned preset dictionary.
 *
 * A compressed plaintext is u32be raw_len || raw deflate stream, using
 * dictionary v1 or v2 (compress.c; the record's flags say which). A
 * dictionary never changes: a new one gets a new record flag bit. */
#ifndef SFJ_JOURNAL_COMPRESS_H
#define SFJ_JOURNAL_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#define SFJ__DICT_V1 1 /* SFJ_REC_F_DEFLATE alone */
#define SFJ__DICT_V2 2 /* SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2 */

/* The bytes of dictionary `dict`; SFJ_EINVAL for an unknown one. */
int sfj__dict_bytes(int dict, const uint8_t **bytes, size_t *len);

/* Compress `in` into `out` (capacity `cap`) with dictionary `dict`.
 * Returns 1 and sets `*out_len` when the result is shorter than `in_len`,
 * 0 when it is not (store raw), SFJ_ENOMEM when zlib cannot allocate,
 * SFJ_EINVAL for an unknown dictionary. */
int sfj__deflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t cap, size_t *out_len);

/* Length an sfj__deflate output will expand to; SFJ_ECORRUPT if absurd. */
int sfj__inflate_len(const uint8_t *in, size_t in_len, size_t max,
                     size_t *raw_len);

/* Expand into `out` of exactly raw_len bytes with dictionary `dict`.
 * SFJ_ECORRUPT on a bad or wrong-length stream (or one made with another
 * dictionary), SFJ_EINVAL for an unknown dictionary. */
int sfj__inflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t raw_len);

/* Free every pooled stream, wiping all its memory (sfj_shutdown). Streams
 * in use by other threads are not touched and return to an empty pool. */
void sfj__compress_shutdown(void);

/* For tests: how many blocks of the pooled (idle) streams contain
 * `needle`; -1 when the pool is empty. */
int sfj__compress_pool_find(const void *needle, size_t len);

/* For tests: called with each block zlib frees, after the wipe and before
 * free(). NULL (the default) in the library. */
extern void (*sfj__compress_free_hook)(const void *p, size_t size);

#endif
