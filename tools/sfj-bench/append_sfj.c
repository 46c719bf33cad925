/* Durable append through sfj: sfj_append from `threads` threads on one
 * shared handle, so that concurrent callers share group commits. Each
 * append is an INTENT with its own txn id and the 256-byte payload (or,
 * in the io family, also a NOTE with no txn id). */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

typedef struct ctx {
    sfj_journal *j;
    uint16_t kind;
} ctx;

static int one(void *arg, int tid, uint64_t i)
{
    ctx *c = arg;
    sfj_event ev;
    char txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    int rc;

    bench_event(&ev, c->kind, (uint64_t)tid + 1, i, txn, payload);
    if (c->kind == SFJ_EV_NOTE)
        ev.txn_id = NULL;
    rc = sfj_append(c->j, &ev, NULL);
    if (rc != SFJ_OK)
        fprintf(stderr, "sfj-bench: sfj_append: %s (%s)\n", sfj_strerror(rc),
                sfj_journal_errmsg(c->j));
    return rc;
}

int bench_append_sfj(const bench_opts *o, int threads, bench_rate *out)
{
    sfj_journal_opts jo;
    char name[32];
    char *dir;
    ctx c;
    uint64_t i;
    int rc;

    c.kind = o->sfj_kind != 0 ? o->sfj_kind : SFJ_EV_TXN_INTENT;
    snprintf(name, sizeof name, "append-sfj-%u-%dt", c.kind, threads);
    dir = bench_path(o->dir, name);
    bench_journal_opts(&jo);
    rc = sfj_journal_open(dir, bench_keys(), &jo, &c.j);
    if (rc != SFJ_OK) {
        bench_fail("sfj_journal_open", sfj_strerror(rc));
        free(dir);
        return rc;
    }
    /* Warm up: first commits size the map and fault in pages. */
    for (i = 0; i < 20 && rc == SFJ_OK; i++)
        rc = one(&c, 0, 1000000000u + i);
    if (rc == SFJ_OK)
        rc = bench_run(threads, bench_seconds(o), o->ops, one, &c, out);
    sfj_journal_close(c.j);
    if (!o->keep)
        bench_rmrf(dir);
    free(dir);
    return rc;
}
