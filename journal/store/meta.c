/* The `meta` database: short names to small values, and the chain head. */
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"

static MDB_val name_key(const char *name)
{
    MDB_val k;

    k.mv_data = (void *)name;
    k.mv_size = strlen(name);
    return k;
}

int sfj__meta_get_u64(sfj_journal *j, MDB_txn *txn, const char *name,
                      uint64_t *out)
{
    MDB_val k = name_key(name), v;
    int mrc = mdb_get(txn, j->db_meta, &k, &v);

    if (mrc == MDB_NOTFOUND) {
        *out = 0;
        return SFJ_OK;
    }
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, name);
    if (v.mv_size != 8) {
        sfj__set_err(j, "meta %s has a bad size", name);
        return SFJ_ECORRUPT;
    }
    *out = sfj__get_u64(v.mv_data);
    return SFJ_OK;
}

int sfj__meta_put(sfj_journal *j, MDB_txn *txn, const char *name,
                  const void *data, size_t len)
{
    MDB_val k = name_key(name), v;
    int mrc;

    v.mv_data = (void *)data;
    v.mv_size = len;
    mrc = mdb_put(txn, j->db_meta, &k, &v, 0);
    return mrc == MDB_SUCCESS ? SFJ_OK : sfj__mdb_rc(j, mrc, name);
}

int sfj__meta_put_u64(sfj_journal *j, MDB_txn *txn, const char *name,
                      uint64_t value)
{
    uint8_t buf[8];

    sfj__put_u64(buf, value);
    return sfj__meta_put(j, txn, name, buf, sizeof buf);
}

int sfj__load_head(sfj_journal *j, MDB_txn *txn, uint64_t *last_seq,
                   uint8_t *head)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    sfj__rec_hdr h;
    int mrc, rc;

    mrc = mdb_cursor_open(txn, j->db_entries, &cur);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (mrc == MDB_NOTFOUND) {
        /* Empty: the chain starts at genesis, or at the prune anchor when
         * every entry was pruned. */
        uint64_t prune_seq = 0;
        MDB_val pk, pv;

        rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, &prune_seq);
        if (rc != SFJ_OK)
            goto done;
        *last_seq = prune_seq;
        if (prune_seq == 0) {
            sfj__chain_genesis(j->journal_id, head);
            goto done;
        }
        pk.mv_data = (void *)SFJ__META_PRUNE_HASH;
        pk.mv_size = strlen(SFJ__META_PRUNE_HASH);
        mrc = mdb_get(txn, j->db_meta, &pk, &pv);
        if (mrc != MDB_SUCCESS || pv.mv_size != SFJ_HASH_BYTES) {
            sfj__set_err(j, "prune anchor missing");
            rc = SFJ_ECORRUPT;
            goto done;
        }
        memcpy(head, pv.mv_data, SFJ_HASH_BYTES);
        goto done;
    }
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries, last)");
        goto done;
    }
    if (k.mv_size != 8) {
        sfj__set_err(j, "entries key has a bad size");
        rc = SFJ_ECORRUPT;
        goto done;
    }
    *last_seq = sfj__get_u64(k.mv_data);
    rc = sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h);
    if (rc == SFJ_OK && h.seq != *last_seq)
        rc = SFJ_ECORRUPT;
    if (rc != SFJ_OK) {
        sfj__set_err(j, "last entry (seq %llu) is damaged",
                     (unsigned long long)*last_seq);
        goto done;
    }
    rc = sfj__rec_chain(v.mv_data, v.mv_size, head);
done:
    mdb_cursor_close(cur);
    return rc;
}
