/* The `txns` index: record encoding and access; see txn_index.h. */
#include "journal/write/txn_index.h"

#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "sfj/errors.h"

#define AMOUNT_PT  11 /* i64 amount | currency[3] */
#define AMOUNT_BOX SFJ__AMOUNT_BOX_BYTES(AMOUNT_PT)
#define OPEN_BYTES (SFJ__TXN_HASH_BYTES + 8)

_Static_assert(SFJ__TXNREC_MAX_BYTES <= SFJ__TXI_VAL_MAX &&
                   OPEN_BYTES + AMOUNT_BOX <= SFJ__TXI_VAL_MAX,
               "an index value fits an overlay row");

/* The overlay that index rows go through (txn_ovmap.h), or NULL: none on
 * this handle, or a full rebuild writing straight to LMDB. */
static sfj__txi *overlay(sfj_journal *j)
{
    return j->txi != NULL && !j->txi->direct ? j->txi : NULL;
}

/* mdb_get through the overlay: MDB_SUCCESS, MDB_NOTFOUND or LMDB's code. */
static int row_get(sfj_journal *j, MDB_txn *txn, MDB_val *k, MDB_val *v)
{
    sfj__txi *t = overlay(j);
    const sfj__txi_row *r =
        t != NULL ? sfj__txi_find(t, k->mv_data, k->mv_size) : NULL;

    if (r == NULL)
        return mdb_get(txn, j->db_txns, k, v);
    if (r->gone)
        return MDB_NOTFOUND;
    v->mv_data = (void *)r->val;
    v->mv_size = r->vlen;
    return MDB_SUCCESS;
}

static int row_put(sfj_journal *j, MDB_txn *txn, MDB_val *k, MDB_val *v,
                   const char *what)
{
    sfj__txi *t = overlay(j);
    int mrc;

    if (t != NULL)
        return sfj__txi_set(t, k->mv_data, k->mv_size, v->mv_data, v->mv_size);
    mrc = mdb_put(txn, j->db_txns, k, v, 0);
    return mrc == MDB_SUCCESS ? SFJ_OK : sfj__mdb_rc(j, mrc, what);
}

static int row_del(sfj_journal *j, MDB_txn *txn, MDB_val *k, const char *what)
{
    sfj__txi *t = overlay(j);
    int mrc;

    if (t != NULL)
        return sfj__txi_set(t, k->mv_data, k->mv_size, NULL, 0);
    mrc = mdb_del(txn, j->db_txns, k, NULL);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, what);
}

void sfj__txn_hash(const sfj_keys *keys, const char *txn_id, uint8_t *out)
{
    crypto_generichash(out, SFJ__TXN_HASH_BYTES, (const uint8_t *)txn_id,
                       strlen(txn_id), keys->txnidx, sizeof keys->txnidx);
}

void sfj__txn_ev_of_entry(const sfj_entry *e, sfj__txn_ev *out)
{
    memset(out, 0, sizeof *out);
    out->kind = e->kind;
    out->status = e->status;
    out->txn_id = e->txn_id[0] != '\0' ? e->txn_id : NULL;
    out->amount = e->amount;
    out->currency = e->currency;
    out->copy = e->copy;
    out->wall_ms = e->wall_ms;
    out->boot = e->boot;
}

static MDB_val txn_key(uint8_t *buf, const uint8_t *hash)
{
    MDB_val k;

    buf[0] = SFJ__TXK_TXN;
    memcpy(buf + 1, hash, SFJ__TXN_HASH_BYTES);
    k.mv_data = buf;
    k.mv_size = 1 + SFJ__TXN_HASH_BYTES;
    return k;
}

static MDB_val open_key(uint8_t *buf, uint64_t seq)
{
    MDB_val k;

    buf[0] = SFJ__TXK_OPEN;
    sfj__put_u64(buf + 1, seq);
    k.mv_data = buf;
    k.mv_size = 9;
    return k;
}

MDB_val sfj__open_first_key(uint8_t *buf)
{
    return open_key(buf, 0);
}

int sfj__txnrec_get(sfj_journal *j, MDB_txn *txn, const uint8_t *hash,
                    sfj__txnrec *out)
{
    uint8_t kbuf[1 + SFJ__TXN_HASH_BYTES];
    MDB_val k = txn_key(kbuf, hash), v;
    int mrc = row_get(j, txn, &k, &v);

    if (mrc == MDB_NOTFOUND)
        return SFJ_ENOTFOUND;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_get(txns)");
    if (sfj__txnrec_decode(v.mv_data, v.mv_size, out) != SFJ_OK) {
        sfj__set_err(j, "txn index record is damaged");
        return SFJ_ECORRUPT;
    }
    return SFJ_OK;
}

int sfj__txnrec_put(sfj_journal *j, MDB_txn *txn, const uint8_t *hash,
                    const sfj__txnrec *r)
{
    uint8_t kbuf[1 + SFJ__TXN_HASH_BYTES], val[SFJ__TXNREC_MAX_BYTES];
    MDB_val k = txn_key(kbuf, hash), v;

    v.mv_data = val;
    v.mv_size = sfj__txnrec_encode(r, val);
    return row_put(j, txn, &k, &v, "mdb_put(txns)");
}

int sfj__txnrec_del(sfj_journal *j, MDB_txn *txn, const uint8_t *hash)
{
    uint8_t kbuf[1 + SFJ__TXN_HASH_BYTES];
    MDB_val k = txn_key(kbuf, hash);
    int mrc = mdb_del(txn, j->db_txns, &k, NULL);

    /* Retention drops a record in the same transaction as the entries it
     * prunes, so the database loses it at once (a crash must not leave a
     * record whose entries are gone); a row of it goes too. */
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return sfj__mdb_rc(j, mrc, "mdb_del(txns)");
    return overlay(j) != NULL ? row_del(j, txn, &k, "mdb_del(txns)") : SFJ_OK;
}

int sfj__open_put(sfj_journal *j, MDB_txn *txn, const sfj__openrec *o)
{
    uint8_t kbuf[9], val[OPEN_BYTES + AMOUNT_BOX], pt[AMOUNT_PT];
    MDB_val k = open_key(kbuf, o->seq), v;
    int rc;

    memcpy(val, o->hash, SFJ__TXN_HASH_BYTES);
    sfj__put_u64(val + SFJ__TXN_HASH_BYTES, (uint64_t)o->wall_ms);
    v.mv_data = val;
    v.mv_size = OPEN_BYTES;
    if (o->has_amount) {
        sfj__put_u64(pt, (uint64_t)o->amount);
        memcpy(pt + 8, o->currency, 3);
        /* The key bytes are the associated data: a box cannot be moved to
         * another txn's slot. */
        sfj__amount_seal(j->keys, kbuf, sizeof kbuf, pt, sizeof pt,
                         val + OPEN_BYTES);
        sodium_memzero(pt, sizeof pt);
        v.mv_size = sizeof val;
    }
    rc = row_put(j, txn, &k, &v, "mdb_put(open)");
    sodium_memzero(val, sizeof val);
    return rc;
}

int sfj__open_del(sfj_journal *j, MDB_txn *txn, uint64_t seq)
{
    uint8_t kbuf[9];
    MDB_val k = open_key(kbuf, seq);

    return row_del(j, txn, &k, "mdb_del(open)");
}

int sfj__open_exists(sfj_journal *j, MDB_txn *txn, uint64_t seq, int *found)
{
    uint8_t kbuf[9];
    MDB_val k = open_key(kbuf, seq), v;

    return sfj__mdb_found(j, row_get(j, txn, &k, &v), "mdb_get(open)", found);
}

int sfj__open_decode(sfj_journal *j, const MDB_val *k, const MDB_val *v,
                     int box, sfj__openrec *out)
{
    const uint8_t *kp = k->mv_data, *vp = v->mv_data;
    uint8_t pt[AMOUNT_PT];
    int rc;

    memset(out, 0, sizeof *out);
    if (k->mv_size != 9 || kp[0] != SFJ__TXK_OPEN)
        return SFJ_ENOTFOUND;
    if (v->mv_size != OPEN_BYTES && v->mv_size != OPEN_BYTES + AMOUNT_BOX)
        return SFJ_ECORRUPT;
    out->seq = sfj__get_u64(kp + 1);
    memcpy(out->hash, vp, SFJ__TXN_HASH_BYTES);
    out->wall_ms = (int64_t)sfj__get_u64(vp + SFJ__TXN_HASH_BYTES);
    if (v->mv_size == OPEN_BYTES)
        return SFJ_OK;
    out->has_amount = 1;
    if (!box)
        return SFJ_OK;
    out->has_amount = 0;
    if (j->keys == NULL)
        return SFJ_ESTATE;
    rc = sfj__amount_open(j->keys, kp, k->mv_size, vp + OPEN_BYTES, pt,
                          sizeof pt);
    if (rc != SFJ_OK)
        goto done;
    out->has_amount = 1;
    out->amount = (int64_t)sfj__get_u64(pt);
    memcpy(out->currency, pt + 8, 3);
    out->currency[3] = '\0';
done:
    sodium_memzero(pt, sizeof pt);
    return rc;
}

static MDB_val meta_key(uint8_t *buf, const char *name)
{
    MDB_val k;
    size_t n = strlen(name);

    buf[0] = SFJ__TXK_META;
    memcpy(buf + 1, name, n);
    k.mv_data = buf;
    k.mv_size = 1 + n;
    return k;
}

/* A meta record's value from mdb_get's result. */
static int txm_value(sfj_journal *j, int mrc, const MDB_val *v, uint64_t *out,
                     int *found)
{
    *out = 0;
    if (found != NULL)
        *found = mrc == MDB_SUCCESS;
    if (mrc == MDB_NOTFOUND)
        return SFJ_OK;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_get(txns meta)");
    if (v->mv_size != 8)
        return SFJ_ECORRUPT;
    *out = sfj__get_u64(v->mv_data);
    return SFJ_OK;
}

int sfj__txm_get(sfj_journal *j, MDB_txn *txn, const char *name, uint64_t *out,
                 int *found)
{
    uint8_t kbuf[32];
    MDB_val k = meta_key(kbuf, name), v;

    return txm_value(j, row_get(j, txn, &k, &v), &v, out, found);
}

int sfj__txm_put(sfj_journal *j, MDB_txn *txn, const char *name, uint64_t val)
{
    uint8_t kbuf[32], vbuf[8];
    MDB_val k = meta_key(kbuf, name), v;

    sfj__put_u64(vbuf, val);
    v.mv_data = vbuf;
    v.mv_size = 8;
    return row_put(j, txn, &k, &v, "mdb_put(txns meta)");
}

int sfj__txm_get_stored(sfj_journal *j, MDB_txn *txn, const char *name,
                        uint64_t *out, int *found)
{
    uint8_t kbuf[32];
    MDB_val k = meta_key(kbuf, name), v;

    return txm_value(j, mdb_get(txn, j->db_txns, &k, &v), &v, out, found);
}

int sfj__txn_pos_get(sfj_journal *j, MDB_txn *txn, int stored, uint64_t *out,
                     int *found)
{
    static const char *const names[2] = {SFJ__TXM_TO, SFJ__TXM_TO_V1};
    int rc = SFJ_OK, f = 0, i;

    for (i = 0; i < 2 && rc == SFJ_OK && !f; i++)
        rc = stored ? sfj__txm_get_stored(j, txn, names[i], out, &f)
                    : sfj__txm_get(j, txn, names[i], out, &f);
    if (found != NULL)
        *found = f;
    return rc;
}

int sfj__txn_pos_put(sfj_journal *j, MDB_txn *txn, uint64_t v)
{
    uint8_t kbuf[32];
    MDB_val k = meta_key(kbuf, SFJ__TXM_TO_V1);
    int rc = sfj__txm_put(j, txn, SFJ__TXM_TO, v);

    return rc == SFJ_OK ? row_del(j, txn, &k, "mdb_del(txns meta)") : rc;
}

int sfj__txm_decode(const uint8_t *key, size_t klen, const char *name,
                    const uint8_t *val, size_t vlen, uint64_t *out)
{
    size_t n = strlen(name);

    if (klen != 1 + n || key[0] != SFJ__TXK_META ||
        memcmp(key + 1, name, n) != 0 || vlen != 8)
        return 0;
    *out = sfj__get_u64(val);
    return 1;
}

/* Is `k` in the open set's key range? */
static int open_range(const uint8_t *k, size_t len)
{
    return len >= 1 && k[0] == SFJ__TXK_OPEN;
}

static int iter_db_next(sfj__open_iter *it, MDB_cursor_op op)
{
    int mrc = mdb_cursor_get(it->cur, &it->dk, &it->dv, op);

    it->dhave =
        mrc == MDB_SUCCESS && open_range(it->dk.mv_data, it->dk.mv_size);
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return sfj__mdb_rc(it->j, mrc, "mdb_cursor_get(txns)");
    return SFJ_OK;
}

int sfj__open_iter_begin(sfj_journal *j, MDB_txn *txn, sfj__open_iter *it)
{
    uint8_t kbuf[9];
    sfj__txi *t = overlay(j);
    int mrc;

    memset(it, 0, sizeof *it);
    it->j = j;
    it->dk = sfj__open_first_key(kbuf);
    if (t != NULL)
        it->oi = sfj__txi_lower(t, kbuf, sizeof kbuf);
    mrc = mdb_cursor_open(txn, j->db_txns, &it->cur);
    if (mrc != MDB_SUCCESS) {
        it->cur = NULL;
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(txns)");
    }
    return iter_db_next(it, MDB_SET_RANGE);
}

int sfj__open_iter_next(sfj__open_iter *it, MDB_val *k, MDB_val *v)
{
    sfj__txi *t = overlay(it->j);
    const sfj__txi_row *r;
    int c, rc;

    for (;;) {
        r = t != NULL && it->oi < t->n ? sfj__txi_at(t, it->oi) : NULL;
        if (r != NULL && !open_range(r->key, r->klen))
            r = NULL;
        if (!it->dhave && r == NULL)
            return SFJ_ENOTFOUND;
        c = !it->dhave  ? 1
            : r == NULL ? -1
                        : sfj__txi_keycmp(it->dk.mv_data, it->dk.mv_size,
                                          r->key, r->klen);
        if (c < 0) {
            *k = it->dk;
            *v = it->dv;
            return iter_db_next(it, MDB_NEXT);
        }
        /* A row replaces the database's record of the same key. */
        if (c == 0 && (rc = iter_db_next(it, MDB_NEXT)) != SFJ_OK)
            return rc;
        it->oi++;
        if (r->gone)
            continue;
        k->mv_data = (void *)r->key;
        k->mv_size = r->klen;
        v->mv_data = (void *)r->val;
        v->mv_size = r->vlen;
        return SFJ_OK;
    }
}

void sfj__open_iter_end(sfj__open_iter *it)
{
    if (it->cur != NULL)
        mdb_cursor_close(it->cur);
    it->cur = NULL;
}

int sfj__txn_is_open(const sfj__txnrec *r, int receipts)
{
    int approved =
        (r->state == SFJ__TS_DONE && r->outcome == SFJ_ST_APPROVED) ||
        r->state == SFJ__TS_OFFLINE;

    if (r->state == SFJ__TS_INTENT || r->state == SFJ__TS_OFFLINE)
        return 1;
    return receipts && approved && !(r->flags & SFJ_TXN_F_PRINTED);
}

int sfj__seq_acked(sfj_journal *j, MDB_txn *txn, uint64_t wm, uint64_t seq,
                   int *acked)
{
    uint8_t kbuf[8];
    MDB_val k, v;
    int mrc;

    *acked = seq <= wm;
    if (*acked)
        return SFJ_OK;
    k = sfj__seq_key(kbuf, seq);
    mrc = mdb_get(txn, j->db_acked, &k, &v);
    *acked = mrc == MDB_SUCCESS;
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, "mdb_get(acked)");
}

int sfj__txn_in_doubt(sfj_journal *j, const sfj__txnrec *r)
{
    if (r->state != SFJ__TS_INTENT)
        return 0;
    return (r->flags & SFJ_TXN_F_HOST_ERROR) || j->rdonly || r->boot != j->boot;
}

void sfj__txn_public(sfj_journal *j, const sfj__txnrec *r, int offline_acked,
                     sfj_txn *out)
{
    memset(out, 0, sizeof *out);
    switch (r->state) {
    case SFJ__TS_INTENT:
        out->state =
            sfj__txn_in_doubt(j, r) ? SFJ_TXN_IN_DOUBT : SFJ_TXN_INTENT;
        break;
    case SFJ__TS_DONE:
        out->state =
            (r->flags & SFJ_TXN_F_PRINTED) ? SFJ_TXN_CLOSED : SFJ_TXN_DONE;
        break;
    case SFJ__TS_OFFLINE:
        out->state = offline_acked ? SFJ_TXN_FORWARDED : SFJ_TXN_OFFLINE;
        break;
    default:
        out->state = SFJ_TXN_REVERSED;
        break;
    }
    out->outcome = r->outcome;
    out->reversal = r->rev_status;
    out->flags = r->flags;
    out->boot = r->boot;
    out->repeats = r->repeats;
    out->copies = r->copies;
    out->first_seq = r->first_seq;
    out->last_seq = r->last_seq;
    out->intent_seq = r->intent_seq;
    out->last_intent_seq = r->last_intent_seq;
    out->outcome_seq = r->outcome_seq;
    out->offline_seq = r->offline_seq;
    out->receipt_seq = r->receipt_seq;
    out->print_failed_seq = r->fail_seq;
    out->reprint_seq = r->reprint_seq;
    out->reversal_seq = r->reversal_seq;
    out->reversal_last_seq = r->rev_last_seq;
}
