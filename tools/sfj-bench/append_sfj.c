/* Durable append through sfj: sfj_append from `threads` threads on one
 * shared handle, so that concurrent callers share group commits. Each
 * append is an INTENT with its own txn id and the 256-byte payload (or,
 * in the io family, also a NOTE with no txn id). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct bench_sfj {
    sfj_journal *j;
    uint16_t kind;
    char *dir;
};

int bench_sfj_op(void *arg, int tid, uint64_t i)
{
    bench_sfj *c = arg;
    sfj_event ev;
    char txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    int rc;

    if (c->kind == BENCH_KIND_SALE) {
        static const uint16_t sale[3] = {SFJ_EV_TXN_INTENT, SFJ_EV_TXN_OUTCOME,
                                         SFJ_EV_RECEIPT};

        /* The three events of sale i / 3: same txn id and amount. */
        bench_event(&ev, sale[i % 3], (uint64_t)tid + 1, i / 3, txn, payload);
    } else {
        bench_event(&ev, c->kind, (uint64_t)tid + 1, i, txn, payload);
    }
    if (c->kind == SFJ_EV_NOTE)
        ev.txn_id = NULL;
    rc = sfj_append(c->j, &ev, NULL);
    if (rc != SFJ_OK)
        fprintf(stderr, "sfj-bench: sfj_append: %s (%s)\n", sfj_strerror(rc),
                sfj_journal_errmsg(c->j));
    return rc;
}

int bench_sfj_open(const bench_opts *o, int threads, bench_sfj **out)
{
    bench_sfj *c = calloc(1, sizeof *c);
    sfj_journal_opts jo;
    char name[32];
    uint64_t i;
    int rc;

    *out = NULL;
    if (c == NULL)
        return SFJ_ENOMEM;
    c->kind = o->sfj_kind != 0 ? o->sfj_kind : SFJ_EV_TXN_INTENT;
    snprintf(name, sizeof name, "append-sfj-%u-%dt%s", c->kind, threads,
             o->prefill > 0 ? "-grown" : "");
    c->dir = bench_path(o->dir, name);
    bench_journal_opts(&jo);
    /* Sales, none acknowledged (nothing pruned under the run); the
     * builder reports its own failure. */
    rc = o->prefill > 0 ? bench_build_journal(o, c->dir, o->prefill, o->prefill,
                                              0, BENCH_GROW_CHUNK)
                        : SFJ_OK;
    if (rc == SFJ_OK &&
        (rc = sfj_journal_open(c->dir, bench_keys(), &jo, &c->j)) != SFJ_OK)
        bench_fail("sfj_journal_open", sfj_strerror(rc));
    if (rc != SFJ_OK) {
        free(c->dir);
        free(c);
        return rc;
    }
    /* Warm up: first commits size the map and fault in pages (from a
     * multiple of 3, so that a sale starts with its intent). */
    for (i = 0; i < 21 && rc == SFJ_OK; i++)
        rc = bench_sfj_op(c, 0, 999999999u + i);
    *out = c;
    return rc;
}

void bench_sfj_close(const bench_opts *o, bench_sfj *c)
{
    if (c == NULL)
        return;
    sfj_journal_close(c->j);
    if (!o->keep)
        bench_rmrf(c->dir);
    free(c->dir);
    free(c);
}

int bench_append_sfj(const bench_opts *o, int threads, bench_rate *out)
{
    bench_sfj *c;
    int rc = bench_sfj_open(o, threads, &c);

    if (rc == SFJ_OK)
        rc = bench_run(threads, bench_seconds(o), o->ops, bench_sfj_op, c, out);
    bench_sfj_close(o, c);
    return rc;
}
