/* sfj-bench-rss: the anonymous memory of a terminal app's process, for
 * sfj-bench's footprint row. A program of its own that links libsfj and
 * libc only, as an app does: sfj-bench itself links SQLite, raw LMDB
 * and libpq for its baselines, whose relocated data would count as the
 * journal's.
 *
 *   sfj-bench-rss DIR    prints RssAnon in bytes; exit 0, or 1 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int run_probe(const char *dir)
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

    keyfile = malloc(strlen(dir) + sizeof "/../bench.key");
    if (keyfile == NULL)
        return BENCH_EXIT_FAIL;
    sprintf(keyfile, "%s/../bench.key", dir);
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sfj-bench-rss DIR\n");
        return BENCH_EXIT_USAGE;
    }
    return run_probe(argv[1]);
}
