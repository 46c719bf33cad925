/* Verification of a journal's hash chain and checkpoint signatures, with
 * or without the decryption key. Shared by sfj-dump --verify, sfj_recover
 * and sfj-host. */
/* Internal surface for the tools (docs/HACKING.md, "Layers"): not
 * installed, and not exported from libsfj.so. */
#ifndef SFJ_SYS_VERIFY_H
#define SFJ_SYS_VERIFY_H

#include <stdint.h>

#include "../journal.h"

/* Exported from libsfj.so under the version node SFJ_PRIVATE, for the
 * tools of this tree only (docs/HACKING.md, "The internal surface"). */
#pragma GCC visibility push(default)

typedef struct sfj__verify_result {
    uint64_t first_seq;   /* first seq examined */
    uint64_t last_seq;    /* last seq examined */
    uint64_t entries;     /* records examined */
    uint64_t checkpoints; /* valid checkpoints met */
    uint64_t verified_to; /* last seq sealed by a valid checkpoint: the
                             chain is intact and signed up to here */
    int64_t first_wall_ms;
    int64_t last_wall_ms;
    int64_t checkpoint_wall_ms; /* wall time of that checkpoint */
    uint64_t bad_seq;           /* first damaged seq (0: none) */
    int bad_rc;                 /* SFJ_ECORRUPT, SFJ_EAUTH, ... for bad_seq */
    char reason[160];           /* what was wrong at bad_seq */
    uint64_t rotations;         /* key rotation records followed */
    int unsigned_anchor;        /* the walk started at a prune anchor written
                                   before anchors were signed: nothing vouches
                                   that the entries before it went on purpose */
} sfj__verify_result;

/* Walk the records from `from` (0: the oldest held) to the newest and
 * check: dense seqs, each header's prev_chain equal to the running chain
 * hash, every checkpoint's signature under `pubkey` (NULL: the journal's
 * stored key), and with `decrypt` (needs a keyed handle) every record's
 * AEAD tag and encoding. With `from` 0 the chain starts only at genesis
 * for seq 1 or at the prune anchor for the first seq after it, whose
 * signature must check under the same key (an unsigned one, from before
 * anchors were signed, sets unsigned_anchor); any other first entry is
 * damage. With `from` a checkpoint's seq it starts there (its signature
 * vouches for its prev_chain). Stops at the first
 * failure and reports it in `out` (return value 0: the walk ran; negative:
 * it could not run, e.g. I/O). */
SFJ_WARN_UNUSED int sfj__verify(sfj_journal *j, uint64_t from,
                                const uint8_t *pubkey, int decrypt,
                                sfj__verify_result *out);

/* Told the number of records examined so far, every few thousand records
 * and once at the end of the walk (for a tool's progress line). */
typedef void (*sfj__verify_progress_cb)(uint64_t entries, void *payload);

/* sfj__verify, calling `progress` (may be NULL) as the walk goes. */
SFJ_WARN_UNUSED int sfj__verify_watch(sfj_journal *j, uint64_t from,
                                      const uint8_t *pubkey, int decrypt,
                                      sfj__verify_progress_cb progress,
                                      void *payload, sfj__verify_result *out);

#pragma GCC visibility pop

#endif
