/* sfj-host with the PostgreSQL store, against a real server started by
 * the test (support/pgtest.c): terminals forward through real links;
 * every entry lands in the table exactly once and byte-identical to the
 * terminal's record; the export is a mirror that sfj-dump verifies; the
 * database unreachable at start, a schema from a newer version, the
 * database gone mid-run (nothing acknowledged, everything delivered after
 * it returns), two gateways on one database with a terminal moving
 * between them and one connected to both. Skipped without libpq or the
 * server binaries. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sfj/sys/internal.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/proto_v2.h"
#include "sfj/sys/wire.h"
#include "support/coretest.h"
#include "support/dictcopy.h"
#include "support/hosttest.h"
#include "support/testutil.h"

#ifdef SFJ_HAVE_LIBPQ
#include "support/pgtest.h"

static sfj_test_pg g_pg;

static long long sfj_test_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static int g_have_pg;

typedef struct fx {
    char *dir;
    sfj_test_host host;
    sfj_test_status st;
    sfj_journal *j[2];
    sfj_keys *k[2];
    long long t0;
} fx;

static int group_setup(void **state)
{
    (void)state;
    g_have_pg = sfj_test_pg_available();
    if (g_have_pg)
        sfj_test_pg_init(&g_pg);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_have_pg)
        sfj_test_pg_cleanup(&g_pg);
    return 0;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->host.prov = sfj_test_path(f->dir, "terminals.conf");
    f->host.log = sfj_test_path(f->dir, "host.log");
    snprintf(f->host.extra, sizeof f->host.extra, "--store %s", g_pg.url);
    sfj_test_status_init(&f->st);
    f->t0 = sfj_test_mono_ms();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int i;

    sfj_test_host_stop(&f->host, SIGKILL);
    print_message("(%lld ms)\n", sfj_test_mono_ms() - f->t0);
    if (g_have_pg && g_pg.pm <= 0)
        sfj_test_pg_start(&g_pg); /* a test that failed while it was down */
    if (g_have_pg) {
        /* The next test's gateway may make the database whole again, or
         * a shard: it holds no ranges until then (test_shards). */
        PGconn *c = sfj_test_pg_connect(&g_pg, NULL);

        sfj_test_pg_exec(c, "SET client_min_messages = warning");
        sfj_test_pg_exec(c, "DROP TABLE IF EXISTS sfj_shard");
        PQfinish(c);
    }
    for (i = 0; i < 2; i++) {
        sfj_journal_close(f->j[i]);
        sfj_keys_free(f->k[i]);
    }
    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->host.prov);
    free(f->host.log);
    sfj_test_status_destroy(&f->st);
    free(f);
    return 0;
}

static void need_pg(void)
{
    if (!g_have_pg) {
        print_message("PostgreSQL server binaries not installed\n");
        skip();
    }
}

static void open_terminal(fx *f, int i, const char *tid, uint8_t seed)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    char *path = sfj_test_path(f->dir, tid);

    f->k[i] = sfj_test_keys(seed);
    o.terminal_id = tid;
    o.checkpoint_every = 64;
    assert_int_equal(sfj_journal_open(path, f->k[i], &o, &f->j[i]), 0);
    sfj_test_provision(f->host.prov, f->j[i], f->k[i], tid);
    free(path);
}

static sfj_forwarder *start_fwd(fx *f, sfj_journal *j, int port)
{
    sfj_forwarder *fw = NULL;
    char addr[64];
    sfj_forwarder_opts o = sfj_test_tcp_opts(addr, sizeof addr, port, &f->st);

    assert_int_equal(sfj_forwarder_new(j, &o, &fw), 0);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    return fw;
}

static void hexs(const uint8_t *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static uint64_t table_equal_on(const sfj_test_pg *pg, sfj_journal *j)
{
    return sfj_test_pg_table_equal(pg, j);
}

static uint64_t table_equal(sfj_journal *j)
{
    return table_equal_on(&g_pg, j);
}

static void finish(fx *f, sfj_forwarder *fw, int i)
{
    uint64_t last = 0, wm = 0;

    (void)f;
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_forwarder_free(fw);
    assert_int_equal(sfj__journal_head(f->j[i], &last, NULL), 0);
    assert_int_equal(sfj__journal_watermark(f->j[i], &wm), 0);
    assert_int_equal(wm, last);
}

static int run_tool(fx *f, const char *name, ...)
{
    char *out = sfj_test_path(f->dir, "tool.out");
    char *err = sfj_test_path(f->dir, "tool.err");
    va_list ap;
    int rc;

    va_start(ap, name);
    rc = sfj_test_run_toolv(name, out, err, ap);
    va_end(ap);
    free(out);
    free(err);
    return rc;
}

/* ---- ingest and export ---- */

static void test_ingest_and_export(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw[2];
    uint8_t jid[16], pub[32];
    char hj[33], hp[65], *mdir, *err;
    int i;

    need_pg();
    open_terminal(f, 0, "T-PG-1", 61);
    open_terminal(f, 1, "T-PG-2", 62);
    sfj_test_host_start(&f->host);
    for (i = 0; i < 2; i++)
        fw[i] = start_fwd(f, f->j[i], f->host.port);
    sfj_test_append(f->j[0], 300);
    sfj_test_append(f->j[1], 200);
    for (i = 0; i < 2; i++)
        finish(f, fw[i], i);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 300);
    assert_true(table_equal(f->j[1]) >= 200);

    /* The export is a standard mirror: byte-identical to the terminal,
     * as the LMDB store's mirror is (test_host), and sfj-dump verifies
     * it with the terminal's public key. */
    mdir = sfj_test_path(f->dir, "export");
    assert_int_equal(mkdir(mdir, 0700), 0);
    assert_int_equal(sfj_journal_id(f->j[0], jid), 0);
    hexs(jid, 16, hj);
    free(f->host.dir);
    f->host.dir = mdir;
    {
        char *to = sfj_test_path(mdir, hj);

        assert_int_equal(run_tool(f, "sfj-host", "export", "--store", g_pg.url,
                                  "--journal", hj, "--to", to, NULL),
                         0);
        free(to);
    }
    assert_true(sfj_test_mirror_equal(mdir, f->j[0], f->k[0]) >= 300);
    assert_int_equal(sfj_keys_public_key(f->k[0], pub), 0);
    hexs(pub, 32, hp);
    {
        char *to = sfj_test_path(mdir, hj);

        assert_int_equal(
            run_tool(f, "sfj-dump", to, "--verify", "--pubkey", hp, NULL), 0);
        free(to);
    }
    /* On a TTY the export shows its progress (stderr), in a file not:
     * the run above wrote nothing there. */
    {
        char *to = sfj_test_path(f->dir, "export-tty");
        char *out = sfj_test_path(f->dir, "tool.out");
        char *terr = sfj_test_path(f->dir, "tool.err");
        const char *argv[] = {"sfj-host", "export",    "--store",
                              g_pg.url,   "--journal", hj,
                              "--to",     to,          NULL};
        char buf[4096];

        assert_false(sfj_test_file_contains(terr, "exporting"));
        setenv("SFJ_PROGRESS_MS", "0", 1);
        assert_int_equal(sfj_test_run_tty(NULL, out, buf, sizeof buf, 60,
                                          sfj_test_tool("sfj-host"), argv),
                         0);
        unsetenv("SFJ_PROGRESS_MS");
        if (strstr(buf, "\rsfj-host: exporting 100% ") == NULL ||
            strstr(buf, "\r\033[K") == NULL)
            fail_msg("no export progress on the TTY: %s", buf);
        free(to);
        free(out);
        free(terr);
    }
    /* An unknown journal is a clear refusal with its own exit code. */
    assert_int_equal(run_tool(f, "sfj-host", "export", "--store", g_pg.url,
                              "--journal", "00000000000000000000000000000000",
                              "--to", "/nonexistent/x", NULL),
                     66);
    err = sfj_test_path(f->dir, "tool.err");
    assert_true(sfj_test_file_contains(err, "not in the database"));
    free(err);
    f->host.dir = NULL;
    free(mdir);
}

/* A journal created with a compression dictionary: the gateway stores
 * and acknowledges its DICTIONARY record (kind 10) and the records
 * compressed against it (flag bit 3) like any other, and the export,
 * written through the mirror's put, carries the dictionary in meta
 * `dict` so that sfj-dump reads every record of it with the key. */
static void test_dictionary_export(void **state)
{
    fx *f = *state;
    char *keyfile, *path, *to, hj[33];
    sfj_forwarder *fw;
    uint8_t jid[16];

    need_pg();
    keyfile = sfj_test_path(f->dir, "master.key");
    path = sfj_test_path(f->dir, "T-PG-DICT");
    f->j[0] = sfj_test_dict_journal(path, "T-PG-DICT", keyfile, &f->k[0]);
    sfj_test_provision(f->host.prov, f->j[0], f->k[0], "T-PG-DICT");
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append_sales(f->j[0], 1, 40);
    finish(f, fw, 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_int_equal(sfj_test_counted(&f->st, &f->st.rejected), 0);
    assert_true(table_equal(f->j[0]) >= 81);
    assert_int_equal(sfj_journal_id(f->j[0], jid), 0);
    hexs(jid, 16, hj);
    to = sfj_test_path(f->dir, "export");
    assert_int_equal(run_tool(f, "sfj-host", "export", "--store", g_pg.url,
                              "--journal", hj, "--to", to, NULL),
                     0);
    sfj_test_dict_copy_check(to, path, keyfile, 40, f->dir);
    free(to);
    free(path);
    free(keyfile);
}

/* ---- bad input ---- */

static void test_db_unreachable_at_start(void **state)
{
    fx *f = *state;
    char url[128];

    need_pg();
    open_terminal(f, 0, "T-PG-DOWN", 63);
    /* A port nothing listens on (the server's port + 1 is not ours). */
    snprintf(url, sizeof url,
             "postgresql://sfj@127.0.0.1:1/postgres?connect_timeout=2");
    assert_int_equal(run_tool(f, "sfj-host", "--store", url, "--provision",
                              f->host.prov, "--listen", "127.0.0.1:0", NULL),
                     69);
    {
        char *err = sfj_test_path(f->dir, "tool.err");

        assert_true(sfj_test_file_contains(err, "database unreachable"));
        free(err);
    }
}

static void test_newer_schema(void **state)
{
    fx *f = *state;
    PGconn *c = NULL;
    char url[192], *err;

    need_pg();
    open_terminal(f, 0, "T-PG-NEW", 64);
    c = sfj_test_pg_connect(&g_pg, NULL);
    sfj_test_pg_exec(c, "DROP DATABASE IF EXISTS newer");
    sfj_test_pg_exec(c, "CREATE DATABASE newer");
    PQfinish(c);
    c = sfj_test_pg_connect(&g_pg, "newer");
    sfj_test_pg_exec(c, "CREATE TABLE sfj_schema (version integer NOT NULL)");
    sfj_test_pg_exec(c, "INSERT INTO sfj_schema VALUES (3)");
    PQfinish(c);
    snprintf(url, sizeof url,
             "postgresql://sfj@127.0.0.1:%d/newer?connect_timeout=5",
             g_pg.port);
    assert_int_equal(run_tool(f, "sfj-host", "--store", url, "--provision",
                              f->host.prov, "--listen", "127.0.0.1:0", NULL),
                     76);
    err = sfj_test_path(f->dir, "tool.err");
    assert_true(sfj_test_file_contains(err, "newer than this sfj-host"));
    free(err);
    /* --dir and --store together are a usage error. */
    assert_int_equal(run_tool(f, "sfj-host", "--store", url, "--dir", f->dir,
                              "--provision", f->host.prov, "--listen",
                              "127.0.0.1:0", NULL),
                     64);
}

/* A version 1 schema, made by version 1's own statements (with a head
 * and entries already in it), is migrated to version 2 by the first
 * gateway of this version: the head rows' fillfactor, once; the copy it
 * held is served on, and ingest goes on. */
static void test_schema_v1_migrated(void **state)
{
    /* Version 1's statements as they were released: frozen here. */
    static const char *v1_sql =
        "CREATE TABLE IF NOT EXISTS sfj_head ("
        " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
        " pubkey bytea NOT NULL, seq bigint NOT NULL, chain bytea NOT NULL,"
        " ckpt bigint NOT NULL, claim bigint NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sfj_entry ("
        " journal_id bytea NOT NULL, seq bigint NOT NULL, rec bytea NOT NULL,"
        " PRIMARY KEY (journal_id, seq));"
        "CREATE TABLE IF NOT EXISTS sfj_terminal ("
        " journal_id bytea PRIMARY KEY, terminal_id text NOT NULL,"
        " link_key bytea NOT NULL, pubkey bytea NOT NULL);"
        "INSERT INTO sfj_schema (version) VALUES (1);";
    fx *f = *state;
    sfj_forwarder *fw;
    PGconn *c;
    PGresult *r;
    char sql[512];

    need_pg();
    open_terminal(f, 0, "T-PG-MIG", 74);
    /* Version 2's tables hold the copy of 40 entries; the test then
     * rebuilds them as version 1 made them and puts the rows back. */
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 40);
    finish(f, fw, 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    c = sfj_test_pg_connect(&g_pg, NULL);
    sfj_test_pg_exec(c, "CREATE TEMP TABLE h AS SELECT * FROM sfj_head");
    sfj_test_pg_exec(c, "CREATE TEMP TABLE e AS SELECT * FROM sfj_entry");
    sfj_test_pg_exec(c, "DROP TABLE sfj_head, sfj_entry, sfj_terminal, "
                        "sfj_schema");
    sfj_test_pg_exec(c, "CREATE TABLE sfj_schema (version integer NOT NULL)");
    sfj_test_pg_exec(c, v1_sql);
    sfj_test_pg_exec(c, "INSERT INTO sfj_head SELECT * FROM h");
    sfj_test_pg_exec(c, "INSERT INTO sfj_entry SELECT * FROM e");
    r = PQexec(c, "SELECT reloptions IS NULL FROM pg_class WHERE relname = "
                  "'sfj_head'");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    PQfinish(c);

    sfj_test_host_start(&f->host);
    assert_true(sfj_test_file_contains(
        f->host.log, "database schema migrated from version 1 to 2"));
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 40);
    finish(f, fw, 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 80);
    c = sfj_test_pg_connect(&g_pg, NULL);
    snprintf(sql, sizeof sql,
             "SELECT (SELECT string_agg(version::text, ',') FROM sfj_schema), "
             "(SELECT array_to_string(reloptions, ',') FROM pg_class WHERE "
             "relname = 'sfj_head')");
    r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    assert_string_equal(PQgetvalue(r, 0, 1), "fillfactor=50");
    PQclear(r);
    PQfinish(c);
    /* Once: a gateway started on version 2 migrates nothing. */
    unlink(f->host.log);
    sfj_test_host_start(&f->host);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_false(sfj_test_file_contains(f->host.log, "migrated"));
}

/* ---- the database gone mid-run ---- */

static void test_db_down_mid_run(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    uint64_t wm = 0;

    need_pg();
    open_terminal(f, 0, "T-PG-OUT", 65);
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 50);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    sfj_test_pg_stop(&g_pg);
    sfj_test_append(f->j[0], 50);
    /* Nothing can be acknowledged while the database is away. */
    assert_int_not_equal(sfj_forwarder_flush(fw, 1500), 0);
    assert_int_equal(sfj__journal_watermark(f->j[0], &wm), 0);
    assert_true(wm <= 50 + 1); /* 50 entries plus at most one checkpoint */
    assert_true(sfj_test_file_contains(f->host.log, "database unavailable"));
    sfj_test_pg_start(&g_pg);
    finish(f, fw, 0);
    /* An outage, not a refusal: the app saw no rejected entry. */
    assert_int_equal(sfj_test_counted(&f->st, &f->st.rejected), 0);
    assert_int_equal(sfj_test_counted(&f->st, &f->st.auth_errors), 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 100);
}

/* A statement of the pipelined group commit fails (here the INSERT, on a
 * constraint the test adds): the server skips the COMMIT behind it,
 * nothing is acknowledged, the terminal sees an outage (not a refusal),
 * and the gateway's connection is usable again for the next group (its
 * failed transaction rolled back). */
static void test_pipeline_error(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    PGconn *c;
    uint64_t wm = 0;

    need_pg();
    open_terminal(f, 0, "T-PG-PIPE", 77);
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 20);
    assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
    assert_int_equal(sfj__journal_watermark(f->j[0], &wm), 0);
    c = sfj_test_pg_connect(&g_pg, NULL);
    {
        char sql[160];

        snprintf(sql, sizeof sql,
                 "ALTER TABLE sfj_entry ADD CONSTRAINT sfj_test_block CHECK "
                 "(seq <= %llu) NOT VALID",
                 (unsigned long long)wm);
        sfj_test_pg_exec(c, sql);
    }
    sfj_test_append(f->j[0], 20);
    assert_int_not_equal(sfj_forwarder_flush(fw, 1500), 0);
    {
        uint64_t now = 0;

        assert_int_equal(sfj__journal_watermark(f->j[0], &now), 0);
        assert_int_equal(now, wm);
    }
    assert_true(sfj_test_file_contains(f->host.log, "sfj_test_block"));
    sfj_test_pg_exec(c, "ALTER TABLE sfj_entry DROP CONSTRAINT sfj_test_block");
    PQfinish(c);
    finish(f, fw, 0);
    assert_int_equal(sfj_test_counted(&f->st, &f->st.rejected), 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 40);
}

/* ---- two gateways, one database ---- */

static void test_two_gateways(void **state)
{
    fx *f = *state;
    sfj_test_host g2;
    sfj_forwarder *fw, *both[2];
    int round;

    need_pg();
    open_terminal(f, 0, "T-PG-ALT", 66);
    open_terminal(f, 1, "T-PG-BOTH", 67);
    sfj_test_host_start(&f->host);
    memset(&g2, 0, sizeof g2);
    g2.prov = f->host.prov;
    g2.log = sfj_test_path(f->dir, "host2.log");
    snprintf(g2.extra, sizeof g2.extra, "%s", f->host.extra);
    sfj_test_host_start(&g2);
    /* Terminal 1 is connected to both gateways at once (two forwarders
     * on one journal), while terminal 0 moves between them. */
    both[0] = start_fwd(f, f->j[1], f->host.port);
    both[1] = start_fwd(f, f->j[1], g2.port);
    for (round = 0; round < 4; round++) {
        fw = start_fwd(f, f->j[0], round % 2 ? g2.port : f->host.port);
        sfj_test_append(f->j[0], 60);
        sfj_test_append(f->j[1], 60);
        assert_int_equal(sfj_forwarder_flush(fw, 60000), 0);
        sfj_forwarder_free(fw);
    }
    finish(f, both[0], 1);
    finish(f, both[1], 1);
    sfj_test_host_stop(&g2, SIGTERM);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 240);
    assert_true(table_equal(f->j[1]) >= 240);
    free(g2.log);
}

/* Terminals 0 and 1 (`tid0`, `tid1`), each in its own provisioning
 * file (`p0`, `p1`); only the first imported into the table, with host
 * key `key` (created). */
static void import_first_of_two(fx *f, const char *tid0, const char *tid1,
                                uint8_t seed, const char *key, const char *p0,
                                const char *p1)
{
    open_terminal(f, 0, tid0, seed);
    open_terminal(f, 1, tid1, (uint8_t)(seed + 1));
    sfj_test_provision(p0, f->j[0], f->k[0], tid0);
    sfj_test_provision(p1, f->j[1], f->k[1], tid1);
    assert_int_equal(run_tool(f, "sfj-host", "provision", "import", p0,
                              "--store", g_pg.url, "--host-key", key, NULL),
                     0);
}

/* ---- the provisioning table ---- */

static void test_provision_table(void **state)
{
    fx *f = *state;
    char *key = sfj_test_path(f->dir, "host.key");
    char *p1 = sfj_test_path(f->dir, "one.conf");
    char *p2 = sfj_test_path(f->dir, "two.conf"), *err;
    uint8_t lk[32];
    sfj_forwarder *fw;
    PGconn *c;
    PGresult *r;
    int i;

    need_pg();
    /* The second terminal is imported only after the gateway started. */
    import_first_of_two(f, "T-PG-PROV1", "T-PG-PROV2", 69, key, p1, p2);
    /* No link key in clear in the table. */
    c = sfj_test_pg_connect(&g_pg, NULL);
    r = PQexecParams(c, "SELECT link_key FROM sfj_terminal", 0, NULL, NULL,
                     NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) >= 1);
    assert_int_equal(sfj_keys_link_key(f->k[0], lk), 0);
    for (i = 0; i < PQntuples(r); i++)
        assert_false(sfj_test_memmem((const uint8_t *)PQgetvalue(r, i, 0),
                                     (size_t)PQgetlength(r, i, 0), lk, 32));
    PQclear(r);
    sodium_memzero(lk, sizeof lk);

    free(f->host.prov);
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra, "--store %s --host-key %s",
             g_pg.url, key);
    sfj_test_host_start(&f->host);
    assert_int_equal(run_tool(f, "sfj-host", "provision", "import", p2,
                              "--store", g_pg.url, "--host-key", key, NULL),
                     0);
    for (i = 0; i < 2; i++) {
        fw = start_fwd(f, f->j[i], f->host.port);
        sfj_test_append(f->j[i], 40);
        finish(f, fw, i);
    }
    assert_true(table_equal(f->j[0]) >= 40);
    assert_true(table_equal(f->j[1]) >= 40);

    /* A row deleted: the gateway serves what it looked up until SIGHUP,
     * then looks the terminal up again at its next HELLO and refuses it;
     * the other terminal is served on. */
    sfj_test_pg_exec(c, "DELETE FROM sfj_terminal WHERE terminal_id = "
                        "'T-PG-PROV1'");
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 3);
    assert_int_equal(sfj_forwarder_flush(fw, 30000), 0);
    sfj_forwarder_free(fw);
    kill(f->host.pid, SIGHUP);
    for (i = 0;
         i < 100 && !sfj_test_file_contains(f->host.log, "looked up again");
         i++)
        usleep(50000);
    assert_true(sfj_test_file_contains(f->host.log, "looked up again"));
    sfj_test_append(f->j[0], 2);
    fw = start_fwd(f, f->j[0], f->host.port);
    assert_int_not_equal(sfj_forwarder_flush(fw, 1500), 0);
    sfj_forwarder_free(fw);
    fw = start_fwd(f, f->j[1], f->host.port);
    sfj_test_append(f->j[1], 2);
    assert_int_equal(sfj_forwarder_flush(fw, 30000), 0);
    sfj_forwarder_free(fw);

    /* A malformed row: refused as not provisioned, with a clear line in
     * the gateway's log; the gateway keeps serving. */
    sfj_test_pg_exec(c, "UPDATE sfj_terminal SET link_key = '\\x0011' WHERE "
                        "terminal_id = 'T-PG-PROV2'");
    sfj_test_host_stop(&f->host, SIGTERM);
    sfj_test_host_start(&f->host);
    sfj_test_append(f->j[1], 5);
    fw = start_fwd(f, f->j[1], f->host.port);
    assert_int_not_equal(sfj_forwarder_flush(fw, 1500), 0);
    sfj_forwarder_free(fw);
    assert_true(sfj_test_file_contains(f->host.log, "malformed"));
    PQfinish(c);

    /* A host key readable by others is refused. */
    assert_int_equal(chmod(key, 0644), 0);
    assert_int_equal(run_tool(f, "sfj-host", "--store", g_pg.url, "--host-key",
                              key, "--listen", "127.0.0.1:0", NULL),
                     78);
    err = sfj_test_path(f->dir, "tool.err");
    assert_true(sfj_test_file_contains(err, "host key file"));
    free(err);
    free(key);
    free(p1);
    free(p2);
}

/* ---- more links than the old cap of 1,024 ---- */

#define NLINKS 1500

static long rss_kib(pid_t pid)
{
    char path[64], line[128];
    long v = -1;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0)
            v = atol(line + 6);
    }
    fclose(fp);
    return v;
}

static void test_many_links(void **state)
{
    fx *f = *state;
    struct sockaddr_in a;
    struct rlimit rl;
    sfj_forwarder *fw;
    int *fds, i, open_ok = 0;
    char c;

    need_pg();
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max < NLINKS + 200) {
        print_message("RLIMIT_NOFILE hard limit too low for this test\n");
        skip();
    }
    rl.rlim_cur = rl.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    open_terminal(f, 0, "T-PG-LINKS", 71);
    sfj_test_host_start(&f->host);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)f->host.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fds = calloc(NLINKS, sizeof *fds);
    for (i = 0; i < NLINKS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
    }
    /* A terminal is still served beside them. */
    fw = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 20);
    finish(f, fw, 0);
    /* Every idle link is still open (within the 10 s HELLO timeout): the
     * gateway refused none. */
    for (i = 0; i < NLINKS; i++) {
        if (recv(fds[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK))
            open_ok++;
    }
    print_message("%d idle links held, gateway RSS %ld KiB\n", open_ok,
                  rss_kib(f->host.pid));
    assert_int_equal(open_ok, NLINKS);
    assert_false(sfj_test_file_contains(f->host.log, "refusing a connection"));
    for (i = 0; i < NLINKS; i++)
        close(fds[i]);
    free(fds);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) >= 20);
}

/* ---- kill -9: a gateway mid-batch, PostgreSQL mid-commit ---- */

typedef struct feeder {
    sfj_journal *j;
    volatile int stop;
    int rc; /* asserted after the join: see sfj_test_append_rc */
} feeder;

static void *feed_main(void *arg)
{
    feeder *fd = arg;

    while (!fd->stop && fd->rc == 0)
        fd->rc = sfj_test_append_rc(fd->j, 20);
    return NULL;
}

/* The newest seq the table holds for `j`. */
static uint64_t table_max_on(const sfj_test_pg *pg, sfj_journal *j)
{
    uint64_t rows = 0, first = 0, last = 0;

    sfj_test_pg_copy_head(pg, j, &rows, &first, &last);
    return last;
}

static uint64_t table_max(sfj_journal *j)
{
    return table_max_on(&g_pg, j);
}

static void test_kill9_loops(void **state)
{
    fx *f = *state;
    int rounds = getenv("SFJ_SOAK") != NULL ? 20 : 2, round;
    sfj_forwarder *fw;
    pthread_t th;
    feeder fd;
    uint64_t wm;

    need_pg();
    open_terminal(f, 0, "T-PG-K9", 68);
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    fd.j = f->j[0];
    fd.stop = 0;
    fd.rc = 0;
    assert_int_equal(pthread_create(&th, NULL, feed_main, &fd), 0);
    for (round = 0; round < 2 * rounds; round++) {
        usleep(150000 + (useconds_t)randombytes_uniform(250000));
        /* Every entry the terminal holds as acknowledged must be in the
         * table when nothing can fill a gap any more: gateway and, every
         * other round, the database killed at once. */
        sfj_test_host_stop(&f->host, SIGKILL);
        if (round % 2)
            sfj_test_pg_kill(&g_pg);
        assert_int_equal(sfj__journal_watermark(f->j[0], &wm), 0);
        if (round % 2)
            sfj_test_pg_start(&g_pg);
        assert_true(table_max(f->j[0]) >= wm);
        sfj_test_host_start(&f->host);
    }
    fd.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(fd.rc, 0);
    finish(f, fw, 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal(f->j[0]) > 0);
}

/* ---- failover: primary + synchronous standby ---- */

static void test_failover(void **state)
{
    fx *f = *state;
    int rounds = getenv("SFJ_SOAK") != NULL ? 8 : 2, round;
    sfj_test_pg *pg = calloc(2, sizeof *pg), *prim, *sb;
    sfj_forwarder *fw;
    uint64_t wm;
    pthread_t th;
    feeder fd;

    need_pg();
    open_terminal(f, 0, "T-PG-FAILOVER", 72);
    sfj_test_pg_init(&pg[0]);
    sfj_test_pg_standby(&pg[1], &pg[0]);
    /* Gateways find the primary through a multi-host string. */
    snprintf(f->host.extra, sizeof f->host.extra,
             "--store postgresql://sfj@127.0.0.1:%d,127.0.0.1:%d/postgres?"
             "target_session_attrs=read-write&connect_timeout=2",
             pg[0].port, pg[1].port);
    sfj_test_host_start(&f->host);
    fw = start_fwd(f, f->j[0], f->host.port);
    fd.j = f->j[0];
    fd.stop = 0;
    fd.rc = 0;
    assert_int_equal(pthread_create(&th, NULL, feed_main, &fd), 0);
    for (round = 0; round < rounds; round++) {
        prim = &pg[round % 2];
        sb = &pg[(round + 1) % 2];
        usleep(300000 + (useconds_t)randombytes_uniform(400000));
        /* Even rounds: the gateway dies with the primary, so that nothing
         * can refill a gap before the promoted server is checked; odd
         * rounds: it lives on and reconnects through the string. */
        if (round % 2 == 0)
            sfj_test_host_stop(&f->host, SIGKILL);
        sfj_test_pg_kill(prim);
        assert_int_equal(sfj__journal_watermark(f->j[0], &wm), 0);
        sfj_test_pg_promote(sb);
        if (round % 2 == 0) {
            assert_true(table_max_on(sb, f->j[0]) >= wm);
            sfj_test_host_start(&f->host);
        }
        /* The old primary comes back as the new standby, on its port. */
        sfj_test_pg_cleanup(prim);
        sfj_test_pg_standby(prim, sb);
    }
    fd.stop = 1;
    pthread_join(th, NULL);
    assert_int_equal(fd.rc, 0);
    finish(f, fw, 0);
    sfj_test_host_stop(&f->host, SIGTERM);
    /* 0 lost, 0 duplicated on the last promoted server. */
    assert_true(table_equal_on(&pg[rounds % 2], f->j[0]) > 0);
    sfj_test_pg_cleanup(&pg[0]);
    sfj_test_pg_cleanup(&pg[1]);
    free(pg);
}

/* ---- sharding: two clusters, one map ---- */

/* The documented shard hash (docs/FLEET.md), computed here on its own:
 * the first two bytes, big-endian, of BLAKE2b-256 of the journal id. */
static unsigned shard_hash(sfj_journal *j)
{
    uint8_t jid[16], h[32];

    assert_int_equal(sfj_journal_id(j, jid), 0);
    crypto_generichash(h, sizeof h, jid, sizeof jid, NULL, 0);
    return (unsigned)h[0] << 8 | h[1];
}

/* Terminal `i` with a journal whose hash falls in the low (half 0) or
 * high (half 1) half of 0..65535: new journals until one does. */
static void open_terminal_on(fx *f, int i, int half, const char *prov)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    char tid[32], *path;
    int tries;

    for (tries = 0; tries < 64; tries++) {
        snprintf(tid, sizeof tid, "T-SH%d-%d", half, tries);
        path = sfj_test_path(f->dir, tid);
        f->k[i] = sfj_test_keys((uint8_t)(80 + 2 * tries + half));
        o.terminal_id = tid;
        assert_int_equal(sfj_journal_open(path, f->k[i], &o, &f->j[i]), 0);
        free(path);
        if ((shard_hash(f->j[i]) >= 32768) == half) {
            sfj_test_provision(prov, f->j[i], f->k[i], tid);
            return;
        }
        sfj_journal_close(f->j[i]);
        sfj_keys_free(f->k[i]);
        f->j[i] = NULL;
        f->k[i] = NULL;
    }
    fail_msg("no journal hashed to half %d in 64 tries", half);
}

/* How many rows of `j` each table of `pg` holds: entries, head, and
 * provisioning. */
static void rows_on(const sfj_test_pg *pg, sfj_journal *j, long *n)
{
    static const char *const tab[3] = {"sfj_entry", "sfj_head", "sfj_terminal"};
    PGconn *c = sfj_test_pg_connect(pg, NULL);
    uint8_t jid[16];
    char hj[33], sql[160];
    PGresult *r;
    int i;

    assert_int_equal(sfj_journal_id(j, jid), 0);
    hexs(jid, 16, hj);
    for (i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM %s WHERE journal_id = '\\x%s'", tab[i],
                 hj);
        r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        n[i] = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

/* A bad map is refused at start: exit 80 and one line naming the file's
 * line and what is wrong. */
static void bad_map(fx *f, const char *map, const char *text,
                    const char *needle)
{
    char *err = sfj_test_path(f->dir, "tool.err");
    char *out = sfj_test_path(f->dir, "tool.out");
    /* Bounded: a gateway that took the map would serve until killed. */
    const char *argv[] = {"sfj-host",    "--shards",   map,
                          "--provision", f->host.prov, "--listen",
                          "127.0.0.1:0", NULL};

    if (text != NULL)
        write_text(map, text);
    assert_int_equal(sfj_test_run_argv(out, err, 20, argv), 80);
    free(out);
    if (!sfj_test_file_contains(err, needle))
        fail_msg("sfj-host's error for the shard map does not say \"%s\"",
                 needle);
    free(err);
}

static void test_shards(void **state)
{
    fx *f = *state;
    sfj_test_pg *pg2 = calloc(1, sizeof *pg2);
    char *map = sfj_test_path(f->dir, "shards.map");
    char *key = sfj_test_path(f->dir, "host.key");
    char *prov = sfj_test_path(f->dir, "fleet.conf");
    char text[512], hj[33], *mdir, *to, *swapped, *err;
    sfj_forwarder *fw[2];
    uint8_t jid[16];
    long n[3], before[3];
    int i;

    need_pg();
    sfj_test_pg_init(pg2);
    /* Terminal 0 hashes to the first cluster, terminal 1 to the second. */
    open_terminal_on(f, 0, 0, prov);
    open_terminal_on(f, 1, 1, prov);
    snprintf(text, sizeof text,
             "# two clusters\n"
             "0-32767   %s\n"
             "\n"
             "32768-65535 %s  \n",
             g_pg.url, pg2->url);
    write_text(map, text);
    /* Each terminal's provisioning row goes to its own shard. */
    assert_int_equal(run_tool(f, "sfj-host", "provision", "import", prov,
                              "--shards", map, "--host-key", key, NULL),
                     0);
    free(f->host.prov);
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra, "--shards %s --host-key %s",
             map, key);
    sfj_test_host_start(&f->host);
    for (i = 0; i < 2; i++)
        fw[i] = start_fwd(f, f->j[i], f->host.port);
    sfj_test_append(f->j[0], 120);
    sfj_test_append(f->j[1], 90);
    for (i = 0; i < 2; i++)
        finish(f, fw[i], i);
    sfj_test_host_stop(&f->host, SIGTERM);
    /* Every entry on exactly its shard, none on the other. */
    assert_true(table_equal_on(&g_pg, f->j[0]) >= 120);
    assert_true(table_equal_on(pg2, f->j[1]) >= 90);
    rows_on(pg2, f->j[0], n);
    assert_int_equal(n[0] + n[1] + n[2], 0);
    rows_on(&g_pg, f->j[1], n);
    assert_int_equal(n[0] + n[1] + n[2], 0);
    rows_on(&g_pg, f->j[0], n);
    assert_int_equal(n[2], 1);
    rows_on(pg2, f->j[1], n);
    assert_int_equal(n[2], 1);

    /* One cluster down: only its terminals see an outage; the other
     * shard's commits go on. */
    sfj_test_host_start(&f->host);
    sfj_test_pg_stop(pg2);
    for (i = 0; i < 2; i++)
        fw[i] = start_fwd(f, f->j[i], f->host.port);
    sfj_test_append(f->j[0], 30);
    sfj_test_append(f->j[1], 30);
    assert_int_equal(sfj_forwarder_flush(fw[0], 30000), 0);
    assert_int_not_equal(sfj_forwarder_flush(fw[1], 1500), 0);
    sfj_test_pg_start(pg2);
    for (i = 0; i < 2; i++)
        finish(f, fw[i], i);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(table_equal_on(&g_pg, f->j[0]) >= 150);
    assert_true(table_equal_on(pg2, f->j[1]) >= 120);
    rows_on(&g_pg, f->j[1], n);
    assert_int_equal(n[0] + n[1] + n[2], 0);

    /* The export finds the journal's shard through the map. */
    mdir = sfj_test_path(f->dir, "export");
    assert_int_equal(mkdir(mdir, 0700), 0);
    assert_int_equal(sfj_journal_id(f->j[1], jid), 0);
    hexs(jid, 16, hj);
    to = sfj_test_path(mdir, hj);
    assert_int_equal(run_tool(f, "sfj-host", "export", "--shards", map,
                              "--journal", hj, "--to", to, NULL),
                     0);
    assert_true(sfj_test_mirror_equal(mdir, f->j[1], f->k[1]) >= 90);
    free(to);
    free(mdir);

    /* Each cluster holds the ranges of the map that first wrote to it.
     * The ranges swapped, or one database alone (--store), would keep a
     * second copy of a journal: refused (exit 80, the line named) until
     * `shards record` says the journals moved. An export only reads. */
    swapped = sfj_test_path(f->dir, "swapped.map");
    err = sfj_test_path(f->dir, "tool.err");
    snprintf(text, sizeof text, "0-32767 %s\n32768-65535 %s\n", pg2->url,
             g_pg.url);
    write_text(swapped, text);
    f->host.prov = prov;
    bad_map(f, swapped, NULL,
            "line 1: its cluster holds shard hash 32768-65535, the map gives "
            "it 0-32767: a journal would be kept in two clusters");
    assert_int_equal(run_tool(f, "sfj-host", "--store", g_pg.url, "--provision",
                              prov, "--listen", "127.0.0.1:0", NULL),
                     80);
    assert_true(sfj_test_file_contains(err, "--store: the database holds "
                                            "shard hash 0-32767 of a shard "
                                            "map"));
    mdir = sfj_test_path(f->dir, "export0");
    assert_int_equal(mkdir(mdir, 0700), 0);
    assert_int_equal(sfj_journal_id(f->j[0], jid), 0);
    hexs(jid, 16, hj);
    to = sfj_test_path(mdir, hj);
    assert_int_equal(run_tool(f, "sfj-host", "export", "--store", g_pg.url,
                              "--journal", hj, "--to", to, NULL),
                     0);
    assert_true(sfj_test_mirror_equal(mdir, f->j[0], f->k[0]) >= 150);
    free(to);
    free(mdir);
    assert_int_equal(
        run_tool(f, "sfj-host", "shards", "record", "--shards", swapped, NULL),
        0);
    assert_true(sfj_test_file_contains(err, "line 1: its cluster now holds "
                                            "shard hash 0-32767 (recorded; "
                                            "it held 32768-65535)"));
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra, "--shards %s --host-key %s",
             swapped, key);
    sfj_test_host_start(&f->host);
    sfj_test_host_stop(&f->host, SIGTERM);
    f->host.prov = prov;
    bad_map(f, map, NULL,
            "line 2: its cluster holds shard hash 32768-65535, the map gives "
            "it 0-32767");
    assert_int_equal(
        run_tool(f, "sfj-host", "shards", "record", "--shards", map, NULL), 0);
    assert_int_equal(run_tool(f, "sfj-host", "shards", "record", NULL), 64);
    assert_int_equal(
        run_tool(f, "sfj-host", "shards", "record", "--store", "lmdb", NULL),
        64);

    /* A gateway that started before the ranges were recorded anew keeps
     * its map. A session online since before has its claim moved on by
     * the record, so its next put is refused; the terminal's next claim
     * then fails on the hash, as an outage; nothing more of it is stored
     * in the cluster that gave its hash away. */
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra, "--shards %s --host-key %s",
             map, key);
    sfj_test_host_start(&f->host);
    fw[0] = start_fwd(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 5);
    assert_int_equal(sfj_forwarder_flush(fw[0], 30000), 0);
    assert_int_equal(
        run_tool(f, "sfj-host", "shards", "record", "--shards", swapped, NULL),
        0);
    assert_true(sfj_test_file_contains(err, "journals held here outside the "
                                            "new shard ranges: 1 (their "
                                            "sessions end)"));
    rows_on(&g_pg, f->j[0], before);
    sfj_test_append(f->j[0], 5);
    assert_int_not_equal(sfj_forwarder_flush(fw[0], 1500), 0);
    sfj_forwarder_free(fw[0]);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_true(sfj_test_file_contains(f->host.log,
                                       "no longer holds this journal's shard "
                                       "hash"));
    rows_on(&g_pg, f->j[0], n);
    assert_int_equal(n[0], before[0]);
    assert_int_equal(n[1], before[1]);
    rows_on(pg2, f->j[0], n);
    assert_int_equal(n[0] + n[1] + n[2], 0);
    assert_int_equal(
        run_tool(f, "sfj-host", "shards", "record", "--shards", map, NULL), 0);
    free(swapped);
    free(err);

    /* Bad maps: exit 80, the line named. */
    f->host.prov = prov;
    bad_map(f, map, "0-40000 a\n30000-65535 b\n", "line 2: overlap");
    bad_map(f, map, "0-100 a\n200-65535 b\n", "line 2: hole: hash 101-199");
    bad_map(f, map, "1-65535 a\n", "line 1: hole: hash 0-0");
    bad_map(f, map, "# only part\n0-65534 a\n", "line 2: hole: hash 65535");
    bad_map(f, map, "0-65535\n", "line 1: malformed");
    bad_map(f, map, "0:65535 a\n", "line 1: malformed");
    bad_map(f, map, "0-65536 a\n", "line 1: malformed");
    bad_map(f, map, "# nothing\n", "no ranges");
    assert_int_equal(unlink(map), 0);
    bad_map(f, map, NULL, "cannot read");
    f->host.prov = NULL;
    /* --shards excludes --store. */
    assert_int_equal(run_tool(f, "sfj-host", "--shards", map, "--store",
                              g_pg.url, "--provision", prov, "--listen",
                              "127.0.0.1:0", NULL),
                     64);
    sfj_test_pg_cleanup(pg2);
    free(pg2);
    free(prov);
    free(key);
    free(map);
}

/* ---- a version 1 session (--allow-v1) on the PostgreSQL store ---- */

/* A version 1 link by hand, to resend what the table already holds. */
typedef struct v1cli {
    sfj_transport *t;
    sfj__wire w;
} v1cli;

/* The next frame from the host within `ms`; its type, body in fr. */
static uint8_t v1_recv(v1cli *c, sfj__frame *fr, int ms)
{
    long long until = sfj_test_mono_ms() + ms;
    int rc;

    while ((rc = sfj__wire_next(&c->w, fr)) == 0) {
        assert_true(sfj_test_mono_ms() < until);
        rc = sfj__wire_fill(&c->w, c->t, 100);
        assert_true(rc == SFJ_OK || rc == SFJ_ETIMEDOUT);
    }
    assert_int_equal(rc, 1);
    return fr->type;
}

/* HELLO signed with terminal i's link key; returns the HELLO_ACK's
 * status, and its resume point in `*next`. */
static uint8_t v1_hello(fx *f, int i, const char *tid, int port, v1cli *c,
                        uint64_t *next)
{
    sfj__hello h;
    sfj__hello_ack ha;
    sfj__frame fr;
    uint8_t link[32];
    char addr[64];
    size_t n;

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(sfj_transport_tcp_connect(addr, 2000, &c->t), 0);
    assert_int_equal(sfj__wire_init(&c->w, c->t->framing), 0);
    memset(&h, 0, sizeof h);
    h.version = SFJ_PROTO_VERSION;
    assert_int_equal(sfj_journal_id(f->j[i], h.journal_id), 0);
    snprintf(h.terminal_id, sizeof h.terminal_id, "%s", tid);
    assert_int_equal(sfj__journal_head(f->j[i], &h.last_seq, NULL), 0);
    h.first_unacked = h.last_seq + 1;
    randombytes_buf(h.nonce, sizeof h.nonce);
    n = sfj__hello_encode(&h, sfj__wire_body(&c->w));
    assert_int_equal(sfj_keys_link_key(f->k[i], link), 0);
    sfj__hello_sign(link, sfj__wire_body(&c->w), n);
    sodium_memzero(link, sizeof link);
    assert_int_equal(sfj__wire_send(&c->w, c->t, SFJ_MSG_HELLO, n, 2000), 0);
    assert_int_equal(v1_recv(c, &fr, 5000), SFJ_MSG_HELLO_ACK);
    assert_int_equal(sfj__hello_ack_decode(fr.body, fr.len, &ha), 0);
    *next = ha.next_seq;
    return ha.status;
}

/* ENTRY `seq` carrying record `rec_seq` of `j`, sent without waiting. */
static void v1_send_entry(v1cli *c, sfj_journal *j, uint64_t seq,
                          uint64_t rec_seq)
{
    uint8_t *rec = NULL, *b = sfj__wire_body(&c->w);
    size_t len;

    assert_int_equal(sfj__journal_read_sealed(j, rec_seq, &rec, &len), 0);
    sfj__entry_head_encode(seq, b);
    memcpy(b + SFJ_ENTRY_HEAD_BYTES, rec, len);
    free(rec);
    assert_int_equal(sfj__wire_send(&c->w, c->t, SFJ_MSG_ENTRY,
                                    SFJ_ENTRY_HEAD_BYTES + len, 2000),
                     0);
}

/* ENTRY `seq` carrying the terminal's record `rec_seq`; the answer. */
static uint8_t v1_entry(v1cli *c, sfj_journal *j, uint64_t seq,
                        uint64_t rec_seq, sfj__frame *fr)
{
    v1_send_entry(c, j, seq, rec_seq);
    return v1_recv(c, fr, 5000);
}

static void v1_close(v1cli *c)
{
    sfj__wire_free(&c->w);
    sfj_transport_close(c->t);
}

static sfj_forwarder *start_fwd_v1(fx *f, sfj_journal *j, int port)
{
    sfj_forwarder *fw = NULL;
    char addr[64];
    sfj_forwarder_opts o = sfj_test_tcp_opts(addr, sizeof addr, port, &f->st);

    assert_int_equal(sfj_forwarder_new(j, &o, &fw), 0);
    sfj__forwarder_use_v1(fw);
    assert_int_equal(sfj_forwarder_start(fw), 0);
    return fw;
}

static void test_v1_session(void **state)
{
    fx *f = *state;
    sfj_forwarder *fw;
    sfj__frame fr;
    sfj__ack ack;
    sfj__nak nak;
    uint64_t head = 0, held;
    v1cli c;

    need_pg();
    open_terminal(f, 0, "T-PG-V1", 73);
    snprintf(f->host.extra, sizeof f->host.extra, "--store %s --allow-v1",
             g_pg.url);
    sfj_test_host_start(&f->host);
    /* Ingest over version 1. */
    fw = start_fwd_v1(f, f->j[0], f->host.port);
    sfj_test_append(f->j[0], 100);
    finish(f, fw, 0);
    assert_true(
        sfj_test_file_contains(f->host.log, "speaks protocol version 1"));
    held = table_equal(f->j[0]);
    assert_true(held >= 100);
    /* Resume: a new session starts at the table's head. */
    sfj_test_append(f->j[0], 60);
    fw = start_fwd_v1(f, f->j[0], f->host.port);
    finish(f, fw, 0);
    {
        char line[96];

        snprintf(line, sizeof line, "online, resuming at %llu",
                 (unsigned long long)held + 1);
        assert_true(sfj_test_file_contains(f->host.log, line));
    }
    assert_true(table_equal(f->j[0]) >= 160);
    /* A resend of a held seq is absorbed (ACK of the head, nothing
     * stored twice); a different record under a held seq is refused. */
    assert_int_equal(sfj__journal_head(f->j[0], &head, NULL), 0);
    assert_int_equal(v1_hello(f, 0, "T-PG-V1", f->host.port, &c, &held),
                     SFJ_HELLO_OK);
    assert_int_equal(held, head + 1);
    assert_int_equal(v1_entry(&c, f->j[0], 5, 5, &fr), SFJ_MSG_ACK);
    assert_int_equal(sfj__ack_decode(fr.body, fr.len, &ack), 0);
    assert_int_equal(ack.seq, head);
    assert_int_equal(v1_entry(&c, f->j[0], 6, 7, &fr), SFJ_MSG_NAK);
    assert_int_equal(sfj__nak_decode(fr.body, fr.len, &nak), 0);
    assert_int_equal(nak.seq, 6);
    assert_int_equal(nak.reason, SFJ_NAK_REFUSED);
    v1_close(&c);
    sfj_test_host_stop(&f->host, SIGTERM);
    assert_int_equal(table_equal(f->j[0]), head);
    assert_int_equal(sfj_test_counted(&f->st, &f->st.rejected), 0);
}

/* One group put with a record that does not extend its chain beside
 * records that do: the refusal is that terminal's alone (NAK, nothing of
 * it stored), the others are stored and acknowledged in the same
 * transaction. Both entries are on the wire before either is answered,
 * so that the gateway's turn takes them together. */
static void test_group_with_refusal(void **state)
{
    fx *f = *state;
    sfj__frame fr;
    sfj__ack ack;
    sfj__nak nak;
    uint64_t next = 0, rows = 0, first = 0, last = 0, round;
    v1cli good, bad;

    need_pg();
    open_terminal(f, 0, "T-PG-GOOD", 75);
    open_terminal(f, 1, "T-PG-BAD", 76);
    sfj_test_append(f->j[0], 10);
    sfj_test_append(f->j[1], 10);
    snprintf(f->host.extra, sizeof f->host.extra, "--store %s --allow-v1",
             g_pg.url);
    sfj_test_host_start(&f->host);
    assert_int_equal(v1_hello(f, 0, "T-PG-GOOD", f->host.port, &good, &next),
                     SFJ_HELLO_OK);
    assert_int_equal(next, 1);
    for (round = 1; round <= 5; round++) {
        /* The bad terminal's seq 1 carries its record 2: it does not
         * extend the (empty) chain. */
        assert_int_equal(v1_hello(f, 1, "T-PG-BAD", f->host.port, &bad, &next),
                         SFJ_HELLO_OK);
        assert_int_equal(next, 1);
        v1_send_entry(&bad, f->j[1], 1, 2);
        v1_send_entry(&good, f->j[0], round, round);
        assert_int_equal(v1_recv(&good, &fr, 5000), SFJ_MSG_ACK);
        assert_int_equal(sfj__ack_decode(fr.body, fr.len, &ack), 0);
        assert_int_equal(ack.seq, round);
        assert_int_equal(v1_recv(&bad, &fr, 5000), SFJ_MSG_NAK);
        assert_int_equal(sfj__nak_decode(fr.body, fr.len, &nak), 0);
        assert_int_equal(nak.seq, 1);
        assert_int_equal(nak.reason, SFJ_NAK_REFUSED);
        v1_close(&bad);
    }
    v1_close(&good);
    sfj_test_host_stop(&f->host, SIGTERM);
    sfj_test_pg_copy_head(&g_pg, f->j[1], &rows, &first, &last);
    assert_int_equal(rows, 0);
    sfj_test_pg_copy_head(&g_pg, f->j[0], &rows, &first, &last);
    assert_int_equal(rows, 5);
    assert_int_equal(sfj_test_pg_copy_equal(&g_pg, f->j[0], 1, 5), 5);
}

/* ---- HELLOs of a journal the provisioning table lacks ---- */

/* One version 1 HELLO of terminal i; the HELLO_ACK's status. */
static uint8_t hello_status(fx *f, int i, const char *tid)
{
    uint64_t next = 0;
    v1cli c;
    uint8_t st = v1_hello(f, i, tid, f->host.port, &c, &next);

    v1_close(&c);
    return st;
}

static void test_unknown_cached(void **state)
{
    fx *f = *state;
    char *key = sfj_test_path(f->dir, "host.key");
    char *p1 = sfj_test_path(f->dir, "one.conf");
    char *p2 = sfj_test_path(f->dir, "two.conf");
    long long t0;
    int i;

    need_pg();
    import_first_of_two(f, "T-PG-NEG1", "T-PG-NEG2", 74, key, p1, p2);
    free(f->host.prov);
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra,
             "--store %s --host-key %s --allow-v1", g_pg.url, key);
    sfj_test_host_start(&f->host);
    assert_int_equal(hello_status(f, 0, "T-PG-NEG1"), SFJ_HELLO_OK);
    /* Terminal 1 is not in the table: refused, again and again. */
    t0 = sfj_test_mono_ms();
    for (i = 0; i < 10; i++)
        assert_int_equal(hello_status(f, 1, "T-PG-NEG2"),
                         SFJ_HELLO_UNKNOWN_TERMINAL);
    /* Imported now: within the cache's 3 s the gateway still answers
     * from its memory of the miss (no lookup per HELLO)... */
    assert_int_equal(run_tool(f, "sfj-host", "provision", "import", p2,
                              "--store", g_pg.url, "--host-key", key, NULL),
                     0);
    if (sfj_test_mono_ms() - t0 < 2500)
        assert_int_equal(hello_status(f, 1, "T-PG-NEG2"),
                         SFJ_HELLO_UNKNOWN_TERMINAL);
    else
        print_message("machine too slow to see the cached miss\n");
    /* ...and once the miss expired it serves the new terminal without a
     * restart. */
    while (sfj_test_mono_ms() - t0 < 3000)
        usleep(50000);
    while (hello_status(f, 1, "T-PG-NEG2") != SFJ_HELLO_OK)
        assert_true(sfj_test_mono_ms() - t0 < 8000);
    sfj_test_host_stop(&f->host, SIGTERM);
    free(key);
    free(p1);
    free(p2);
}

/* ---- core dumps ---- */

/* The gateway opens each link key from the provisioning table with its
 * host key. Killed with SIGABRT (core dumps allowed) while a terminal's
 * session is live, it leaves a core holding no 8 bytes of that
 * terminal's link key nor of the host key (test_coredump does the same
 * with the LMDB store). */
static void test_no_key_in_gateway_core(void **state)
{
    fx *f = *state;
    char *key, *cwd, *core;
    uint8_t lk[32], *hk;
    size_t hk_len = 0;

    need_pg();
    cwd = sfj_test_host_core_dir(f->dir);
    key = sfj_test_path(f->dir, "host.key");
    open_terminal(f, 0, "T-PG-CORE", 91);
    assert_int_equal(run_tool(f, "sfj-host", "provision", "import",
                              f->host.prov, "--store", g_pg.url, "--host-key",
                              key, NULL),
                     0);
    free(f->host.prov);
    f->host.prov = NULL;
    snprintf(f->host.extra, sizeof f->host.extra, "--store %s --host-key %s",
             g_pg.url, key);
    core = sfj_test_host_abort_core(&f->host, cwd, f->j[0], 20);
    assert_int_equal(sfj_keys_link_key(f->k[0], lk), 0);
    hk = sfj_test_read_file(key, &hk_len);
    assert_non_null(hk);
    assert_int_equal(hk_len, 32);
    assert_false(sfj_test_file_has_window(core, lk, sizeof lk));
    assert_false(sfj_test_file_has_window(core, hk, hk_len));
    sodium_memzero(lk, sizeof lk);
    sodium_memzero(hk, hk_len);
    free(hk);
    unlink(core);
    free(core);
    rmdir(cwd);
    free(cwd);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ingest_and_export, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dictionary_export, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_db_unreachable_at_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_v1_migrated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_db_down_mid_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipeline_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_gateways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_provision_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_with_refusal, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_key_in_gateway_core, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
#else
static void test_no_libpq(void **state)
{
    (void)state;
    print_message("sfj-host built without libpq: nothing to test\n");
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_libpq)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
