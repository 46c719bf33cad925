/* sfj-bench smoke test: `--quick --json` runs every benchmark family and
 * prints every required field with a positive, finite value. No timing is
 * asserted: rates depend on the machine. Also the command-line contract:
 * --help, a bad option, an unusable --dir. The fleet mode runs tiny (20
 * terminals, 2 s) against each store: its rows have their shape, and
 * every entry sent was acknowledged and is in the store. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "support/testutil.h"
#ifdef SFJ_HAVE_LIBPQ
#include "support/pgtest.h"
#endif

/* Run a shell command; its stdout into a malloc'd string, exit status
 * into *status. */
static char *run(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    size_t len = 0, cap = 1 << 16, n;
    char *out = malloc(cap);
    int st;

    assert_non_null(p);
    assert_non_null(out);
    while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* The text of the JSON object value of `"key": {` (up to its closing
 * brace; objects here are not nested below the top level but one). */
static const char *object(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\": {", key);
    p = strstr(json, pat);
    if (p == NULL)
        fail_msg("no object %s", key);
    return p + strlen(pat) - 1;
}

/* The number at `"key": ` within `scope` (before its first '}'); fails on
 * null, absence or a non-finite or non-positive value. */
static double number(const char *scope, const char *key)
{
    char pat[64], *end;
    const char *p, *stop = strchr(scope, '}');
    double v;

    snprintf(pat, sizeof pat, "\"%s\": ", key);
    p = strstr(scope, pat);
    if (p == NULL || (stop != NULL && scope[0] == '{' && p > stop))
        fail_msg("field %s missing", key);
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0)
        fail_msg("field %s not measured", key);
    v = strtod(p, &end);
    if (end == p || !isfinite(v) || v <= 0)
        fail_msg("field %s is not a positive number: %.20s", key, p);
    return v;
}

static void test_quick_json(void **state)
{
    char *dir = sfj_test_tmpdir(), cmd[4096], *out;
    const char *o;
    const char *record;
    double lmdb_pages, record_bytes;
    int status;

    (void)state;
    snprintf(cmd, sizeof cmd, "'%s' --quick --json --dir '%s'",
             sfj_test_tool("sfj-bench"), dir);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "\"mode\": \"quick\""));

    o = object(out, "append_1t");
    number(o, "sfj");
    number(o, "lmdb");
    number(o, "sqlite");
    number(o, "fdatasync");
    number(o, "sfj_grown");
    number(o, "lmdb_grown");
    number(o, "sfj_p99_ms");
    o = object(out, "append_8t");
    number(o, "sfj");
    number(o, "sqlite");
    /* With several callers every append costs the process some CPU, and
     * each caller sleeps through a commit at least now and then. */
    number(o, "sfj_cpu_us");
    number(o, "sfj_switches");
    number(o, "sqlite_cpu_us");
    number(o, "sqlite_switches");
    o = object(out, "append_32t");
    number(o, "sfj");
    number(o, "sqlite");
    number(out + 1, "replay_eps");
    o = object(out, "recover_ms");
    number(o, "n10k");
    number(o, "n1m");
    o = object(out, "verify_eps");
    number(o, "plain");
    number(o, "decrypt");
    /* A sealed record holds more than its payload (header, tag), so the
     * bytes on disk per entry cannot be below a fraction of it. */
    assert_true(number(out + 1, "bytes_per_entry") > 100);
    assert_true(number(out + 1, "payload_bytes") == 256);
    number(out + 1, "anon_rss_bytes");
    /* Per commit, counted by the preloaded write counter: a 256-byte
     * write at the end of a file whose size is a multiple of 256 touches
     * exactly one 4 KiB page in one call; an LMDB commit writes at least
     * a leaf and its meta page; every system costs some CPU. */
    o = object(out, "fdatasync");
    assert_true(fabs(number(o, "pages_4k") - 1.0) < 1e-9);
    assert_true(fabs(number(o, "write_calls") - 1.0) < 1e-9);
    assert_true(fabs(number(o, "write_bytes") - 256.0) < 1e-9);
    o = object(out, "lmdb");
    lmdb_pages = number(o, "pages_4k");
    assert_true(lmdb_pages >= 2);
    number(o, "cpu_us");
    /* A NOTE commit writes what a raw LMDB put writes: no txn index page
     * (one more per commit when every append rewrote the index's
     * position). */
    o = object(out, "sfj_note");
    assert_true(number(o, "pages_4k") >= 2);
    assert_true(number(o, "pages_4k") < lmdb_pages + 0.5);
    /* A journal of format 2 keeps its entries in LMDB's main database: a
     * put there copies no main-database page for a named database's
     * record, which a put into raw LMDB's named database does. So does
     * raw LMDB's main database. */
    o = object(out, "sfj_intent");
    assert_true(number(o, "pages_4k") >= 2);
    assert_true(number(o, "pages_4k") < lmdb_pages - 0.5);
    number(o, "cpu_us");
    o = object(out, "lmdb_main");
    assert_true(number(o, "pages_4k") >= 2);
    assert_true(number(o, "pages_4k") < lmdb_pages - 0.5);
    o = object(out, "sqlite");
    assert_true(number(o, "pages_4k") >= 1);
    /* The same commits on a journal and a database grown first (50
     * entries per commit): both measured. */
    o = object(out, "sfj_intent_grown");
    assert_true(number(o, "pages_4k") >= 2);
    o = object(out, "lmdb_grown");
    assert_true(number(o, "pages_4k") >= 2);
    number(o, "cpu_us");
    /* A sale's three events, in turn, on a grown journal. */
    o = object(out, "sfj_sale_grown");
    assert_true(number(o, "pages_4k") >= 2);
    /* An ENTRY frame carries the whole sealed record plus framing. The
     * record is the footprint row's mean; the records replayed are of
     * the same three kinds and payloads. */
    record = strstr(out, "\"record_bytes\": ");
    assert_non_null(record);
    record_bytes = strtod(record + strlen("\"record_bytes\": "), NULL);
    assert_true(record_bytes > 96);
    o = object(out, "wire_bytes_per_entry");
    assert_true(number(o, "tcp") > record_bytes);
    assert_true(number(o, "serial") > record_bytes);
    /* Nothing left behind in --dir. */
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    free(out);
    out = run(cmd, &status);
    assert_string_equal(out, "");
    free(out);
    sfj_test_rmrf(dir);
    free(dir);
}

/* sfj-bench with `args` (stderr dropped) exits with `want`. */
static void expect_exit(const char *args, int want)
{
    char cmd[4096];
    int status;

    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", sfj_test_tool("sfj-bench"),
             args);
    free(run(cmd, &status));
    assert_int_equal(status, want);
}

/* sfj-bench with `args` exits 0 and prints `text`. */
static void expect_text(const char *args, const char *text)
{
    char cmd[4096], *out;
    int status;

    snprintf(cmd, sizeof cmd, "'%s' %s", sfj_test_tool("sfj-bench"), args);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, text));
    free(out);
}

static void test_usage(void **state)
{
    (void)state;
    expect_text("--help", "usage: sfj-bench");
    expect_exit("--bogus", 64);
    expect_exit("--seconds -1", 64);
    expect_exit("--only append,nothing", 64);
    expect_exit("--quick --dir /nonexistent/sfj", 73); /* cannot write */
}

/* --flush-delay: sfj-bench runs again with the flush model preloaded,
 * which lengthens every sync of every system, LMDB's own inside its
 * library included (its fdatasync and its meta page's O_DSYNC write):
 * each sfj commit takes at least two lengthened syncs. Only the append
 * family runs. */
static void test_flush_model(void **state)
{
    char *dir = sfj_test_tmpdir(), cmd[4096], *out;
    const char *o;
    int status;

    (void)state;
    expect_exit("--flush-delay 0", 64);
    expect_exit("--flush-delay 100001", 64);
    expect_exit("--flush-delay 2ms", 64);
    expect_exit("--flush-delay 500 --only append,replay", 64);
    /* 5 ms, far above what a real sync takes here, so that a commit
     * with one sync lengthened (about 5.3 ms) and one with both (over
     * 10 ms) cannot be mistaken for each other. */
    snprintf(cmd, sizeof cmd,
             "'%s' --quick --json --flush-delay 5000 --dir '%s'",
             sfj_test_tool("sfj-bench"), dir);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    o = object(out, "flush_model");
    assert_int_equal((int)number(o, "delay_us"), 5000);
    /* A sleep never wakes early. */
    assert_true(number(o, "mean_wait_us") >= 5000);
    /* 1 thread, each entry at least two syncs of 5 ms more. */
    assert_true(number(object(out, "append_1t"), "sfj") <= 1e6 / 10000);
    assert_true(number(object(out, "append_1t"), "lmdb") <= 1e6 / 10000);
    assert_true(number(object(out, "append_1t"), "fdatasync") <= 1e6 / 5000);
    number(o, "syncs");
    /* The other families did not run. */
    assert_non_null(strstr(out, "\"verify_eps\": {\"plain\": null"));
    free(out);
    sfj_test_rmrf(dir);
    free(dir);
}

/* The value of `key=` in the row line starting with `row` (and holding
 * `with`, when given); fails when absent. */
static double field(const char *out, const char *row, const char *with,
                    const char *key)
{
    char pat[64];
    const char *line = out, *end, *p;

    for (;;) {
        line = strstr(line, row);
        if (line == NULL)
            fail_msg("no row %s%s%s in:\n%s", row, with ? " with " : "",
                     with ? with : "", out);
        end = strchr(line, '\n');
        if (end == NULL)
            end = line + strlen(line);
        if ((line == out || line[-1] == '\n') &&
            (with == NULL || ((p = strstr(line, with)) != NULL && p < end)))
            break;
        line = end;
    }
    snprintf(pat, sizeof pat, " %s=", key);
    p = strstr(line, pat);
    if (p == NULL || p > end)
        fail_msg("row %s: no %s", row, key);
    return strtod(p + strlen(pat), NULL);
}

/* A fleet row: all 20 terminals held, none failed, entries sent and
 * every one acknowledged and stored; rate and latencies measured. */
static void check_fleet_row(const char *out, const char *with)
{
    double sent = field(out, "fleet ", with, "sent");

    assert_true(field(out, "fleet ", with, "terminals") == 20);
    assert_true(field(out, "fleet ", with, "held") == 20);
    assert_true(field(out, "fleet ", with, "failed") == 0);
    assert_true(sent >= 20);
    assert_true(field(out, "fleet ", with, "acked") == sent);
    assert_true(field(out, "fleet ", with, "stored") == sent);
    assert_true(field(out, "fleet ", with, "eps") > 0);
    assert_true(field(out, "fleet ", with, "p50_ms") > 0);
    assert_true(field(out, "fleet ", with, "p99_ms") >=
                field(out, "fleet ", with, "p50_ms"));
    assert_true(field(out, "fleet ", with, "gw_cpu_us") > 0);
}

static void test_fleet_lmdb(void **state)
{
    char *dir = sfj_test_tmpdir(), cmd[4096], *out;
    int status;

    (void)state;
    snprintf(cmd, sizeof cmd,
             "'%s' fleet --terminals 20 --seconds 2 --entries 400 --dir '%s'",
             sfj_test_tool("sfj-bench"), dir);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    check_fleet_row(out, "store=lmdb");
    free(out);
    /* Idle links: every one held, the gateway's memory read. */
    snprintf(cmd, sizeof cmd, "'%s' fleet --idle 30 --dir '%s'",
             sfj_test_tool("sfj-bench"), dir);
    out = run(cmd, &status);
    assert_int_equal(status, 0);
    assert_true(field(out, "idle ", NULL, "connections") == 30);
    assert_true(field(out, "idle ", NULL, "held") == 30);
    assert_true(field(out, "idle ", NULL, "rss_kib") > 0);
    assert_true(field(out, "idle ", NULL, "hwm_kib") >=
                field(out, "idle ", NULL, "rss_kib"));
    free(out);
    snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
    out = run(cmd, &status);
    assert_string_equal(out, "");
    free(out);
    sfj_test_rmrf(dir);
    free(dir);
}

static void test_fleet_postgresql(void **state)
{
#ifdef SFJ_HAVE_LIBPQ
    char *dir = sfj_test_tmpdir(), cmd[4096], *out;
    sfj_test_pg pg;
    int status;

    (void)state;
    if (!sfj_test_pg_available())
        skip();
    memset(&pg, 0, sizeof pg);
    sfj_test_pg_init(&pg);
    snprintf(cmd, sizeof cmd,
             "'%s' fleet --terminals 20 --seconds 2 --entries 400 "
             "--store '%s' --dir '%s'",
             sfj_test_tool("sfj-bench"), pg.url, dir);
    out = run(cmd, &status);
    sfj_test_pg_cleanup(&pg);
    assert_int_equal(status, 0);
    /* One gateway, then two on one database: nothing lost either way. */
    check_fleet_row(out, "gateways=1");
    check_fleet_row(out, "gateways=2");
    assert_true(field(out, "fleet ", "gateways=1", "db_cpu_us") > 0);
    /* The database's limit in both forms: the VALUES statement and the
     * prepared arrays sfj-host sends. */
    assert_true(field(out, "dblimit ", "form=values", "eps") > 0);
    assert_true(field(out, "dblimit ", "form=prepared", "eps") > 0);
    assert_true(field(out, "dblimit ", "form=prepared", "batch") == 256);
    /* Rows as large as the records sent (a sealed 256-byte payload). */
    assert_true(field(out, "dblimit ", "form=values", "row_bytes") > 256);
    free(out);
    sfj_test_rmrf(dir);
    free(dir);
#else
    (void)state;
    skip();
#endif
}

static void test_fleet_usage(void **state)
{
    (void)state;
    expect_text("fleet --help", "usage: sfj-bench fleet");
    expect_exit("fleet --terminals 0", 64);
    expect_exit("fleet --window 0", 64);
    expect_exit("fleet --bogus", 64);
    expect_exit("fleet --terminals 2 --dir /nonexistent/sfj", 73);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_fleet_usage),
        cmocka_unit_test(test_fleet_lmdb),
        cmocka_unit_test(test_fleet_postgresql),
        cmocka_unit_test(test_quick_json),
        cmocka_unit_test(test_flush_model),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
