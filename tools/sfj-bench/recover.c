/* Recovery after a crash: sfj_journal_open + sfj_recover on a journal of
 * 10,000 and one of 1,000,000 entries, each with 10,000 unacknowledged
 * entries and 100 transactions in doubt.
 *
 * Each timed run follows a real crash: a child process opens the journal,
 * appends one event and exits without closing, so open finds stale reader
 * slots and an unsealed tail. The page cache is warm (one untimed round
 * first): this measures the work recovery does, not the disk's read
 * latency. The figure is the median of three rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "sfj/txn.h"

#define ROUNDS 3

static int crash(const char *dir)
{
    sfj_journal_opts jo;
    sfj_journal *j = NULL;
    sfj_event ev;
    char txn[32];
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    pid_t pid;
    int st = 0;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return SFJ_EIO;
    if (pid == 0) {
        bench_journal_opts(&jo);
        jo.flags = SFJ_OPEN_NOCREATE;
        if (sfj_journal_open(dir, bench_keys(), &jo, &j) != SFJ_OK)
            _exit(3);
        bench_event(&ev, SFJ_EV_NOTE, 77, (uint64_t)getpid(), txn, payload);
        ev.txn_id = NULL;
        _exit(sfj_append(j, &ev, NULL) == SFJ_OK ? 0 : 4);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        bench_fail("crash child", "could not append");
        return SFJ_EIO;
    }
    return SFJ_OK;
}

static int one(const bench_opts *o, const char *dir, double *ms)
{
    sfj_journal_opts jo;
    sfj_journal *j = NULL;
    sfj_report *rep = NULL;
    double t0, t1;
    int rc = crash(dir);

    if (rc != SFJ_OK)
        return rc;
    bench_journal_opts(&jo);
    jo.flags = SFJ_OPEN_NOCREATE;
    t0 = bench_now();
    rc = sfj_journal_open(dir, bench_keys(), &jo, &j);
    if (rc == SFJ_OK)
        rc = sfj_recover(j, &rep);
    t1 = bench_now();
    if (rc != SFJ_OK) {
        bench_fail("recover", sfj_strerror(rc));
    } else if (rep->status == SFJ_REPORT_CORRUPT ||
               rep->n_in_doubt != o->in_doubt ||
               rep->unforwarded < o->unacked) {
        fprintf(stderr,
                "sfj-bench: recover: status %d, %zu in doubt, %llu "
                "unforwarded: not the journal that was built\n",
                rep->status, rep->n_in_doubt,
                (unsigned long long)rep->unforwarded);
        rc = SFJ_ECORRUPT;
    }
    *ms = (t1 - t0) * 1e3;
    sfj_report_free(rep);
    sfj_journal_close(j);
    return rc;
}

static int median(const bench_opts *o, const char *dir, double *out)
{
    double v[ROUNDS], unused;
    int i, rc = one(o, dir, &unused);

    for (i = 0; i < ROUNDS && rc == SFJ_OK; i++)
        rc = one(o, dir, &v[i]);
    if (rc != SFJ_OK)
        return rc;
    qsort(v, ROUNDS, sizeof v[0], bench_cmp_double);
    *out = v[ROUNDS / 2];
    return SFJ_OK;
}

int bench_recover(const bench_opts *o, const char *small, const char *big,
                  bench_results *r)
{
    int rc = median(o, small, &r->recover_ms_small);

    if (rc == SFJ_OK)
        rc = median(o, big, &r->recover_ms_big);
    return rc;
}
