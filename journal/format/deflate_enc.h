/* sfj's own raw deflate encoder for short records (RFC 1951, one block).
 *
 * zlib hashes its preset dictionary again for every stream and clears a
 * 64 KiB hash table on each reset: for a record of a few hundred bytes
 * that costs as much as compressing it. This encoder hashes a dictionary
 * once (sfj__enc_dict) and reads it in place, never writing to it: per
 * record it builds chains for the input alone, so a record's working
 * memory (and the wipe of it) grows with the record, not the dictionary.
 * It writes a standard raw deflate stream, so every inflater reads it as
 * it reads zlib's: records keep their flags, and the format does not
 * change.
 *
 * It takes records whose dictionary and input fit one 32 KiB window
 * (sfj__enc_fits); compress.c gives longer ones to zlib, and checks every
 * stream this encoder makes by inflating it before it is used. */
#ifndef SFJ_JOURNAL_DEFLATE_ENC_H
#define SFJ_JOURNAL_DEFLATE_ENC_H

#include <stddef.h>
#include <stdint.h>

#define SFJ__ENC_HASH_BITS 12
#define SFJ__ENC_WINDOW    32768 /* deflate's farthest distance */

/* A preset dictionary's hash chains: positions only, no data. Only read
 * once made: records on several threads may share one. */
typedef struct sfj__enc_dict {
    const uint8_t *bytes;
    size_t len;
    uint16_t *prev; /* len entries: the position before, same hash, + 1 */
    uint16_t head[1u << SFJ__ENC_HASH_BITS]; /* newest position + 1 */
} sfj__enc_dict;

/* Hash `bytes` (1 to SFJ__ENC_WINDOW - 1 bytes, kept by the caller) into
 * d, with `prev` room for len entries. */
void sfj__enc_dict_init(sfj__enc_dict *d, const uint8_t *bytes, size_t len,
                        uint16_t *prev);

/* Whether d and in_len bytes fit one window. */
int sfj__enc_fits(const sfj__enc_dict *d, size_t in_len);

/* Bytes of working memory sfj__enc_deflate needs for in_len bytes: the
 * input's hash chains and symbols, 8 to 12 bytes a byte of input, for
 * any dictionary. They are made from the plaintext: the caller wipes
 * them (the encoder wipes what it keeps on its own stack). */
size_t sfj__enc_work_bytes(size_t in_len);

/* Raw deflate of `in` (1 byte or more; sfj__enc_fits) against d into
 * `out`, using `work` (sfj__enc_work_bytes, aligned as malloc's): 1 and
 * *out_len when the stream fits in `cap` bytes, else 0. */
int sfj__enc_deflate(const sfj__enc_dict *d, const uint8_t *in, size_t in_len,
                     void *work, uint8_t *out, size_t cap, size_t *out_len);

#endif
