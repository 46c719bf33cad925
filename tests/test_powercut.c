/* Power cuts, simulated: a child process appends, acks, checkpoints and
 * reopens a journal under the power-cut shim (torture/powercut_shim.c),
 * which logs every write to the journal's files and every sync, and cuts
 * the process at a random write or sync. From the log, crashstate.c builds
 * the disk images a power cut at that moment could leave: all unsynced
 * writes lost, all of them kept, a random subset in random order, the last
 * write torn at 512-byte sectors, and any subset of dirty sectors. For
 * every state, in a separate process so that a crash is caught: open
 * succeeds (or, before anything was ever reported durable, fails with
 * SFJ_ECORRUPT), every entry and ack reported durable is there and intact,
 * the chain and checkpoints verify, the journal takes a new append, and
 * the txn index knows every offline sale reported durable (its overlay is
 * persisted with each checkpoint, every 5 entries here, so cuts fall
 * before, during and after its persists) and refuses a second sale under
 * its id.
 * One state is then carried into the next round, so crashes during the
 * recovery of an earlier crash are cut too. Some operations are key
 * rotations (to the next of KEY_EPOCHS fixed keys): a cut anywhere in one
 * must leave the journal wholly before it or wholly after it, opening and
 * verifying with the key ring, and opening with the key in force alone.
 *
 * SFJ_POWERCUT_ROUNDS sets the number of rounds (default 160; SFJ_SOAK=1
 * gives 2000). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
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

#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"
#include "torture/crashstate.h"

#define ROUNDS_PER_JOURNAL 20

/* What the child reports once a call returned success. */
enum { REP_APPEND = 1, REP_ACK = 2, REP_ROTATE = 3, REP_ROTATE_BEGIN = 4 };

/* The key of epoch e is sfj_test_keys(KEY_SEED + e - 1); every process
 * opens with the ring of them all (keys of epochs a journal never had are
 * bound to nothing and ignored). */
#define KEY_SEED   5
#define KEY_EPOCHS 12

static sfj_keys *key_ring(void)
{
    sfj_keys *ring = sfj_test_keys(KEY_SEED), *k;
    int e;

    for (e = 2; e <= KEY_EPOCHS; e++) {
        k = sfj_test_keys((uint8_t)(KEY_SEED + e - 1));
        if (sfj_keys_add(ring, k) != SFJ_OK)
            abort();
        sfj_keys_free(k);
    }
    return ring;
}

/* The epoch whose fixed key `j` seals under now (0: none of them). */
static int epoch_in_force(sfj_journal *j)
{
    uint8_t cur[32], pk[32];
    sfj_keys *k;
    int e, found = 0;

    sfj__journal_pubkey(j, cur);
    for (e = 1; e <= KEY_EPOCHS && !found; e++) {
        k = sfj_test_keys((uint8_t)(KEY_SEED + e - 1));
        sfj_keys_public_key(k, pk);
        sfj_keys_free(k);
        if (memcmp(pk, cur, 32) == 0)
            found = e;
    }
    return found;
}

typedef struct report {
    uint32_t type;
    uint16_t kind;
    uint16_t pad;
    uint64_t seq; /* appended seq, or ack watermark */
    int64_t amount;
    uint32_t payload_len;
    uint32_t pseed;
    char txn[24];
} report;

typedef struct expect {
    report *by_seq; /* index seq; type 0 where nothing was reported */
    uint64_t cap;
    uint64_t max_seq;
    uint64_t acked;
    uint64_t reported;   /* appends reported in total */
    uint64_t rotations;  /* rotations reported in total */
    int cut_in_rotation; /* the last round's cut came inside a rotation */
} expect;

typedef struct counts {
    unsigned long rounds, cut, completed, states, refused, pending_ops;
    unsigned long per_mode[SFJ_CS_MODES];
    unsigned long entries_checked;
    unsigned long cut_in_rotation, rotations;
} counts;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill_payload(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed | 1;
    size_t i;

    for (i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        /* Some repetition, so that deflate is used for part of them. */
        p[i] = (seed & 1) ? (uint8_t)x : (uint8_t)('a' + (x % 4));
    }
}

/* Every journal has its own dictionary (made from a note of the kind the
 * rounds append): the cut may fall between the journal's creation and
 * its DICTIONARY record, and within key rotations, which seal meta
 * `dict` again. */
static void journal_opts(sfj_journal_opts *o)
{
    sfj_journal_opts d = SFJ_JOURNAL_OPTS_INIT;
    static uint8_t dict[SFJ_DICTIONARY_MAX];
    static size_t dict_len;

    if (dict_len == 0) {
        sfj_event sample = SFJ_EVENT_INIT;
        const sfj_event *samples[1] = {&sample};
        uint8_t pl[96];

        fill_payload(pl, sizeof pl, 2);
        sample.kind = SFJ_EV_NOTE;
        sample.payload = pl;
        sample.payload_len = sizeof pl;
        if (sfj_dictionary_build(samples, 1, dict, sizeof dict, &dict_len) !=
            SFJ_OK)
            abort();
    }
    *o = d;
    o->terminal_id = "PC-TERM";
    o->checkpoint_every = 5;
    o->dictionary = dict;
    o->dictionary_len = dict_len;
}

/* ---- The child, run under the shim. ---- */

static void put_report(int fd, const report *r)
{
    if (write(fd, r, sizeof *r) != (ssize_t)sizeof *r)
        _exit(21);
}

static int child_main(int argc, char **argv)
{
    sfj_keys *keys;
    sfj_journal *j = NULL;
    sfj_journal_opts o;
    uint8_t *payload = malloc(12000);
    uint64_t last = 0, seq;
    int fd, i, n, rc;

    if (argc != 6 || payload == NULL)
        return 20;
    rng_state = strtoull(argv[4], NULL, 10);
    n = atoi(argv[5]);
    keys = key_ring();
    journal_opts(&o);
    fd = open(argv[3], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return 22;
    rc = sfj_journal_open(argv[2], keys, &o, &j);
    if (rc != SFJ_OK) {
        fprintf(stderr, "child: open: %s (%s)\n", sfj_strerror(rc),
                sfj_journal_errmsg(NULL));
        return 23;
    }
    sfj__journal_head(j, &last, NULL);
    for (i = 0; i < n; i++) {
        unsigned what = (unsigned)(rnd() % 100);
        report r;

        memset(&r, 0, sizeof r);
        if (what < 80) {
            sfj_event ev = SFJ_EVENT_INIT;

            r.type = REP_APPEND;
            r.kind = what < 60 ? SFJ_EV_TXN_OFFLINE : SFJ_EV_NOTE;
            r.amount = (int64_t)(rnd() % 100000);
            r.pseed = (uint32_t)rnd();
            /* Mostly small; some span several pages (overflow pages). */
            r.payload_len =
                (uint32_t)(what % 10 == 0 ? 3000 + rnd() % 9000 : rnd() % 500);
            snprintf(r.txn, sizeof r.txn, "PC%08x",
                     (unsigned)(rnd() & 0xffffffffu));
            fill_payload(payload, r.payload_len, r.pseed);
            ev.kind = r.kind;
            ev.status = r.kind == SFJ_EV_NOTE ? 0 : SFJ_ST_APPROVED;
            ev.txn_id = r.kind == SFJ_EV_NOTE ? NULL : r.txn;
            ev.amount = r.amount;
            ev.currency = "EUR";
            ev.payload = payload;
            ev.payload_len = r.payload_len;
            rc = sfj_append(j, &ev, &seq);
            if (rc != SFJ_OK) {
                fprintf(stderr, "child: append: %s\n", sfj_strerror(rc));
                return 24;
            }
            r.seq = last = seq;
            put_report(fd, &r);
        } else if (what < 88) {
            uint64_t upto = last ? 1 + rnd() % last : 0;

            if (upto == 0)
                continue;
            rc = sfj__journal_ack(j, upto, NULL, 0);
            if (rc != SFJ_OK) {
                fprintf(stderr, "child: ack: %s\n", sfj_strerror(rc));
                return 25;
            }
            r.type = REP_ACK;
            r.seq = upto;
            put_report(fd, &r);
        } else if (what < 94) {
            if (sfj__journal_checkpoint(j, NULL) != SFJ_OK)
                return 26;
        } else if (what < 97) {
            int e = epoch_in_force(j);
            sfj_keys *next;

            if (e == 0)
                return 30;
            if (e == KEY_EPOCHS)
                continue;
            r.type = REP_ROTATE_BEGIN;
            put_report(fd, &r);
            next = sfj_test_keys((uint8_t)(KEY_SEED + e));
            rc = sfj_journal_rotate_keys(j, next, &seq);
            sfj_keys_free(next);
            if (rc != SFJ_OK) {
                fprintf(stderr, "child: rotate: %s (%s)\n", sfj_strerror(rc),
                        sfj_journal_errmsg(j));
                return 31;
            }
            r.type = REP_ROTATE;
            r.seq = last = seq;
            r.pseed = (uint32_t)(e + 1);
            put_report(fd, &r);
        } else {
            if (sfj_journal_close(j) != SFJ_OK)
                return 27;
            j = NULL;
            if (sfj_journal_open(argv[2], keys, &o, &j) != SFJ_OK)
                return 28;
        }
    }
    if (sfj_journal_close(j) != SFJ_OK)
        return 29;
    sfj_keys_free(keys);
    free(payload);
    return 0;
}

/* Negative control, run under the shim: plain file writes with and
 * without sync, an O_DSYNC write, and an LMDB commit with MDB_NOSYNC,
 * each followed by a report line. */
static int selftest_child(const char *dir, const char *report_path)
{
    char path[4096];
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {4, "key1"}, v = {5, "value"};
    int fd, rfd;

    rfd = open(report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    snprintf(path, sizeof path, "%s/plain", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || rfd < 0)
        return 30;
    if (pwrite(fd, "AAAA", 4, 0) != 4 || fdatasync(fd) != 0 ||
        pwrite(fd, "BBBB", 4, 0) != 4 || pwrite(fd, "CCCC", 4, 1024) != 4)
        return 31;
    close(fd);
    snprintf(path, sizeof path, "%s/dsync", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_DSYNC | O_CLOEXEC, 0600);
    if (fd < 0 || pwrite(fd, "DDDD", 4, 0) != 4)
        return 32;
    close(fd);
    snprintf(path, sizeof path, "%s/lmdb", dir);
    if (mkdir(path, 0700) != 0 || mdb_env_create(&env) != 0 ||
        mdb_env_open(env, path, MDB_NOSYNC, 0600) != 0 ||
        mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
        mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
        mdb_put(txn, dbi, &k, &v, 0) != 0 || mdb_txn_commit(txn) != 0)
        return 33;
    /* "committed": with MDB_NOSYNC this promise is not kept. */
    if (write(rfd, "committed\n", 10) != 10)
        return 34;
    mdb_env_close(env);
    return 0;
}

/* ---- The parent. ---- */

static const char *shim_path(void)
{
    return SFJ_PC_SHIM;
}

/* Run this binary again as a child under the shim; returns its wait
 * status. */
static int run_child(char *const *args, const char *log, const char *dir,
                     unsigned long long kill_at)
{
    char kbuf[32];
    int status = 0;
    pid_t pid;

    unlink(log);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        snprintf(kbuf, sizeof kbuf, "%llu", kill_at);
        setenv("SFJ_PC_LOG", log, 1);
        setenv("SFJ_PC_DIR", dir, 1);
        setenv("SFJ_PC_KILL_AT", kbuf, 1);
        /* A sanitizer runtime insists on coming first; the shim is not
         * instrumented, so the order does not matter here. */
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
        sfj_test_exec_self(args, shim_path());
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void read_reports(const char *path, expect *ex)
{
    size_t len = 0, i;
    uint8_t *buf = sfj_test_read_file(path, &len);
    report r;

    ex->cut_in_rotation = 0;
    if (buf == NULL)
        return; /* cut before the first report */
    for (i = 0; i + sizeof r <= len; i += sizeof r) {
        memcpy(&r, buf + i, sizeof r);
        /* A begun rotation not reported done was cut. */
        ex->cut_in_rotation = r.type == REP_ROTATE_BEGIN;
        if (r.type == REP_ROTATE_BEGIN)
            continue;
        ex->rotations += r.type == REP_ROTATE;
        if (r.type == REP_ACK) {
            if (r.seq > ex->acked)
                ex->acked = r.seq;
            continue;
        }
        assert_true(r.type == REP_APPEND || r.type == REP_ROTATE);
        if (r.seq >= ex->cap) {
            uint64_t cap = r.seq * 2 + 64;

            ex->by_seq = realloc(ex->by_seq, cap * sizeof *ex->by_seq);
            assert_non_null(ex->by_seq);
            memset(ex->by_seq + ex->cap, 0,
                   (cap - ex->cap) * sizeof *ex->by_seq);
            ex->cap = cap;
        }
        ex->by_seq[r.seq] = r;
        if (r.seq > ex->max_seq)
            ex->max_seq = r.seq;
        ex->reported += r.type == REP_APPEND;
    }
    /* A torn report (cut mid-write) cannot happen: reports are written
     * in one call to a file the shim does not track. */
    assert_int_equal(len % sizeof r, 0);
    free(buf);
}

static void check_fail(const char *what, uint64_t seq, int rc)
{
    fprintf(stderr, "state check: %s (seq %llu): %s\n", what,
            (unsigned long long)seq, sfj_strerror(rc));
}

/* The checks on one crash state; runs in a forked process. Exit 0: good;
 * 10: refused with SFJ_ECORRUPT; anything else: a failure. */
static int check_state(const char *dir, const expect *ex)
{
    sfj_keys *keys = key_ring(), *alone;
    sfj_journal *j = NULL;
    sfj_journal_opts o;
    sfj__verify_result vr;
    sfj_stats st = SFJ_STATS_INIT;
    sfj_entry *e;
    sfj_event ev = SFJ_EVENT_INIT;
    uint8_t *payload = malloc(12000);
    uint64_t seq, wm = 0;
    int rc, e_now;

    journal_opts(&o);
    rc = sfj_journal_open(dir, keys, &o, &j);
    if (rc != SFJ_OK) {
        if (rc == SFJ_ECORRUPT && ex->reported == 0 && ex->acked == 0)
            return 10;
        fprintf(stderr, "state check: open: %s (%s)\n", sfj_strerror(rc),
                sfj_journal_errmsg(NULL));
        return 1;
    }
    rc = sfj_stats_get(j, &st);
    if (rc != SFJ_OK || st.last_seq < ex->max_seq ||
        st.entries != st.last_seq || st.first_seq != (st.entries ? 1 : 0)) {
        fprintf(stderr,
                "state check: stats: last %llu (reported %llu), %llu "
                "entries from %llu\n",
                (unsigned long long)st.last_seq,
                (unsigned long long)ex->max_seq, (unsigned long long)st.entries,
                (unsigned long long)st.first_seq);
        return 2;
    }
    for (seq = 1; seq <= ex->max_seq; seq++) {
        const report *r = &ex->by_seq[seq];

        if (r->type == REP_ROTATE) {
            /* Reported done: the record is there, closing the epoch
             * before the one it names. */
            rc = sfj_read(j, seq, &e);
            if (rc != SFJ_OK || e->kind != SFJ_EV_KEY_ROTATION ||
                e->epoch + 1 != r->pseed) {
                check_fail("rotation reported but not held", seq, rc);
                return 11;
            }
            sfj_entry_free(e);
            continue;
        }
        if (r->type != REP_APPEND)
            continue;
        rc = sfj_read(j, seq, &e);
        if (rc != SFJ_OK) {
            check_fail("read", seq, rc);
            return 3;
        }
        fill_payload(payload, r->payload_len, r->pseed);
        if (e->kind != r->kind || e->amount != r->amount ||
            e->payload_len != r->payload_len ||
            (r->payload_len &&
             memcmp(e->payload, payload, r->payload_len) != 0) ||
            (r->kind != SFJ_EV_NOTE && strcmp(e->txn_id, r->txn) != 0)) {
            check_fail("entry differs from what was reported", seq, 0);
            return 4;
        }
        sfj_entry_free(e);
    }
    rc = sfj__journal_watermark(j, &wm);
    if (rc != SFJ_OK || wm < ex->acked) {
        fprintf(stderr, "state check: watermark %llu < reported %llu\n",
                (unsigned long long)wm, (unsigned long long)ex->acked);
        return 5;
    }
    rc = sfj__verify(j, 0, NULL, 1, &vr);
    if (rc != SFJ_OK || vr.bad_seq != 0 || vr.verified_to != vr.last_seq ||
        vr.last_seq != st.last_seq) {
        fprintf(stderr, "state check: verify rc %d bad %llu (%s), to %llu\n",
                rc, (unsigned long long)vr.bad_seq, vr.reason,
                (unsigned long long)vr.verified_to);
        return 6;
    }
    /* Wholly before or wholly after a rotation: meta names a key of the
     * walk's (checked against the rotation records), which then opens the
     * journal alone. */
    e_now = epoch_in_force(j);
    if (e_now == 0) {
        check_fail("the key in force is none of the fixed keys", 0, 0);
        return 12;
    }
    /* The journal goes on taking entries after the crash. */
    ev.kind = SFJ_EV_NOTE;
    rc = sfj_append(j, &ev, &seq);
    if (rc != SFJ_OK || seq != st.last_seq + 1) {
        check_fail("append after the crash", seq, rc);
        return 7;
    }
    /* The txn index, rebuilt from the persisted part and the tail after
     * it, knows every sale reported durable, wherever the cut fell in the
     * life of its overlay; a second sale under the id is refused. */
    for (seq = 1; seq <= ex->max_seq; seq++) {
        const report *r = &ex->by_seq[seq];
        sfj_txn t = SFJ_TXN_INIT;

        if (r->type != REP_APPEND || r->kind != SFJ_EV_TXN_OFFLINE)
            continue;
        rc = sfj_txn_get(j, r->txn, &t);
        if (rc != SFJ_OK || t.offline_seq != seq ||
            (t.state != SFJ_TXN_OFFLINE && t.state != SFJ_TXN_FORWARDED)) {
            fprintf(stderr, "state check: txn %s (seq %llu): %s, state %d\n",
                    r->txn, (unsigned long long)seq, sfj_strerror(rc),
                    (int)t.state);
            return 11;
        }
        ev = (sfj_event)SFJ_EVENT_INIT;
        ev.kind = SFJ_EV_TXN_OFFLINE;
        ev.status = SFJ_ST_APPROVED;
        ev.txn_id = r->txn;
        ev.currency = "EUR";
        ev.amount = 1;
        if (rnd() % 8 == 0 && (rc = sfj_append(j, &ev, NULL)) != SFJ_ESTATE) {
            check_fail("second sale under a reported id", seq, rc);
            return 12;
        }
    }
    rc = sfj_journal_close(j);
    if (rc != SFJ_OK) {
        check_fail("close", 0, rc);
        return 8;
    }
    alone = sfj_test_keys((uint8_t)(KEY_SEED + e_now - 1));
    j = NULL;
    rc = sfj_journal_open(dir, alone, &o, &j);
    if (rc == SFJ_OK)
        rc = sfj_journal_close(j);
    sfj_keys_free(alone);
    if (rc != SFJ_OK) {
        check_fail("open with the key in force alone", 0, rc);
        return 13;
    }
    sfj_keys_free(keys);
    free(payload);
    return 0;
}

static int fork_check(const char *dir, const expect *ex)
{
    int status = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0)
        _exit(check_state(dir, ex));
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

static void empty_dir(const char *dir)
{
    sfj_test_rmrf(dir);
    assert_int_equal(mkdir(dir, 0700), 0);
}

/* Keep a failing state for inspection. */
static void keep_state(const char *state, int round, int mode, uint64_t seed)
{
    char cmd[8192];

    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s.fail-r%d-%s-%llu'", state, state,
             round, sfj_cs_mode_name(mode), (unsigned long long)seed);
    if (system(cmd) != 0)
        fprintf(stderr, "could not keep the failing state\n");
    else
        fprintf(stderr, "kept as %s.fail-r%d-%s-%llu\n", state, round,
                sfj_cs_mode_name(mode), (unsigned long long)seed);
}

/* The harness's own files need no durability (the shim models it), so
 * they go to memory when /dev/shm is there: thousands of crash states
 * then cost no real fsyncs. */
static char *scratch_dir(void)
{
    char *path;

    if (access("/dev/shm", W_OK) != 0)
        return sfj_test_tmpdir();
    path = strdup("/dev/shm/sfjpc.XXXXXX");
    assert_non_null(path);
    assert_non_null(mkdtemp(path));
    return path;
}

static int rounds(void)
{
    const char *s = getenv("SFJ_POWERCUT_ROUNDS");
    int n = s ? atoi(s) : 0;

    if (n > 0)
        return n;
    s = getenv("SFJ_SOAK");
    return s && *s && strcmp(s, "0") != 0 ? 2000 : 160;
}

static void test_power_cuts_lose_nothing(void **state)
{
    char *base = scratch_dir();
    char *jdir = sfj_test_path(base, "journal");
    char *init = sfj_test_path(base, "init");
    char *sdir = sfj_test_path(base, "state");
    char *log = sfj_test_path(base, "shim.log");
    char *rep = sfj_test_path(base, "reports");
    char seedbuf[32], nbuf[16];
    char *args[] = {"test_powercut", "--pc-child", jdir, rep,
                    seedbuf,         nbuf,         NULL};
    expect ex;
    counts c;
    int r, n = rounds(), mode, status, rc, ok_modes[SFJ_CS_MODES * 2];
    uint64_t seeds[SFJ_CS_MODES * 2], seed0, rot_before;
    const char *env_seed = getenv("SFJ_POWERCUT_SEED");

    (void)state;
    memset(&ex, 0, sizeof ex);
    memset(&c, 0, sizeof c);
    seed0 = env_seed ? strtoull(env_seed, NULL, 10)
                     : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    rng_state = seed0;
    print_message("seed %llu (SFJ_POWERCUT_SEED replays it)\n",
                  (unsigned long long)seed0);
    for (r = 0; r < n; r++) {
        int n_ops = 3 + (int)(rnd() % 22), n_ok = 0, k;
        /* About 4.5 logged operations per step: some rounds run to the
         * end. */
        unsigned long long kill_at = 1 + rnd() % (unsigned)(5 * n_ops + 20);
        sfj_cs *cs = NULL;
        char cmd[8192];

        if (r % ROUNDS_PER_JOURNAL == 0) {
            /* A fresh journal now and then: creation is cut too, and the
             * images stay small. */
            empty_dir(jdir);
            free(ex.by_seq);
            memset(&ex, 0, sizeof ex);
        }
        /* The images before this round. */
        empty_dir(init);
        snprintf(cmd, sizeof cmd, "cp -p '%s'/* '%s'/ 2>/dev/null", jdir, init);
        (void)!system(cmd);
        snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)rnd());
        snprintf(nbuf, sizeof nbuf, "%d", n_ops);
        unlink(rep);
        status = run_child(args, log, jdir, kill_at);
        if (WIFSIGNALED(status)) {
            assert_int_equal(WTERMSIG(status), SIGKILL);
            c.cut++;
        } else {
            if (WEXITSTATUS(status) != 0)
                fail_msg("round %d: child failed with %d", r,
                         WEXITSTATUS(status));
            c.completed++;
        }
        rot_before = ex.rotations;
        read_reports(rep, &ex);
        c.rotations += (unsigned long)(ex.rotations - rot_before);
        c.cut_in_rotation += ex.cut_in_rotation && WIFSIGNALED(status);
        assert_int_equal(sfj_cs_load(&cs, log, init), 0);
        assert_int_equal(sfj_cs_unmodelled(cs), 0);
        assert_int_equal(sfj_cs_was_cut(cs), WIFSIGNALED(status));
        c.pending_ops += sfj_cs_pending(cs);
        c.rounds++;
        for (k = 0; k < SFJ_CS_MODES * 2; k++) {
            mode = k % SFJ_CS_MODES;
            /* One state for durable and all; two for the random ones. */
            if (k >= SFJ_CS_MODES &&
                (mode == SFJ_CS_DURABLE || mode == SFJ_CS_ALL))
                continue;
            seeds[k] = rnd();
            empty_dir(sdir);
            assert_int_equal(sfj_cs_build(cs, mode, seeds[k], sdir), 0);
            rc = fork_check(sdir, &ex);
            c.states++;
            c.per_mode[mode]++;
            if (rc == 10) {
                c.refused++;
                continue;
            }
            if (rc != 0) {
                keep_state(sdir, r, mode, seeds[k]);
                fail_msg("round %d, %s state (seed %llu, kill at %llu of "
                         "%d ops): check failed with %d",
                         r, sfj_cs_mode_name(mode),
                         (unsigned long long)seeds[k], kill_at, n_ops, rc);
            }
            c.entries_checked += ex.reported;
            ok_modes[n_ok++] = k;
        }
        assert_true(n_ok > 0);
        /* Carry one good state into the next round. */
        k = ok_modes[rnd() % (unsigned)n_ok];
        empty_dir(jdir);
        assert_int_equal(sfj_cs_build(cs, k % SFJ_CS_MODES, seeds[k], jdir), 0);
        sfj_cs_free(cs);
    }
    print_message("%lu rounds (%lu cut, %lu ran to the end), %lu crash "
                  "states (durable %lu, all %lu, subset %lu, torn %lu, "
                  "sectors %lu), %lu pending writes/syncs at the cuts, %lu "
                  "refused with SFJ_ECORRUPT before anything was durable, "
                  "%lu reported entries checked, none lost\n",
                  c.rounds, c.cut, c.completed, c.states,
                  c.per_mode[SFJ_CS_DURABLE], c.per_mode[SFJ_CS_ALL],
                  c.per_mode[SFJ_CS_SUBSET], c.per_mode[SFJ_CS_TORN],
                  c.per_mode[SFJ_CS_SECTORS], c.pending_ops, c.refused,
                  c.entries_checked);
    print_message("%lu key rotations reported, %lu rounds cut inside one "
                  "(each state wholly before or after it)\n",
                  c.rotations, c.cut_in_rotation);
    print_message("test_powercut: %lu rounds run\n", c.rounds); /* test.sh */
    assert_true(c.cut > 0);
    assert_true(c.entries_checked > 0);
    free(ex.by_seq);
    sfj_test_rmrf(base);
    free(jdir);
    free(init);
    free(sdir);
    free(log);
    free(rep);
    free(base);
}

/* The harness can see a lost write: unsynced writes vanish from the
 * durable state, synced and O_DSYNC ones stay, a torn write keeps only
 * whole sectors, and an LMDB commit made with MDB_NOSYNC, though
 * "committed", is missing. A test that could not fail would prove
 * nothing. */
static void test_shim_sees_lost_writes(void **state)
{
    char *base = sfj_test_tmpdir();
    char *dir = sfj_test_path(base, "d");
    char *init = sfj_test_path(base, "init");
    char *sdir = sfj_test_path(base, "state");
    char *log = sfj_test_path(base, "shim.log");
    char *rep = sfj_test_path(base, "reports");
    char *args[] = {"test_powercut", "--pc-selftest", dir, rep, NULL};
    char *p;
    uint8_t *buf;
    size_t len = 0;
    sfj_cs *cs = NULL;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {4, "key1"}, v;
    int status, mrc;

    (void)state;
    empty_dir(dir);
    empty_dir(init);
    status = run_child(args, log, dir, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    buf = sfj_test_read_file(rep, &len);
    assert_non_null(buf);
    assert_int_equal(len, 10); /* the commit was reported */
    free(buf);
    assert_int_equal(sfj_cs_load(&cs, log, init), 0);
    assert_true(sfj_cs_pending(cs) > 0);

    /* Durable state: "AAAA" (synced), no CCCC, "DDDD" (O_DSYNC). */
    empty_dir(sdir);
    assert_int_equal(sfj_cs_build(cs, SFJ_CS_DURABLE, 1, sdir), 0);
    p = sfj_test_path(sdir, "plain");
    buf = sfj_test_read_file(p, &len);
    assert_non_null(buf);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "AAAA", 4);
    free(buf);
    free(p);
    p = sfj_test_path(sdir, "dsync");
    buf = sfj_test_read_file(p, &len);
    assert_non_null(buf);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "DDDD", 4);
    free(buf);
    free(p);
    /* The NOSYNC commit is gone (or the environment is unreadable). */
    p = sfj_test_path(sdir, "lmdb");
    mkdir(p, 0700);
    assert_int_equal(mdb_env_create(&env), 0);
    mrc = mdb_env_open(env, p, MDB_RDONLY, 0600);
    if (mrc == 0) {
        assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
        mrc = mdb_dbi_open(txn, NULL, 0, &dbi);
        if (mrc == 0)
            mrc = mdb_get(txn, dbi, &k, &v);
        assert_int_not_equal(mrc, 0);
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    free(p);

    /* Everything applied: BBBB at 0 and CCCC at 1024. */
    empty_dir(sdir);
    assert_int_equal(sfj_cs_build(cs, SFJ_CS_ALL, 1, sdir), 0);
    p = sfj_test_path(sdir, "plain");
    buf = sfj_test_read_file(p, &len);
    assert_non_null(buf);
    assert_int_equal(len, 1028);
    assert_memory_equal(buf, "BBBB", 4);
    assert_memory_equal(buf + 1024, "CCCC", 4);
    free(buf);
    free(p);
    sfj_cs_free(cs);
    sfj_test_rmrf(base);
    free(dir);
    free(init);
    free(sdir);
    free(log);
    free(rep);
    free(base);
}

/* A write cut in flight is pending and can be torn; a sync cut before it
 * ran makes nothing durable. */
static void test_cut_in_flight(void **state)
{
    char *base = sfj_test_tmpdir();
    char *dir = sfj_test_path(base, "d");
    char *init = sfj_test_path(base, "init");
    char *log = sfj_test_path(base, "shim.log");
    char *rep = sfj_test_path(base, "reports");
    char *args[] = {"test_powercut", "--pc-selftest", dir, rep, NULL};
    sfj_cs *cs = NULL;
    int status;

    (void)state;
    empty_dir(dir);
    empty_dir(init);
    /* Ops on tracked files: 1 write AAAA, 2 fdatasync, 3 write BBBB. */
    status = run_child(args, log, dir, 2);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(sfj_cs_load(&cs, log, init), 0);
    assert_int_equal(sfj_cs_was_cut(cs), 1);
    assert_int_equal(sfj_cs_pending(cs), 1); /* AAAA, never synced */
    sfj_cs_free(cs);
    empty_dir(dir);
    status = run_child(args, log, dir, 3);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(sfj_cs_load(&cs, log, init), 0);
    assert_int_equal(sfj_cs_pending(cs), 1); /* BBBB, in flight */
    sfj_cs_free(cs);
    sfj_test_rmrf(base);
    free(dir);
    free(init);
    free(log);
    free(rep);
    free(base);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shim_sees_lost_writes),
        cmocka_unit_test(test_cut_in_flight),
        cmocka_unit_test(test_power_cuts_lose_nothing),
    };

    sfj_init();
    if (argc > 1 && strcmp(argv[1], "--pc-child") == 0)
        return child_main(argc, argv);
    if (argc == 4 && strcmp(argv[1], "--pc-selftest") == 0)
        return selftest_child(argv[2], argv[3]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
