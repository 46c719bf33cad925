/* Footprint: bytes on disk per entry, and the anonymous memory of a
 * process that has the large journal open.
 *
 * Bytes on disk are the blocks the LMDB data file holds (st_blocks, so
 * the index, the delivery state, free pages and page slack all count)
 * divided by the entries held. Anonymous memory is RssAnon from
 * /proc/self/status of a fresh process (this program re-run with
 * --rss-probe), so that none of the benchmark's own buffers count; the
 * LMDB map is file-backed and is not anonymous memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "sfj/forwarder.h"
#include "sfj/sys/internal.h"

static long long rss_anon_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (sscanf(line, "RssAnon: %lld kB", &kb) == 1)
            break;
    }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

static int ack_all(const sfj_entry *e, void *payload)
{
    (void)e;
    (void)payload;
    return SFJ_DELIVER_ACK;
}

/* The child: open the journal as a terminal app does, start its forwarder
 * thread (a callback sink that acknowledges every entry, so no host is
 * needed), let it deliver the unacknowledged backlog, append a few
 * events, and report RssAnon on stdout while the forwarder still runs.
 * Exit 0 on success. */
int bench_rss_probe(const char *dir)
{
    sfj_forwarder_opts fo = SFJ_FORWARDER_OPTS_INIT;
    sfj_journal_opts jo;
    sfj_forwarder *f = NULL;
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_event ev;
    char *keyfile, txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    uint64_t i;
    int rc;

    keyfile = bench_path(dir, "../bench.key");
    rc = sfj_init();
    if (rc == SFJ_OK)
        rc = sfj_keys_load_file(keyfile, &keys);
    free(keyfile);
    bench_journal_opts(&jo);
    jo.flags = SFJ_OPEN_NOCREATE;
    if (rc == SFJ_OK)
        rc = sfj_journal_open(dir, keys, &jo, &j);
    fo.sink = SFJ_SINK_CALLBACK;
    fo.deliver = ack_all;
    if (rc == SFJ_OK)
        rc = sfj_forwarder_new(j, &fo, &f);
    if (rc == SFJ_OK)
        rc = sfj_forwarder_start(f);
    if (rc == SFJ_OK)
        rc = sfj_forwarder_flush(f, 120000);
    for (i = 0; i < 10 && rc == SFJ_OK; i++) {
        bench_event(&ev, SFJ_EV_NOTE, 99, i, txn, payload);
        ev.txn_id = NULL;
        rc = sfj_append(j, &ev, NULL);
    }
    if (rc == SFJ_OK)
        rc = sfj_forwarder_flush(f, 120000);
    if (rc == SFJ_OK)
        printf("%lld\n", rss_anon_bytes());
    else
        fprintf(stderr, "sfj-bench: rss probe: %s\n", sfj_strerror(rc));
    sfj_forwarder_free(f);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return rc == SFJ_OK ? 0 : BENCH_EXIT_FAIL;
}

static int probe(const bench_opts *o, const char *dir, double *out)
{
    char cmd[4096], line[64];
    FILE *f;
    long long v = -1;
    int st;

    snprintf(cmd, sizeof cmd, "'%s' --rss-probe '%s'", o->self, dir);
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
    if (probe(o, dir, &r->anon_rss_bytes) != 0) {
        bench_fail("rss probe", "failed");
        return SFJ_EIO;
    }
    r->rss_with_forwarder = 1;
    snprintf(r->rss_why, sizeof r->rss_why,
             "journal open, forwarder thread running, backlog delivered");
    return SFJ_OK;
}
