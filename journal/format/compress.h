/* Raw deflate with a versioned preset dictionary.
 *
 * A compressed plaintext is u32be raw_len || raw deflate stream, using
 * dictionary v1 or v2 (compress.c; the record's flags say which). A
 * dictionary never changes: a new one gets a new record flag bit. */
#ifndef SFJ_JOURNAL_COMPRESS_H
#define SFJ_JOURNAL_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "journal/format/deflate_enc.h"
#include "sfj/journal.h"

#define SFJ__DICT_V1 1 /* SFJ_REC_F_DEFLATE alone */
#define SFJ__DICT_V2 2 /* SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2 */

/* Longest preset dictionary: dictionary v2 and the longest journal
 * dictionary, well inside deflate's 32 KiB window. */
#define SFJ__DICT_MAX_BYTES (1024 + SFJ_DICTIONARY_MAX)
#define SFJ__DICT_ID_BYTES  16

/* A journal's own dictionary (SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ): the
 * preset bytes are dictionary v2 followed by the payload of the journal's
 * DICTIONARY record; `id` is BLAKE2b-128 of that payload, bound into the
 * associated data of every record made with it (docs/FORMAT.md, "Journal
 * dictionary"). Lives in guarded memory, wiped on free. */
typedef struct sfj__dict {
    uint8_t *bytes;
    size_t len;
    const uint8_t *payload; /* the record's payload: the tail of `bytes` */
    size_t payload_len;
    uint8_t id[SFJ__DICT_ID_BYTES];
    sfj__enc_dict *enc; /* `bytes` hashed for the encoder */
} sfj__dict;

/* Build the dictionary of a DICTIONARY record's payload (1 to
 * SFJ_DICTIONARY_MAX bytes): SFJ_EINVAL, SFJ_ENOMEM. */
int sfj__dict_make(const uint8_t *payload, size_t len, sfj__dict **out);
void sfj__dict_free(sfj__dict *d);

/* The bytes of dictionary `dict`; SFJ_EINVAL for an unknown one. */
int sfj__dict_bytes(int dict, const uint8_t **bytes, size_t *len);

/* Compress `in` into `out` (capacity `cap`) with dictionary `dict`.
 * Returns 1 and sets `*out_len` when the result is shorter than `in_len`,
 * 0 when it is not (store raw), SFJ_ENOMEM when zlib cannot allocate,
 * SFJ_EINVAL for an unknown dictionary. */
int sfj__deflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t cap, size_t *out_len);

/* The same with a journal's own dictionary. */
int sfj__deflate_dict(const sfj__dict *dict, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t cap, size_t *out_len);

/* Length an sfj__deflate output will expand to; SFJ_ECORRUPT if absurd. */
int sfj__inflate_len(const uint8_t *in, size_t in_len, size_t max,
                     size_t *raw_len);

/* Expand into `out` of exactly raw_len bytes with dictionary `dict`.
 * SFJ_ECORRUPT on a bad or wrong-length stream (or one made with another
 * dictionary), SFJ_EINVAL for an unknown dictionary. */
int sfj__inflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t raw_len);

int sfj__inflate_with(const uint8_t *dict, size_t dict_len, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t raw_len);

/* Free every pooled stream, wiping all its memory (sfj_shutdown). Streams
 * in use by other threads are not touched and return to an empty pool. */
void sfj__compress_shutdown(void);

/* For tests: how many blocks of the pooled (idle) streams contain
 * `needle`; -1 when the pool is empty. */
int sfj__compress_pool_find(const void *needle, size_t len);

/* For tests: called with each block zlib or the encoder frees, after the
 * wipe and before free(). NULL (the default) in the library. */
extern void (*sfj__compress_free_hook)(const void *p, size_t size);

/* For tests: called with each stream the encoder made, before it is
 * checked (a test damages it to see zlib take over). NULL in the
 * library. */
extern void (*sfj__compress_enc_hook)(uint8_t *stream, size_t len);

#endif
