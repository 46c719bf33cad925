/* The `txns` index: layout and access.
 *
 * Keys carry a one-byte tag:
 *   'T' || BLAKE2b-128(txn_id, key = txnidx)  -> txn record (state, seqs;
 *                                               layouts in txn_rec.c)
 *   'O' || u64be first seq of an open txn     -> open record
 *   'M' || name                               -> u64be index meta
 * The open set holds every txn that may still need something: an answer
 * (INTENT), a receipt (approved, not printed) or forwarding (OFFLINE).
 * Recovery and the offline limits scan only it, so their cost grows with
 * the open work, not with the journal. An OFFLINE open record carries the
 * amount and currency sealed under a key derived from txnidx: no amount is
 * stored in clear. The whole index is derived from the entries and can be
 * rebuilt from them (txn_rebuild.c).
 *
 * Every access below but sfj__txm_get_stored goes through the handle's
 * overlay (txn_ovmap.h) when it has one: rows written by appends since the
 * last persist take the place of the database's records, so every caller
 * sees the index as of the newest entry the overlay reflects. */
#ifndef SFJ_JOURNAL_TXN_INDEX_H
#define SFJ_JOURNAL_TXN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "journal/store/journal_impl.h"
#include "journal/write/txn_ovmap.h"
#include "sfj/txn.h"

#define SFJ__TXK_TXN  'T'
#define SFJ__TXK_OPEN 'O'
#define SFJ__TXK_META 'M'

#define SFJ__TXN_HASH_BYTES 16

/* Index meta names. */
/* The position: the last seq applied to the index. "to2" in an index whose
 * txn records may be of version 2 (txn_rec.c); "to" in one written before
 * version 2 (version 1 records only). Read and written through
 * sfj__txn_pos_get / sfj__txn_pos_put. */
#define SFJ__TXM_TO         "to2"
#define SFJ__TXM_TO_V1      "to"
#define SFJ__TXM_SETTLE     "settle"    /* newest batch-closing settlement */
#define SFJ__TXM_SETTLE_ANS "settleans" /* its answer (0: none yet) */
#define SFJ__TXM_WALL_HI    "wallhi"    /* newest wall time recorded */

/* Stored states (the derived ones are computed by sfj__txn_public). */
enum {
    SFJ__TS_INTENT = 1,
    SFJ__TS_DONE = 2,
    SFJ__TS_OFFLINE = 3,
    SFJ__TS_REVERSED = 4
};

typedef struct sfj__txnrec {
    uint8_t state;
    uint16_t outcome;
    uint16_t rev_status;
    uint16_t flags; /* SFJ_TXN_F_* */
    uint32_t boot;
    uint32_t repeats;
    uint32_t copies;
    uint64_t first_seq, last_seq, intent_seq, last_intent_seq, outcome_seq,
        offline_seq, receipt_seq, fail_seq, reprint_seq, reversal_seq,
        rev_last_seq;
    int64_t first_wall_ms;
} sfj__txnrec;

/* The txn record's value, in the layout versions of txn_rec.c: version 2
 * is written (4 to SFJ__TXNREC_MAX_BYTES bytes), versions 1 and 2 are
 * read. Returns the length written. */
#define SFJ__TXNREC_V1_BYTES  116
#define SFJ__TXNREC_MAX_BYTES 149
size_t sfj__txnrec_encode(const sfj__txnrec *r,
                          uint8_t out[SFJ__TXNREC_MAX_BYTES]);
/* SFJ_ECORRUPT for a record that is not exactly one valid encoding. */
int sfj__txnrec_decode(const uint8_t *p, size_t len, sfj__txnrec *out);

/* A txn id's keyed hash and its record as the index held it, looked up
 * once by an append's check and handed on to the same event's index
 * step: nothing writes the index between the two. */
typedef struct sfj__txn_look {
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    int found; /* 1 indexed, 0 not, -1 not looked up */
    sfj__txnrec r;
} sfj__txn_look;

/* An event as the index sees it (from sfj_event or a decrypted entry). */
typedef struct sfj__txn_ev {
    uint16_t kind;
    uint16_t status;
    const char *txn_id;
    int64_t amount;
    const char *currency;
    uint32_t copy;
    int64_t wall_ms;
    uint32_t boot;
    const sfj__txn_look *look; /* NULL: look the txn id up */
} sfj__txn_ev;

/* An open record, decoded (and its amount box opened). */
typedef struct sfj__openrec {
    uint64_t seq;
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    int64_t wall_ms;
    int has_amount;
    int64_t amount;
    char currency[4];
} sfj__openrec;

void sfj__txn_hash(const sfj_keys *keys, const char *txn_id, uint8_t *out);

/* The index's view of a decrypted entry (borrowing its strings). */
void sfj__txn_ev_of_entry(const sfj_entry *e, sfj__txn_ev *out);

/* SFJ_ENOTFOUND when the txn is not indexed. */
int sfj__txnrec_get(sfj_journal *j, MDB_txn *txn, const uint8_t *hash,
                    sfj__txnrec *out);
int sfj__txnrec_put(sfj_journal *j, MDB_txn *txn, const uint8_t *hash,
                    const sfj__txnrec *r);
int sfj__txnrec_del(sfj_journal *j, MDB_txn *txn, const uint8_t *hash);

/* Open set. `amount`/`currency` only for OFFLINE (else has_amount 0). */
int sfj__open_put(sfj_journal *j, MDB_txn *txn, const sfj__openrec *o);
int sfj__open_del(sfj_journal *j, MDB_txn *txn, uint64_t seq);
int sfj__open_exists(sfj_journal *j, MDB_txn *txn, uint64_t seq, int *found);
/* Decode a cursor's key/value (opening the amount box when `box`);
 * SFJ_ENOTFOUND when it is not an open record, SFJ_EAUTH when its box does
 * not open. */
int sfj__open_decode(sfj_journal *j, const MDB_val *k, const MDB_val *v,
                     int box, sfj__openrec *out);
/* The key before every open record (for a MDB_SET_RANGE). */
MDB_val sfj__open_first_key(uint8_t *buf);

int sfj__txm_get(sfj_journal *j, MDB_txn *txn, const char *name, uint64_t *out,
                 int *found);
int sfj__txm_put(sfj_journal *j, MDB_txn *txn, const char *name, uint64_t v);
/* Meta `name` as the database holds it, not through the overlay. */
int sfj__txm_get_stored(sfj_journal *j, MDB_txn *txn, const char *name,
                        uint64_t *out, int *found);
/* The index position: meta "to2", else (an index written before txn
 * record version 2) "to"; `stored`: as the database holds it, not through
 * the overlay. */
int sfj__txn_pos_get(sfj_journal *j, MDB_txn *txn, int stored, uint64_t *out,
                     int *found);
/* Write the position as "to2" and drop "to", in the commit that writes
 * the records it covers. A library older than txn record version 2 then
 * finds no position it knows, takes the index for missing and rebuilds it
 * from the entries in its own layout at its next writable open, instead
 * of meeting records it cannot read. */
int sfj__txn_pos_put(sfj_journal *j, MDB_txn *txn, uint64_t v);
/* Is row `key` meta `name`? Then `*out` is its value (1), else 0. */
int sfj__txm_decode(const uint8_t *key, size_t klen, const char *name,
                    const uint8_t *val, size_t vlen, uint64_t *out);

/* The open set in seq order, the overlay's rows merged over the database's
 * records; decode each with sfj__open_decode. */
typedef struct sfj__open_iter {
    sfj_journal *j;
    MDB_cursor *cur;
    MDB_val dk, dv;
    int dhave;
    size_t oi;
} sfj__open_iter;
int sfj__open_iter_begin(sfj_journal *j, MDB_txn *txn, sfj__open_iter *it);
/* SFJ_OK with the next record, SFJ_ENOTFOUND past the last. The values
 * live until the overlay changes. */
int sfj__open_iter_next(sfj__open_iter *it, MDB_val *k, MDB_val *v);
void sfj__open_iter_end(sfj__open_iter *it);

/* Is the txn open (see above), ignoring whether an OFFLINE one has been
 * acknowledged? `receipts` 0: the journal does not track receipts, so an
 * answered txn waits for nothing. */
int sfj__txn_is_open(const sfj__txnrec *r, int receipts);

/* Is `seq` acknowledged (at or below watermark `wm` or in `acked`)? */
int sfj__seq_acked(sfj_journal *j, MDB_txn *txn, uint64_t wm, uint64_t seq,
                   int *acked);

/* The public view of a record: derives IN_DOUBT, CLOSED and FORWARDED.
 * `offline_acked` tells whether its OFFLINE entry is acknowledged. */
void sfj__txn_public(sfj_journal *j, const sfj__txnrec *r, int offline_acked,
                     sfj_txn *out);

/* Is a waiting txn in doubt from this handle's point of view? */
int sfj__txn_in_doubt(sfj_journal *j, const sfj__txnrec *r);

#endif
