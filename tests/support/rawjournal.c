/* Raw LMDB access to a journal's files; see rawjournal.h. */
#include "support/rawjournal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/bytes.h"

void sfj_test_raw_open(const char *path, sfj_test_raw *r)
{
    int mrc;

    assert_int_equal(mdb_env_create(&r->env), 0);
    mdb_env_set_maxdbs(r->env, 8);
    assert_int_equal(mdb_env_open(r->env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
    assert_int_equal(mdb_dbi_open(r->txn, "meta", 0, &r->meta), 0);
    mrc = mdb_dbi_open(r->txn, "entries", 0, &r->entries);
    r->tagged = mrc == MDB_NOTFOUND;
    if (r->tagged)
        mrc = mdb_dbi_open(r->txn, NULL, 0, &r->entries);
    assert_int_equal(mrc, 0);
}

void sfj_test_raw_close(sfj_test_raw *r)
{
    assert_int_equal(mdb_txn_commit(r->txn), 0);
    mdb_env_close(r->env);
}

MDB_val sfj_test_raw_key(sfj_test_raw *r, uint64_t seq)
{
    MDB_val k = {8, r->kbuf};

    if (r->tagged) {
        r->kbuf[0] = 0xFF;
        k.mv_size = 9;
    }
    sfj__put_u64(r->kbuf + r->tagged, seq);
    return k;
}

void sfj_test_make_format1(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;

    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 8);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "entries", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}
