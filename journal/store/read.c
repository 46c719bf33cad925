/* Reading entries: short read-only transactions, values copied out of the
 * map before they are decoded, damaged data never returned. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

int sfj__read_begin(sfj_journal *j, MDB_txn **txn)
{
    int mrc;

    pthread_rwlock_rdlock(&j->maplock);
    mrc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, txn);
    if (mrc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size, then retry. */
        pthread_rwlock_unlock(&j->maplock);
        pthread_rwlock_wrlock(&j->maplock);
        mdb_env_set_mapsize(j->env, 0);
        pthread_rwlock_unlock(&j->maplock);
        pthread_rwlock_rdlock(&j->maplock);
        mrc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, txn);
    }
    if (mrc != MDB_SUCCESS) {
        pthread_rwlock_unlock(&j->maplock);
        *txn = NULL;
        return sfj__mdb_rc(j, mrc, "mdb_txn_begin(read)");
    }
    return SFJ_OK;
}

void sfj__read_end(sfj_journal *j, MDB_txn *txn)
{
    if (txn != NULL)
        mdb_txn_abort(txn);
    pthread_rwlock_unlock(&j->maplock);
}

int sfj__read_copy(sfj_journal *j, MDB_dbi dbi, MDB_val *k, const char *what,
                   uint8_t **out, size_t *len)
{
    MDB_txn *txn;
    MDB_val v;
    int rc, mrc;

    *out = NULL;
    *len = 0;
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    mrc = mdb_get(txn, dbi, k, &v);
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, what);
        goto done;
    }
    *out = malloc(v.mv_size ? v.mv_size : 1);
    if (*out == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    memcpy(*out, v.mv_data, v.mv_size);
    *len = v.mv_size;
done:
    sfj__read_end(j, txn);
    return rc;
}

int sfj__seq_held(sfj_journal *j, MDB_txn *txn, MDB_dbi dbi, uint64_t seq,
                  const char *what, int *found)
{
    uint8_t kbuf[8];
    MDB_val k = sfj__seq_key(kbuf, seq), v;

    return sfj__mdb_found(j, mdb_get(txn, dbi, &k, &v), what, found);
}

int sfj__journal_read_sealed(sfj_journal *j, uint64_t seq, uint8_t **out,
                             size_t *len)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(j, kbuf, seq);

    return sfj__read_copy(j, j->db_entries, &k, "entry", out, len);
}

int sfj__entry_from_record(sfj_journal *j, uint64_t seq, const uint8_t *rec,
                           size_t len, sfj_entry **out)
{
    uint8_t rkey[SFJ_KEY_BYTES];
    sfj__rec_hdr h;
    sfj_entry *e = NULL;
    int rc;

    *out = NULL;
    rc = sfj__rec_hdr_decode(rec, len, &h);
    if (rc == SFJ_OK && h.seq != seq)
        rc = SFJ_ECORRUPT; /* a record moved to another key */
    if (rc != SFJ_OK) {
        sfj__set_err(j, "entry %llu: damaged header", (unsigned long long)seq);
        return rc;
    }
    if (sfj__rec_is_clear(h.kind)) {
        uint8_t pk[32];

        e = sfj__secmem_alloc(sizeof *e);
        if (e == NULL)
            return SFJ_ENOMEM;
        rc = sfj__record_peek(rec, len, e);
        /* Signed by the key of the epoch it was written in. */
        if (rc == SFJ_OK && sfj__journal_pubkey_of(j, h.epoch, pk) != SFJ_OK)
            rc = SFJ_ECORRUPT;
        if (rc == SFJ_OK)
            rc = h.kind == SFJ_EV_CHECKPOINT
                     ? sfj__rec_checkpoint_verify(j->journal_id, pk, rec, len,
                                                  NULL)
                     : sfj__rec_rotation_verify(j->journal_id, pk, rec, len,
                                                NULL, NULL);
        goto done;
    }
    if (j->keys == NULL) {
        sfj__set_err(j, "journal opened without a key");
        rc = SFJ_ESTATE;
        goto done;
    }
    /* The current epoch's key is kept on the handle (a mirror's reader
     * may not hold it); other epochs are opened with the key of their
     * epoch in the ring. */
    if (h.epoch == j->epoch && j->epoch_key != NULL) {
        sfj__rec_key(j->epoch_key, rec, rkey);
        rc = sfj__rec_open(j->journal_id, rkey, j->dict, rec, len, &e);
    } else if (sfj__journal_pubkey_of(j, h.epoch, rkey) != SFJ_OK) {
        /* No writer sealed under an epoch this journal never had. */
        rc = SFJ_ECORRUPT;
    } else {
        rc = sfj__record_open_ring(j->keys, j->journal_id, j->dict, rec, len,
                                   &e, rkey);
        if (rc == SFJ_ENOKEY) {
            sfj__set_err(j,
                         "entry %llu is sealed under key epoch %u: give that "
                         "epoch's key file too",
                         (unsigned long long)seq, (unsigned)h.epoch);
            return rc;
        }
    }
    sodium_memzero(rkey, sizeof rkey);
done:
    if (rc != SFJ_OK && (h.flags & SFJ_REC_F_DICTJ) && j->dict == NULL) {
        if (j->dict_epoch != 0) {
            /* Not damage: a key is missing. */
            sfj__set_err(j,
                         "entry %llu is compressed with the journal's "
                         "dictionary, sealed under key epoch %u: give that "
                         "epoch's key file too",
                         (unsigned long long)seq, (unsigned)j->dict_epoch);
            rc = SFJ_ENOKEY;
        } else {
            sfj__set_err(j,
                         "entry %llu is compressed with a journal dictionary "
                         "this journal does not hold (meta dict)",
                         (unsigned long long)seq);
        }
        sfj_entry_free(e);
        return rc;
    }
    if (rc != SFJ_OK) {
        sfj__set_err(j, "entry %llu: %s", (unsigned long long)seq,
                     sfj_strerror(rc));
        sfj_entry_free(e);
        return rc;
    }
    *out = e;
    return SFJ_OK;
}

int sfj_read(sfj_journal *j, uint64_t seq, sfj_entry **out)
{
    uint8_t *rec = NULL;
    size_t len = 0;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (j == NULL || out == NULL || seq == 0)
        return SFJ_EINVAL;
    rc = sfj__journal_read_sealed(j, seq, &rec, &len);
    if (rc == SFJ_OK)
        rc = sfj__entry_from_record(j, seq, rec, len, out);
    free(rec);
    return rc;
}

int sfj__journal_head(sfj_journal *j, uint64_t *last_seq, uint8_t *chain)
{
    MDB_txn *txn;
    uint8_t head[SFJ_HASH_BYTES];
    uint64_t last = 0;
    int rc = sfj__read_begin(j, &txn);

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__load_head(j, txn, &last, head);
    sfj__read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    if (last_seq != NULL)
        *last_seq = last;
    if (chain != NULL)
        memcpy(chain, head, sizeof head);
    return SFJ_OK;
}

int sfj__prune_anchor(sfj_journal *j, MDB_txn *txn, const uint8_t *pk,
                      uint64_t *seq, uint8_t *hash, int *sig)
{
    MDB_val k, v;
    int rc, mrc;

    *sig = SFJ__ANCHOR_FORGED;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, seq);
    if (rc != SFJ_OK || *seq == 0)
        return rc;
    k.mv_data = (void *)SFJ__META_PRUNE_HASH;
    k.mv_size = strlen(SFJ__META_PRUNE_HASH);
    mrc = mdb_get(txn, j->db_meta, &k, &v);
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        return sfj__mdb_rc(j, mrc, "prune anchor");
    if (mrc == MDB_NOTFOUND || v.mv_size != SFJ_HASH_BYTES)
        return SFJ_OK;
    memcpy(hash, v.mv_data, SFJ_HASH_BYTES);
    k.mv_data = (void *)SFJ__META_PRUNE_SIG;
    k.mv_size = strlen(SFJ__META_PRUNE_SIG);
    mrc = mdb_get(txn, j->db_meta, &k, &v);
    if (mrc == MDB_NOTFOUND)
        *sig = SFJ__ANCHOR_UNSIGNED;
    else if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "prune anchor");
    else if (v.mv_size == crypto_sign_BYTES &&
             sfj__prune_verify(j->journal_id, *seq, hash, v.mv_data, pk) ==
                 SFJ_OK)
        *sig = SFJ__ANCHOR_SIGNED;
    return SFJ_OK;
}

int sfj__journal_chain_at(sfj_journal *j, uint64_t seq, uint8_t *out)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    MDB_val k = sfj__entry_key(j, kbuf, seq), v;
    MDB_txn *txn;
    sfj__rec_hdr h;
    uint64_t prune_seq = 0;
    int rc, mrc;

    if (seq == 0) {
        sfj__chain_genesis(j->journal_id, out);
        return SFJ_OK;
    }
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    mrc = mdb_get(txn, j->db_entries, &k, &v);
    if (mrc == MDB_SUCCESS) {
        rc = sfj__rec_chain(v.mv_data, v.mv_size, out);
        goto done;
    }
    if (mrc != MDB_NOTFOUND) {
        rc = sfj__mdb_rc(j, mrc, "entry");
        goto done;
    }
    /* Below the oldest entry: the prune anchor, when seq is the prune
     * point, or else the prev_chain of the entry after seq. */
    rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, &prune_seq);
    if (rc != SFJ_OK)
        goto done;
    if (prune_seq == seq) {
        k.mv_data = (void *)SFJ__META_PRUNE_HASH;
        k.mv_size = strlen(SFJ__META_PRUNE_HASH);
        mrc = mdb_get(txn, j->db_meta, &k, &v);
        if (mrc != MDB_SUCCESS || v.mv_size != SFJ_HASH_BYTES)
            rc = SFJ_ECORRUPT;
        else
            memcpy(out, v.mv_data, SFJ_HASH_BYTES);
        goto done;
    }
    k = sfj__entry_key(j, kbuf, seq + 1);
    mrc = mdb_get(txn, j->db_entries, &k, &v);
    if (mrc != MDB_SUCCESS) {
        rc = mrc == MDB_NOTFOUND ? SFJ_ENOTFOUND : sfj__mdb_rc(j, mrc, "entry");
        goto done;
    }
    rc = sfj__rec_hdr_decode(v.mv_data, v.mv_size, &h);
    if (rc == SFJ_OK)
        memcpy(out, h.prev_chain, SFJ_HASH_BYTES);
done:
    sfj__read_end(j, txn);
    return rc;
}

const sfj_keys *sfj__journal_keys(sfj_journal *j)
{
    return j->keys;
}

int sfj_journal_terminal_id(sfj_journal *j, char *out, size_t cap)
{
    size_t n;

    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    n = strlen(j->terminal_id);
    if (cap < n + 1)
        return SFJ_EBUFS;
    memcpy(out, j->terminal_id, n + 1);
    return SFJ_OK;
}

const char *sfj__journal_terminal_id(sfj_journal *j)
{
    return j->terminal_id;
}

int sfj__journal_is_mirror(sfj_journal *j)
{
    return j->mirror;
}

int sfj__journal_pubkey(sfj_journal *j, uint8_t *out)
{
    pthread_mutex_lock(&j->lock);
    memcpy(out, j->pubkey, sizeof j->pubkey);
    pthread_mutex_unlock(&j->lock);
    return SFJ_OK;
}

int sfj_journal_id(sfj_journal *j, uint8_t out[SFJ_JOURNAL_ID_BYTES])
{
    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    memcpy(out, j->journal_id, SFJ_JOURNAL_ID_BYTES);
    return SFJ_OK;
}
