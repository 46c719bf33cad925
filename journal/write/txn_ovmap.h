/* The txn index overlay: rows of the `txns` database kept in memory.
 *
 * The index is derived state (txn_index.h). Appends write its rows here
 * instead of into LMDB, so that a TXN_INTENT commit dirties what a raw put
 * dirties; the rows reach LMDB in batches (txn_overlay.h says when). A
 * row holds exactly the key and value bytes the `txns` database would
 * hold, or says that the key is gone, so that a lookup is "the row if
 * there is one, else the database" and persisting is a put or a delete
 * per row. Rows are kept sorted as LMDB sorts keys, so that the open set
 * can be walked merged with the database's (txn_index.c): `order` holds
 * their places in `rows` in key order, so that an insert moves 4 bytes a
 * row, not the rows.
 *
 * States: invalid (valid == 0: the rows say nothing; the next
 * sfj__txi_sync rebuilds them), valid (the rows plus the database at
 * persisted position `base` give the index as of entry `upto`).
 * Invariants: order sorts the rows, keys unique; n <= cap; a valid overlay has
 * upto >= base. Transitions are made by txn_overlay.c with `mu` held. */
#ifndef SFJ_JOURNAL_TXN_OVMAP_H
#define SFJ_JOURNAL_TXN_OVMAP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SFJ__TXI_KEY_MAX 24
#define SFJ__TXI_VAL_MAX 152

typedef struct sfj__txi_row {
    uint8_t klen;
    uint8_t vlen;
    uint8_t gone; /* the key is deleted: lookups say not found */
    uint8_t key[SFJ__TXI_KEY_MAX];
    uint8_t val[SFJ__TXI_VAL_MAX];
} sfj__txi_row;

typedef struct sfj__txi {
    pthread_mutex_t mu; /* held by the commit leader for its whole batch
                           and by every reader of the index */
    sfj__txi_row *rows; /* in insertion order */
    uint32_t *order;    /* rows[order[i]] sorts before rows[order[i + 1]] */
    size_t n, cap;
    int valid;
    int base_found;    /* the persisted index has a position */
    uint64_t base;     /* persisted "to" the rows sit on */
    uint64_t upto;     /* newest entry the rows reflect */
    int direct;        /* writes go straight to LMDB (a full rebuild) */
    int flush_due;     /* persist the rows in this write transaction */
    int flushing;      /* rows written into the open write transaction */
    uint64_t flush_to; /* "to" those rows carry */
    uint64_t replayed; /* entries the newest sync replayed */
    uint64_t bad_seq;  /* first record a sync could not replay (0: none) */
    int bad_rc;
} sfj__txi;

int sfj__txi_new(sfj__txi **out);
void sfj__txi_free(sfj__txi *t);

/* The i-th row in key order (i < n). Lives until the next set. */
static inline const sfj__txi_row *sfj__txi_at(const sfj__txi *t, size_t i)
{
    return &t->rows[t->order[i]];
}

/* The row of `key`, or NULL. The pointer lives until the next set. */
const sfj__txi_row *sfj__txi_find(const sfj__txi *t, const uint8_t *key,
                                  size_t klen);

/* Set `key` to `val` (NULL: gone). SFJ_ENOMEM, or SFJ_EINVAL for a key or
 * value too long for a row (a bug). */
int sfj__txi_set(sfj__txi *t, const uint8_t *key, size_t klen,
                 const uint8_t *val, size_t vlen);

/* Index of the first row whose key sorts at or after `key`. */
size_t sfj__txi_lower(const sfj__txi *t, const uint8_t *key, size_t klen);

/* LMDB's default key order: bytes, then length. */
int sfj__txi_keycmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen);

/* Drop (and wipe) every row. */
void sfj__txi_clear(sfj__txi *t);

#endif
