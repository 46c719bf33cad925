/* Footprint: bytes on disk per entry, and the anonymous memory of a
 * process that has the large journal open.
 *
 * Bytes on disk are the blocks the LMDB data file holds (st_blocks, so
 * the index, the delivery state, free pages and page slack all count)
 * divided by the entries held. Anonymous memory is RssAnon of a fresh
 * process that links what a terminal app links, libsfj and libc
 * (sfj-bench-rss, rss_probe.c), not this program with its SQLite, LMDB
 * and libpq baselines; the LMDB map is file-backed and is not anonymous
 * memory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "sfj/forwarder.h"
#include "sfj/sys/internal.h"

static int probe(const char *dir, double *out)
{
    char exe[PATH_MAX], cmd[2 * PATH_MAX + 8], line[64];
    FILE *f;
    long long v = -1;
    int st;

    if (bench_helper_path("sfj-bench-rss", exe, sizeof exe) != 0 ||
        snprintf(cmd, sizeof cmd, "'%s' '%s'", exe, dir) >= (int)sizeof cmd)
        return -1;
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof line, f) != NULL)
        v = atoll(line);
    st = pclose(f);
    if (st != 0 || v <= 0)
        return -1;
    *out = (double)v;
    return 0;
}

int bench_footprint(const bench_opts *o, const char *dir, bench_results *r)
{
    sfj_journal_opts jo;
    sfj_journal *j = NULL;
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    sfj_stats st = SFJ_STATS_INIT;
    struct stat sb;
    uint64_t seq, n = 0, sum = 0;
    size_t len;
    char *data = bench_path(dir, "data.mdb");
    int rc;

    bench_journal_opts(&jo);
    jo.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    rc = sfj_journal_open(dir, bench_keys(), &jo, &j);
    if (rc == SFJ_OK)
        rc = sfj_stats_get(j, &st);
    if (rc == SFJ_OK)
        rc = sfj_iter_open(j, &q, &it);
    while (rc == SFJ_OK &&
           (rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        n++;
        sum += len;
    }
    if (rc == SFJ_ENOTFOUND)
        rc = SFJ_OK;
    sfj_iter_free(it);
    sfj_journal_close(j);
    if (rc == SFJ_OK && (stat(data, &sb) != 0 || n == 0))
        rc = SFJ_EIO;
    free(data);
    if (rc != SFJ_OK) {
        bench_fail("bytes on disk", sfj_strerror(rc));
        return rc;
    }
    r->bytes_n = n;
    r->record_bytes = (double)sum / (double)n;
    r->bytes_per_entry = (double)sb.st_blocks * 512.0 / (double)n;

    r->anon_rss_bytes = -1;
    if (probe(dir, &r->anon_rss_bytes) != 0) {
        bench_fail("rss probe", "failed");
        return SFJ_EIO;
    }
    r->rss_with_forwarder = 1;
    snprintf(r->rss_why, sizeof r->rss_why,
             "journal open, forwarder thread running, backlog delivered");
    return SFJ_OK;
}
