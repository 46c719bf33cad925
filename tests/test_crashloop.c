/* Crash loop: a child process appends while its forwarder thread ships the
 * entries to a real sfj-host over TCP and persists acks; the parent kills
 * it with SIGKILL at random moments (right after the fork, after the first
 * durable append plus 0-30 ms, or after N reported appends). After every
 * round the parent reopens the journal and checks:
 *  - every seq the child reported (written to a pipe only after sfj_append
 *    returned) is present and decrypts to what was reported;
 *  - seqs are dense and the chain verifies (sfj__verify) up to the head;
 *  - the txn index knows every offline sale reported (every other round
 *    the child checkpoints every few entries, persisting the index
 *    overlay often, so kills fall before, during and after its persists);
 *  - the host's mirror, opened read-only while the host runs, is dense
 *    from seq 1, never shrinks, holds nothing the terminal does not hold,
 *    and each of its records is byte-equal to the terminal's at that seq;
 *  - the terminal's persisted ack watermark never exceeds the mirror head.
 * Every 25 rounds the host itself is killed (SIGKILL or SIGTERM) and
 * restarted while the child runs. A last child runs undisturbed, flushes,
 * and the mirror must then equal the terminal journal entirely.
 *
 * SFJ_CRASHLOOP_ROUNDS sets the number of rounds (default 300);
 * SFJ_SOAK=1 runs 3000; SFJ_CRASHLOOP_SEED fixes the seed.
 *
 * With "--pg" (CTest: test_crashloop_pg) the host keeps the copy in a
 * real PostgreSQL server the test starts (`--store postgresql://...`),
 * and the same checks read the table instead of the mirror (rows of the
 * journal: dense from 1, each (journal, seq) once, byte-equal); 30
 * rounds by default (two host restarts), 1000 with SFJ_SOAK=1.
 *
 * A child that exits by itself says why on stderr (the call, its SFJ_E*
 * code and sfj_journal_errmsg); a child that stalls gets its threads'
 * backtraces written to stderr (gdb); a failed check names the round, the
 * seed, the test directory (kept) and the host log's tail. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/clock.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/hosttest.h"
#include "support/storetest.h"
#include "support/testutil.h"

#define KEY_SEED 23
#define TID      "T-CRASHLOOP"

/* What the child reports for each durable append. */
typedef struct report {
    uint64_t seq;
    uint64_t value; /* amount of an OFFLINE, number in a NOTE's text */
    uint64_t kind;
} report;

#define WHO "test_crashloop"

/* The child's exit code for a legitimate refusal (SFJ_EFULL, SFJ_ELIMIT). */
#define EXIT_REFUSED 10

/* Where the run is, for the failure message (see teardown). */
static int cur_round = -1, n_rounds, cur_mode = -1, finished;
static unsigned cur_seed;
static const char *cur_dir, *cur_host_log;
static sfj_test_store g_store; /* where the host keeps its copy */

static int rounds(void)
{
    const char *s = getenv("SFJ_CRASHLOOP_ROUNDS");
    const char *soak = getenv("SFJ_SOAK");
    int n = s ? atoi(s) : 0, long_run = soak != NULL && strcmp(soak, "1") == 0;

    if (n > 0)
        return n;
    if (g_store.pg)
        return long_run ? 1000 : 40;
    return long_run ? 3000 : 300;
}

static void note_text(char *buf, size_t cap, uint64_t value)
{
    snprintf(buf, cap, "crashloop note %llu", (unsigned long long)value);
}

/* Child: open, start the forwarder, append forever (or `limit` entries,
 * then flush and exit 0), reporting each durable append on `fd`. */
static void child_run(const char *path, int port, int fd, int limit)
{
    sfj_keys *keys = sfj_test_keys(KEY_SEED);
    sfj_journal *j = NULL;
    sfj_forwarder *fw = NULL;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    sfj_event ev = SFJ_EVENT_INIT;
    char addr[64], txn[48], note[64];
    uint8_t payload[200];
    report rep;
    /* Ids and values unique across the run: the round, not the pid.
     * With pid_max 32768 pids come round again within a long run, and a
     * second OFFLINE sale under an id already approved is refused
     * (SFJ_ESTATE), as it must be. */
    uint64_t base = (uint64_t)(cur_round + 1) * 1000000u;
    int i, rc;

    /* The parent's PostgreSQL helper stops its servers on these signals;
     * a child must not. */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGABRT, SIG_DFL);
    /* Every other round checkpoints every few entries, so that the txn
     * index overlay is persisted often and kills fall before, during and
     * after its persists. */
    if (cur_round % 2)
        jo.checkpoint_every = 3 + (uint32_t)cur_round % 11;
    if ((rc = sfj_journal_open(path, keys, &jo, &j)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_journal_open", NULL,
                            rc, 3);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    o.sink = SFJ_SINK_TCP;
    o.address = addr;
    o.backoff_min_ms = 5;
    o.backoff_max_ms = 50;
    o.connect_timeout_ms = 1000;
    o.ack_timeout_ms = 2000;
    o.ack_batch = 4;
    o.ack_flush_ms = 5;
    if ((rc = sfj_forwarder_new(j, &o, &fw)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_forwarder_new", j,
                            rc, 4);
    if ((rc = sfj_forwarder_start(fw)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_forwarder_start", j,
                            rc, 4);
    memset(payload, 'q', sizeof payload);
    for (i = 0; limit < 0 || i < limit; i++) {
        ev = (sfj_event)SFJ_EVENT_INIT;
        rep.value = base + (uint64_t)i;
        if (i % 4 == 3) {
            note_text(note, sizeof note, rep.value);
            ev.kind = SFJ_EV_NOTE;
            ev.payload = note;
            ev.payload_len = strlen(note);
        } else {
            snprintf(txn, sizeof txn, "CL%d-%d", cur_round, i);
            ev.kind = SFJ_EV_TXN_OFFLINE;
            ev.status = SFJ_ST_APPROVED;
            ev.currency = "EUR";
            ev.txn_id = txn;
            ev.amount = (int64_t)rep.value;
            ev.payload = payload;
            ev.payload_len = sizeof payload;
        }
        rep.kind = ev.kind;
        if ((rc = sfj_append(j, &ev, &rep.seq)) != SFJ_OK)
            sfj_test_child_fail(
                WHO, cur_round, cur_seed, "sfj_append", j, rc,
                rc == SFJ_EFULL || rc == SFJ_ELIMIT ? EXIT_REFUSED : 5);
        if (write(fd, &rep, sizeof rep) != sizeof rep)
            sfj_test_child_fail(WHO, cur_round, cur_seed, "write(report pipe)",
                                j, -errno, 6);
    }
    if ((rc = sfj_forwarder_flush(fw, 60000)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_forwarder_flush", j,
                            rc, 7);
    sfj_forwarder_free(fw);
    if ((rc = sfj_journal_close(j)) != SFJ_OK)
        sfj_test_child_fail(WHO, cur_round, cur_seed, "sfj_journal_close", NULL,
                            rc, 8);
    sfj_keys_free(keys);
    _exit(0);
}

typedef struct loop {
    char *dir, *path;
    sfj_keys *keys;
    sfj_test_host host;
    report *reps; /* indexed by seq; kind 0: not reported */
    uint64_t cap, reported, round_lo;
    uint64_t mirror_head;   /* mirror head seen last round */
    uint64_t compared_to;   /* mirror seqs compared byte for byte so far */
    uint64_t verified_to;   /* checkpoint up to which the chain verified */
    uint64_t max_wm_killed; /* highest watermark seen in a killed round */
    uint64_t checks;        /* reported entries read back */
} loop;

static void record(loop *l, const report *r)
{
    if (r->seq >= l->cap) {
        uint64_t old = l->cap;

        l->cap = r->seq * 2 + 1024;
        l->reps = realloc(l->reps, l->cap * sizeof *l->reps);
        assert_non_null(l->reps);
        memset(l->reps + old, 0, (l->cap - old) * sizeof *l->reps);
    }
    /* A seq is reported once: the journal never hands out a seq twice. */
    assert_int_equal(l->reps[r->seq].kind, 0);
    l->reps[r->seq] = *r;
    if (r->seq > l->reported)
        l->reported = r->seq;
}

/* Read whatever the child reported; returns how many records. */
static int drain(loop *l, int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    report r;
    int n = 0;
    ssize_t got;

    while (poll(&p, 1, timeout_ms) == 1) {
        got = read(fd, &r, sizeof r);
        if (got != sizeof r)
            break; /* the child is gone (a torn record is never written:
                      pipe writes of this size are atomic) */
        record(l, &r);
        n++;
        timeout_ms = 0;
    }
    return n;
}

static void check_entry(sfj_journal *j, const report *r)
{
    sfj_entry *e = NULL;
    sfj_txn t = SFJ_TXN_INIT;
    char note[64], txn[48];

    assert_int_equal(sfj_read(j, r->seq, &e), SFJ_OK);
    assert_int_equal(e->seq, r->seq);
    assert_int_equal(e->kind, r->kind);
    if (r->kind == SFJ_EV_NOTE) {
        note_text(note, sizeof note, r->value);
        assert_int_equal(e->payload_len, strlen(note));
        assert_memory_equal(e->payload, note, e->payload_len);
    } else {
        assert_int_equal((uint64_t)e->amount, r->value);
        assert_int_equal(e->status, SFJ_ST_APPROVED);
        assert_int_equal(e->payload_len, 200);
        /* The txn index (persisted part plus the replayed tail) has it. */
        snprintf(txn, sizeof txn, "CL%d-%d", (int)(r->value / 1000000u) - 1,
                 (int)(r->value % 1000000u));
        assert_string_equal(e->txn_id, txn);
        assert_int_equal(sfj_txn_get(j, txn, &t), SFJ_OK);
        assert_int_equal(t.offline_seq, r->seq);
        assert_true(t.state == SFJ_TXN_OFFLINE || t.state == SFJ_TXN_FORWARDED);
    }
    sfj_entry_free(e);
}

/* The host's copy (its mirror, or its rows in the PostgreSQL table),
 * read while the host runs, against the terminal journal `t` (open in
 * this process). */
static void check_mirror(loop *l, sfj_journal *t, uint64_t term_last,
                         uint64_t wm, int full)
{
    uint64_t n = 0, first = 0, head = 0;

    if (sfj_test_store_copy_head(&g_store, &l->host, t, &n, &first, &head) !=
        0) {
        /* Nothing durable reached the host yet (no mirror, or its first
         * commit not yet durable; no rows): nothing may be
         * acknowledged. */
        assert_int_equal(wm, 0);
        assert_int_equal(l->mirror_head, 0);
        return;
    }
    /* No gap and no duplicate below the head: seq-keyed, dense from 1. */
    assert_int_equal(n, head);
    assert_int_equal(first, head ? 1 : 0);
    assert_true(head <= term_last);
    assert_true(head >= l->mirror_head); /* a copy never shrinks */
    assert_true(wm <= head);             /* acks only what the host holds */
    sfj_test_store_copy_equal(&g_store, &l->host, t,
                              full ? 1 : l->compared_to + 1, head);
    l->mirror_head = head;
    if (head > l->compared_to)
        l->compared_to = head;
}

/* Reopen the terminal journal after a round and check everything. */
static void check_round(loop *l, int r, int full)
{
    sfj_journal *j = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    sfj__verify_result vr;
    uint64_t seq, wm = 0, head = 0;
    int rc = sfj_journal_open(l->path, l->keys, NULL, &j);

    if (rc != SFJ_OK)
        fail_msg("round %d seed %u: reopen after the kill failed: %d %s: %s", r,
                 cur_seed, rc, sfj_test_errname(rc), sfj_journal_errmsg(NULL));
    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    assert_true(st.last_seq >= l->reported);
    assert_int_equal(st.first_seq, st.entries ? 1 : 0);
    assert_int_equal(st.entries, st.last_seq); /* dense */
    assert_int_equal(sfj__journal_head(j, &head, NULL), SFJ_OK);
    assert_int_equal(head, st.last_seq);
    for (seq = full ? 1 : l->round_lo; seq <= l->reported; seq++) {
        if (l->reps[seq].kind == 0)
            continue; /* a checkpoint, or an append cut before its report */
        check_entry(j, &l->reps[seq]);
        l->checks++;
    }
    /* Between full rounds the walk starts at the last checkpoint already
     * verified (its signature vouches for what came before), so a round
     * costs what the round wrote, not the whole journal: long soaks keep
     * their pace. Full rounds walk from the oldest entry held. */
    assert_int_equal(
        sfj__verify(j,
                    full || l->verified_to < st.first_seq ? 0 : l->verified_to,
                    NULL, r % 10 == 0, &vr),
        SFJ_OK);
    assert_int_equal(vr.bad_seq, 0);
    assert_int_equal(vr.last_seq, head);
    l->verified_to = vr.verified_to;
    assert_int_equal(vr.verified_to, vr.last_seq); /* the tail was sealed */
    assert_int_equal(sfj__journal_watermark(j, &wm), SFJ_OK);
    assert_true(wm <= head);
    if (wm > l->max_wm_killed)
        l->max_wm_killed = wm;
    check_mirror(l, j, head, wm, full);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
}

/* Fail the test for a child that ended by itself, saying why. */
static void child_ended(pid_t pid, int status, const char *when)
{
    char how[32];

    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_REFUSED)
        fail_msg("round %d mode %d seed %u: child %d: the journal refused an "
                 "append %s (its line above). Not a crash failure, but here "
                 "acknowledged entries are pruned, so a full journal means "
                 "forwarding stalled",
                 cur_round, cur_mode, cur_seed, (int)pid, when);
    fail_msg("round %d mode %d seed %u: child %d ended by itself (%s) %s; "
             "its reason is on stderr above",
             cur_round, cur_mode, cur_seed, (int)pid,
             sfj_test_status_str(status, how, sizeof how), when);
}

/* Wait for at least one report from child `pid`; a child silent for 30 s
 * is stalled (its threads' backtraces go to stderr) or gone by itself. */
static int drain_some(loop *l, int fd, pid_t pid)
{
    int k = drain(l, fd, 30000), status = 0, i;
    pid_t w = 0;

    if (k > 0)
        return k;
    /* The pipe ends at the child's exit a moment before waitpid sees it. */
    for (i = 0; i < 1000 && (w = waitpid(pid, &status, WNOHANG)) == 0; i++)
        usleep(1000);
    if (w == pid)
        child_ended(pid, status, "before reporting");
    sfj_test_backtrace(pid);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("round %d mode %d seed %u: child %d reported no durable append "
             "for 30 s (backtraces above)",
             cur_round, cur_mode, cur_seed, (int)pid);
    return 0;
}

static pid_t spawn(loop *l, int *rfd, int limit)
{
    int fds[2];
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_run(l->path, l->host.port, fds[1], limit);
    }
    close(fds[1]);
    *rfd = fds[0];
    return pid;
}

static void restart_host(loop *l, int r)
{
    /* Alternate a clean stop and a kill in the middle of a commit. */
    sfj_test_host_stop(&l->host, (r / 25) % 2 ? SIGTERM : SIGKILL);
    sfj_test_host_start(&l->host); /* same port */
}

static void test_crashloop(void **state)
{
    loop l;
    sfj_journal *j = NULL;
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    char *mirrors;
    int n, r, status, fd, modes[3] = {0, 0, 0}, restarts = 0;
    int64_t t0 = sfj__mono_ms();
    uint64_t mirror_before_final, wm_killed, t_last = 0;
    const char *seed_env = getenv("SFJ_CRASHLOOP_SEED");
    unsigned seed = seed_env != NULL
                        ? (unsigned)strtoul(seed_env, NULL, 10)
                        : (unsigned)time(NULL) ^ (unsigned)getpid();
    char how[32];
    pid_t pid;

    (void)state;
    if (sfj_test_store_start(&g_store) != 0) {
        print_message("the %s store cannot run here (PostgreSQL not "
                      "installed, or sfj-host built without libpq)\n",
                      sfj_test_store_name(&g_store));
        skip();
    }
    n = rounds();
    memset(&l, 0, sizeof l);
    cur_seed = seed;
    n_rounds = n;
    print_message("seed %u, %d rounds, %s store\n", seed, n,
                  sfj_test_store_name(&g_store));
    srand(seed);
    l.dir = sfj_test_tmpdir();
    l.path = sfj_test_path(l.dir, "terminal");
    l.keys = sfj_test_keys(KEY_SEED);
    mirrors = sfj_test_path(l.dir, "mirrors");
    sfj_test_store_host(&g_store, &l.host, mirrors);
    free(mirrors);
    l.host.prov = sfj_test_path(l.dir, "terminals.conf");
    l.host.log = sfj_test_path(l.dir, "host.log");
    jo.terminal_id = TID;
    /* A journal with its own dictionary: the DICTIONARY record at seq 1
     * and every compressed record after it (flag bit 3) go through the
     * kills, the host and its restarts like any other. */
    {
        sfj_event sample = SFJ_EVENT_INIT;
        const sfj_event *samples[1] = {&sample};
        static uint8_t pl[200], dict[SFJ_DICTIONARY_MAX];
        size_t dict_len = 0;

        memset(pl, 'q', sizeof pl);
        sample.kind = SFJ_EV_TXN_OFFLINE;
        sample.status = SFJ_ST_APPROVED;
        sample.currency = "EUR";
        sample.txn_id = "CL0-0";
        sample.payload = pl;
        sample.payload_len = sizeof pl;
        assert_int_equal(
            sfj_dictionary_build(samples, 1, dict, sizeof dict, &dict_len),
            SFJ_OK);
        jo.dictionary = dict;
        jo.dictionary_len = dict_len;
    }
    assert_int_equal(sfj_journal_open(l.path, l.keys, &jo, &j), SFJ_OK);
    assert_non_null(sfj__journal_dict(j));
    sfj_test_provision(l.host.prov, j, l.keys, TID);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    cur_dir = l.dir;
    cur_host_log = l.host.log;
    sfj_test_host_start(&l.host);

    for (r = 0; r < n; r++) {
        int mode = rand() % 3;

        cur_round = r;
        cur_mode = mode;
        l.round_lo = l.reported + 1;
        pid = spawn(&l, &fd, -1);
        if (mode == 0) {
            /* Right after the start: open, recovery or the first HELLO. */
            usleep((unsigned)(rand() % 3000));
        } else if (mode == 1) {
            /* After the first durable append, 0-30 ms into appending. */
            drain_some(&l, fd, pid);
            usleep((unsigned)(rand() % 30000));
        } else {
            /* After N reported appends. */
            int want = 1 + rand() % 30, got = 0;

            while (got < want) {
                got += drain_some(&l, fd, pid);
            }
        }
        if (r % 25 == 12) {
            restart_host(&l, r); /* while the child forwards */
            restarts++;
            usleep((unsigned)(rand() % 10000));
        }
        modes[mode]++;
        kill(pid, SIGKILL);
        drain(&l, fd, 0);
        while (drain(&l, fd, 50) > 0)
            ;
        close(fd);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* Killed, or (mode 0) killed before it could even report. */
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            child_ended(pid, status, "before it was killed");
        check_round(&l, r, r % 25 == 24 || r == n - 1);
    }
    mirror_before_final = l.mirror_head;
    wm_killed = l.max_wm_killed;

    /* One last child, undisturbed: it appends, flushes and exits. */
    cur_round = n;
    cur_mode = -1;
    l.round_lo = l.reported + 1;
    pid = spawn(&l, &fd, 50);
    while (drain(&l, fd, 60000) > 0)
        ;
    close(fd);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("seed %u: the last child failed (%s); its reason is on "
                 "stderr above",
                 seed, sfj_test_status_str(status, how, sizeof how));
    check_round(&l, n, 1);
    assert_int_equal(sfj_journal_open(l.path, l.keys, NULL, &j), SFJ_OK);
    assert_int_equal(sfj__journal_head(j, &t_last, NULL), SFJ_OK);
    {
        uint64_t wm = 0;

        assert_int_equal(sfj__journal_watermark(j, &wm), SFJ_OK);
        /* The flush acknowledged everything but what this reopen may
         * have appended (a checkpoint sealing the tail is not one). */
        assert_true(wm >= l.reported);
    }
    sfj_test_host_stop(&l.host, SIGTERM);
    assert_int_equal(sfj_test_store_equal(&g_store, &l.host, j, l.keys),
                     t_last);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);

    print_message("%d rounds (%d at start, %d after 0-30 ms, %d after N "
                  "appends), %d host restarts in %lld ms\n",
                  n, modes[0], modes[1], modes[2], restarts,
                  (long long)(sfj__mono_ms() - t0));
    print_message(
        "%llu seqs, %llu reported durable, %llu read-backs; "
        "mirror head %llu before the last run, %llu after; highest "
        "watermark in a killed round %llu\n",
        (unsigned long long)t_last, (unsigned long long)l.reported,
        (unsigned long long)l.checks, (unsigned long long)mirror_before_final,
        (unsigned long long)l.mirror_head, (unsigned long long)wm_killed);
    /* The loop must have exercised forwarding under kills, not only at
     * the end: the host held entries and acks were persisted. */
    assert_true(mirror_before_final > 0);
    assert_true(wm_killed > 0);
    assert_true(l.reported > (uint64_t)n);
    /* tools/test.sh */
    print_message("test_crashloop%s: %d rounds run\n", g_store.pg ? "_pg" : "",
                  n);
    finished = 1;

    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(l.dir);
    free(l.reps);
    sfj_keys_free(l.keys);
    free(l.dir);
    free(l.path);
    free(l.host.dir);
    sfj_test_store_cleanup(&g_store);
    free(l.host.prov);
    free(l.host.log);
}

/* After a failed check: name the round, mode and seed, keep the directory
 * and show the end of the host's log. */
static int name_round(void **state)
{
    char cmd[512];

    (void)state;
    if (finished)
        return 0;
    fprintf(stderr,
            "test_crashloop%s: FAILED in round %d of %d (mode %d, %s "
            "store), seed %u (SFJ_CRASHLOOP_SEED=%u SFJ_CRASHLOOP_ROUNDS=%d); "
            "directory %s kept\n",
            g_store.pg ? "_pg" : "", cur_round, n_rounds, cur_mode,
            sfj_test_store_name(&g_store), cur_seed, cur_seed, n_rounds,
            cur_dir != NULL ? cur_dir : "?");
    if (cur_host_log != NULL) {
        fprintf(stderr, "last lines of %s:\n", cur_host_log);
        fflush(stderr);
        snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", cur_host_log);
        (void)!system(cmd);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_crashloop, name_round),
    };

    sfj_test_store_from_args(&g_store, argc, argv);
    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
