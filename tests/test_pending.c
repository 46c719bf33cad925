/* Sales waiting to upload, read without the key (sfj_pending_get), and a
 * journal that does not track receipts (SFJ_OPEN_NO_RECEIPTS).
 *
 * The pending row must always equal a keyed recount of the entries:
 * approved OFFLINE entries neither under the ack watermark nor in the
 * acked set. The kill -9 test checks it after every crash;
 * SFJ_PENDING_ROUNDS sets the number of rounds (default 12, SFJ_SOAK=1:
 * 300). */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal/store/journal_impl.h"
#include "journal/write/pending.h"
#include "sfj/sys/internal.h"
#include "support/testutil.h"

#define WHO "test_pending"

/* What a keyed reader counts by decrypting every entry. */
typedef struct recount {
    uint64_t sales, oldest_seq;
    int64_t oldest_ms;
    int64_t eur, usd;
    uint64_t n_eur, n_usd;
} recount;

static void keyed_recount(const char *path, sfj_keys *keys, recount *rc_out)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    sfj_iter *it = NULL;
    sfj_entry *e = NULL;
    int acked, rc;

    memset(rc_out, 0, sizeof *rc_out);
    o.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(path, keys, &o, &j), SFJ_OK);
    assert_int_equal(sfj_iter_open(j, NULL, &it), SFJ_OK);
    while ((rc = sfj_iter_next(it, &e)) == SFJ_OK) {
        if (e->kind == SFJ_EV_TXN_OFFLINE && e->status == SFJ_ST_APPROVED) {
            assert_int_equal(sfj__journal_is_acked(j, e->seq, &acked), SFJ_OK);
            if (!acked) {
                if (rc_out->sales++ == 0) {
                    rc_out->oldest_seq = e->seq;
                    rc_out->oldest_ms = e->wall_ms;
                }
                if (strcmp(e->currency, "EUR") == 0) {
                    rc_out->eur += e->amount;
                    rc_out->n_eur++;
                } else {
                    assert_string_equal(e->currency, "USD");
                    rc_out->usd += e->amount;
                    rc_out->n_usd++;
                }
            }
        }
        sfj_entry_free(e);
    }
    assert_int_equal(rc, SFJ_ENOTFOUND);
    sfj_iter_free(it);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
}

/* The keyless view: open read-only with no key and read the row. */
static int keyless_pending(const char *path, sfj_pending *p)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    int rc;

    o.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(path, NULL, &o, &j), SFJ_OK);
    rc = sfj_pending_get(j, p);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    return rc;
}

static const sfj_pending_amount *find_cur(const sfj_pending *p, const char *cy)
{
    unsigned i;

    for (i = 0; i < p->n_currencies; i++)
        if (strcmp(p->currencies[i].currency, cy) == 0)
            return &p->currencies[i];
    return NULL;
}

static void assert_matches(const sfj_pending *p, const recount *r)
{
    const sfj_pending_amount *eur = find_cur(p, "EUR");
    const sfj_pending_amount *usd = find_cur(p, "USD");

    assert_int_equal(p->sales, r->sales);
    assert_int_equal(p->oldest_seq, r->oldest_seq);
    assert_int_equal(p->oldest_ms, r->oldest_ms);
    assert_int_equal(p->amounts_complete, 1);
    assert_int_equal(p->n_currencies, (r->n_eur > 0) + (r->n_usd > 0));
    assert_int_equal(eur ? eur->count : 0, r->n_eur);
    assert_int_equal(eur ? eur->amount : 0, r->eur);
    assert_int_equal(usd ? usd->count : 0, r->n_usd);
    assert_int_equal(usd ? usd->amount : 0, r->usd);
}

static uint64_t put(sfj_journal *j, sfj_kind kind, sfj_status st,
                    const char *txn, int64_t amount, const char *cy,
                    int64_t wall_ms)
{
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t seq = 0;

    ev.kind = kind;
    ev.status = st;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = cy;
    ev.wall_ms = wall_ms;
    if (kind == SFJ_EV_RECEIPT)
        ev.copy = 1;
    assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
    return seq;
}

/* Only approved OFFLINE sales count; acks (watermark, sparse, passing an
 * entry set aside) take them off; the oldest moves on. */
static void test_counts_sales_not_entries(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_pending p = SFJ_PENDING_INIT;
    recount r;
    uint64_t s1, s2, s3, s4;

    put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "on-1", 900, "EUR", 1000);
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL, 0, NULL, 1001);
    s1 = put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "off-1", 1000, "EUR",
             2000);
    put(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "off-1", 0, NULL, 2001);
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_DECLINED, "off-x", 7777, "EUR", 2002);
    s2 = put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "off-2", 2850, "EUR",
             3000);
    s3 = put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "off-3", 500, "USD",
             4000);
    s4 = put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "off-4", 9000, "EUR",
             5000);

    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 4);
    assert_int_equal(p.oldest_seq, s1);
    assert_int_equal(p.oldest_ms, 2000);
    assert_non_null(find_cur(&p, "EUR"));
    assert_int_equal(find_cur(&p, "EUR")->amount, 1000 + 2850 + 9000);
    assert_int_equal(find_cur(&p, "USD")->amount, 500);
    keyed_recount(f->path, f->keys, &r);
    assert_matches(&p, &r);

    /* The oldest acknowledged by the watermark: the next one is oldest. */
    assert_int_equal(sfj__journal_ack(f->j, s1, NULL, 0), SFJ_OK);
    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 3);
    assert_int_equal(p.oldest_seq, s2);
    assert_int_equal(p.oldest_ms, 3000);
    keyed_recount(f->path, f->keys, &r);
    assert_matches(&p, &r);

    /* A sparse ack above the watermark. */
    assert_int_equal(sfj__journal_ack(f->j, 0, &s3, 1), SFJ_OK);
    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 2);
    assert_null(find_cur(&p, "USD"));
    keyed_recount(f->path, f->keys, &r);
    assert_matches(&p, &r);

    /* s2 set aside, then the watermark passes it and s4 on the way. */
    assert_int_equal(sfj__journal_set_attention(f->j, s2, 1, "test"), SFJ_OK);
    assert_int_equal(sfj__journal_ack(f->j, s2 - 1, NULL, 0), SFJ_OK);
    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 1); /* s2 passed, s4 waits */
    assert_int_equal(p.oldest_seq, s4);
    keyed_recount(f->path, f->keys, &r);
    assert_matches(&p, &r);

    assert_int_equal(sfj__journal_ack(f->j, s4, NULL, 0), SFJ_OK);
    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 0);
    assert_int_equal(p.oldest_seq, 0);
    assert_int_equal(p.n_currencies, 0);
}

/* Remove the row as a journal of an older library lacks it. */
static void drop_row(sfj_journal *j)
{
    MDB_txn *txn;
    MDB_val k = {sizeof SFJ__META_PENDING - 1, (void *)SFJ__META_PENDING};

    assert_int_equal(mdb_txn_begin(j->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_del(txn, j->db_meta, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* An older journal: unknown to a keyless reader, then rebuilt at the first
 * keyed writable open to what a recount gives. */
static void test_old_journal_rebuilt(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_pending p = SFJ_PENDING_INIT;
    recount r;
    uint64_t s1;

    s1 = put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "a", 1250, "EUR", 10);
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "b", 300, "USD", 20);
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "c", 50, "EUR", 30);
    assert_int_equal(sfj__journal_ack(f->j, s1, NULL, 0), SFJ_OK);
    drop_row(f->j);
    /* Appends and acks leave an absent row absent (unknown). */
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "d", 70, "EUR", 40);
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(keyless_pending(f->path, &p), SFJ_ENOTFOUND);
    assert_int_equal(p.sales, 0);

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(keyless_pending(f->path, &p), SFJ_OK);
    assert_int_equal(p.sales, 3);
    assert_int_equal(p.oldest_ms, 20);
    keyed_recount(f->path, f->keys, &r);
    assert_matches(&p, &r);
}

static int rounds(void)
{
    const char *s = getenv("SFJ_PENDING_ROUNDS");
    const char *soak = getenv("SFJ_SOAK");

    if (s != NULL && atoi(s) > 0)
        return atoi(s);
    return soak != NULL && strcmp(soak, "1") == 0 ? 300 : 12;
}

/* Child: sales in two currencies, declined ones, notes, and acks of both
 * kinds, until killed. */
static void child(const char *path, int round, unsigned seed, int fd)
{
    sfj_keys *keys = sfj_test_keys(4);
    sfj_journal *j = NULL;
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t seq, last = 0;
    char txn[32];
    int i, rc;

    srand(seed);
    if ((rc = sfj_journal_open(path, keys, NULL, &j)) != SFJ_OK)
        sfj_test_child_fail(WHO, round, seed, "sfj_journal_open", NULL, rc, 3);
    if (write(fd, "o", 1) != 1)
        _exit(5);
    for (i = 0;; i++) {
        snprintf(txn, sizeof txn, "R%d-%d", round, i);
        ev.txn_id = txn;
        ev.kind = SFJ_EV_TXN_OFFLINE;
        ev.status = i % 7 == 3 ? SFJ_ST_DECLINED : SFJ_ST_APPROVED;
        ev.currency = i % 3 == 0 ? "USD" : "EUR";
        ev.amount = 100 + rand() % 10000;
        if (i % 5 == 4) {
            ev.kind = SFJ_EV_NOTE;
            ev.status = SFJ_ST_NONE;
            ev.txn_id = NULL;
            ev.currency = NULL;
            ev.amount = 0;
        }
        if ((rc = sfj_append(j, &ev, &seq)) != SFJ_OK)
            sfj_test_child_fail(WHO, round, seed, "sfj_append", j, rc, 4);
        if (rand() % 4 == 0) {
            uint64_t upto = last + (uint64_t)(rand() % 4), sparse = seq;

            if (upto > seq)
                upto = seq;
            rc = sfj__journal_ack(j, upto, &sparse, rand() % 2);
            if (rc != SFJ_OK)
                sfj_test_child_fail(WHO, round, seed, "sfj__journal_ack", j, rc,
                                    4);
            last = upto;
        }
    }
}

static void test_kill9_row_equals_recount(void **state)
{
    char *dir = sfj_test_tmpdir();
    char *path = sfj_test_path(dir, "j");
    sfj_keys *keys = sfj_test_keys(4);
    sfj_pending p = SFJ_PENDING_INIT;
    recount r;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    int n = rounds(), round, status;
    char c, how[32];

    (void)state;
    print_message("seed %u, %d rounds\n", seed, n);
    srand(seed);
    for (round = 0; round < n; round++) {
        int fds[2];
        struct pollfd pfd;
        pid_t pid;

        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(path, round, seed + (unsigned)round, fds[1]);
        }
        close(fds[1]);
        pfd.fd = fds[0];
        pfd.events = POLLIN;
        if (poll(&pfd, 1, 30000) != 1 || read(fds[0], &c, 1) != 1) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("round %d seed %u: child did not open the journal", round,
                     seed);
        }
        usleep(2000 + (unsigned)(rand() % 60000));
        kill(pid, SIGKILL);
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d seed %u: child ended by itself (%s)", round,
                     seed, sfj_test_status_str(status, how, sizeof how));
        /* What the crash left, as a keyless reader sees it. */
        if (keyless_pending(path, &p) != SFJ_OK)
            fail_msg("round %d seed %u: no pending row after the crash", round,
                     seed);
        keyed_recount(path, keys, &r);
        if (p.sales != r.sales)
            fail_msg("round %d seed %u: row says %llu sales, recount %llu",
                     round, seed, (unsigned long long)p.sales,
                     (unsigned long long)r.sales);
        assert_matches(&p, &r);
    }
    sfj_keys_free(keys);
    sfj_test_rmrf(dir);
    free(path);
    free(dir);
}

/* Receipts not tracked: an approved sale without a receipt is clean, the
 * choice outlives the handle, and sfj-recover exits 0. A journal that
 * tracks them reports NO RECEIPT (exit 1). */
static void test_no_receipts(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_report *rep = NULL;
    int i;

    for (i = 0; i < 2; i++) {
        /* i 0: tracked (the default); i 1: not tracked. */
        char *p = sfj_test_path(f->dir, i ? "nr" : "tr");

        o.flags = i ? SFJ_OPEN_NO_RECEIPTS : 0;
        assert_int_equal(sfj_journal_open(p, f->keys, &o, &f->j), SFJ_OK);
        put(f->j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "s1", 500, "EUR", 0);
        put(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "s1", 500, "EUR", 0);
        put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "s2", 700, "EUR", 0);
        assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
        f->j = NULL;
        /* Reopened without the flag: the journal remembers. */
        assert_int_equal(sfj_journal_open(p, f->keys, NULL, &f->j), SFJ_OK);
        assert_int_equal(sfj_recover(f->j, &rep), SFJ_OK);
        assert_int_equal(rep->receipts_untracked, i);
        assert_int_equal(rep->n_no_receipt, i ? 0 : 2);
        assert_int_equal(rep->status, i ? SFJ_REPORT_CLEAN : SFJ_REPORT_ACTION);
        assert_int_equal(rep->offline_pending, 1);
        sfj_report_free(rep);
        rep = NULL;
        assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
        f->j = NULL;
        assert_int_equal(sfj_test_run_tool(f, "sfj-recover", p, "-k",
                                           f->keyfile, (char *)NULL),
                         i ? 0 : 1);
        free(p);
    }
    /* A journal that tracks receipts can be switched off, not back on. */
    {
        char *p = sfj_test_path(f->dir, "tr");

        o.flags = SFJ_OPEN_NO_RECEIPTS;
        assert_int_equal(sfj_journal_open(p, f->keys, &o, &f->j), SFJ_OK);
        assert_int_equal(sfj_recover(f->j, &rep), SFJ_OK);
        assert_int_equal(rep->n_no_receipt, 0);
        assert_int_equal(rep->status, SFJ_REPORT_CLEAN);
        sfj_report_free(rep);
        free(p);
    }
}

/* sfj-dump --stats tells a cashier without the key. */
static void test_dump_stats(void **state)
{
    sfj_test_fixture *f = *state;
    struct timespec ts;
    int64_t now;
    char *out;

    clock_gettime(CLOCK_REALTIME, &ts);
    now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "d1", 10000, "EUR",
        now - 42 * 60000 - 30000);
    put(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "d1", 0, NULL, 0);
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "d2", 2000, "EUR", 0);
    put(f->j, SFJ_EV_NOTE, SFJ_ST_NONE, NULL, 0, NULL, 0);
    put(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "d3", 850, "EUR", 0);
    assert_int_equal(
        sfj_test_run_tool(f, "sfj-dump", f->path, "--stats", (char *)NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_non_null(
        strstr(out, "3 sales waiting to upload, oldest 42 min, EUR 128.50\n"));
    assert_non_null(strstr(out, "5 not yet acknowledged"));
    assert_non_null(strstr(out, sfj_test_format1()
                                    ? "journal format 1\n"
                                    : "journal format 2 (libraries before "
                                      "format 2 cannot open it)\n"));
    free(out);
    assert_int_equal(sfj_test_run_tool(f, "sfj-dump", f->path, "--stats", "-o",
                                       "json", (char *)NULL),
                     0);
    out = sfj_test_slurp(f->out);
    assert_non_null(strstr(out, "\"sales\":3,"));
    assert_non_null(strstr(out, sfj_test_format1() ? "\"journal_format\":1,"
                                                   : "\"journal_format\":2,"));
    assert_non_null(strstr(out, "\"currency\":\"EUR\",\"exponent\":2,"
                                "\"count\":3,\"amount\":12850}"));
    free(out);
    /* Without a row (an older library wrote it): unknown, not zero. */
    drop_row(f->j);
    assert_int_equal(
        sfj_test_run_tool(f, "sfj-dump", f->path, "--stats", (char *)NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_non_null(strstr(out, "sales waiting to upload: unknown"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_sales_not_entries,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_old_journal_rebuilt,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test(test_kill9_row_equals_recount),
        cmocka_unit_test_setup_teardown(test_no_receipts, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dump_stats, sfj_test_setup_open,
                                        sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
