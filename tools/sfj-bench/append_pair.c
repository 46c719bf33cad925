/* The 1-thread comparison behind issue 17's first target: sfj's append
 * and raw LMDB's put, both open at once and run in alternating slices
 * (runner.c), not one after the other. A disk's sync time drifts by 10%
 * and more over seconds; run in turn, the drift decided the ratio. */
#include "bench.h"

int bench_append_pair(const bench_opts *o, bench_rate *sfj, bench_rate *lmdb)
{
    bench_sfj *s = NULL;
    bench_lmdb *l = NULL;
    bench_op_fn const op[2] = {bench_sfj_op, bench_lmdb_op};
    void *ctx[2];
    bench_rate out[2];
    int rc = bench_sfj_open(o, 1, &s);

    if (rc == 0)
        rc = bench_lmdb_open(o, &l);
    if (rc == 0) {
        ctx[0] = s;
        ctx[1] = l;
        rc = bench_run_alternating(bench_seconds(o), o->ops, BENCH_PAIR_SLICES,
                                   op, ctx, out);
    }
    if (rc == 0) {
        *sfj = out[0];
        *lmdb = out[1];
    }
    bench_lmdb_close(o, l);
    bench_sfj_close(o, s);
    return rc;
}
