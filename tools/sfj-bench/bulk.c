/* Building large journals fast, without weakening any commit.
 *
 * sfj_append commits (and fsyncs) once per call or per group of
 * concurrent callers; a million entries that way would take minutes. The
 * builder instead makes chunks of events on two threads and hands each
 * chunk to the library's batch append (sfj__journal_append_batch), which
 * packs them outside the commit and writes the whole chunk in one durable
 * group commit, with a signed checkpoint every checkpoint_every entries.
 * The records are byte for byte what sfj_append writes; only the number
 * of records per fsync differs. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli_progress.h"
#include "sfj/sys/internal.h"

/* Chunks are a multiple of 3 events, so that a txn's intent, outcome and
 * receipt always travel together (bench.h: BENCH_BULK_CHUNK and
 * BENCH_GROW_CHUNK say why each size). */

typedef struct item {
    char txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
} item;

typedef struct plan {
    sfj_journal *j;
    uint64_t events;    /* events to write */
    uint64_t triples;   /* events that belong to complete txns */
    int64_t base_ms;    /* wall time of event 0 */
    uint64_t chunk;     /* events per batch append */
    atomic_ullong next; /* next chunk to build */
    atomic_int failed;
    atomic_int finished; /* builder threads done */
} plan;

typedef struct chunk {
    item *it; /* buffers the events point into */
    sfj_event *ev;
    size_t n;
} chunk;

static void make_item(plan *p, uint64_t k, item *e, sfj_event *ev)
{
    uint16_t kind;
    uint64_t txn;

    if (k < p->triples) {
        static const uint16_t kinds[3] = {SFJ_EV_TXN_INTENT, SFJ_EV_TXN_OUTCOME,
                                          SFJ_EV_RECEIPT};
        kind = kinds[k % 3];
        txn = k / 3;
    } else {
        kind = SFJ_EV_TXN_INTENT; /* in doubt: no outcome follows */
        txn = p->triples / 3 + (k - p->triples);
    }
    bench_event(ev, kind, 0, txn, e->txn, e->payload);
    /* One event every few seconds, ending now. */
    ev->wall_ms = p->base_ms + (int64_t)k * 2000;
}

static void *builder(void *arg)
{
    plan *p = arg;
    chunk c;
    uint64_t ci, k;
    int rc;

    c.it = calloc(p->chunk, sizeof *c.it);
    c.ev = calloc(p->chunk, sizeof *c.ev);
    if (c.it == NULL || c.ev == NULL) {
        atomic_store(&p->failed, SFJ_ENOMEM);
        goto done;
    }
    while (!atomic_load(&p->failed)) {
        ci = atomic_fetch_add(&p->next, 1);
        if (ci * p->chunk >= p->events)
            break;
        c.n = 0;
        for (k = ci * p->chunk; k < p->events && c.n < p->chunk; k++, c.n++)
            make_item(p, k, &c.it[c.n], &c.ev[c.n]);
        rc = sfj__journal_append_batch(p->j, c.ev, c.n);
        if (rc != SFJ_OK) {
            fprintf(stderr, "sfj-bench: bulk commit: %s (%s)\n",
                    sfj_strerror(rc), sfj_journal_errmsg(p->j));
            atomic_store(&p->failed, rc);
        }
    }
done:
    free(c.ev);
    free(c.it);
    atomic_fetch_add(&p->finished, 1);
    return NULL;
}

int bench_build_journal(const bench_opts *o, const char *dir, uint64_t n,
                        uint64_t unacked, uint64_t in_doubt, uint64_t per_batch)
{
    struct timespec nap = {0, 50 * 1000 * 1000};
    sfj__progress pr;
    sfj_journal_opts jo;
    pthread_t th[2];
    uint64_t last = 0, ckpts;
    plan p;
    int i, rc;

    bench_journal_opts(&jo);
    memset(&p, 0, sizeof p);
    p.chunk = per_batch;
    rc = sfj_journal_open(dir, bench_keys(), &jo, &p.j);
    if (rc != SFJ_OK) {
        bench_fail("sfj_journal_open", sfj_strerror(rc));
        return rc;
    }
    /* Checkpoints count as entries: leave room for them (and the closing
     * one) so that the journal holds about n entries. */
    ckpts = n / 1000;
    p.events = n > ckpts + 1 ? n - ckpts - 1 : 1;
    if (in_doubt > p.events)
        in_doubt = p.events;
    p.triples = (p.events - in_doubt) / 3 * 3;
    p.events = p.triples + in_doubt;
    p.base_ms = bench_wall_ms() - (int64_t)p.events * 2000;
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    atomic_init(&p.finished, 0);
    sfj__progress_start(&pr, "sfj-bench", "building a journal", "entries",
                        p.events);
    for (i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, builder, &p);
    while (atomic_load(&p.finished) < 2) {
        uint64_t chunks = atomic_load(&p.next);

        sfj__progress_step(&pr, chunks * p.chunk < p.events ? chunks * p.chunk
                                                            : p.events);
        nanosleep(&nap, NULL);
    }
    sfj__progress_end(&pr);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    rc = atomic_load(&p.failed);
    if (rc == SFJ_OK)
        rc = sfj__journal_head(p.j, &last, NULL);
    if (rc == SFJ_OK && last > unacked) {
        rc = sfj__journal_ack(p.j, last - unacked, NULL, 0);
        if (rc != SFJ_OK)
            bench_fail("ack", sfj_strerror(rc));
    }
    (void)o;
    i = sfj_journal_close(p.j);
    return rc != SFJ_OK ? rc : i;
}
