/* kill -9 at random moments: every seq a child reported durable (written
 * to a pipe only after sfj_append returned) is present and intact after
 * reopen, seqs are dense, and the chain verifies.
 * SFJ_CRASH_ROUNDS raises the number of rounds (default 60). */
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

static int rounds(void)
{
    const char *s = getenv("SFJ_CRASH_ROUNDS");
    int n = s ? atoi(s) : 0;

    return n > 0 ? n : 60;
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
    int i;

    if (sfj_journal_open(path, keys, NULL, &j) != SFJ_OK)
        _exit(3);
    memset(payload, 'p', sizeof payload);
    ev.kind = SFJ_EV_TXN_OFFLINE;
    ev.status = SFJ_ST_APPROVED;
    ev.currency = "EUR";
    ev.payload = payload;
    ev.payload_len = sizeof payload;
    for (i = 0;; i++) {
        snprintf(txn, sizeof txn, "C%d-%d", (int)getpid(), i);
        ev.txn_id = txn;
        ev.amount = (int64_t)getpid() * 1000000 + i;
        if (sfj_append(j, &ev, &rec[0]) != SFJ_OK)
            _exit(4);
        rec[1] = (uint64_t)ev.amount;
        if (write(fd, rec, sizeof rec) != sizeof rec)
            _exit(5);
    }
}

static void test_kill9_loses_nothing(void **state)
{
    char *dir = sfj_test_tmpdir();
    char *path = sfj_test_path(dir, "j");
    sfj_keys *keys = sfj_test_keys(3);
    uint64_t *amounts = NULL, cap = 0, reported = 0, seq, rec[2];
    int r, n = rounds();

    (void)state;
    srand((unsigned)time(NULL));
    for (r = 0; r < n; r++) {
        int fds[2], status;
        pid_t pid;
        ssize_t got;
        sfj_journal *j = NULL;
        sfj_stats st = SFJ_STATS_INIT;
        sfj__verify_result vr;
        sfj_entry *e;

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

            assert_int_equal(poll(&pfd, 1, 30000), 1);
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
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) || WEXITSTATUS(status) == 0);

        assert_int_equal(sfj_journal_open(path, keys, NULL, &j), SFJ_OK);
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
        assert_int_equal(sfj__verify(j, 0, NULL, r % 10 == 0, &vr), SFJ_OK);
        assert_int_equal(vr.bad_seq, 0);
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
    print_message("%d rounds, %llu entries reported durable, all present\n", n,
                  (unsigned long long)reported);
    assert_true(reported > 0);
    free(amounts);
    sfj_keys_free(keys);
    sfj_test_rmrf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill9_loses_nothing),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
