/* The database side of the fleet benchmark: a private database per row on
 * the server the user named, its process tree's CPU, the rows that
 * arrived, and the database's own limit (batched INSERTs of rows shaped
 * like sfj-host's sfj_entry, with the same durability). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "fleet.h"

/* utime + stime of `who` in seconds, and its parent; with `reaped` also
 * the CPU of its children that ended and were waited for (cutime +
 * cstime); -1 when gone. */
static double stat_secs(pid_t who, int *ppid, int reaped)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st, cut, cst;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)who);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    /* After the command name in parentheses: state, ppid, ..., utime,
     * stime, cutime and cstime (fields 14 to 17). */
    if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2,
               "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu "
               "%llu",
               ppid, &ut, &st, &cut, &cst) != 5)
        return -1;
    if (!reaped)
        cut = cst = 0;
    return (double)(ut + st + cut + cst) / (double)sysconf(_SC_CLK_TCK);
}

double fleet_cpu_secs(pid_t pid, int children)
{
    struct dirent *d;
    double total, s;
    DIR *dir;
    int ppid;
    pid_t who;

    if (pid <= 0 || (total = stat_secs(pid, &ppid, children)) < 0)
        return -1;
    if (!children || (dir = opendir("/proc")) == NULL)
        return total;
    while ((d = readdir(dir)) != NULL) {
        who = (pid_t)atoi(d->d_name);
        if (who > 0 && who != pid && (s = stat_secs(who, &ppid, 1)) >= 0 &&
            ppid == pid)
            total += s;
    }
    closedir(dir);
    return total;
}

#ifdef SFJ_HAVE_LIBPQ
#include <libpq-fe.h>

#include "pg_array.h"

/* `url` with its database replaced by `db` (NULL: unchanged), as a
 * key=value connection string (malloc'd). */
static char *with_db(const char *url, const char *db)
{
    PQconninfoOption *o = PQconninfoParse(url, NULL), *k;
    size_t cap = 64, len = 0;
    char *s, *v;

    if (o == NULL)
        return NULL;
    for (k = o; k->keyword != NULL; k++)
        cap += strlen(k->keyword) + 2 * (k->val ? strlen(k->val) : 0) + 8;
    cap += db != NULL ? 2 * strlen(db) + 16 : 0;
    s = malloc(cap);
    if (s != NULL) {
        s[0] = '\0';
        for (k = o; k->keyword != NULL; k++) {
            v = strcmp(k->keyword, "dbname") == 0 && db != NULL ? (char *)db
                                                                : k->val;
            if (v == NULL || v[0] == '\0')
                continue;
            len += (size_t)snprintf(s + len, cap - len, "%s='", k->keyword);
            for (; *v != '\0'; v++) {
                if (*v == '\'' || *v == '\\')
                    s[len++] = '\\';
                s[len++] = *v;
            }
            len += (size_t)snprintf(s + len, cap - len, "' ");
        }
        if (db != NULL && strstr(s, "dbname=") == NULL)
            snprintf(s + len, cap - len, "dbname='%s'", db);
    }
    PQconninfoFree(o);
    return s;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static PGconn *connect_to(const char *url)
{
    PGconn *c = PQconnectdb(url);

    if (PQstatus(c) != CONNECTION_OK) {
        bench_fail("PostgreSQL", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL); /* "does not exist, skipping" */
    return c;
}

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
             PQresultStatus(r) == PGRES_TUPLES_OK;

    if (!ok)
        bench_fail(sql, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

int fleet_pg_create(const char *url, const char *name, char **out)
{
    PGconn *c = connect_to(url);
    char sql[160];
    int rc = -1;

    *out = NULL;
    if (c == NULL)
        return -1;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    if (exec_ok(c, sql) == 0) {
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
        rc = exec_ok(c, sql);
    }
    PQfinish(c);
    if (rc == 0 && (*out = with_db(url, name)) == NULL)
        rc = -1;
    return rc;
}

void fleet_pg_drop(const char *url, const char *name)
{
    PGconn *c = connect_to(url);
    char sql[160];

    if (c == NULL)
        return;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    (void)exec_ok(c, sql);
    PQfinish(c);
}

pid_t fleet_pg_postmaster(const char *url)
{
    PGconn *c = connect_to(url);
    PGresult *r;
    char path[4200], line[32] = "";
    FILE *f = NULL;

    if (c == NULL)
        return 0;
    r = PQexec(c, "SHOW data_directory");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        snprintf(path, sizeof path, "%s/postmaster.pid", PQgetvalue(r, 0, 0));
        f = fopen(path, "r");
    }
    PQclear(r);
    PQfinish(c);
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    return (pid_t)atoi(line);
}

int64_t fleet_pg_count(const char *url)
{
    PGconn *c = connect_to(url);
    PGresult *r;
    int64_t n = -1;

    if (c == NULL)
        return -1;
    r = PQexec(c, "SELECT count(*) FROM sfj_entry");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

/* One batch of the limit's rows in the VALUES form: a statement of
 * 3 x batch parameters, parsed and planned by the server each time. */
static int limit_values(PGconn *c, const char *sql, size_t batch,
                        const char **vals, const int *lens, const int *fmts)
{
    PGresult *r =
        PQexecParams(c, sql, (int)(3 * batch), NULL, vals, lens, fmts, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

    if (!ok)
        bench_fail("batched INSERT", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* The same batch in the form sfj-host sends (store_pg.c): a statement
 * prepared once, its three columns as binary array parameters. */
static int limit_prepared(PGconn *c, size_t batch, const char **vals,
                          const int *lens, sfj__pg_array arr[3])
{
    const char *pv[3];
    int pl[3], pf[3] = {1, 1, 1}, i, ok;
    size_t k;
    PGresult *r;

    if (sfj__pg_array_start(&arr[0], SFJ__PG_OID_BYTEA) != 0 ||
        sfj__pg_array_start(&arr[1], SFJ__PG_OID_INT8) != 0 ||
        sfj__pg_array_start(&arr[2], SFJ__PG_OID_BYTEA) != 0)
        goto nomem;
    for (k = 0; k < 3 * batch; k++)
        if (sfj__pg_array_add(&arr[k % 3], vals[k], (size_t)lens[k]) != 0)
            goto nomem;
    for (i = 0; i < 3; i++) {
        pv[i] = (const char *)arr[i].b;
        pl[i] = (int)arr[i].len;
    }
    r = PQexecPrepared(c, "bench_ins", 3, pv, pl, pf, 0);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        bench_fail("prepared INSERT", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
nomem:
    bench_fail("prepared INSERT", "out of memory for its array parameters");
    return -1;
}

int fleet_pg_limit(const char *url, int prepared, size_t row_bytes,
                   size_t batch, double secs, double *eps)
{
    static const Oid types[3] = {SFJ__PG_OID_BYTEA_ARRAY,
                                 SFJ__PG_OID_INT8_ARRAY,
                                 SFJ__PG_OID_BYTEA_ARRAY};
    PGconn *c = connect_to(url);
    const char **vals = NULL;
    int *lens = NULL, *fmts = NULL, rc = -1;
    uint8_t *rows = NULL, *jids = NULL;
    char *sql = NULL, (*seqs)[8] = NULL;
    size_t i, len, cap = 128 + batch * 24;
    uint64_t done = 0, seq = 1;
    sfj__pg_array arr[3] = {{0}};
    PGresult *r;
    double t0;

    *eps = -1;
    if (c == NULL)
        return -1;
    vals = calloc(3 * batch, sizeof *vals);
    lens = calloc(3 * batch, sizeof *lens);
    fmts = calloc(3 * batch, sizeof *fmts);
    rows = malloc(batch * row_bytes);
    seqs = calloc(batch, sizeof *seqs);
    jids = calloc(batch, 16);
    sql = malloc(cap);
    if (vals == NULL || lens == NULL || fmts == NULL || rows == NULL ||
        seqs == NULL || jids == NULL || sql == NULL)
        goto done;
    /* Durability as sfj-host's own commits: synchronous_commit on (and
     * the server's fsync, which is what it is). Each form has a table of
     * its own, so that neither inserts into the other's grown index. */
    if (exec_ok(c, "SET synchronous_commit = on") != 0 ||
        exec_ok(c,
                prepared
                    ? "CREATE TABLE IF NOT EXISTS bench_entry_prepared ("
                      " journal_id bytea NOT NULL, seq bigint NOT NULL,"
                      " rec bytea NOT NULL, PRIMARY KEY (journal_id, seq))"
                    : "CREATE TABLE IF NOT EXISTS bench_entry ("
                      " journal_id bytea NOT NULL, seq bigint NOT NULL,"
                      " rec bytea NOT NULL, PRIMARY KEY (journal_id, seq))") !=
            0)
        goto done;
    if (prepared) {
        /* As sfj-host's store: planned once, generic plan. */
        if (exec_ok(c, "SET plan_cache_mode = force_generic_plan") != 0)
            goto done;
        r = PQprepare(c, "bench_ins",
                      "INSERT INTO bench_entry_prepared (journal_id, seq, rec) "
                      "SELECT * FROM unnest($1::bytea[], $2::bigint[], "
                      "$3::bytea[])",
                      3, types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            bench_fail("PREPARE", PQerrorMessage(c));
            PQclear(r);
            goto done;
        }
        PQclear(r);
    }
    len = (size_t)snprintf(sql, cap,
                           "INSERT INTO bench_entry (journal_id, seq, rec) "
                           "VALUES ");
    for (i = 0; i < batch; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s($%zu,$%zu,$%zu)",
                                i ? "," : "", 3 * i + 1, 3 * i + 2, 3 * i + 3);
    for (i = 0; i < batch * row_bytes; i++)
        rows[i] = (uint8_t)(i * 131 + 7);
    t0 = bench_now();
    while (bench_now() - t0 < secs) {
        for (i = 0; i < batch; i++, seq++) {
            int b;

            /* A different journal per row, as the gateway's batches
             * carry many terminals. */
            memset(jids + 16 * i, 0x5a, 16);
            jids[16 * i] = (uint8_t)(i & 0xff);
            jids[16 * i + 1] = (uint8_t)(i >> 8);
            for (b = 0; b < 8; b++)
                seqs[i][b] = (char)(seq >> (56 - 8 * b));
            vals[3 * i] = (const char *)jids + 16 * i;
            lens[3 * i] = 16;
            vals[3 * i + 1] = seqs[i];
            lens[3 * i + 1] = 8;
            vals[3 * i + 2] = (const char *)rows + i * row_bytes;
            lens[3 * i + 2] = (int)row_bytes;
            fmts[3 * i] = fmts[3 * i + 1] = fmts[3 * i + 2] = 1;
        }
        if (exec_ok(c, "BEGIN") != 0 ||
            (prepared ? limit_prepared(c, batch, vals, lens, arr)
                      : limit_values(c, sql, batch, vals, lens, fmts)) != 0 ||
            exec_ok(c, "COMMIT") != 0)
            goto done;
        done += batch;
    }
    *eps = (double)done / (bench_now() - t0);
    rc = 0;
done:
    for (i = 0; i < 3; i++)
        sfj__pg_array_free(&arr[i]);
    free(vals);
    free(lens);
    free(fmts);
    free(rows);
    free(seqs);
    free(jids);
    free(sql);
    PQfinish(c);
    return rc;
}

#else /* without libpq: the PostgreSQL rows are not measured */

int fleet_pg_create(const char *url, const char *name, char **out)
{
    (void)url;
    (void)name;
    *out = NULL;
    bench_fail("--store postgresql", "this sfj-bench was built without libpq");
    return -1;
}

void fleet_pg_drop(const char *url, const char *name)
{
    (void)url;
    (void)name;
}

pid_t fleet_pg_postmaster(const char *url)
{
    (void)url;
    return 0;
}

int64_t fleet_pg_count(const char *url)
{
    (void)url;
    return -1;
}

int fleet_pg_limit(const char *url, int prepared, size_t row_bytes,
                   size_t batch, double secs, double *eps)
{
    (void)url;
    (void)prepared;
    (void)row_bytes;
    (void)batch;
    (void)secs;
    *eps = -1;
    return -1;
}

#endif
