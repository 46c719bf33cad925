/* Building large journals fast, without weakening any commit.
 *
 * sfj_append commits (and fsyncs) once per call or per group of
 * concurrent callers; a million entries that way would take minutes. The
 * builder instead packs (encodes and deflates) chunks of events on two
 * threads and hands each chunk to the journal's own group commit as one
 * operation: the commit leader seals the chunk's records in seq order
 * (each header needs its seq and the chain head), puts them, runs the
 * transaction hooks for each, writes a signed checkpoint every
 * checkpoint_every entries, and commits with the default durable sync.
 * The records are byte for byte what sfj_append writes; only the number
 * of records per fsync differs. This path lives in sfj-bench only. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common/clock.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "journal/internal.h"
#include "journal/store/journal_impl.h"
#include "journal/write/txn_hooks.h"

/* Events per commit: a multiple of 3, so that a txn's intent, outcome and
 * receipt always travel together. */
#define CHUNK 3000

typedef struct item {
    sfj_event ev;
    char txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    uint8_t *pt;
    size_t pt_len;
    uint8_t flags;
    int64_t wall_ms;
} item;

typedef struct plan {
    sfj_journal *j;
    uint64_t events;    /* events to write */
    uint64_t triples;   /* events that belong to complete txns */
    int64_t base_ms;    /* wall time of event 0 */
    atomic_ullong next; /* next chunk to build */
    atomic_int failed;
} plan;

typedef struct chunk {
    item *it;
    size_t n;
    uint8_t *rec; /* scratch for one sealed record */
} chunk;

static int bulk_apply(sfj__wctx *w, void *arg)
{
    chunk *c = arg;
    sfj_journal *j = w->j;
    sfj__rec_hdr h;
    size_t i, len;
    int rc;

    for (i = 0; i < c->n; i++) {
        item *e = &c->it[i];

        len = SFJ_REC_HDR_BYTES + e->pt_len + SFJ_REC_TAG_BYTES;
        rc = sfj__txn_check(w, &e->ev, e->wall_ms);
        if (rc == SFJ_OK)
            rc = sfj__wctx_reserve(w, len);
        if (rc != SFJ_OK)
            return rc;
        memset(&h, 0, sizeof h);
        h.format = SFJ_REC_FORMAT;
        h.flags = e->flags;
        h.kind = e->ev.kind;
        h.epoch = j->epoch;
        h.seq = w->last_seq + 1;
        h.wall_ms = e->wall_ms;
        memcpy(h.prev_chain, w->head, sizeof h.prev_chain);
        sfj__rec_seal(j->journal_id, j->epoch_key, &h, e->pt, e->pt_len,
                      c->rec);
        rc = sfj__wctx_put_entry(w, c->rec, len);
        if (rc == SFJ_OK)
            rc = sfj__txn_apply(w, &e->ev, w->last_seq, e->wall_ms);
        if (rc == SFJ_OK &&
            w->last_seq - w->last_ckpt >= j->opts.checkpoint_every)
            rc = sfj__wctx_checkpoint(w);
        if (rc != SFJ_OK)
            return rc;
    }
    return SFJ_OK;
}

static void make_item(plan *p, uint64_t k, item *e)
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
    bench_event(&e->ev, kind, 0, txn, e->txn, e->payload);
    /* One event every few seconds, ending now. */
    e->wall_ms = p->base_ms + (int64_t)k * 2000;
    e->ev.wall_ms = e->wall_ms;
}

static void *builder(void *arg)
{
    plan *p = arg;
    chunk c;
    uint64_t ci, k;
    size_t i;
    int rc;

    c.it = calloc(CHUNK, sizeof *c.it);
    c.rec = malloc(SFJ_REC_MAX_BYTES);
    if (c.it == NULL || c.rec == NULL) {
        atomic_store(&p->failed, SFJ_ENOMEM);
        goto done;
    }
    while (!atomic_load(&p->failed)) {
        ci = atomic_fetch_add(&p->next, 1);
        if (ci * CHUNK >= p->events)
            break;
        c.n = 0;
        for (k = ci * CHUNK; k < p->events && c.n < CHUNK; k++, c.n++) {
            item *e = &c.it[c.n];

            make_item(p, k, e);
            rc = sfj__event_pack(&e->ev, p->j->boot, &e->pt, &e->pt_len,
                                 &e->flags);
            if (rc != SFJ_OK) {
                atomic_store(&p->failed, rc);
                break;
            }
        }
        if (!atomic_load(&p->failed)) {
            rc = sfj__commit(p->j, bulk_apply, &c);
            if (rc != SFJ_OK) {
                fprintf(stderr, "sfj-bench: bulk commit: %s (%s)\n",
                        sfj_strerror(rc), sfj_journal_errmsg(p->j));
                atomic_store(&p->failed, rc);
            }
        }
        for (i = 0; i < c.n; i++) {
            if (c.it[i].pt != NULL) {
                sodium_memzero(c.it[i].pt, c.it[i].pt_len);
                free(c.it[i].pt);
                c.it[i].pt = NULL;
            }
        }
    }
done:
    free(c.rec);
    free(c.it);
    return NULL;
}

int bench_journal_opts(sfj_journal_opts *opts)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    o.terminal_id = "TID00042";
    /* Room for a million entries and their index. */
    o.max_bytes = (uint64_t)2 << 30;
    *opts = o;
    return SFJ_OK;
}

int bench_build_journal(const bench_opts *o, const char *dir, uint64_t n,
                        uint64_t unacked, uint64_t in_doubt)
{
    sfj_journal_opts jo;
    pthread_t th[2];
    uint64_t last = 0, ckpts;
    plan p;
    int i, rc;

    bench_journal_opts(&jo);
    memset(&p, 0, sizeof p);
    rc = sfj_journal_open(&p.j, dir, bench_keys(), &jo);
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
    p.base_ms = sfj__now_ms() - (int64_t)p.events * 2000;
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    for (i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, builder, &p);
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
