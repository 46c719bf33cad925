/* sfj_stats_get: counts from one read transaction. */
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/txn_hooks.h"
#include "journal/write/txn_overlay.h"
#include "common/abi.h"
#include "sfj/errors.h"

static int edge_seq(sfj_journal *j, MDB_txn *txn, MDB_cursor_op op,
                    uint64_t *seq, int64_t *wall_ms)
{
    MDB_cursor *cur;
    MDB_val k, v;
    sfj__rec_hdr h;
    int mrc;

    *seq = 0;
    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open");
    mrc = mdb_cursor_get(cur, &k, &v, op);
    if (mrc == MDB_SUCCESS && k.mv_size == 8) {
        *seq = sfj__get_u64(k.mv_data);
        if (wall_ms != NULL &&
            sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) == SFJ_OK)
            *wall_ms = h.wall_ms;
    }
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, "mdb_cursor_get");
}

/* Bytes of an sfj_stats of version `v` (1..SFJ_STATS_VERSION): a newer
 * layout only appends fields, and a caller gets those of its version. */
static size_t stats_size(unsigned v)
{
    (void)v; /* one version so far */
    return sizeof(sfj_stats);
}

static int fill_stats(sfj_journal *j, sfj_stats *out)
{
    MDB_txn *txn;
    MDB_stat st, acked, attn;
    MDB_envinfo info;
    uint8_t kbuf[8];
    MDB_val k, v;
    sfj__rec_hdr h;
    int rc;

    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    mdb_stat(txn, j->db_entries, &st);
    mdb_stat(txn, j->db_acked, &acked);
    mdb_stat(txn, j->db_attn, &attn);
    out->entries = st.ms_entries;
    rc = edge_seq(j, txn, MDB_FIRST, &out->first_seq, NULL);
    if (rc == SFJ_OK)
        rc = edge_seq(j, txn, MDB_LAST, &out->last_seq, NULL);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &out->acked_seq);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_CKPT, &out->last_checkpoint);
    if (rc != SFJ_OK)
        goto done;
    if (out->last_seq > out->acked_seq)
        out->unacked = out->last_seq - out->acked_seq - acked.ms_entries;
    out->needs_attention = attn.ms_entries;
    if (out->unacked > 0) {
        k = sfj__seq_key(kbuf, out->acked_seq + 1);
        if (mdb_get(txn, j->db_entries, &k, &v) == MDB_SUCCESS &&
            sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h) == SFJ_OK)
            out->oldest_unacked_ms = h.wall_ms;
    }
    mdb_env_info(j->env, &info);
    out->map_bytes = info.me_mapsize;
    out->used_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    out->max_bytes = j->opts.max_bytes;
    out->boot = j->boot;
    out->epoch = j->epoch;
    sfj__txn_stats(j, txn, out);
done:
    sfj__txi_read_end(j, txn);
    return rc;
}

int sfj_stats_get(sfj_journal *j, sfj_stats *out)
{
    sfj_stats all;
    unsigned v;
    int rc;

    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    v = out->version;
    if (!SFJ__VERSION_OK(v, SFJ_STATS_VERSION))
        return SFJ_EVERSION;
    memset(&all, 0, sizeof all);
    rc = fill_stats(j, &all);
    all.version = v;
    memcpy(out, &all, stats_size(v));
    return rc;
}
