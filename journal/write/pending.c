/* The pending-sales row: approved OFFLINE sales not yet acknowledged, in a
 * clear meta row a keyless reader can show a cashier.
 *
 * States of the row: absent (unknown: an older library wrote the journal,
 * or a keyless handle recorded an ack that may have changed it) or present
 * and exact. Invariant while present: it equals what a keyed recount of
 * the entries gives (approved OFFLINE entries above the watermark and not
 * in the acked set). Transitions, each inside the commit that changes the
 * entries or acks, so a crash leaves row and entries agreeing:
 *   sfj__pending_on_append   present -> present (+1 sale)
 *   sfj__pending_ack_*       present -> present (-acked sales), or
 *                            present -> absent (keyless, damaged entry)
 *   sfj__pending_open        absent -> present (keyed writable open)
 * Commits that touch no approved OFFLINE entry (intents, notes, receipts,
 * checkpoints) never write it, and acks skip it while no sale waits.
 *
 * Layout (docs/FORMAT.md): u8 version 1 | u8 flags | u64 count |
 * u64 oldest_seq | i64 oldest_ms | u8 n | n x (u8[3] currency | u64 count |
 * i64 sum); flag 0x01: more currencies than the row lists. */
#include "journal/write/pending.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/abi.h"
#include "common/bytes.h"
#include "common/check.h"
#include "common/satmath.h"
#include "journal/format/record.h"
#include "journal/write/txn_index.h"
#include "sfj/errors.h"

#define ROW_VERSION    1
#define ROW_F_OVERFLOW 0x01
#define ROW_HEAD       (1 + 1 + 8 + 8 + 8 + 1)
#define ROW_CUR        (3 + 8 + 8)
#define ROW_MAX        (ROW_HEAD + SFJ_PENDING_CURRENCIES * ROW_CUR)

typedef struct row {
    uint8_t flags;
    uint64_t count;
    uint64_t oldest_seq;
    int64_t oldest_ms;
    unsigned n;
    sfj_pending_amount cur[SFJ_PENDING_CURRENCIES];
} row;

struct sfj__pend_ack {
    sfj__wctx *w;
    int present;  /* the row exists and is being kept */
    int changed;  /* a drop changed it */
    int unknown;  /* it can no longer be kept exact: remove it */
    int lost_old; /* the oldest sale was acknowledged */
    row r;
};

static MDB_val row_key(void)
{
    MDB_val k;

    k.mv_data = (void *)SFJ__META_PENDING;
    k.mv_size = sizeof SFJ__META_PENDING - 1;
    return k;
}

static int assert_row_state(const row *r)
{
    uint64_t sum = 0;
    unsigned i;

    for (i = 0; i < r->n; i++)
        sum += r->cur[i].count;
    return r->n <= SFJ_PENDING_CURRENCIES &&
           (r->flags & ROW_F_OVERFLOW ? sum <= r->count : sum == r->count) &&
           (r->count == 0) == (r->oldest_seq == 0);
}

/* SFJ_ENOTFOUND when absent, SFJ_ECORRUPT when it does not decode. */
static int row_get(sfj_journal *j, MDB_txn *txn, row *r)
{
    MDB_val k = row_key(), v;
    const uint8_t *p;
    unsigned i;
    int mrc = mdb_get(txn, j->db_meta, &k, &v);

    memset(r, 0, sizeof *r);
    if (mrc == MDB_NOTFOUND)
        return SFJ_ENOTFOUND;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "meta pending");
    p = v.mv_data;
    if (v.mv_size < ROW_HEAD || p[0] != ROW_VERSION ||
        (p[1] & ~ROW_F_OVERFLOW) != 0 ||
        p[ROW_HEAD - 1] > SFJ_PENDING_CURRENCIES ||
        v.mv_size != ROW_HEAD + (size_t)p[ROW_HEAD - 1] * ROW_CUR)
        goto bad;
    r->flags = p[1];
    r->count = sfj__get_u64(p + 2);
    r->oldest_seq = sfj__get_u64(p + 10);
    r->oldest_ms = (int64_t)sfj__get_u64(p + 18);
    r->n = p[ROW_HEAD - 1];
    for (i = 0, p += ROW_HEAD; i < r->n; i++, p += ROW_CUR) {
        memcpy(r->cur[i].currency, p, 3);
        r->cur[i].count = sfj__get_u64(p + 3);
        r->cur[i].amount = (int64_t)sfj__get_u64(p + 11);
    }
    if (!assert_row_state(r))
        goto bad;
    return SFJ_OK;
bad:
    sfj__set_err(j, "meta pending is damaged");
    return SFJ_ECORRUPT;
}

static int row_put(sfj_journal *j, MDB_txn *txn, const row *r)
{
    uint8_t buf[ROW_MAX], *p = buf + ROW_HEAD;
    unsigned i;

    assert(assert_row_state(r));
    buf[0] = ROW_VERSION;
    buf[1] = r->flags;
    sfj__put_u64(buf + 2, r->count);
    sfj__put_u64(buf + 10, r->oldest_seq);
    sfj__put_u64(buf + 18, (uint64_t)r->oldest_ms);
    buf[ROW_HEAD - 1] = (uint8_t)r->n;
    for (i = 0; i < r->n; i++, p += ROW_CUR) {
        memcpy(p, r->cur[i].currency, 3);
        sfj__put_u64(p + 3, r->cur[i].count);
        sfj__put_u64(p + 11, (uint64_t)r->cur[i].amount);
    }
    return sfj__meta_put(j, txn, SFJ__META_PENDING, buf, (size_t)(p - buf));
}

static int row_del(sfj_journal *j, MDB_txn *txn)
{
    MDB_val k = row_key();
    int mrc = mdb_del(txn, j->db_meta, &k, NULL);

    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, "meta pending");
}

/* Add (sign 1) or remove (sign -1) one sale. */
static void row_count(row *r, const char *currency, int64_t amount, int sign,
                      uint64_t seq, int64_t wall_ms)
{
    char cy[4] = {0};
    unsigned i;

    if (currency != NULL)
        memcpy(cy, currency, strnlen(currency, 3));
    for (i = 0; i < r->n && memcmp(r->cur[i].currency, cy, 4) != 0; i++)
        ;
    if (sign > 0) {
        if (r->count++ == 0) {
            r->oldest_seq = seq;
            r->oldest_ms = wall_ms;
        }
        if (i == r->n && r->n == SFJ_PENDING_CURRENCIES) {
            r->flags |= ROW_F_OVERFLOW;
            return;
        }
        if (i == r->n) {
            memcpy(r->cur[i].currency, cy, 4);
            r->cur[i].count = 0;
            r->cur[i].amount = 0;
            r->n++;
        }
        r->cur[i].count++;
        r->cur[i].amount = sfj__sat_add(r->cur[i].amount, amount);
        return;
    }
    if (r->count > 0)
        r->count--;
    if (i < r->n) {
        r->cur[i].count--;
        r->cur[i].amount = sfj__sat_add(r->cur[i].amount, -amount);
        if (r->cur[i].count == 0) {
            memmove(&r->cur[i], &r->cur[i + 1],
                    (r->n - i - 1) * sizeof r->cur[0]);
            r->n--;
        }
    }
    if (r->count == 0) {
        memset(r, 0, sizeof *r);
    }
}

int sfj__pending_on_append(sfj__wctx *w, const sfj_event *ev, uint64_t seq,
                           int64_t wall_ms)
{
    row r;
    int rc;

    if (ev->kind != SFJ_EV_TXN_OFFLINE || ev->status != SFJ_ST_APPROVED)
        return SFJ_OK;
    rc = row_get(w->j, w->txn, &r);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK; /* unknown stays unknown until a keyed open */
    if (rc == SFJ_ECORRUPT)
        return row_del(w->j, w->txn);
    if (rc != SFJ_OK)
        return rc;
    row_count(&r, ev->currency, ev->amount, 1, seq, wall_ms);
    return row_put(w->j, w->txn, &r);
}

/* Is the stored record at `seq` an approved OFFLINE sale? Its amount and
 * currency into *e (the caller frees it). 0 with *e NULL: not one (or
 * gone); SFJ_ESTATE without the key; SFJ_EAUTH / SFJ_ECORRUPT damaged. */
static int sale_at(sfj_journal *j, MDB_txn *txn, uint64_t seq, sfj_entry **e)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(j, kbuf, seq), v;
    sfj__rec_hdr h;
    int mrc, rc;

    *e = NULL;
    mrc = mdb_get(txn, j->db_entries, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return SFJ_OK;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_get(entries)");
    rc = sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h);
    if (rc != SFJ_OK || h.kind != SFJ_EV_TXN_OFFLINE)
        return rc;
    if (j->keys == NULL)
        return SFJ_ESTATE;
    rc = sfj__entry_from_record(j, seq, v.mv_data, v.mv_size, e);
    if (rc == SFJ_OK && (*e)->status != SFJ_ST_APPROVED) {
        sfj_entry_free(*e);
        *e = NULL;
    }
    return rc;
}

/* Count the sales above the watermark `wm` from seq `from` on into `r`
 * (all of them when `first_only` is 0, else only the oldest one's seq and
 * time). */
static int scan_sales(sfj_journal *j, MDB_txn *txn, uint64_t wm, uint64_t from,
                      int first_only, row *r)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(j, kbuf, from), v;
    MDB_cursor *cur;
    MDB_cursor_op op = MDB_SET_RANGE;
    sfj_entry *e;
    uint64_t seq;
    int mrc, rc = SFJ_OK, acked;

    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    while (rc == SFJ_OK &&
           (mrc = sfj__entries_get(j, cur, &k, &v, op)) == MDB_SUCCESS) {
        op = MDB_NEXT;
        if (!sfj__entry_seq(j, &k, &seq))
            break;
        rc = sfj__seq_acked(j, txn, wm, seq, &acked);
        if (rc != SFJ_OK || acked)
            continue;
        rc = sale_at(j, txn, seq, &e);
        if (rc != SFJ_OK || e == NULL)
            continue;
        if (first_only) {
            r->oldest_seq = seq;
            r->oldest_ms = e->wall_ms;
            sfj_entry_free(e);
            break;
        }
        row_count(r, e->currency, e->amount, 1, seq, e->wall_ms);
        sfj_entry_free(e);
    }
    if (rc == SFJ_OK && mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
    mdb_cursor_close(cur);
    return rc;
}

int sfj__pending_ack_begin(sfj__wctx *w, sfj__pend_ack **out)
{
    sfj__pend_ack *a = calloc(1, sizeof *a);
    int rc;

    *out = a;
    if (a == NULL)
        return SFJ_ENOMEM;
    a->w = w;
    if (w->j->mirror)
        return SFJ_OK;
    rc = row_get(w->j, w->txn, &a->r);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK;
    if (rc == SFJ_ECORRUPT) {
        a->unknown = 1;
        return SFJ_OK;
    }
    a->present = rc == SFJ_OK;
    return rc;
}

int sfj__pending_ack_idle(const sfj__pend_ack *a)
{
    return a == NULL || !a->present || a->unknown || a->r.count == 0;
}

int sfj__pending_ack_drop(sfj__pend_ack *a, uint64_t seq)
{
    sfj_entry *e = NULL;
    int rc;

    /* Nothing waits: an ack cannot change the row (the common case). */
    if (sfj__pending_ack_idle(a))
        return SFJ_OK;
    rc = sale_at(a->w->j, a->w->txn, seq, &e);
    if (rc != SFJ_OK) {
        /* No key, a damaged entry, or no memory: the ack goes on, and
         * the row, which can no longer be kept exact, goes. */
        a->unknown = 1;
        return SFJ_OK;
    }
    if (e == NULL)
        return SFJ_OK;
    if (seq == a->r.oldest_seq)
        a->lost_old = 1;
    row_count(&a->r, e->currency, e->amount, -1, seq, 0);
    a->changed = 1;
    sfj_entry_free(e);
    return SFJ_OK;
}

int sfj__pending_ack_end(sfj__pend_ack *a, int ok)
{
    sfj__wctx *w;
    uint64_t wm = 0, from;
    int rc = SFJ_OK;

    if (a == NULL)
        return SFJ_OK;
    w = a->w;
    if (!ok)
        goto done;
    if (a->unknown) {
        rc = row_del(w->j, w->txn);
        goto done;
    }
    if (!a->changed)
        goto done;
    if (a->lost_old && a->r.count > 0) {
        /* The next oldest sale lies above both the old oldest and the
         * new watermark. */
        rc = sfj__meta_get_u64(w->j, w->txn, SFJ__META_WATERMARK, &wm);
        from = (wm > a->r.oldest_seq ? wm : a->r.oldest_seq) + 1;
        a->r.oldest_seq = 0;
        if (rc == SFJ_OK)
            rc = scan_sales(w->j, w->txn, wm, from, 1, &a->r);
        if (rc == SFJ_OK && a->r.oldest_seq == 0) {
            rc = row_del(w->j, w->txn); /* cannot be exact: unknown */
            goto done;
        }
    }
    if (rc == SFJ_OK)
        rc = row_put(w->j, w->txn, &a->r);
done:
    sodium_memzero(a, sizeof *a);
    free(a);
    return rc;
}

static int apply_rebuild(sfj__wctx *w, void *arg)
{
    row r;
    uint64_t wm = 0;
    int rc;

    (void)arg;
    rc = row_get(w->j, w->txn, &r);
    if (rc != SFJ_ENOTFOUND && rc != SFJ_ECORRUPT)
        return rc; /* present (another open built it), or an LMDB error */
    memset(&r, 0, sizeof r);
    rc = sfj__meta_get_u64(w->j, w->txn, SFJ__META_WATERMARK, &wm);
    if (rc == SFJ_OK)
        rc = scan_sales(w->j, w->txn, wm, wm + 1, 0, &r);
    if (rc == SFJ_EAUTH || rc == SFJ_ECORRUPT || rc == SFJ_EVERSION)
        return SFJ_OK; /* damaged entries: leave it unknown */
    return rc == SFJ_OK ? row_put(w->j, w->txn, &r) : rc;
}

/* The row as the newest commit left it: row_get in a read transaction. */
static int row_read(sfj_journal *j, row *r)
{
    MDB_txn *txn;
    int rc = sfj__read_begin(j, &txn);

    if (rc != SFJ_OK)
        return rc;
    rc = row_get(j, txn, r);
    sfj__read_end(j, txn);
    return rc;
}

int sfj__pending_open(sfj_journal *j)
{
    row r;
    int rc;

    if (j->rdonly || j->mirror || j->acks_only || j->keys == NULL)
        return SFJ_OK;
    rc = row_read(j, &r);
    if (rc == SFJ_OK)
        return SFJ_OK;
    rc = sfj__commit(j, apply_rebuild, NULL);
    /* A damaged journal must still open (sfj_recover says where). */
    return rc == SFJ_EIO || rc == SFJ_EDEAD || rc == SFJ_ENOMEM ? rc : SFJ_OK;
}

int sfj_pending_get(sfj_journal *j, sfj_pending *out)
{
    sfj_pending all;
    row r;
    unsigned v;
    int rc;

    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    v = out->version;
    if (!SFJ__VERSION_OK(v, SFJ_PENDING_VERSION))
        return SFJ_EVERSION;
    rc = row_read(j, &r);
    if (rc == SFJ_ECORRUPT)
        rc = SFJ_ENOTFOUND;
    memset(&all, 0, sizeof all);
    all.version = v;
    if (rc == SFJ_OK) {
        all.sales = r.count;
        all.oldest_seq = r.oldest_seq;
        all.oldest_ms = r.oldest_ms;
        all.amounts_complete = !(r.flags & ROW_F_OVERFLOW);
        all.n_currencies = r.n;
        memcpy(all.currencies, r.cur, sizeof all.currencies);
    }
    /* One version so far: a newer layout only appends fields. */
    memcpy(out, &all, sizeof all);
    return rc;
}
