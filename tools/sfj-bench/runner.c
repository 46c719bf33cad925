/* The multi-thread driver: every thread waits at one barrier, then runs
 * its operations back to back until the deadline (or its operation
 * budget), timing each one. The rate counts operations completed by all
 * threads over the time from the barrier to the last thread's finish. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct worker {
    pthread_t th;
    int tid;
    struct run *run;
    double *lat;
    size_t n, cap;
    double end;
    int rc;
} worker;

typedef struct run {
    bench_op_fn op;
    void *ctx;
    double seconds;
    uint64_t max_ops;
    pthread_barrier_t barrier;
    double start;
    atomic_int stop;
} run;

static int push(worker *w, double v)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        double *nl = realloc(w->lat, cap * sizeof *nl);

        if (nl == NULL)
            return -1;
        w->lat = nl;
        w->cap = cap;
    }
    w->lat[w->n++] = v;
    return 0;
}

/* Operations *next, *next + 1, ... of `op` into w's latencies, until
 * `deadline`, `budget` of them, *stop (when given) or a failure (w->rc).
 * Returns the time the last one ended. */
static double timed_ops(worker *w, bench_op_fn op, void *ctx, uint64_t *next,
                        uint64_t budget, double deadline, atomic_int *stop)
{
    double t0, t1 = bench_now();
    uint64_t n;

    for (n = 0; n < budget && (stop == NULL || !atomic_load(stop)); n++) {
        t0 = t1;
        if (t0 >= deadline)
            break;
        w->rc = op(ctx, w->tid, (*next)++);
        t1 = bench_now();
        if (w->rc != 0 || push(w, t1 - t0) != 0) {
            if (w->rc == 0)
                w->rc = -1;
            break;
        }
    }
    return t1;
}

static void *work(void *arg)
{
    worker *w = arg;
    run *r = w->run;
    uint64_t next = 0;

    pthread_barrier_wait(&r->barrier);
    w->end = timed_ops(w, r->op, r->ctx, &next, r->max_ops,
                       r->start + r->seconds, &r->stop);
    if (w->rc != 0)
        atomic_store(&r->stop, 1);
    return NULL;
}

double bench_seconds(const bench_opts *o)
{
    return o->ops > 0 ? 1e9 : o->seconds;
}

int bench_run(int threads, double seconds, uint64_t max_ops_per_thread,
              bench_op_fn op, void *ctx, bench_rate *out)
{
    worker *ws = calloc((size_t)threads, sizeof *ws);
    run r;
    bench_io io0, io1;
    double *all = NULL, end = 0;
    size_t total = 0, k;
    int i, started = 0, rc = 0;

    memset(out, 0, sizeof *out);
    out->rate = -1;
    out->cpu_us = out->dev_bytes = out->pages = out->calls = out->wbytes =
        out->switches = -1;
    out->threads = threads;
    if (ws == NULL)
        return -1;
    memset(&r, 0, sizeof r);
    r.op = op;
    r.ctx = ctx;
    r.seconds = seconds;
    r.max_ops = max_ops_per_thread ? max_ops_per_thread : UINT64_MAX;
    atomic_init(&r.stop, 0);
    pthread_barrier_init(&r.barrier, NULL, (unsigned)threads + 1);
    for (i = 0; i < threads; i++) {
        ws[i].tid = i;
        ws[i].run = &r;
        if (pthread_create(&ws[i].th, NULL, work, &ws[i]) != 0) {
            /* Nobody passes the barrier until all arrive: give up the
             * whole run without waiting. */
            fprintf(stderr, "sfj-bench: cannot start thread %d\n", i);
            exit(BENCH_EXIT_FAIL);
        }
        started++;
    }
    bench_io_snap(&io0);
    r.start = bench_now();
    pthread_barrier_wait(&r.barrier);
    for (i = 0; i < started; i++) {
        pthread_join(ws[i].th, NULL);
        if (ws[i].rc != 0)
            rc = ws[i].rc;
        total += ws[i].n;
        if (ws[i].end > end)
            end = ws[i].end;
    }
    bench_io_snap(&io1);
    pthread_barrier_destroy(&r.barrier);
    if (rc == 0 && total > 0) {
        all = malloc(total * sizeof *all);
        if (all == NULL)
            rc = -1;
    }
    if (rc == 0 && total > 0) {
        for (k = 0, i = 0; i < threads; i++) {
            memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
            k += ws[i].n;
        }
        out->ops = total;
        out->secs = end - r.start;
        out->rate = (double)total / out->secs;
        bench_percentiles(all, total, out);
        bench_io_delta(&io0, &io1, total, out);
    }
    for (i = 0; i < threads; i++)
        free(ws[i].lat);
    free(all);
    free(ws);
    return rc;
}

int bench_run_alternating(double seconds, uint64_t max_ops, int slices,
                          bench_op_fn const op[2], void *const ctx[2],
                          bench_rate out[2])
{
    worker acc[2];
    double secs[2] = {0, 0}, start;
    uint64_t next[2] = {0, 0}, budget;
    int s, k, rc = 0;

    memset(acc, 0, sizeof acc);
    budget = max_ops > 0 ? (max_ops + (uint64_t)slices - 1) / (uint64_t)slices
                         : UINT64_MAX;
    for (s = 0; s < slices && rc == 0; s++) {
        for (k = 0; k < 2 && rc == 0; k++) {
            start = bench_now();
            secs[k] += timed_ops(&acc[k], op[k], ctx[k], &next[k], budget,
                                 start + seconds / slices, NULL) -
                       start;
            rc = acc[k].rc;
        }
    }
    for (k = 0; k < 2; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].threads = 1;
        out[k].rate = -1;
        out[k].cpu_us = out[k].dev_bytes = out[k].pages = out[k].calls =
            out[k].wbytes = out[k].switches = -1;
        if (rc == 0 && acc[k].n > 0) {
            out[k].ops = acc[k].n;
            out[k].secs = secs[k];
            out[k].rate = (double)acc[k].n / secs[k];
            bench_percentiles(acc[k].lat, acc[k].n, &out[k]);
        }
        free(acc[k].lat);
    }
    return rc;
}
