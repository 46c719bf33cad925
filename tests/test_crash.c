/* kill -9 at random moments: every seq a child reported durable (written
 * to a pipe only after sfj_append returned) is present and intact after
 * reopen, seqs are dense, and the chain verifies.
 * SFJ_CRASH_ROUNDS raises the number of rounds (default 60), SFJ_SOAK=1
 * runs 3000; SFJ_CRASH_SEED fixes the seed of the kill delays.
 *
 * A child that exits by itself says why on stderr (the call, its SFJ_E*
 * code and sfj_journal_errmsg); a failed check names the round and seed.
 * A journal at its size cap refuses appends with SFJ_EFULL: that is the
 * journal keeping its promise, not a crash failure, and ends the run. */
#include <errno.h>
#include <setjmp.h>
#include <poll.h>
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

#include "sfj/sys/verify.h"
#include "support/testutil.h"

#define WHO "test_crash"

/* The child's exit code for a legitimate refusal (SFJ_EFULL, SFJ_ELIMIT). */
#define EXIT_REFUSED 10

/* Where the run is, for the failure message (see teardown). */
static int cur_round = -1, n_rounds;
static unsigned cur_seed;
static int finished;

static int rounds(void)
{
    const char *s = getenv("SFJ_CRASH_ROUNDS");
    const char *soak = getenv("SFJ_SOAK");
    int n = s ? atoi(s) : 0;

    if (n > 0)
        return n;
    return soak != NULL && strcmp(soak, "1") == 0 ? 3000 : 60;
}

/* Child: append forever, reporting each durable seq and its amount. */
static void child_append(const char *path, int fd)
{
    sfj_keys *keys = sfj_test_keys(3);
    sfj_journal *j = NULL;
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t rec[2];
    char txn[32];
    uint8_t payload[300];
    int i, rc;

    if ((rc = sfj_journal_open(path, keys, NULL, &j)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_journal_open", NULL,
                            rc, 3);
    memset(payload, 'p', sizeof payload);
    ev.kind = SFJ_EV_TXN_OFFLINE;
    ev.status = SFJ_ST_APPROVED;
    ev.currency = "EUR";
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    for (i = 0;; i++) {
        /* Unique across the run: the round, not the pid. With pid_max
         * 32768 pids come round again within a long run, and a second
         * OFFLINE sale under an id already approved is refused
         * (SFJ_ESTATE), as it must be. */
        snprintf(txn, sizeof txn, "C%d-%d", cur_round, i);
        ev.txn_id = txn;
        ev.amount = (int64_t)(cur_round + 1) * 1000000 + i;
        if ((rc = sfj_append(j, &ev, &rec[0])) != SFJ_OK)
            sfj_test_child_fail(
                WHO, cur_round, cur_seed, "sfj_append", j, rc,
                rc == SFJ_EFULL || rc == SFJ_ELIMIT ? EXIT_REFUSED : 4);
        rec[1] = (uint64_t)ev.amount;
        if (write(fd, rec, sizeof rec) != sizeof rec)
            sfj_test_child_fail(WHO, cur_round, cur_seed, "write(report pipe)",
                                j, -errno, 5);
    }
}

static void test_kill9_loses_nothing(void **state)
{
    char *dir = sfj_test_tmpdir();
    char *path = sfj_test_path(dir, "j");
    sfj_keys *keys = sfj_test_keys(3);
    uint64_t *amounts = NULL, cap = 0, reported = 0, seq, rec[2];
    uint64_t verified_to = 0; /* checkpoint the chain verified up to */
    int r, rc, n = rounds(), refused = 0;
    const char *seed_env = getenv("SFJ_CRASH_SEED");
    char how[32];

    (void)state;
    cur_seed = seed_env != NULL ? (unsigned)strtoul(seed_env, NULL, 10)
                                : (unsigned)time(NULL) ^ (unsigned)getpid();
    n_rounds = n;
    print_message("seed %u, %d rounds\n", cur_seed, n);
    srand(cur_seed);
    for (r = 0; r < n && !refused; r++) {
        int fds[2], status;
        pid_t pid;
        ssize_t got;
        sfj_journal *j = NULL;
        sfj_stats st = SFJ_STATS_INIT;
        sfj__verify_result vr;
        sfj_entry *e;

        cur_round = r;
        assert_int_equal(pipe(fds), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child_append(path, fds[1]);
        }
        close(fds[1]);
        /* Odd rounds may cut the open itself; even rounds first wait for
         * one durable append, so that slow runs (valgrind) still cut
         * appends. */
        if (r % 2 == 0) {
            struct pollfd pfd = {fds[0], POLLIN, 0};

            if (poll(&pfd, 1, 30000) != 1) {
                sfj_test_backtrace(pid);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                fail_msg("round %d seed %u: writer child %d reported no "
                         "durable append in 30 s (backtrace above)",
                         r, cur_seed, (int)pid);
            }
        }
        usleep(1000 + (unsigned)(rand() % 40000));
        kill(pid, SIGKILL);
        /* Drain what the child reported before it died. */
        while ((got = read(fds[0], rec, sizeof rec)) == sizeof rec) {
            if (rec[0] >= cap) {
                uint64_t old = cap;

                cap = rec[0] * 2 + 1024;
                amounts = realloc(amounts, cap * sizeof *amounts);
                assert_non_null(amounts);
                memset(amounts + old, 0, (cap - old) * sizeof *amounts);
            }
            amounts[rec[0]] = rec[1];
            if (rec[0] > reported)
                reported = rec[0];
        }
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_REFUSED) {
            print_message("round %d seed %u: the journal refused an append "
                          "(see the child's line above): a legitimate "
                          "refusal, not a crash failure; ending the run\n",
                          r, cur_seed);
            refused = 1;
        } else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("round %d seed %u: writer child %d ended by itself (%s) "
                     "before it was killed; its reason is on stderr above",
                     r, cur_seed, (int)pid,
                     sfj_test_status_str(status, how, sizeof how));

        rc = sfj_journal_open(path, keys, NULL, &j);
        if (rc != SFJ_OK)
            fail_msg("round %d seed %u: reopen after the kill failed: %d %s: "
                     "%s",
                     r, cur_seed, rc, sfj_test_errname(rc),
                     sfj_journal_errmsg(NULL));
        assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
        assert_true(st.last_seq >= reported);
        assert_int_equal(st.first_seq, st.entries ? 1 : 0);
        assert_int_equal(st.entries, st.last_seq); /* dense */
        /* Each reported entry reads back as what was reported. */
        for (seq = reported > 20 ? reported - 20 : 1; seq <= reported; seq++) {
            if (amounts[seq] == 0)
                continue; /* a checkpoint's seq */
            assert_int_equal(sfj_read(j, seq, &e), SFJ_OK);
            assert_int_equal((uint64_t)e->amount, amounts[seq]);
            sfj_entry_free(e);
        }
        /* The walk starts at the last checkpoint already verified (its
         * signature vouches for what came before), except every 100th
         * round and the last, which walk it all: a round costs what it
         * wrote, so long soaks keep their pace. */
        assert_int_equal(
            sfj__verify(j, r % 100 == 0 || r == n - 1 ? 0 : verified_to, NULL,
                        r % 10 == 0, &vr),
            SFJ_OK);
        assert_int_equal(vr.bad_seq, 0);
        verified_to = vr.verified_to;
        /* open sealed the crashed tail: everything is signed. */
        assert_int_equal(vr.verified_to, vr.last_seq);
        assert_int_equal(sfj_journal_close(j), SFJ_OK);
    }
    /* Every reported seq, across all rounds, is still there. */
    {
        sfj_journal *j = NULL;
        sfj_entry *e;

        assert_int_equal(sfj_journal_open(path, keys, NULL, &j), SFJ_OK);
        for (seq = 1; seq <= reported; seq++) {
            if (amounts[seq] == 0)
                continue;
            assert_int_equal(sfj_read(j, seq, &e), SFJ_OK);
            assert_int_equal((uint64_t)e->amount, amounts[seq]);
            sfj_entry_free(e);
        }
        sfj_journal_close(j);
    }
    print_message("%d rounds (seed %u)%s, %llu entries reported durable, all "
                  "present\n",
                  r, cur_seed, refused ? ", ended by a refused append" : "",
                  (unsigned long long)reported);
    print_message("test_crash: %d rounds run\n", r); /* for tools/test.sh */
    finished = 1;
    assert_true(reported > 0);
    free(amounts);
    sfj_keys_free(keys);
    sfj_test_rmrf(dir);
    free(path);
    free(dir);
}

/* After a failed check: name the round and seed, so that the run can be
 * explained and repeated (SFJ_CRASH_SEED). */
static int name_round(void **state)
{
    (void)state;
    if (!finished)
        fprintf(stderr,
                "test_crash: FAILED in round %d of %d, seed %u "
                "(SFJ_CRASH_SEED=%u SFJ_CRASH_ROUNDS=%d)\n",
                cur_round, n_rounds, cur_seed, cur_seed, n_rounds);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill9_loses_nothing, name_round),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
