/* sfj-reconcile-bench [N] [DIR]: reconcile N journal sales (default
 * 100,000) against N report lines and print the time and peak memory.
 * Builds the journal in DIR (default a new directory under /tmp) through
 * the batch append; the report matches by reference, except every tenth
 * line (by amount and time) and every hundredth sale (left in doubt). Not
 * a test: docs/RECONCILE.md, "Performance", records its figures. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sfj/sfj.h"
#include "sfj/sys/internal.h"

#define T0 1795773600000ll

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 100000, i,
           len = 0, cap;
    char tmpl[] = "/tmp/sfj-recon-bench.XXXXXX", *dir, (*ids)[24], *rep;
    uint8_t master[32] = {7};
    sfj_keys *keys = NULL;
    sfj_journal *j = NULL;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_recon_opts ro = SFJ_RECON_OPTS_INIT;
    sfj_event *evs;
    sfj_recon *r = NULL;
    struct rusage ru;
    double t0, t1, t2;
    int rc;

    dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
    ids = calloc(n, sizeof *ids);
    evs = calloc(2 * n, sizeof *evs);
    cap = n * 80 + 100;
    rep = malloc(cap);
    if (dir == NULL || ids == NULL || evs == NULL || rep == NULL ||
        sfj_init() != SFJ_OK ||
        sfj_keys_from_bytes(master, sizeof master, &keys) != SFJ_OK)
        return 70;
    o.max_bytes = (uint64_t)n * 1024 + (64u << 20);
    o.terminal_id = "T1";
    rc = sfj_journal_open(dir, keys, &o, &j);
    if (rc != SFJ_OK) {
        fprintf(stderr, "open %s: %s\n", dir, sfj_strerror(rc));
        return 70;
    }
    len +=
        (size_t)snprintf(rep, cap, "reference,amount,currency,time,status\n");
    for (i = 0; i < n; i++) {
        sfj_event *a = &evs[2 * i], *b = &evs[2 * i + 1];
        int64_t amount = 100 + (int64_t)(i % 50000),
                wall = T0 + (int64_t)i * 1000;

        snprintf(ids[i], sizeof ids[i], "B%09zu", i);
        *a = (sfj_event)SFJ_EVENT_INIT;
        a->kind = SFJ_EV_TXN_INTENT;
        a->txn_id = ids[i];
        a->amount = amount;
        a->currency = "EUR";
        a->wall_ms = wall;
        *b = *a;
        b->kind = i % 100 == 99 ? SFJ_EV_NOTE : SFJ_EV_TXN_OUTCOME;
        b->status = i % 100 == 99 ? 0 : SFJ_ST_APPROVED;
        b->txn_id = i % 100 == 99 ? NULL : ids[i];
        len +=
            (size_t)snprintf(rep + len, cap - len,
                             "%s,%" PRId64 ".%02d,EUR,%" PRId64 ",approved\n",
                             i % 10 == 9 ? "" : ids[i], amount / 100,
                             (int)(amount % 100), wall + 30000);
    }
    for (i = 0; i < 2 * n; i += 10000) {
        size_t k = 2 * n - i < 10000 ? 2 * n - i : 10000;

        rc = sfj__journal_append_batch(j, evs + i, k);
        if (rc != SFJ_OK) {
            fprintf(stderr, "append: %s (%s)\n", sfj_strerror(rc),
                    sfj_journal_errmsg(j));
            return 70;
        }
    }
    sfj_journal_close(j);
    o.flags = SFJ_OPEN_RDONLY;
    if (sfj_journal_open(dir, keys, &o, &j) != SFJ_OK)
        return 70;
    sfj_recon_preset("generic", &ro);
    t0 = now_s();
    if (sfj_recon_new(&ro, &r) != SFJ_OK ||
        sfj_recon_add_report(r, "bench.csv", rep, len) != SFJ_OK)
        return 70;
    t1 = now_s();
    rc = sfj_recon_run(r, j);
    t2 = now_s();
    if (rc != SFJ_OK) {
        fprintf(stderr, "run: %s\n", sfj_strerror(rc));
        return 70;
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("reconcile %zu sales vs %zu lines: parse %.3f s, match %.3f s, "
           "total %.3f s; matched %zu, in doubt %zu; peak RSS %ld MiB "
           "(report %zu bytes)\n",
           n, n, t1 - t0, t2 - t1, t2 - t0,
           sfj_recon_result_get(r)->count[SFJ_RECON_MATCHED],
           sfj_recon_result_get(r)->count[SFJ_RECON_DOUBT_APPROVED],
           ru.ru_maxrss / 1024, len);
    sfj_recon_free(r);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    free(evs);
    free(ids);
    free(rep);
    return 0;
}
