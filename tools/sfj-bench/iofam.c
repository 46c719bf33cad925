/* The io family: what one durable single-thread commit writes, for each
 * system: 4 KiB file pages and write calls (counted exactly by the write
 * counter, pagecount.c, preloaded into a child process: sfj-bench re-run
 * with --io-probe), bytes the block device took (its counters around the
 * run: every process's writes count, so it needs a quiet machine) and
 * CPU. Each system makes exactly io_ops commits of the 256-byte payload,
 * after the same warm-up as its append run; then sfj TXN_INTENT, raw LMDB
 * and sfj with a sale's events on a journal and a database grown to
 * BENCH_IO_GROWN entries per commit first (sfj's built as sales by the
 * bulk builder, raw LMDB's by big transactions), which the counters do
 * not see; last raw LMDB again with its values in its main database. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

static const char *const io_names[BENCH_NIO] = {
    "sfj-intent",       "sfj-note",   "lmdb",           "sqlite",   "fdatasync",
    "sfj-intent-grown", "lmdb-grown", "sfj-sale-grown", "lmdb-main"};

/* The child: one line per system, "name cpu dev pages calls wbytes". */
int bench_io_probe(const char *dir, uint64_t n)
{
    bench_opts o;
    bench_rate r[BENCH_NIO];
    char *sub = bench_path(dir, "io");
    int i, rc;

    memset(&o, 0, sizeof o);
    o.dir = sub;
    o.ops = n;
    o.seconds = 1;
    rc = sfj_init() == SFJ_OK ? 0 : -1;
    if (rc == 0)
        rc = bench_keys_load(dir);
    if (rc == 0)
        rc = bench_mkdir(sub);
    bench_io_init(sub);
    if (rc == 0) {
        o.sfj_kind = SFJ_EV_TXN_INTENT;
        rc = bench_append_sfj(&o, 1, &r[BENCH_IO_SFJ_INTENT]);
    }
    if (rc == 0) {
        o.sfj_kind = SFJ_EV_NOTE;
        rc = bench_append_sfj(&o, 1, &r[BENCH_IO_SFJ_NOTE]);
    }
    if (rc == 0)
        rc = bench_append_lmdb(&o, &r[BENCH_IO_LMDB]);
    if (rc == 0)
        rc = bench_append_sqlite(&o, 1, &r[BENCH_IO_SQLITE]);
    if (rc == 0)
        rc = bench_append_fdatasync(&o, &r[BENCH_IO_FDATASYNC]);
    /* The same commits on a journal and a database that already hold
     * entries: what a terminal in service writes, deeper trees, and the
     * txn index's persists into a big index (issue 17's flash wear). */
    o.prefill = n * BENCH_IO_GROWN;
    if (rc == 0) {
        o.sfj_kind = SFJ_EV_TXN_INTENT;
        rc = bench_append_sfj(&o, 1, &r[BENCH_IO_SFJ_GROWN]);
    }
    if (rc == 0)
        rc = bench_append_lmdb(&o, &r[BENCH_IO_LMDB_GROWN]);
    /* What a terminal in service writes per event: sales. */
    if (rc == 0) {
        o.sfj_kind = BENCH_KIND_SALE;
        rc = bench_append_sfj(&o, 1, &r[BENCH_IO_SALE_GROWN]);
    }
    /* Raw LMDB laid out as a format 2 journal: its values in the main
     * database, where a put copies no page for a named database's
     * record. */
    o.prefill = 0;
    o.lmdb_main = 1;
    if (rc == 0)
        rc = bench_append_lmdb(&o, &r[BENCH_IO_LMDB_MAIN]);
    for (i = 0; rc == 0 && i < BENCH_NIO; i++)
        printf("%s %.3f %.3f %.4f %.4f %.3f %.3f\n", io_names[i], r[i].cpu_us,
               r[i].dev_bytes, r[i].pages, r[i].calls, r[i].wbytes, r[i].rate);
    bench_rmrf(sub);
    free(sub);
    sfj_keys_free(bench_keys());
    return rc == 0 ? 0 : BENCH_EXIT_FAIL;
}

int bench_io_run(const bench_opts *o, bench_results *r)
{
    char lib[PATH_MAX], cmd[5 * PATH_MAX], line[256], name[32];
    bench_rate *b;
    const char *asan = getenv("ASAN_OPTIONS");
    const char *pre = getenv("LD_PRELOAD"); /* --flush-delay's model */
    FILE *f;
    int i, got = 0, st, have_lib, more = pre != NULL && pre[0] != '\0';

    have_lib = bench_helper_path("sfj-bench-pages.so", lib, sizeof lib) == 0;
    /* Under AddressSanitizer a preloaded library must not come first. */
    snprintf(cmd, sizeof cmd,
             "%s%s%s%s%s ASAN_OPTIONS='%s%sverify_asan_link_order=0' '%s' "
             "--io-probe '%s' --io-ops %llu --dictionary %s",
             have_lib ? "LD_PRELOAD='" : "", have_lib ? lib : "",
             have_lib && more ? ":" : "", have_lib && more ? pre : "",
             have_lib ? "'" : "", asan != NULL ? asan : "",
             asan != NULL && asan[0] != '\0' ? ":" : "", o->self, o->dir,
             (unsigned long long)o->io_ops, bench_dictionary_name());
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    while (got < BENCH_NIO && fgets(line, sizeof line, f) != NULL) {
        b = &r->io[got];
        memset(b, 0, sizeof *b);
        b->threads = 1;
        if (sscanf(line, "%31s %lf %lf %lf %lf %lf %lf", name, &b->cpu_us,
                   &b->dev_bytes, &b->pages, &b->calls, &b->wbytes,
                   &b->rate) != 7 ||
            strcmp(name, io_names[got]) != 0)
            break;
        got++;
    }
    st = pclose(f);
    if (st != 0 || got != BENCH_NIO) {
        bench_fail("io probe", "failed");
        for (i = 0; i < BENCH_NIO; i++)
            r->io[i].rate = -1;
        return -1;
    }
    r->io_n = o->io_ops;
    bench_io_init(o->dir);
    if (!have_lib)
        snprintf(r->io_why, sizeof r->io_why,
                 "write counter sfj-bench-pages.so not found");
    else if (r->io[0].pages < 0)
        snprintf(r->io_why, sizeof r->io_why,
                 "write counter not loaded in the child");
    else
        r->io_why[0] = '\0';
    if (bench_io_device() == NULL || r->io[0].dev_bytes < 0)
        snprintf(r->dev_why, sizeof r->dev_why,
                 "no block device counters under the bench directory");
    else
        r->dev_why[0] = '\0';
    return 0;
}
