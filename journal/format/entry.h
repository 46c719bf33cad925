/* From a sealed record to an entry: the one record-open. */
#ifndef SFJ_JOURNAL_ENTRY_H
#define SFJ_JOURNAL_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "journal/format/compress.h"
#include "sfj/journal.h"

/* Check and decrypt one sealed record with its record key (see
 * sfj__rec_key) and decode it into a new entry, which the caller frees
 * with sfj_entry_free. Used by reads, evidence bundles and the tools, so
 * a record is opened one way everywhere. SFJ_ECORRUPT for a bad header
 * or encoding or a checkpoint (which is signed, not sealed), SFJ_EVERSION
 * for an unknown format, SFJ_EAUTH when the tag does not verify. The
 * plaintext is wiped before return. `dict` is the journal's dictionary
 * (NULL when it has none): a record made with it (SFJ_REC_F_DICTJ) is
 * SFJ_ECORRUPT without it, SFJ_EAUTH with another. */
int sfj__rec_open(const uint8_t *journal_id, const uint8_t *record_key,
                  const sfj__dict *dict, const uint8_t *rec, size_t len,
                  sfj_entry **out);

/* Open a record with a key ring: the key bound to the record's epoch, or,
 * with none bound to it, each unbound key in turn (sfj_keys_add). `rkey`
 * (SFJ_KEY_BYTES) receives the record key that opened it; the caller
 * wipes it. SFJ_ENOKEY when no key of the ring may open that epoch. */
int sfj__record_open_ring(const sfj_keys *keys, const uint8_t *journal_id,
                          const sfj__dict *dict, const uint8_t *rec, size_t len,
                          sfj_entry **out, uint8_t *rkey);

#endif
