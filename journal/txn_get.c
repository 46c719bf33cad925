/* sfj_txn_id_new and sfj_txn_get. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keys.h"
#include "journal/clock.h"
#include "journal/txn_index.h"
#include "sfj/errors.h"

int sfj_txn_id_new(char *out, size_t cap)
{
    uint8_t rnd[8];
    uint64_t ms = (uint64_t)sfj__now_ms();
    size_t i;

    if (out == NULL)
        return SFJ_EINVAL;
    if (cap < SFJ_TXN_ID_NEW_LEN + 1)
        return SFJ_EBUFS;
    if (sfj__sodium_init() < 0)
        return SFJ_ENOMEM;
    /* Time first, so ids sort roughly by creation; 64 random bits make
     * them unique even across terminals and clock jumps. */
    randombytes_buf(rnd, sizeof rnd);
    snprintf(out, cap, "%016llx", (unsigned long long)ms);
    for (i = 0; i < sizeof rnd; i++)
        snprintf(out + 16 + 2 * i, cap - 16 - 2 * i, "%02x", rnd[i]);
    return SFJ_OK;
}

int sfj_txn_get(sfj_journal *j, const char *txn_id, sfj_txn *out)
{
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    uint64_t wm = 0;
    sfj__txnrec r;
    MDB_txn *txn;
    int rc, acked = 0;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (j == NULL || txn_id == NULL || out == NULL || txn_id[0] == '\0' ||
        strlen(txn_id) > SFJ_TXN_ID_MAX)
        return SFJ_EINVAL;
    if (j->keys == NULL || j->mirror)
        return SFJ_ESTATE;
    sfj__txn_hash(j->keys, txn_id, hash);
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txnrec_get(j, txn, hash, &r);
    if (rc == SFJ_OK && r.state == SFJ__TS_OFFLINE) {
        rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &wm);
        if (rc == SFJ_OK)
            rc = sfj__seq_acked(j, txn, wm, r.offline_seq, &acked);
    }
    sfj__read_end(j, txn);
    if (rc == SFJ_OK)
        sfj__txn_public(j, &r, acked, out);
    return rc;
}
