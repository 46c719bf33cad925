/* sfj_txn_id_new and sfj_txn_get. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/abi.h"
#include "common/clock.h"
#include "crypto/keys.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
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

int sfj_txn_id_short(char *out, size_t cap)
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint64_t v = ((uint64_t)sfj__now_ms() / 1000) & ((1u << 30) - 1);
    uint32_t rnd;
    int i;

    if (out == NULL)
        return SFJ_EINVAL;
    if (cap < SFJ_TXN_ID_SHORT_LEN + 1)
        return SFJ_EBUFS;
    if (sfj__sodium_init() < 0)
        return SFJ_ENOMEM;
    /* 30 bits of seconds (wrapping every 34 years), then 30 random bits:
     * two ids collide only within one second, one time in 2^30. */
    rnd = randombytes_uniform(1u << 30);
    v = v << 30 | rnd;
    for (i = SFJ_TXN_ID_SHORT_LEN - 1; i >= 0; i--) {
        out[i] = b32[v & 31];
        v >>= 5;
    }
    out[SFJ_TXN_ID_SHORT_LEN] = '\0';
    return SFJ_OK;
}

/* Bytes of an sfj_txn of version `v` (1..SFJ_TXN_VERSION): a newer layout
 * only appends fields, and a caller gets those of its version. */
static size_t txn_size(unsigned v)
{
    (void)v; /* one version so far */
    return sizeof(sfj_txn);
}

int sfj_txn_get(sfj_journal *j, const char *txn_id, sfj_txn *out)
{
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    uint64_t wm = 0;
    sfj__txnrec r;
    MDB_txn *txn;
    sfj_txn all;
    unsigned v = 0;
    int rc, acked = 0;

    if (out != NULL) {
        v = out->version;
        if (!SFJ__VERSION_OK(v, SFJ_TXN_VERSION))
            return SFJ_EVERSION;
        memset(out, 0, txn_size(v));
        out->version = v;
    }
    if (j == NULL || txn_id == NULL || out == NULL || txn_id[0] == '\0' ||
        strlen(txn_id) > SFJ_TXN_ID_MAX)
        return SFJ_EINVAL;
    if (j->keys == NULL || j->mirror)
        return SFJ_ESTATE;
    sfj__txn_hash(j->keys, txn_id, hash);
    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txnrec_get(j, txn, hash, &r);
    if (rc == SFJ_OK && r.state == SFJ__TS_OFFLINE) {
        rc = sfj__meta_get_u64(j, txn, SFJ__META_WATERMARK, &wm);
        if (rc == SFJ_OK)
            rc = sfj__seq_acked(j, txn, wm, r.offline_seq, &acked);
    }
    sfj__txi_read_end(j, txn);
    if (rc == SFJ_OK) {
        sfj__txn_public(j, &r, acked, &all);
        all.version = v;
        memcpy(out, &all, txn_size(v));
    }
    return rc;
}
