/* Baseline: raw LMDB, one mdb_put of the 256-byte payload per write
 * transaction, default flags (so each commit syncs data and meta page,
 * as sfj's do), keys as sfj's (u64 big-endian, MDB_APPEND). */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct bench_lmdb {
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t seq;
    char *dir;
};

/* The next seq's entry: the payload of op `i`, key as sfj's. */
static int put_next(bench_lmdb *c, MDB_txn *txn, uint64_t i)
{
    uint8_t kb[8], payload[BENCH_PAYLOAD_BYTES];
    uint64_t seq = ++c->seq;
    MDB_val k = {sizeof kb, kb}, v = {sizeof payload, payload};

    bench_payload(payload, i);
    for (int b = 0; b < 8; b++)
        kb[b] = (uint8_t)(seq >> (56 - 8 * b));
    return mdb_put(txn, c->dbi, &k, &v, MDB_APPEND);
}

int bench_lmdb_op(void *arg, int tid, uint64_t i)
{
    bench_lmdb *c = arg;
    MDB_txn *txn;
    int mrc;

    (void)tid;
    mrc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (mrc != MDB_SUCCESS)
        goto fail;
    mrc = put_next(c, txn, i);
    if (mrc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        goto fail;
    }
    mrc = mdb_txn_commit(txn);
    if (mrc == MDB_SUCCESS)
        return 0;
fail:
    bench_fail("lmdb baseline", mdb_strerror(mrc));
    return -1;
}

/* `n` entries as the run writes them, 10,000 a commit. */
static int prefill(bench_lmdb *c, uint64_t n)
{
    MDB_txn *txn = NULL;
    int mrc = MDB_SUCCESS;

    while (c->seq < n && mrc == MDB_SUCCESS) {
        if (txn == NULL &&
            (mrc = mdb_txn_begin(c->env, NULL, 0, &txn)) != MDB_SUCCESS)
            break;
        mrc = put_next(c, txn, c->seq);
        if (mrc == MDB_SUCCESS && (c->seq % 10000 == 0 || c->seq == n)) {
            mrc = mdb_txn_commit(txn);
            txn = NULL;
        }
    }
    if (txn != NULL)
        mdb_txn_abort(txn);
    return mrc;
}

void bench_lmdb_close(const bench_opts *o, bench_lmdb *c)
{
    if (c == NULL)
        return;
    if (c->env != NULL)
        mdb_env_close(c->env);
    if (!o->keep)
        bench_rmrf(c->dir);
    free(c->dir);
    free(c);
}

int bench_lmdb_open(const bench_opts *o, bench_lmdb **out)
{
    bench_lmdb *c = calloc(1, sizeof *c);
    MDB_txn *txn;
    int mrc, rc = -1;
    uint64_t i;

    *out = NULL;
    if (c == NULL)
        return -1;
    c->dir = bench_path(o->dir, o->prefill > 0 ? "append-lmdb-grown"
                                : o->lmdb_main ? "append-lmdb-main"
                                               : "append-lmdb");
    if (bench_mkdir(c->dir) != 0) {
        bench_fail(c->dir, "cannot create");
        bench_lmdb_close(o, c);
        return -1;
    }
    mrc = mdb_env_create(&c->env);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_mapsize(c->env, (size_t)1 << 30);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_set_maxdbs(c->env, 4);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_env_open(c->env, c->dir, 0, 0600);
    if (mrc == MDB_SUCCESS)
        mrc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (mrc == MDB_SUCCESS) {
        mrc = mdb_dbi_open(txn, o->lmdb_main ? NULL : "entries", MDB_CREATE,
                           &c->dbi);
        if (mrc == MDB_SUCCESS)
            mrc = mdb_txn_commit(txn);
        else
            mdb_txn_abort(txn);
    }
    if (mrc != MDB_SUCCESS) {
        bench_fail("lmdb baseline", mdb_strerror(mrc));
        bench_lmdb_close(o, c);
        return -1;
    }
    if (o->prefill > 0 && prefill(c, o->prefill) != MDB_SUCCESS) {
        bench_fail("lmdb baseline", "cannot grow the database");
        bench_lmdb_close(o, c);
        return -1;
    }
    /* Warm up as sfj's run does. */
    for (i = 0, rc = 0; i < 20 && rc == 0; i++)
        rc = bench_lmdb_op(c, 0, i);
    *out = c;
    return rc;
}

int bench_append_lmdb(const bench_opts *o, bench_rate *out)
{
    bench_lmdb *c;
    int rc = bench_lmdb_open(o, &c);

    if (rc == 0)
        rc = bench_run(1, bench_seconds(o), o->ops, bench_lmdb_op, c, out);
    bench_lmdb_close(o, c);
    return rc;
}
