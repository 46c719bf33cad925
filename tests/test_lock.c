/* One writer at a time: a child process holds the journal open for
 * writing; every writable entry point and tool from this process is then
 * refused with SFJ_EBUSY (naming the child's pid), while read-only opens,
 * the read-only tools and an acks-only forwarder handle still work. After
 * the holder is killed the kernel has released the lock. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

/* The running holder child, killed by the teardown when a failed check
 * left it behind: it would otherwise hold the test's output open. */
static pid_t holder;

static void put_ok(sfj_journal *j, sfj_kind kind, sfj_status st,
                   const char *txn)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = st;
    ev.txn_id = txn;
    ev.amount = 1234;
    ev.currency = "EUR";
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
}

/* A child that opens the journal for writing, appends an in-doubt sale,
 * says so through the pipe and waits to be killed. */
static pid_t start_holder(fixture *f)
{
    int p[2];
    char c = 0;
    pid_t pid, parent;

    assert_int_equal(pipe(p), 0);
    parent = getpid();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sfj_journal *j = NULL;
        sfj_event ev = SFJ_EVENT_INIT;

        /* Die with the test, even when it dies before its teardown. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(6);
        close(p[0]);
        if (sfj_journal_open(f->path, f->keys, NULL, &j) != SFJ_OK)
            _exit(3);
        ev.kind = SFJ_EV_TXN_INTENT;
        ev.txn_id = "HELD";
        ev.amount = 500;
        ev.currency = "EUR";
        if (sfj_append(j, &ev, NULL) != SFJ_OK)
            _exit(4);
        if (write(p[1], "r", 1) != 1)
            _exit(5);
        for (;;)
            pause();
    }
    holder = pid;
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'r');
    close(p[0]);
    return pid;
}

static void stop_holder(pid_t pid)
{
    int st;

    kill(pid, SIGKILL);
    holder = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

static int teardown(void **state)
{
    if (holder > 0)
        stop_holder(holder);
    return sfj_test_teardown(state);
}

static void test_second_writer_refused(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    char want[64];
    pid_t pid;

    /* A journal with one settled sale, closed. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &j), SFJ_OK);
    put_ok(j, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "T1");
    sfj_journal_close(j);
    j = NULL;

    pid = start_holder(f);
    snprintf(want, sizeof want, "pid %ld", (long)pid);

    /* The API, writable: refused at once, naming the holder. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &j), SFJ_EBUSY);
    assert_null(j);
    assert_non_null(strstr(sfj_journal_errmsg(NULL), want));
    o.flags = SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_EBUSY);

    /* Read-only: never blocked, and sees the holder's sale. */
    o.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_OK);
    sfj_journal_close(j);
    j = NULL;

    /* The tools: a report works, --mark-reversals is refused (exit 75)
     * and writes nothing, sfj-dump reads. */
    assert_int_equal(sfj_test_run_tool(f, "sfj-recover", f->path, "--key",
                                       f->keyfile, (char *)NULL),
                     1);
    assert_int_equal(sfj_test_run_tool(f, "sfj-recover", f->path, "--key",
                                       f->keyfile, "--mark-reversals",
                                       (char *)NULL),
                     75);
    {
        char *err = sfj_test_slurp(f->err);

        assert_non_null(strstr(err, "refusing --mark-reversals"));
        assert_non_null(strstr(err, want));
        free(err);
    }
    assert_int_equal(sfj_test_run_tool(f, "sfj-dump", f->path, "--key",
                                       f->keyfile, (char *)NULL),
                     0);
    /* sfj-reconcile's writes are refused the same way, with the same code. */
    assert_int_equal(sfj_test_run_tool(f, "sfj-reconcile", f->path, "-k",
                                       f->keyfile, "--manual-sale", "--amount",
                                       "1.00", "--currency", "EUR", "--at",
                                       "2026-11-27T10:00:00Z", (char *)NULL),
                     75);

    stop_holder(pid);

    /* The kernel dropped the lock with the holder; nothing was marked. */
    o.flags = 0;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_OK);
    {
        sfj_report *r = NULL;

        assert_int_equal(sfj_recover(j, &r), SFJ_OK);
        assert_int_equal(r->n_in_doubt, 2);
        sfj_report_free(r);
    }
    sfj_journal_close(j);
}

static void test_same_process_and_release(void **state)
{
    fixture *f = *state;
    sfj_journal *a = NULL, *b = NULL;

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &a), SFJ_OK);
    /* flock belongs to the open file: a second handle here conflicts. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &b), SFJ_EBUSY);
    assert_null(b);
    assert_int_equal(sfj_journal_close(a), SFJ_OK);
    /* Closing releases it. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &b), SFJ_OK);
    sfj_journal_close(b);
}

static int deliver_ack(const sfj_entry *e, void *payload)
{
    (void)e;
    (*(unsigned *)payload)++;
    return SFJ_DELIVER_ACK;
}

static void verify_whole(sfj_journal *j)
{
    sfj__verify_result vr;

    assert_int_equal(sfj__verify(j, 0, NULL, 1, &vr), SFJ_OK);
    if (vr.bad_seq != 0)
        fail_msg("verify: bad seq %llu: %s", (unsigned long long)vr.bad_seq,
                 vr.reason);
}

/* INTEGRATION.md section 7: a forwarder in its own process beside the
 * app opens with SFJ_OPEN_ACKS; it records acks and nothing else. */
static void test_acks_only_forwarder(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_forwarder_opts fo = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    sfj_journal *app = NULL, *fj = NULL, *bad = NULL;
    sfj_event ev = SFJ_EVENT_INIT;
    uint64_t wm = 0, last = 0, seq = 0;
    unsigned delivered = 0;

    o.flags = SFJ_OPEN_ACKS;
    /* Nothing to record acks in yet: it never creates a journal. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &fj),
                     SFJ_ENOTFOUND);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &app), SFJ_OK);
    put_ok(app, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "A1");
    put_ok(app, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A1");
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &fj), SFJ_OK);
    o.flags = SFJ_OPEN_ACKS | SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &bad), SFJ_EINVAL);

    /* It may not append nor checkpoint. */
    ev.kind = SFJ_EV_NOTE;
    assert_int_equal(sfj_append(fj, &ev, NULL), SFJ_ESTATE);
    assert_int_equal(sfj__journal_checkpoint(fj, NULL), SFJ_ESTATE);

    fo.sink = SFJ_SINK_CALLBACK;
    fo.deliver = deliver_ack;
    fo.deliver_payload = &delivered;
    assert_int_equal(sfj_forwarder_new(fj, &fo, &fw), SFJ_OK);
    assert_int_equal(sfj_forwarder_flush(fw, 10000), SFJ_OK);
    sfj_forwarder_free(fw);
    assert_true(delivered >= 2);
    /* The acks landed where the app sees them, and the app appends on. */
    assert_int_equal(sfj__journal_watermark(app, &wm), SFJ_OK);
    assert_int_equal(sfj__journal_head(app, &last, NULL), SFJ_OK);
    assert_int_equal(wm, last);
    assert_int_equal(sfj_append(app, &ev, &seq), SFJ_OK);
    assert_int_equal(seq, last + 1);
    /* Its acks commit between the app's appends: each append after one
     * takes the chain's head from the entries, not from its own last
     * commit, and the chain stays whole. */
    for (int i = 0; i < 3; i++) {
        put_ok(app, SFJ_EV_TXN_INTENT, SFJ_ST_NONE,
               (const char *[]){"B1", "B2", "B3"}[i]);
        assert_int_equal(sfj_forwarder_new(fj, &fo, &fw), SFJ_OK);
        assert_int_equal(sfj_forwarder_flush(fw, 10000), SFJ_OK);
        sfj_forwarder_free(fw);
        assert_int_equal(sfj_append(app, &ev, &seq), SFJ_OK);
        assert_int_equal(seq, last + 3 + 2 * (uint64_t)i);
    }
    verify_whole(app);
    sfj_journal_close(fj);
    sfj_journal_close(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_writer_refused,
                                        sfj_test_setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_process_and_release,
                                        sfj_test_setup, teardown),
        cmocka_unit_test_setup_teardown(test_acks_only_forwarder,
                                        sfj_test_setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
