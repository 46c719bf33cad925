/* Baseline: SQLite in WAL mode with synchronous=FULL (the WAL is synced
 * at every commit, so a returned insert is durable), one INSERT of the
 * 256-byte payload per transaction.
 *
 * With several threads they share one connection in SQLite's serialized
 * mode, which makes the inserts take turns. That is SQLite's best case
 * here: a connection per thread with sqlite3_busy_timeout does worse,
 * because a writer that finds the lock taken sleeps for milliseconds
 * (measured on this machine: 8 threads about a third of 1 thread's rate
 * with p99.9 over 600 ms, 32 threads under 200 inserts/s). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef struct conn {
    sqlite3 *db;
    sqlite3_stmt *ins;
} conn;

typedef conn ctx;

static int one(void *arg, int tid, uint64_t i)
{
    conn *c = arg;
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    int src;

    bench_payload(payload, (uint64_t)tid * 1000003u + i);
    /* The statement is shared too: bind, step and reset as one unit. */
    sqlite3_mutex_enter(sqlite3_db_mutex(c->db));
    sqlite3_bind_blob(c->ins, 1, payload, sizeof payload, SQLITE_TRANSIENT);
    src = sqlite3_step(c->ins);
    sqlite3_reset(c->ins);
    sqlite3_mutex_leave(sqlite3_db_mutex(c->db));
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
                            SQLITE_OPEN_FULLMUTEX,
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
    int rc = 0;

    if (c == NULL)
        return -1;
    snprintf(name, sizeof name, "append-sqlite-%dt", threads);
    dir = bench_path(o->dir, name);
    path = bench_path(dir, "bench.db");
    if (bench_mkdir(dir) != 0) {
        bench_fail(dir, "cannot create");
        rc = -1;
    }
    if (rc == 0)
        rc = conn_open(c, path);
    for (i = 0; i < 20 && rc == 0; i++)
        rc = one(c, 0, 1000000000u + i);
    if (rc == 0)
        rc = bench_run(threads, bench_seconds(o), o->ops, one, c, out);
    sqlite3_finalize(c->ins);
    sqlite3_close(c->db);
    if (!o->keep)
        bench_rmrf(dir);
    free(path);
    free(dir);
    free(c);
    return rc;
}
