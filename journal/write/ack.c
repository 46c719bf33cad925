/* Delivery state: the ack watermark, the sparse `acked` set above it, and
 * entries set aside as needs-attention.
 *
 * Invariant: every key in `acked` is above the watermark, and the
 * watermark never moves backwards. An entry in `attention` counts as
 * delivered for the queue (the watermark may pass it) but is never
 * pruned. Acks ride in the group commit like appends. */
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/clock.h"
#include "journal/store/journal_impl.h"
#include "journal/write/pending.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

typedef struct ack_arg {
    uint64_t upto;
    const uint64_t *seqs;
    size_t n;
} ack_arg;

/* Delete every `acked` key at or below `wm`. */
static int drop_below(sfj__wctx *w, uint64_t wm)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc, rc = SFJ_OK;

    mrc = mdb_cursor_open(w->txn, w->j->db_acked, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(w->j, mrc, "mdb_cursor_open(acked)");
    while ((mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == MDB_SUCCESS &&
           k.mv_size == 8 && sfj__get_u64(k.mv_data) <= wm) {
        mrc = mdb_cursor_del(cur, 0);
        if (mrc != MDB_SUCCESS)
            break;
    }
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(w->j, mrc, "acked cleanup");
    mdb_cursor_close(cur);
    return rc;
}

/* Acknowledge: explicit seqs above the new watermark go to `acked`, the
 * watermark moves to `upto` and then over every seq the sparse set (or the
 * attention set) already covers. Each seq this newly acknowledges is told
 * to the pending-sales row. */
static int ack_into(sfj__wctx *w, const ack_arg *a, sfj__pend_ack *pa)
{
    sfj_journal *j = w->j;
    uint64_t wm = 0, target, s;
    uint8_t kbuf[8];
    MDB_val k, v = {0, NULL};
    size_t i;
    int rc, in_acked, in_attn, mrc;

    rc = sfj__meta_get_u64(j, w->txn, SFJ__META_WATERMARK, &wm);
    if (rc != SFJ_OK)
        return rc;
    /* Never acknowledge what does not exist. */
    if (a->upto > w->last_seq)
        return SFJ_EINVAL;
    for (i = 0; i < a->n; i++) {
        if (a->seqs[i] == 0 || a->seqs[i] > w->last_seq)
            return SFJ_EINVAL;
    }
    target = a->upto > wm ? a->upto : wm;
    for (i = 0; i < a->n; i++) {
        if (a->seqs[i] <= target)
            continue;
        rc = sfj__seq_held(j, w->txn, j->db_acked, a->seqs[i], "mdb_get(acked)",
                           &in_acked);
        if (rc != SFJ_OK)
            return rc;
        if (in_acked)
            continue;
        k = sfj__seq_key(kbuf, a->seqs[i]);
        mrc = mdb_put(w->txn, j->db_acked, &k, &v, 0);
        if (mrc != MDB_SUCCESS)
            return sfj__mdb_rc(j, mrc, "mdb_put(acked)");
        rc = sfj__pending_ack_drop(pa, a->seqs[i]);
        if (rc != SFJ_OK)
            return rc;
    }
    /* Up to `upto`, whatever the sparse set did not hold is new. */
    for (s = wm + 1; s <= target && !sfj__pending_ack_idle(pa); s++) {
        rc = sfj__seq_held(j, w->txn, j->db_acked, s, "mdb_get(acked)",
                           &in_acked);
        if (rc == SFJ_OK && !in_acked)
            rc = sfj__pending_ack_drop(pa, s);
        if (rc != SFJ_OK)
            return rc;
    }
    /* Close gaps the sparse set (and set-aside entries) have filled. */
    for (;;) {
        rc = sfj__seq_held(j, w->txn, j->db_acked, target + 1, "mdb_get(acked)",
                           &in_acked);
        if (rc == SFJ_OK && !in_acked)
            rc = sfj__seq_held(j, w->txn, j->db_attn, target + 1,
                               "mdb_get(attention)", &in_attn);
        else
            in_attn = 0;
        if (rc == SFJ_OK && in_attn)
            rc = sfj__pending_ack_drop(pa, target + 1);
        if (rc != SFJ_OK)
            return rc;
        if (!in_acked && !in_attn)
            break;
        target++;
    }
    if (target == wm)
        return SFJ_OK;
    rc = drop_below(w, target);
    if (rc == SFJ_OK)
        rc = sfj__meta_put_u64(j, w->txn, SFJ__META_WATERMARK, target);
    return rc;
}

static int apply_ack(sfj__wctx *w, void *varg)
{
    sfj__pend_ack *pa = NULL;
    int rc = sfj__pending_ack_begin(w, &pa), rc2;

    if (rc == SFJ_OK)
        rc = ack_into(w, varg, pa);
    rc2 = sfj__pending_ack_end(pa, rc == SFJ_OK);
    return rc != SFJ_OK ? rc : rc2;
}

int sfj__journal_ack(sfj_journal *j, uint64_t upto, const uint64_t *seqs,
                     size_t n)
{
    ack_arg a = {upto, seqs, n};

    if (j == NULL || (n > 0 && seqs == NULL) || j->rdonly)
        return SFJ_EINVAL;
    return sfj__commit(j, apply_ack, &a);
}

int sfj__journal_watermark(sfj_journal *j, uint64_t *out)
{
    MDB_txn *txn;
    int rc = sfj__read_begin(j, &txn);

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, out);
    sfj__read_end(j, txn);
    return rc;
}

int sfj__journal_is_acked(sfj_journal *j, uint64_t seq, int *acked)
{
    uint8_t kbuf[8];
    MDB_val k = sfj__seq_key(kbuf, seq), v;
    MDB_txn *txn;
    uint64_t wm = 0;
    int rc = sfj__read_begin(j, &txn), mrc;

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &wm);
    if (rc == SFJ_OK) {
        *acked = seq <= wm;
        if (!*acked) {
            mrc = mdb_get(txn, j->db_acked, &k, &v);
            *acked = mrc == MDB_SUCCESS;
            if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
                rc = sfj__mdb_rc(j, mrc, "acked");
        }
    }
    sfj__read_end(j, txn);
    return rc;
}

typedef struct attn_arg {
    uint64_t seq;
    int reason;
    const char *text;
} attn_arg;

/* Value: i64be time set aside | i32be reason | text (no secrets). */
static int apply_attention(sfj__wctx *w, void *varg)
{
    attn_arg *a = varg;
    uint8_t kbuf[8], val[12 + 120];
    size_t tlen = a->text ? strlen(a->text) : 0;
    MDB_val k = sfj__seq_key(kbuf, a->seq), v;
    int mrc;

    if (a->seq == 0 || a->seq > w->last_seq)
        return SFJ_EINVAL;
    if (tlen > 120)
        tlen = 120;
    sfj__put_u64(val, (uint64_t)sfj__now_ms());
    sfj__put_u32(val + 8, (uint32_t)a->reason);
    memcpy(val + 12, a->text ? a->text : "", tlen);
    v.mv_data = val;
    v.mv_size = 12 + tlen;
    mrc = mdb_put(w->txn, w->j->db_attn, &k, &v, 0);
    return mrc == MDB_SUCCESS ? SFJ_OK : sfj__mdb_rc(w->j, mrc, "attention");
}

int sfj__journal_set_attention(sfj_journal *j, uint64_t seq, int reason,
                               const char *text)
{
    attn_arg a = {seq, reason, text};

    if (j == NULL || j->rdonly)
        return SFJ_EINVAL;
    return sfj__commit(j, apply_attention, &a);
}

static int apply_checkpoint(sfj__wctx *w, void *arg)
{
    uint64_t *seq_out = arg;
    int rc = SFJ_OK;

    if (w->last_seq > w->last_ckpt)
        rc = sfj__wctx_checkpoint(w);
    *seq_out = w->last_ckpt;
    return rc;
}

int sfj__journal_checkpoint(sfj_journal *j, uint64_t *seq_out)
{
    uint64_t seq = 0;
    int rc;

    if (j == NULL || j->rdonly || j->mirror || j->acks_only || j->keys == NULL)
        return SFJ_ESTATE;
    rc = sfj__commit(j, apply_checkpoint, &seq);
    if (seq_out != NULL)
        *seq_out = seq;
    return rc;
}

int sfj__journal_wait(sfj_journal *j, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    int rc = SFJ_OK;

    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&j->lock);
    while (j->last_seq <= seen && !j->closing) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&j->cond, &j->lock);
        } else if (pthread_cond_timedwait(&j->cond, &j->lock, &until) != 0) {
            rc = SFJ_ETIMEDOUT;
            break;
        }
    }
    if (j->closing)
        rc = SFJ_ECLOSED;
    else if (j->last_seq > seen)
        rc = SFJ_OK;
    pthread_mutex_unlock(&j->lock);
    return rc;
}

void sfj__journal_wake_all(sfj_journal *j)
{
    pthread_mutex_lock(&j->lock);
    j->closing = 1;
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
}
