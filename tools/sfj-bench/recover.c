/* Recovery after a crash: how long sfj_journal_open (stale readers,
 * boot counter, tail checkpoint) and sfj_recover take on a journal of
 * 10,000 and one of 1,000,000 entries, each with 10,000 unacked entries
 * and 100 transactions in doubt. The page cache is warm: this measures
 * the work recovery does, not the disk's read latency. */
#include <stdio.h>

#include "bench.h"

static int one(const char *dir, double *open_ms, double *recover_ms)
{
    sfj_journal_opts jo;
    sfj_journal *j = NULL;
    double t0, t1;
    int rc;

    bench_journal_opts(&jo);
    jo.flags = SFJ_OPEN_NOCREATE;
    t0 = bench_now();
    rc = sfj_journal_open(&j, dir, bench_keys(), &jo);
    t1 = bench_now();
    if (rc != SFJ_OK) {
        bench_fail("sfj_journal_open", sfj_strerror(rc));
        return rc;
    }
    *open_ms = (t1 - t0) * 1e3;
    *recover_ms = -1;
    return sfj_journal_close(j);
}

int bench_recover(const bench_opts *o, const char *small, const char *big,
                  bench_results *r)
{
    double unused;
    int rc;

    (void)o;
    /* A first open warms the page cache for both timed ones. */
    rc = one(small, &unused, &unused);
    if (rc == SFJ_OK)
        rc = one(small, &r->open_ms_small, &r->recover_ms_small);
    if (rc == SFJ_OK)
        rc = one(big, &unused, &unused);
    if (rc == SFJ_OK)
        rc = one(big, &r->open_ms_big, &r->recover_ms_big);
    snprintf(r->recover_why, sizeof r->recover_why,
             "sfj_recover (include/sfj/txn.h) is not in this tree; open "
             "alone is shown");
    return rc;
}
