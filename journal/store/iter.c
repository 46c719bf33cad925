/* Iteration in seq order with constant memory.
 *
 * The iterator copies a bounded batch of records out of LMDB under one
 * short read transaction (refill), then hands them out one by one, so no
 * read transaction stays open between calls to pin pages or block map
 * growth. Clear-header filters (seq, time, kind) apply during refill; the
 * txn filter needs decryption and applies in sfj_iter_next. */
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "common/abi.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

#define BATCH_SLOTS 64
#define BATCH_BYTES (256u << 10)

struct sfj_iter {
    sfj_journal *j;
    sfj_query q;
    char txn_id[SFJ_TXN_ID_MAX + 1];
    uint64_t next_seq; /* first seq the next refill looks at */
    int eof;
    uint8_t *buf;
    size_t cap;
    struct {
        uint64_t seq;
        size_t off;
        size_t len;
    } slot[BATCH_SLOTS];
    int n;
    int pos;
};

static int header_matches(const sfj_query *q, const uint8_t *rec, size_t len)
{
    sfj__rec_hdr h;

    /* A damaged header is handed out so that the caller hears of it. */
    if (sfj__rec_hdr_decode(rec, len, &h) != SFJ_OK)
        return 1;
    if (q->kind != 0 && h.kind != q->kind)
        return 0;
    if (q->since_ms != 0 && h.wall_ms < q->since_ms)
        return 0;
    if (q->until_ms != 0 && h.wall_ms >= q->until_ms)
        return 0;
    return 1;
}

static int refill(sfj_iter *it)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(it->j, kbuf, it->next_seq), v;
    MDB_cursor *cur = NULL;
    MDB_txn *txn;
    size_t used = 0;
    uint64_t seq;
    int rc, mrc;
    MDB_cursor_op op = MDB_SET_RANGE;

    it->n = it->pos = 0;
    rc = sfj__read_begin(it->j, &txn);
    if (rc != SFJ_OK)
        return rc;
    mrc = mdb_cursor_open(txn, it->j->db_entries, &cur);
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(it->j, mrc, "mdb_cursor_open");
        goto done;
    }
    while (it->n < BATCH_SLOTS) {
        mrc = sfj__entries_get(it->j, cur, &k, &v, op);
        op = MDB_NEXT;
        if (mrc == MDB_NOTFOUND) {
            it->eof = 1;
            break;
        }
        if (mrc != MDB_SUCCESS) {
            rc = sfj__mdb_rc(it->j, mrc, "mdb_cursor_get");
            goto done;
        }
        if (!sfj__entry_seq(it->j, &k, &seq)) {
            rc = SFJ_ECORRUPT;
            goto done;
        }
        if (it->q.to_seq != 0 && seq > it->q.to_seq) {
            it->eof = 1;
            break;
        }
        if (used > 0 && used + v.mv_size > BATCH_BYTES)
            break; /* next refill starts here */
        it->next_seq = seq + 1;
        if (!header_matches(&it->q, v.mv_data, v.mv_size))
            continue;
        if (used + v.mv_size > it->cap) {
            size_t cap =
                used + v.mv_size > BATCH_BYTES ? used + v.mv_size : BATCH_BYTES;
            uint8_t *nb = realloc(it->buf, cap);

            if (nb == NULL) {
                rc = SFJ_ENOMEM;
                goto done;
            }
            it->buf = nb;
            it->cap = cap;
        }
        memcpy(it->buf + used, v.mv_data, v.mv_size);
        it->slot[it->n].seq = seq;
        it->slot[it->n].off = used;
        it->slot[it->n].len = v.mv_size;
        it->n++;
        used += v.mv_size;
    }
done:
    mdb_cursor_close(cur);
    sfj__read_end(it->j, txn);
    return rc;
}

int sfj_iter_open(sfj_journal *j, const sfj_query *q, sfj_iter **out)
{
    sfj_iter *it;

    if (out != NULL)
        *out = NULL;
    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    if (q != NULL && !SFJ__VERSION_OK(q->version, SFJ_QUERY_VERSION))
        return SFJ_EVERSION;
    if (q != NULL && q->txn_id != NULL &&
        (q->txn_id[0] == '\0' || strlen(q->txn_id) > SFJ_TXN_ID_MAX))
        return SFJ_EINVAL;
    it = calloc(1, sizeof *it);
    if (it == NULL)
        return SFJ_ENOMEM;
    it->j = j;
    if (q != NULL)
        it->q = *q;
    if (it->q.txn_id != NULL) {
        strcpy(it->txn_id, it->q.txn_id);
        it->q.txn_id = it->txn_id;
    }
    it->next_seq = it->q.from_seq ? it->q.from_seq : 1;
    *out = it;
    return SFJ_OK;
}

int sfj__iter_next_sealed(sfj_iter *it, uint64_t *seq, const uint8_t **rec,
                          size_t *len)
{
    int rc;

    while (it->pos == it->n) {
        if (it->eof)
            return SFJ_ENOTFOUND;
        rc = refill(it);
        if (rc != SFJ_OK)
            return rc;
    }
    *seq = it->slot[it->pos].seq;
    *rec = it->buf + it->slot[it->pos].off;
    *len = it->slot[it->pos].len;
    it->pos++;
    return SFJ_OK;
}

int sfj_iter_next(sfj_iter *it, sfj_entry **out)
{
    const uint8_t *rec;
    size_t len;
    uint64_t seq;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (it == NULL || out == NULL)
        return SFJ_EINVAL;
    for (;;) {
        rc = sfj__iter_next_sealed(it, &seq, &rec, &len);
        if (rc != SFJ_OK)
            return rc;
        if (it->q.txn_id != NULL && len >= SFJ_REC_HDR_BYTES &&
            sfj__rec_is_clear(sfj__get_u16(rec + SFJ_REC_OFF_KIND)))
            continue;
        rc = sfj__entry_from_record(it->j, seq, rec, len, out);
        if (rc != SFJ_OK)
            return rc;
        if (it->q.txn_id == NULL || strcmp((*out)->txn_id, it->txn_id) == 0)
            return SFJ_OK;
        sfj_entry_free(*out);
        *out = NULL;
    }
}

void sfj_iter_free(sfj_iter *it)
{
    if (it == NULL)
        return;
    free(it->buf);
    free(it);
}
