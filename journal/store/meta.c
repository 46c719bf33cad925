/* The `meta` database: short names to small values, and the chain head. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"
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
    mrc = sfj__entries_get(j, cur, &k, &v, MDB_LAST);
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
    if (!sfj__entry_seq(j, &k, last_seq)) {
        sfj__set_err(j, "the last entry's key is damaged");
        rc = SFJ_ECORRUPT;
        goto done;
    }
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

int sfj__keyhist_load(sfj_journal *j, MDB_txn *txn)
{
    MDB_val k = name_key(SFJ__META_KEYS), v;
    uint8_t *hist;
    size_t n, i;
    int mrc = mdb_get(txn, j->db_meta, &k, &v);

    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return sfj__mdb_rc(j, mrc, SFJ__META_KEYS);
    n = mrc == MDB_NOTFOUND ? 1 : v.mv_size / SFJ__KEYHIST_ENTRY;
    if (mrc == MDB_SUCCESS && (v.mv_size % SFJ__KEYHIST_ENTRY != 0 || n < 2 ||
                               n > SFJ__KEYHIST_MAX)) {
        sfj__set_err(j, "meta %s has a bad size", SFJ__META_KEYS);
        return SFJ_ECORRUPT;
    }
    hist = malloc(n * SFJ__KEYHIST_ENTRY);
    if (hist == NULL)
        return SFJ_ENOMEM;
    if (mrc == MDB_NOTFOUND) {
        sfj__put_u32(hist, j->epoch);
        memcpy(hist + 4, j->pubkey, 32);
    } else {
        memcpy(hist, v.mv_data, v.mv_size);
    }
    /* Epochs only grow, by one per rotation, and the newest is the one in
     * force with the stored public key. */
    for (i = 1; i < n; i++)
        if (sfj__get_u32(hist + i * SFJ__KEYHIST_ENTRY) !=
            sfj__get_u32(hist + (i - 1) * SFJ__KEYHIST_ENTRY) + 1)
            break;
    if (i < n ||
        sfj__get_u32(hist + (n - 1) * SFJ__KEYHIST_ENTRY) != j->epoch ||
        memcmp(hist + (n - 1) * SFJ__KEYHIST_ENTRY + 4, j->pubkey, 32) != 0) {
        free(hist);
        sfj__set_err(j, "meta %s does not end at the current epoch and key",
                     SFJ__META_KEYS);
        return SFJ_ECORRUPT;
    }
    free(j->keyhist);
    j->keyhist = hist;
    j->keyhist_n = n;
    return SFJ_OK;
}

int sfj__keyhist_put(sfj_journal *j, MDB_txn *txn, const uint8_t *base,
                     size_t base_n, uint32_t epoch, const uint8_t *pk,
                     uint8_t **hist, size_t *n)
{
    uint8_t *h;
    int rc;

    *hist = NULL;
    *n = 0;
    if (base_n >= SFJ__KEYHIST_MAX)
        return SFJ_ELIMIT;
    h = malloc((base_n + 1) * SFJ__KEYHIST_ENTRY);
    if (h == NULL)
        return SFJ_ENOMEM;
    memcpy(h, base, base_n * SFJ__KEYHIST_ENTRY);
    sfj__put_u32(h + base_n * SFJ__KEYHIST_ENTRY, epoch);
    memcpy(h + base_n * SFJ__KEYHIST_ENTRY + 4, pk, 32);
    rc = sfj__meta_put(j, txn, SFJ__META_KEYS, h,
                       (base_n + 1) * SFJ__KEYHIST_ENTRY);
    if (rc == SFJ_OK)
        rc = sfj__meta_put_u64(j, txn, SFJ__META_EPOCH, epoch);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_PUBKEY, pk, 32);
    if (rc != SFJ_OK) {
        free(h);
        return rc;
    }
    *hist = h;
    *n = base_n + 1;
    return SFJ_OK;
}

void sfj__keyhist_commit(sfj_journal *j, uint8_t *hist, size_t n)
{
    const uint8_t *last = hist + (n - 1) * SFJ__KEYHIST_ENTRY;

    pthread_mutex_lock(&j->lock);
    free(j->keyhist);
    j->keyhist = hist;
    j->keyhist_n = n;
    j->epoch = sfj__get_u32(last);
    memcpy(j->pubkey, last + 4, sizeof j->pubkey);
    pthread_mutex_unlock(&j->lock);
}

int sfj__journal_pubkey_of(sfj_journal *j, uint32_t epoch, uint8_t *out)
{
    int rc = SFJ_ENOTFOUND;
    size_t i;

    pthread_mutex_lock(&j->lock);
    for (i = 0; i < j->keyhist_n; i++) {
        if (sfj__get_u32(j->keyhist + i * SFJ__KEYHIST_ENTRY) == epoch) {
            memcpy(out, j->keyhist + i * SFJ__KEYHIST_ENTRY + 4, 32);
            rc = SFJ_OK;
            break;
        }
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}
