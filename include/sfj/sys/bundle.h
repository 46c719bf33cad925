/* Evidence bundles: one transaction's records, provably taken from a
 * journal, checkable by a third party without the master key
 * (docs/FORMAT.md, "Evidence bundles", is the normative layout).
 *
 *   magic "SFJBUNDL" | u16 version | u16 flags | u8[16] journal_id |
 *   u8[32] pubkey | u64 first_seq | u64 ckpt_seq | u8 txn_len | txn_id |
 *   [dictionary item] | (ckpt_seq - first_seq) items |
 *   checkpoint record (148 bytes)
 *
 *   dictionary item (flag 1 only):
 *         u8[32] record_key | u32 len | sealed DICTIONARY record (seq 1)
 *   item: u8 1 | u8[32] leaf                                  (hidden)
 *         u8 2 | u8[32] record_key | u32 len | sealed record   (disclosed)
 *
 * The item at first_seq is always disclosed; its header's prev_chain
 * starts the chain, each item extends it, and the checkpoint at ckpt_seq
 * must carry the result and a valid signature. Every byte is bound: the
 * records and keys by their AEAD tags (associated data: journal_id ||
 * header, and the dictionary's id for a record made with the journal's
 * dictionary), the leaves and records by the chain the checkpoint signs,
 * the journal id and public key by that signature, the dictionary item by
 * its own tag and the dictionary id in the disclosed records' tags, the
 * header fields by consistency checks. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_BUNDLE_H
#define SFJ_SYS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "../journal.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

#define SFJ_BUNDLE_MAGIC       "SFJBUNDL"
#define SFJ_BUNDLE_MAGIC_BYTES 8
#define SFJ_BUNDLE_VERSION     1
#define SFJ_BUNDLE_ITEM_LEAF   1
#define SFJ_BUNDLE_ITEM_RECORD 2
/* Flag bit 0: the journal's dictionary item follows the txn id (set only
 * when a disclosed record was compressed with it). */
#define SFJ_BUNDLE_F_DICT  0x0001
#define SFJ_BUNDLE_F_KNOWN SFJ_BUNDLE_F_DICT
/* Most records one bundle discloses (a transaction has a handful). */
#define SFJ_BUNDLE_MAX_RECORDS 1024

/* A checked bundle. Filled by sfj__bundle_check; release with
 * sfj__bundle_clear, which wipes the disclosed events. */
typedef struct sfj__bundle {
    uint16_t version;
    uint16_t flags;
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    uint8_t pubkey[32];
    char txn_id[SFJ_TXN_ID_MAX + 1];
    uint64_t first_seq;   /* first disclosed record */
    uint64_t ckpt_seq;    /* the signed checkpoint that closes the span */
    int64_t ckpt_wall_ms; /* its wall time */
    uint32_t ckpt_boot;   /* its boot counter */
    uint64_t hidden;      /* records in the span shown only as leaves */
    size_t n_events;
    sfj_entry **events; /* the disclosed events in seq order (owned) */
    size_t dict_len;    /* bytes of the journal dictionary carried (flag
                           1), 0 without one */
    size_t bad_offset;  /* byte offset where the check failed */
    char reason[160];   /* why it failed (no secrets) */
} sfj__bundle;

/* Check a bundle held in `buf`: a pure function of its arguments, safe on
 * any input. `pin` (may be NULL) is the public key the checkpoint must be
 * signed with; without it the bundle's own key is used and the caller
 * should compare its fingerprint with one obtained out of band. Returns
 * 0 with `out` filled, or SFJ_EVERSION (unknown version), SFJ_ECORRUPT
 * (malformed, or a record needs a dictionary the bundle does not carry),
 * SFJ_EAUTH (a record, key, hash, id, dictionary or signature does not
 * verify), SFJ_ENOMEM, with out->reason and out->bad_offset set and no
 * events. */
SFJ_WARN_UNUSED int sfj__bundle_check(const uint8_t *buf, size_t len,
                                      const uint8_t *pin, sfj__bundle *out);

/* Free and wipe what sfj__bundle_check put in `b`. Accepts a zeroed
 * struct. */
void sfj__bundle_clear(sfj__bundle *b);

/* Build the bundle for `txn_id` from a journal opened with its key:
 * every record of the txn, their record keys, the leaves of the records
 * in between and the first checkpoint after the last of them, and the
 * journal's dictionary when one of the txn's records was compressed with
 * it. The result
 * is checked with sfj__bundle_check before it is returned. `*out` is
 * malloc'd (the caller wipes and frees it). SFJ_ESTATE: no key, or the
 * txn's last record is not yet sealed by a checkpoint; SFJ_ENOTFOUND: no
 * record of that txn; SFJ_ENOKEY: a record, or the journal's dictionary
 * one was made with, is sealed under an epoch whose key was not given;
 * SFJ_ELIMIT: too many records; SFJ_ECORRUPT /
 * SFJ_EAUTH: the journal is damaged in the span. `reason` (cap bytes)
 * gets a one-line explanation on failure. */
int sfj__bundle_build(sfj_journal *j, const char *txn_id, uint8_t **out,
                      size_t *len, char *reason, size_t cap);

#pragma GCC visibility pop

#endif
