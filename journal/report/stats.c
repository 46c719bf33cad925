/* sfj_stats_get: counts from one read transaction. */
#include <stddef.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/txn_hooks.h"
#include "journal/write/txn_overlay.h"
#include "common/abi.h"
#include "sfj/errors.h"

/* Bytes of an sfj_stats of version `v` (1..SFJ_STATS_VERSION): a newer
 * layout only appends fields, and a caller gets those of its version. */
static size_t stats_size(unsigned v)
{
    return v == 1 ? offsetof(sfj_stats, journal_format) : sizeof(sfj_stats);
}

static int fill_stats(sfj_journal *j, sfj_stats *out)
{
    MDB_txn *txn;
    MDB_stat st, acked, attn;
    MDB_envinfo info;
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k, v;
    sfj__rec_hdr h;
    int rc;

    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    sfj__entries_stat(j, txn, &st);
    mdb_stat(txn, j->db_acked, &acked);
    mdb_stat(txn, j->db_attn, &attn);
    out->entries = st.ms_entries;
    rc = sfj__entries_edge(j, txn, 0, &out->first_seq);
    if (rc == SFJ_OK)
        rc = sfj__entries_edge(j, txn, 1, &out->last_seq);
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
        k = sfj__entry_key(j, kbuf, out->acked_seq + 1);
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
    out->journal_format =
        j->entries_in_main ? SFJ__FORMAT_MAIN : SFJ__FORMAT_NAMED;
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
