/* Internal journal interface for the forwarder, sfj-host and the tools.
 *
 * Part of the internal surface (docs/HACKING.md, "Layers"): these
 * functions are not exported from libsfj.so and this header is not
 * installed; tools and tests reach them through the static library.
 * Everything here is thread-safe on a shared handle unless noted. */
#ifndef SFJ_SYS_INTERNAL_H
#define SFJ_SYS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../journal.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

/* Copy of the sealed record at `seq` (malloc'd, caller frees). */
int sfj__journal_read_sealed(sfj_journal *j, uint64_t seq, uint8_t **out,
                             size_t *len);

/* Newest seq (0 when empty) and the chain hash h(last). `chain` may be
 * NULL. */
int sfj__journal_head(sfj_journal *j, uint64_t *last_seq, uint8_t *chain);

/* Chain hash h(seq): the genesis hash for 0, computed from the entry while
 * it is held, the prune anchor at the prune point, or below it the
 * prev_chain of the entry after seq. SFJ_ENOTFOUND when none of these is
 * known. The one place h(seq) is looked up. */
int sfj__journal_chain_at(sfj_journal *j, uint64_t seq, uint8_t *out);

/* Ack watermark: every seq <= it is acknowledged upstream. */
int sfj__journal_watermark(sfj_journal *j, uint64_t *out);

/* Persist acknowledgements in one durable commit: the watermark moves to
 * `upto` (never backwards) and the sparse `seqs` above it are recorded in
 * `acked`; sparse entries at or below the new watermark are dropped.
 * Rides in the group commit like an append. */
SFJ_WARN_UNUSED int sfj__journal_ack(sfj_journal *j, uint64_t upto,
                                     const uint64_t *seqs, size_t n);

/* Is `seq` acknowledged (at or below the watermark or in `acked`)? */
int sfj__journal_is_acked(sfj_journal *j, uint64_t seq, int *acked);

/* Set `seq` aside as needs-attention with a short reason code and text
 * (no secrets); it then counts as delivered for the queue. */
int sfj__journal_set_attention(sfj_journal *j, uint64_t seq, int reason,
                               const char *text);

/* Append a checkpoint now if anything was appended since the last one.
 * `seq_out` (may be NULL) receives the checkpoint's seq, or the last
 * checkpoint's when none was needed. */
int sfj__journal_checkpoint(sfj_journal *j, uint64_t *seq_out);

/* Wait until the newest seq exceeds `seen` or `timeout_ms` passes
 * (-1 = forever). Returns 0 when there is something new, SFJ_ETIMEDOUT,
 * or SFJ_ECLOSED when the journal is being closed. Only wakes for appends
 * made through this process's handle; poll for other processes'. */
int sfj__journal_wait(sfj_journal *j, uint64_t seen, int timeout_ms);

/* Wake every sfj__journal_wait caller with SFJ_ECLOSED (used before
 * close by a forwarder thread owner). */
void sfj__journal_wake_all(sfj_journal *j);

/* The journal's key set (borrowed, NULL for keyless read-only handles)
 * and its terminal id (borrowed, lifetime of the handle). */
const sfj_keys *sfj__journal_keys(sfj_journal *j);
const char *sfj__journal_terminal_id(sfj_journal *j);
/* 1 for a host's mirror (meta `mirror`), 0 for a terminal journal. */
int sfj__journal_is_mirror(sfj_journal *j);

/* Stored checkpoint public key (32 bytes): the key of the epoch in
 * force. */
int sfj__journal_pubkey(sfj_journal *j, uint8_t *out);

/* The public key of key epoch `epoch` as the journal's key history (meta
 * `keys`) names it (32 bytes into `out`): SFJ_ENOTFOUND when it names
 * none. Verification checks the history against the signed rotation
 * records. */
int sfj__journal_pubkey_of(sfj_journal *j, uint32_t epoch, uint8_t *out);

/* Next record of an iterator without decrypting it: `*rec` is borrowed
 * and valid until the next call on `it`. Header filters of the query
 * apply; the txn filter does not. SFJ_ENOTFOUND at the end. */
int sfj__iter_next_sealed(sfj_iter *it, uint64_t *seq, const uint8_t **rec,
                          size_t *len);

/* Append `n` events in one durable group commit. Each event is validated
 * and packed before the commit, then checked, sealed, put and indexed
 * exactly as sfj_append does it, and a signed checkpoint is written
 * whenever checkpoint_every entries have passed since the last one. The
 * records are byte for byte what sfj_append writes; only the number of
 * records per fsync differs. For building large journals (sfj-bench); an
 * app appends one event at a time. Stops at the first event refused, with
 * its error; the events before it are then committed. */
SFJ_WARN_UNUSED int sfj__journal_append_batch(sfj_journal *j,
                                              const sfj_event *evs, size_t n);

/* ---- Sealed records for the tools (journal/format/entry.c). ---- */

/* Open a sealed record with a key set: the record key is derived from
 * the header's epoch and seq under the key of that epoch (or, for a key
 * set not bound to a journal, each key in turn), then the record is
 * opened as reads and evidence bundles open it. The caller frees `*out`
 * with sfj_entry_free. SFJ_ECORRUPT, SFJ_EVERSION or SFJ_EAUTH as for a
 * read; SFJ_ENOKEY when the set holds no key for the record's epoch. */
struct sfj__dict;
int sfj__record_open_keys(const sfj_keys *keys, const uint8_t *journal_id,
                          const struct sfj__dict *dict, const uint8_t *rec,
                          size_t len, sfj_entry **out);

/* The journal's own compression dictionary (docs/FORMAT.md, "Journal
 * dictionary"), for sfj__record_open_keys; NULL when the journal has none
 * or the handle has no key to open it with. Owned by the handle. */
const struct sfj__dict *sfj__journal_dict(const sfj_journal *j);

/* The clear part of a sealed record, without any key: seq, kind, epoch,
 * wall_ms and, for a checkpoint, its boot counter; the rest zero.
 * SFJ_ECORRUPT or SFJ_EVERSION when the header does not decode. */
int sfj__record_peek(const uint8_t *rec, size_t len, sfj_entry *out);

/* May sealed record `rec` (`len` bytes) follow a chain whose head is
 * `head` (h(seq - 1), SFJ_HASH_BYTES) as entry `seq` of journal
 * `journal_id`? The one check of every store of terminal records (the
 * LMDB mirror, sfj-host's PostgreSQL store): its header must decode and
 * carry `seq` (else SFJ_EPROTO or SFJ_EVERSION), its prev_chain must equal
 * `head` (SFJ_ESTATE) and a checkpoint's or key rotation record's
 * signature must verify under `pubkey` (SFJ_EAUTH). On success `new_head`
 * (may be NULL) receives h(seq) and `is_ckpt` (may be NULL) 1 for a
 * checkpoint, 2 for a key rotation record, else 0; for a rotation
 * `rot_pubkey` (32 bytes) receives the public key it names, which the
 * store must hold from then on in place of `pubkey`, in the same commit
 * (with `rot_pubkey` NULL a rotation record is refused, SFJ_EAUTH).
 * Reads no journal; thread-safe. */
SFJ_WARN_UNUSED int sfj__record_extends(const uint8_t *journal_id,
                                        const uint8_t *pubkey,
                                        const uint8_t *head, uint64_t seq,
                                        const uint8_t *rec, size_t len,
                                        uint8_t *new_head, int *is_ckpt,
                                        uint8_t *rot_pubkey);

/* ---- Key set (crypto/keys.c). ---- */

/* Copy the master key into `out` (SFJ_KEY_BYTES): for sfj-keygen's
 * --print-master only. The caller wipes `out`. */
void sfj__keys_master(const sfj_keys *keys, uint8_t *out);

/* ---- Mirror journals (sfj-host): sealed records stored as received. ---- */

/* Open or create a mirror of terminal journal `journal_id` in `dir`. No
 * master key: the mirror never decrypts. `pubkey` verifies checkpoints.
 * An existing mirror must match `journal_id` (SFJ_EAUTH otherwise). */
int sfj__mirror_open(sfj_journal **out, const char *dir,
                     const uint8_t *journal_id, const char *terminal_id,
                     const uint8_t *pubkey, uint64_t max_bytes);

/* Store `rec` as entry `seq` after checking it: seq must be last+1 (else
 * SFJ_ESTATE, or 0 with nothing written for a duplicate <= last whose
 * bytes are identical; a different duplicate is SFJ_EAUTH), the header's
 * prev_chain must equal the mirror's chain head (SFJ_ECORRUPT) and a
 * checkpoint's signature must verify (SFJ_EAUTH). Durable on return. */
SFJ_WARN_UNUSED int sfj__mirror_put(sfj_journal *j, uint64_t seq,
                                    const uint8_t *rec, size_t len);

/* Store a batch of consecutive records in one durable commit; `*stored`
 * tells how many of them the mirror holds on return: those before the
 * first refused record, or none when the commit itself failed (the cap,
 * I/O). */
SFJ_WARN_UNUSED int sfj__mirror_put_batch(sfj_journal *j, uint64_t first_seq,
                                          const uint8_t *const *recs,
                                          const size_t *lens, size_t n,
                                          size_t *stored);

#pragma GCC visibility pop

#endif
