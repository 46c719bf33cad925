/* Verification rate: what sfj-dump --verify does (sfj__verify), over the
 * large journal, once on clear headers only (chain hashes and checkpoint
 * signatures, no key needed) and once decrypting every record as well. */
#include <stdio.h>

#include "bench.h"
#include "sfj/sys/verify.h"

static int run(sfj_journal *j, int decrypt, double *eps, uint64_t *n)
{
    sfj__verify_result r;
    double t0 = bench_now(), dt;
    int rc = sfj__verify(j, 0, NULL, decrypt, &r);

    dt = bench_now() - t0;
    if (rc != SFJ_OK) {
        bench_fail("verify", sfj_journal_errmsg(j));
        return rc;
    }
    if (r.bad_seq != 0 || r.entries == 0) {
        bench_fail("verify", r.bad_seq ? r.reason : "empty journal");
        return SFJ_ECORRUPT;
    }
    *eps = (double)r.entries / dt;
    *n = r.entries;
    return SFJ_OK;
}

int bench_verify(const bench_opts *o, const char *dir, bench_results *r)
{
    sfj_journal_opts jo;
    sfj_journal *j = NULL;
    int rc;

    (void)o;
    bench_journal_opts(&jo);
    /* Read-only, as sfj-dump opens it. */
    jo.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    rc = sfj_journal_open(dir, bench_keys(), &jo, &j);
    if (rc != SFJ_OK) {
        bench_fail("sfj_journal_open (read-only)", sfj_strerror(rc));
        return rc;
    }
    /* One untimed pass brings the file into the page cache, so that both
     * timed passes measure the same thing: CPU, not the disk. */
    rc = run(j, 0, &r->verify_plain_eps, &r->verify_n);
    if (rc == SFJ_OK)
        rc = run(j, 0, &r->verify_plain_eps, &r->verify_n);
    if (rc == SFJ_OK)
        rc = run(j, 1, &r->verify_decrypt_eps, &r->verify_n);
    sfj_journal_close(j);
    return rc;
}
