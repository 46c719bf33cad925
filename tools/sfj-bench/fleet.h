/* sfj-bench fleet: many simulated terminals against sfj-host gateways
 * (fleet.c), the database's own limit and its CPU (fleet_pg.c). */
#ifndef SFJ_BENCH_FLEET_H
#define SFJ_BENCH_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FLEET_STORES_MAX 4

/* One fleet row: what the terminals saw and what the gateways and the
 * database spent. A figure not measured is -1. */
typedef struct fleet_row {
    const char *store; /* "lmdb" or "postgresql" */
    int gateways;
    unsigned terminals, held, failed, exhausted;
    uint64_t sent, acked, stored;
    double secs, eps, p50_ms, p99_ms;
    double gw_cpu_us, db_cpu_us, bench_cpu_us; /* per entry */
} fleet_row;

/* ---- PostgreSQL helpers (fleet_pg.c; stubs without libpq) ---- */
/* A fresh database `name` on the server of `url`, and the connection
 * string that names it (malloc'd) in *out. 0 or -1 (logged). */
int fleet_pg_create(const char *url, const char *name, char **out);
/* Drop database `name` again (best effort). */
void fleet_pg_drop(const char *url, const char *name);
/* The postmaster of the server behind `url`, from its data directory's
 * postmaster.pid (readable when the server runs on this machine as us or
 * we are root); 0 when unknown. */
pid_t fleet_pg_postmaster(const char *url);
/* Rows of sfj_entry in the database of `url`; -1 on error. */
int64_t fleet_pg_count(const char *url);
/* The database's own limit: batches of `batch` rows of `row_bytes`
 * shaped like sfj_entry, one transaction each with
 * synchronous_commit=on, from one connection, for `secs`; as one
 * multi-row VALUES statement, or when `prepared` as sfj-host sends
 * them (a prepared statement with binary array parameters). Rows per
 * second into *eps; 0 or -1. */
int fleet_pg_limit(const char *url, int prepared, size_t row_bytes,
                   size_t batch, double secs, double *eps);

/* CPU seconds (user + system) of process `pid` and, when `children`,
 * of every process whose parent it is, the running ones and those that
 * ended and were waited for (so that a database backend that exits
 * between two readings keeps its CPU in the sum); -1 when unreadable. */
double fleet_cpu_secs(pid_t pid, int children);

#endif
