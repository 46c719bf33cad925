/* Baseline: SQLite in WAL mode with synchronous=FULL (the WAL is synced
 * at every commit, so a returned insert is durable), one INSERT of the
 * 256-byte payload per transaction. With several threads each has its own
 * connection, as an app would, and waits on the write lock through
 * sqlite3_busy_timeout. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *ins;
} conn;

typedef struct ctx {
    conn c[BENCH_MAX_THREADS];
} ctx;

static int one(void *arg, int tid, uint64_t i)
{
    conn *c = &((ctx *)arg)->c[tid];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    int src;

    bench_payload(payload, (uint64_t)tid * 1000003u + i);
    sqlite3_bind_blob(c->ins, 1, payload, sizeof payload, SQLITE_TRANSIENT);
    src = sqlite3_step(c->ins);
    sqlite3_reset(c->ins);
    if (src != SQLITE_DONE) {
        bench_fail("sqlite baseline", sqlite3_errmsg(c->db));
        return -1;
    }
    return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        bench_fail("sqlite baseline", err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static int conn_open(conn *c, const char *path)
{
    if (sqlite3_open_v2(path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        bench_fail("sqlite3_open", c->db ? sqlite3_errmsg(c->db) : path);
        return -1;
    }
    sqlite3_busy_timeout(c->db, 10000);
    if (exec(c->db, "PRAGMA journal_mode=WAL") != 0 ||
        exec(c->db, "PRAGMA synchronous=FULL") != 0 ||
        exec(c->db, "CREATE TABLE IF NOT EXISTS entries("
                    "seq INTEGER PRIMARY KEY, rec BLOB NOT NULL)") != 0)
        return -1;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO entries(rec) VALUES(?1)", -1,
                           &c->ins, NULL) != SQLITE_OK) {
        bench_fail("sqlite baseline", sqlite3_errmsg(c->db));
        return -1;
    }
    return 0;
}

int bench_append_sqlite(const bench_opts *o, int threads, bench_rate *out)
{
    char name[40], *dir, *path;
    ctx *c = calloc(1, sizeof *c);
    uint64_t i;
    int t, rc = 0;

    if (c == NULL)
        return -1;
    snprintf(name, sizeof name, "append-sqlite-%dt", threads);
    dir = bench_path(o->dir, name);
    path = bench_path(dir, "bench.db");
    if (bench_mkdir(dir) != 0) {
        bench_fail(dir, "cannot create");
        rc = -1;
    }
    for (t = 0; t < threads && rc == 0; t++)
        rc = conn_open(&c->c[t], path);
    for (i = 0; i < 20 && rc == 0; i++)
        rc = one(c, 0, 1000000000u + i);
    if (rc == 0)
        rc = bench_run(threads, o->seconds, 0, one, c, out);
    for (t = 0; t < threads; t++) {
        sqlite3_finalize(c->c[t].ins);
        sqlite3_close(c->c[t].db);
    }
    if (!o->keep)
        bench_rmrf(dir);
    free(path);
    free(dir);
    free(c);
    return rc;
}
