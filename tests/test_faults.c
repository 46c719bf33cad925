/* Injected faults, through the LD_PRELOAD fault shim (torture/faultshim.c)
 * so that they reach LMDB's own calls: the binary runs itself again under
 * the shim when started without it.
 *
 * - every write and sync of an append failing with EIO in turn: the append
 *   fails, the handle refuses further writes with SFJ_EDEAD, a reopen holds
 *   everything reported durable before;
 * - ENOSPC (SFJ_EFULL, nothing lost, appends resume on the same handle when
 *   space returns) and the map cap;
 * - short writes and EINTR;
 * - allocation failure at every N-th allocation through open, append, read,
 *   iteration, verification, recovery, key loading and forwarding: a clean
 *   error, no crash, no leak, and a journal that still verifies. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>

#include "sfj/forwarder.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "sfj/txn.h"
#include "support/testutil.h"
#include "torture/faultshim.h"

/* Under AddressSanitizer some libc functions (strdup, ...) allocate
 * inside the sanitizer, past the shim, so the shim's block count is off;
 * LeakSanitizer checks for leaks there instead. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_LEAKS 0
#else
#define COUNT_LEAKS 1
#endif

static sfj_fault_ctl *ctl;

typedef struct fixture {
    char *dir;
    char *path;
    sfj_keys *keys;
    uint64_t *amounts; /* by seq: amount reported durable (0: none) */
    uint64_t cap;
    uint64_t reported;
    uint16_t kind; /* of the events append_one makes (0: OFFLINE) */
} fixture;

static unsigned long faults_injected, alloc_faults_injected;

static void arm_io(unsigned ops, long nth, int err, int sticky)
{
    ctl->ops = ops;
    ctl->err = err;
    ctl->sticky = sticky;
    ctl->io_count = 0;
    ctl->io_hits = 0;
    __atomic_store_n(&ctl->nth, nth, __ATOMIC_SEQ_CST);
}

static void disarm_io(void)
{
    __atomic_store_n(&ctl->nth, 0, __ATOMIC_SEQ_CST);
    faults_injected += (unsigned long)ctl->io_hits;
}

static void arm_alloc(long nth, int sticky)
{
    ctl->alloc_count = 0;
    ctl->alloc_hits = 0;
    ctl->alloc_sticky = sticky;
    __atomic_store_n(&ctl->alloc_nth, nth, __ATOMIC_SEQ_CST);
}

static long disarm_alloc(void)
{
    __atomic_store_n(&ctl->alloc_nth, 0, __ATOMIC_SEQ_CST);
    alloc_faults_injected += (unsigned long)ctl->alloc_hits;
    return ctl->alloc_hits;
}

static long live(void)
{
    return __atomic_load_n(&ctl->live, __ATOMIC_SEQ_CST);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->path = sfj_test_path(f->dir, "j");
    f->keys = sfj_test_keys(9);
    snprintf(ctl->dir, sizeof ctl->dir, "%s", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    disarm_io();
    disarm_alloc();
    ctl->dir[0] = '\0';
    sfj_keys_free(f->keys);
    sfj_test_rmrf(f->dir);
    free(f->amounts);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

static sfj_journal *open_j(fixture *f, uint64_t max_bytes)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    int rc;

    o.max_bytes = max_bytes;
    rc = sfj_journal_open(f->path, f->keys, &o, &j);
    if (rc != SFJ_OK)
        fail_msg("open: %s (%s)", sfj_strerror(rc), sfj_journal_errmsg(NULL));
    return j;
}

static void fill_event(sfj_event *ev, uint16_t kind, char *txn, size_t cap,
                       int64_t amount, const uint8_t *payload, size_t len)
{
    sfj_event e = SFJ_EVENT_INIT;

    snprintf(txn, cap, "F-%lld", (long long)amount);
    e.kind = kind ? kind : SFJ_EV_TXN_OFFLINE;
    e.status = e.kind == SFJ_EV_TXN_OFFLINE ? SFJ_ST_APPROVED : 0;
    e.txn_id = e.kind == SFJ_EV_NOTE ? NULL : txn;
    e.amount = amount;
    e.currency = "EUR";
    e.payload = payload;
    e.payload_len = len;
    *ev = e;
}

/* Append and, on success, remember the entry as reported durable. */
static int append_one(fixture *f, sfj_journal *j, size_t payload_len)
{
    static int64_t next_amount = 1000;
    static uint8_t payload[8192];
    char txn[32];
    sfj_event ev;
    uint64_t seq = 0;
    int rc;

    memset(payload, 'q', sizeof payload);
    fill_event(&ev, f->kind, txn, sizeof txn, next_amount++, payload,
               payload_len < sizeof payload ? payload_len : sizeof payload);
    rc = sfj_append(j, &ev, &seq);
    if (rc != SFJ_OK)
        return rc;
    assert_true(seq > 0);
    if (seq >= f->cap) {
        uint64_t cap = seq * 2 + 64;

        f->amounts = realloc(f->amounts, cap * sizeof *f->amounts);
        assert_non_null(f->amounts);
        memset(f->amounts + f->cap, 0, (cap - f->cap) * sizeof *f->amounts);
        f->cap = cap;
    }
    f->amounts[seq] = (uint64_t)ev.amount;
    f->reported++;
    return SFJ_OK;
}

/* Every entry reported durable is there and intact; the chain verifies. */
static void check_durable(fixture *f, sfj_journal *j)
{
    sfj__verify_result vr;
    sfj_entry *e;
    uint64_t seq;
    int rc;

    for (seq = 1; seq < f->cap; seq++) {
        if (f->amounts[seq] == 0)
            continue;
        rc = sfj_read(j, seq, &e);
        if (rc != SFJ_OK)
            fail_msg("seq %llu reported durable: %s", (unsigned long long)seq,
                     sfj_strerror(rc));
        assert_int_equal((uint64_t)e->amount, f->amounts[seq]);
        sfj_entry_free(e);
    }
    assert_int_equal(sfj__verify(j, 0, NULL, 1, &vr), SFJ_OK);
    if (vr.bad_seq != 0)
        fail_msg("verify: seq %llu: %s", (unsigned long long)vr.bad_seq,
                 vr.reason);
}

/* Acknowledged entries pruned by retention are gone by design. */
static void forget_pruned(fixture *f, sfj_journal *j)
{
    sfj_stats st = SFJ_STATS_INIT;
    uint64_t seq;

    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    for (seq = 1; seq < st.first_seq && seq < f->cap; seq++)
        f->amounts[seq] = 0;
}

static void reopen_and_check(fixture *f)
{
    sfj_journal *j = open_j(f, 0);

    check_durable(f, j);
    assert_int_equal(append_one(f, j, 10), SFJ_OK);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
}

/* ---- I/O errors ---- */

/* fdatasync fails with EIO: the append fails, the handle is dead for
 * every later write, and a reopen shows everything durable before. */
static void test_fdatasync_eio(void **state)
{
    fixture *f = *state;
    sfj_journal *j = open_j(f, 0);
    uint64_t last_before, last_after;
    int i;

    for (i = 0; i < 20; i++)
        assert_int_equal(append_one(f, j, 200), SFJ_OK);
    sfj__journal_head(j, &last_before, NULL);
    arm_io(SFJ_FAULT_FDATASYNC, 1, EIO, 0);
    assert_int_equal(append_one(f, j, 200), SFJ_EIO);
    disarm_io();
    assert_int_equal(ctl->io_hits, 1);
    /* The sync is not retried and trusted: the handle stays dead. */
    assert_int_equal(append_one(f, j, 200), SFJ_EDEAD);
    assert_int_equal(sfj__journal_ack(j, 1, NULL, 0), SFJ_EDEAD);
    assert_int_equal(sfj__journal_checkpoint(j, NULL), SFJ_EDEAD);
    /* Reads still work on the dead handle. */
    check_durable(f, j);
    sfj_journal_close(j);
    j = open_j(f, 0);
    sfj__journal_head(j, &last_after, NULL);
    /* The failed append is not there (open added its checkpoint). */
    assert_int_equal(last_after, last_before + 1);
    check_durable(f, j);
    sfj_journal_close(j);
    reopen_and_check(f);
}

/* A copy of the journal and of what was reported durable, so that every
 * step of a sweep starts from the same bytes on disk (the number of I/O
 * calls of an append depends on the layout of the tree). */
static uint64_t *saved_amounts;
static uint64_t saved_cap, saved_reported;

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    uint8_t *buf = sfj_test_read_file(from, &len);
    FILE *out = fopen(to, "wb");

    assert_non_null(buf);
    assert_non_null(out);
    assert_int_equal(fwrite(buf, 1, len, out), len);
    assert_int_equal(fclose(out), 0);
    free(buf);
}

static void save_journal(fixture *f)
{
    char *data = sfj_test_path(f->path, "data.mdb");
    char *copy = sfj_test_path(f->dir, "saved.mdb");

    copy_file(data, copy);
    free(saved_amounts);
    saved_amounts = malloc(f->cap * sizeof *f->amounts + 1);
    assert_non_null(saved_amounts);
    memcpy(saved_amounts, f->amounts, f->cap * sizeof *f->amounts);
    saved_cap = f->cap;
    saved_reported = f->reported;
    free(data);
    free(copy);
}

static void restore_journal(fixture *f)
{
    char *data = sfj_test_path(f->path, "data.mdb");
    char *copy = sfj_test_path(f->dir, "saved.mdb");

    copy_file(copy, data);
    memset(f->amounts, 0, f->cap * sizeof *f->amounts);
    memcpy(f->amounts, saved_amounts, saved_cap * sizeof *f->amounts);
    f->reported = saved_reported;
    free(data);
    free(copy);
}

/* Judges one step of a sweep: the append's result `rc` with the n-th I/O
 * call failed, on handle `j`. */
typedef void (*judge_fn)(fixture *f, sfj_journal *j, long n, int rc,
                         int *tally);

/* Fail the n-th I/O call of class `ops` of one append with `err`, for
 * n = 1, 2, ... until the append makes fewer calls; after each step the
 * journal reopens with everything reported durable. Returns the number
 * of calls of a clean append. */
static long io_sweep(fixture *f, unsigned ops, int err, size_t len,
                     judge_fn judge, int *tally)
{
    sfj_journal *j = open_j(f, 0);
    long n;
    int rc, i;

    for (i = 0; i < 30; i++)
        assert_int_equal(append_one(f, j, 50 + 97 * (size_t)i), SFJ_OK);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    save_journal(f);
    for (n = 1;; n++) {
        restore_journal(f);
        j = open_j(f, 0);
        arm_io(ops, n, err, 0);
        rc = append_one(f, j, len);
        disarm_io();
        if (ctl->io_hits == 0) {
            /* Past the last call of the append. */
            assert_int_equal(rc, SFJ_OK);
            assert_int_equal(sfj_journal_close(j), SFJ_OK);
            break;
        }
        if (rc == SFJ_OK && err != EINTR)
            fail_msg("append reported durable although I/O call %ld failed "
                     "with %s",
                     n,
                     err == SFJ_FAULT_SHORT ? "a short write" : strerror(err));
        judge(f, j, n, rc, tally);
        sfj_journal_close(j);
        reopen_and_check(f);
    }
    return n - 1;
}

static void judge_dead(fixture *f, sfj_journal *j, long n, int rc, int *tally)
{
    (void)tally;
    if (rc != SFJ_EIO)
        fail_msg("I/O call %ld failed: append gave %s", n, sfj_strerror(rc));
    /* The failure is not retried and trusted: the handle stays dead. */
    assert_int_equal(append_one(f, j, 10), SFJ_EDEAD);
}

/* Every write and sync an append makes, failed with EIO in turn: the
 * append never reports success, and nothing durable is lost. */
static void test_every_io_failure_fails_the_append(void **state)
{
    fixture *f = *state;
    size_t lens[] = {100, 7000, 30000};
    long calls;
    int i;

    for (i = 0; i < 3; i++) {
        /* One page, overflow pages, and enough to split the tree. */
        calls = io_sweep(f, SFJ_FAULT_IO, EIO, lens[i], judge_dead, NULL);
        assert_true(calls >= 3); /* data, fdatasync, meta at least */
    }
}

static void judge_eintr(fixture *f, sfj_journal *j, long n, int rc, int *tally)
{
    (void)n;
    (void)f;
    (void)j;
    assert_int_equal(rc, SFJ_OK);
    (*tally)++;
}

/* Short writes fail the commit cleanly; EINTR on a write is retried and
 * the append succeeds; EINTR on fdatasync fails the commit (LMDB does not
 * retry a sync, and neither does sfj). */
static void test_short_writes_and_eintr(void **state)
{
    fixture *f = *state;
    int eintr = 0;

    assert_true(io_sweep(f, SFJ_FAULT_WRITE, SFJ_FAULT_SHORT, 30000, judge_dead,
                         NULL) >= 2);
    assert_true(
        io_sweep(f, SFJ_FAULT_WRITE, EINTR, 30000, judge_eintr, &eintr) >= 2);
    assert_true(eintr >= 2); /* data pages and meta page */
    assert_true(
        io_sweep(f, SFJ_FAULT_FDATASYNC, EINTR, 100, judge_dead, NULL) >= 1);
}

static void judge_enospc(fixture *f, sfj_journal *j, long n, int rc, int *tally)
{
    assert_int_equal(rc, SFJ_EFULL);
    rc = append_one(f, j, 100);
    if (rc == SFJ_OK)
        tally[0]++;
    else if (rc == SFJ_EDEAD)
        tally[1]++;
    else
        fail_msg("append after ENOSPC on write %ld: %s", n, sfj_strerror(rc));
}

/* ENOSPC on each write of an append in turn: SFJ_EFULL every time; the
 * handle lives on when LMDB failed before its meta page (the data pages)
 * and dies when the meta page write failed (LMDB's fatal state); nothing
 * durable is lost either way. */
static void test_enospc_each_write(void **state)
{
    fixture *f = *state;
    int tally[2] = {0, 0};

    io_sweep(f, SFJ_FAULT_WRITE, ENOSPC, 30000, judge_enospc, tally);
    assert_true(tally[0] > 0);
    assert_int_equal(tally[1], 1); /* the meta page */
}

/* The disk fills up: SFJ_EFULL, nothing lost, and appends resume on the
 * same handle once space returns. */
static void test_enospc_then_space_returns(void **state)
{
    fixture *f = *state;
    sfj_journal *j = open_j(f, 0);
    unsigned cls[] = {SFJ_FAULT_WRITE, SFJ_FAULT_FDATASYNC};
    uint64_t before, after;
    int i, k;

    for (i = 0; i < 10; i++)
        assert_int_equal(append_one(f, j, 300), SFJ_OK);
    for (k = 0; k < 2; k++) {
        assert_int_equal(sfj__journal_head(j, &before, NULL), SFJ_OK);
        arm_io(cls[k], 1, ENOSPC, 1);
        for (i = 0; i < 3; i++)
            assert_int_equal(append_one(f, j, 300), SFJ_EFULL);
        disarm_io();
        assert_true(ctl->io_hits >= 3);
        /* The handle's in-memory head moves only with a commit: no
         * waiter (a forwarder) may be told of a seq that failed. */
        assert_int_equal(sfj__journal_wait(j, before, 50), SFJ_ETIMEDOUT);
        assert_int_equal(sfj__journal_head(j, &after, NULL), SFJ_OK);
        assert_int_equal(after, before);
        check_durable(f, j);
        /* Space is back. */
        for (i = 0; i < 5; i++)
            assert_int_equal(append_one(f, j, 300), SFJ_OK);
    }
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    reopen_and_check(f);
}

/* A batch that pruned acknowledged entries and then failed to commit
 * leaves them in the journal: the next append prunes them again, though
 * the watermark has not moved since (retention.c skips the look only
 * when the committed front was found unacknowledged). */
static void test_prune_redone_after_failed_commit(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    sfj_event ev = SFJ_EVENT_INIT;
    const int64_t t0 = 1700000000000ll, day = 86400000ll;
    int i;

    o.retention_days = 1;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_OK);
    ev.kind = SFJ_EV_NOTE;
    ev.payload = "n";
    ev.payload_len = 1;
    ev.wall_ms = t0;
    for (i = 0; i < 20; i++)
        assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    assert_int_equal(sfj__journal_ack(j, 10, NULL, 0), SFJ_OK);
    /* Two days on: this append prunes 1 to 10, then its commit fails. */
    ev.wall_ms = t0 + 2 * day;
    arm_io(SFJ_FAULT_WRITE, 1, ENOSPC, 1);
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_EFULL);
    disarm_io();
    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    assert_int_equal(st.first_seq, 1);
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    assert_int_equal(sfj_stats_get(j, &st), SFJ_OK);
    assert_int_equal(st.first_seq, 11);
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
}

/* At the cap an append may commit twice before its batch does: a prune
 * of acknowledged entries, then a commit that releases the pages the
 * prune freed (large entries need them contiguous). A failed sync in
 * any of these commits kills the handle as a batch's does: LMDB may have
 * written pages that the next commit would build on. A reopen finds
 * every entry reported durable and not acknowledged. */
static void test_failed_sync_at_the_cap(void **state)
{
    enum { PAYLOAD = 30000, ROUNDS = 40 };
    const uint64_t cap = 2u << 20;
    fixture *f = *state;
    uint8_t *pl = malloc(PAYLOAD);
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_journal *j = open_j(f, cap);
    uint64_t seq = 0, acked = 0, reported = 0, last = 0;
    sfj_entry *e = NULL;
    int i, r, rc;

    assert_non_null(pl);
    randombytes_buf(pl, PAYLOAD); /* incompressible: overflow pages */
    ev.kind = SFJ_EV_NOTE;
    ev.payload = pl;
    ev.payload_len = PAYLOAD;
    for (r = 0; r < ROUNDS; r++) {
        /* Appends acknowledged one by one: the cap fills (about 60 of
         * them), then pruning and releasing go on. */
        for (i = 0; i < (r == 0 ? 80 : 1 + r % 5); i++) {
            pl[0] = (uint8_t)i;
            assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
            reported = seq;
            assert_int_equal(sfj__journal_ack(j, seq, NULL, 0), SFJ_OK);
            acked = seq;
        }
        /* An append whose first sync fails, whichever commit it is. */
        assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
        reported = seq;
        arm_io(SFJ_FAULT_FDATASYNC, 1, EIO, 0);
        rc = sfj_append(j, &ev, &seq);
        disarm_io();
        assert_int_equal(ctl->io_hits, 1);
        if (rc == SFJ_OK || sfj_append(j, &ev, &seq) != SFJ_EDEAD)
            fail_msg("round %d: after a failed sync (%s) the handle still "
                     "writes: %s",
                     r, sfj_strerror(rc), sfj_journal_errmsg(j));
        sfj_journal_close(j);
        j = open_j(f, cap);
        sfj__journal_head(j, &last, NULL);
        assert_true(last >= reported);
        for (seq = acked + 1; seq <= reported; seq++) {
            if (sfj_read(j, seq, &e) != SFJ_OK)
                fail_msg("round %d: seq %llu reported durable is gone", r,
                         (unsigned long long)seq);
            sfj_entry_free(e);
            e = NULL;
        }
    }
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    free(pl);
}

/* The map cap: SFJ_EFULL with nothing lost; acks and a reopen still work
 * at the cap (the reserve), and appends resume once acknowledged entries
 * are pruned or the cap is raised. */
static void test_map_cap(void **state)
{
    fixture *f = *state;
    const uint64_t caps[] = {SFJ_JOURNAL_MIN_BYTES, 512u << 10, 1u << 20};
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    uint64_t last;
    int rc = SFJ_OK, i, c;

    /* Notes: an acknowledged note may be pruned, while an offline sale
     * stays until its receipt is printed too. */
    f->kind = SFJ_EV_NOTE;
    o.max_bytes = SFJ_JOURNAL_MIN_BYTES - 4096;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_EINVAL);
    for (c = 0; c < 3; c++) {
        sfj_test_rmrf(f->path);
        if (f->amounts != NULL)
            memset(f->amounts, 0, f->cap * sizeof *f->amounts);
        j = open_j(f, caps[c]);
        for (i = 0; i < 100000 && (rc = append_one(f, j, 900)) == SFJ_OK; i++)
            ;
        assert_int_equal(rc, SFJ_EFULL);
        assert_true(i > 10);
        /* Smaller entries may still fit; fill up with them too. */
        for (i = 0; i < 100000 && (rc = append_one(f, j, 10)) == SFJ_OK; i++)
            ;
        assert_int_equal(rc, SFJ_EFULL);
        assert_int_equal(append_one(f, j, 10), SFJ_EFULL);
        check_durable(f, j);
        assert_int_equal(sfj_journal_close(j), SFJ_OK);
        /* Reopening at the cap works (boot counter, closing checkpoint). */
        j = open_j(f, caps[c]);
        check_durable(f, j);
        sfj__journal_head(j, &last, NULL);
        /* Acks still fit at the cap, and pruning the acknowledged entries
         * makes room: appends resume on the same handle. */
        assert_int_equal(sfj__journal_ack(j, last, NULL, 0), SFJ_OK);
        for (i = 0; i < 5; i++)
            assert_int_equal(append_one(f, j, 900), SFJ_OK);
        forget_pruned(f, j);
        check_durable(f, j);
        assert_int_equal(sfj_journal_close(j), SFJ_OK);
        /* A raised cap takes appends too. */
        j = open_j(f, caps[c] * 4);
        for (i = 0; i < 10; i++)
            assert_int_equal(append_one(f, j, 900), SFJ_OK);
        assert_int_equal(sfj_journal_close(j), SFJ_OK);
    }
}

/* ---- Allocation failures ---- */

typedef struct handle_arg {
    sfj_journal *j;
    void *arg;
} handle_arg;

typedef int (*op_fn)(fixture *f, handle_arg *h);

/* Run `op` with the n-th allocation failing, for n = 1, 2, ... until it
 * runs without reaching the failure. Each failure must be a clean error
 * from `allowed` (0-terminated) and leave no block allocated once the
 * journal handle the op was given (when `with_handle`) is closed again:
 * LMDB keeps freed pages for reuse while an environment is open, so
 * blocks are counted around the handle's whole life. */
static long sweep_alloc(fixture *f, const char *name, op_fn op, void *arg,
                        int with_handle, const int *allowed)
{
    handle_arg h;
    long n, base, hits;
    int rc, k, ok;

    h.arg = arg;
    for (n = -1;; n++) {
        /* Runs -1 and 0 warm up caches and pools (zlib streams, sodium). */
        base = live();
        h.j = with_handle ? open_j(f, 0) : NULL;
        arm_alloc(n > 0 ? n : 0, 0);
        rc = op(f, &h);
        hits = disarm_alloc();
        if (h.j != NULL)
            sfj_journal_close(h.j);
        if (n <= 0) {
            assert_int_equal(rc, SFJ_OK);
            continue;
        }
        if (COUNT_LEAKS && live() != base)
            fail_msg("%s: allocation %ld failing (rc %s) leaks %ld blocks",
                     name, n, sfj_strerror(rc), live() - base);
        if (hits == 0) {
            assert_int_equal(rc, SFJ_OK);
            break;
        }
        for (ok = 0, k = 0; allowed[k] != 0; k++)
            ok |= rc == allowed[k];
        if (!ok && rc != SFJ_OK)
            fail_msg("%s: allocation %ld failing gave %s", name, n,
                     sfj_strerror(rc));
    }
    print_message("%s: %ld allocations, each failed in turn\n", name, n - 1);
    assert_true(n > 1);
    return n - 1;
}

static const int nomem_only[] = {SFJ_ENOMEM, 0};
/* A commit that fails in LMDB for lack of memory kills the handle like any
 * failed commit. */
static const int nomem_or_dead[] = {SFJ_ENOMEM, SFJ_EIO, SFJ_EDEAD, 0};

static int op_open_close(fixture *f, handle_arg *h)
{
    sfj_journal *j = NULL;
    int rc = sfj_journal_open(f->path, f->keys, h->arg, &j);

    if (rc == SFJ_OK)
        rc = sfj_journal_close(j);
    return rc;
}

static int op_append(fixture *f, handle_arg *h)
{
    return append_one(f, h->j, 3000);
}

static int op_read(fixture *f, handle_arg *h)
{
    sfj_entry *e = NULL;
    int rc = sfj_read(h->j, 3, &e);

    (void)f;
    sfj_entry_free(e);
    return rc;
}

static int op_iter_verify(fixture *f, handle_arg *h)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj__verify_result vr;
    sfj_iter *it = NULL;
    sfj_entry *e;
    int rc;

    (void)f;
    q.txn_id = h->arg;
    rc = sfj_iter_open(h->j, &q, &it);
    while (rc == SFJ_OK) {
        rc = sfj_iter_next(it, &e);
        sfj_entry_free(e);
    }
    sfj_iter_free(it);
    if (rc != SFJ_ENOTFOUND)
        return rc;
    rc = sfj__verify(h->j, 0, NULL, 1, &vr);
    if (rc == SFJ_OK && vr.bad_seq != 0)
        rc = vr.bad_rc == SFJ_ENOMEM ? SFJ_ENOMEM : SFJ_ECORRUPT;
    return rc;
}

static int op_recover(fixture *f, handle_arg *h)
{
    sfj_report *r = NULL;
    int rc = sfj_recover(h->j, &r);

    (void)f;
    if (rc == SFJ_OK && r->status == SFJ_REPORT_CORRUPT)
        rc = r->bad_rc == SFJ_ENOMEM ? SFJ_ENOMEM : SFJ_ECORRUPT;
    sfj_report_free(r);
    return rc;
}

/* Build an evidence bundle for a txn and check it. */
static int op_bundle(fixture *f, handle_arg *h)
{
    sfj__bundle b;
    uint8_t *buf = NULL;
    size_t len = 0;
    char reason[160];
    int rc;

    (void)f;
    memset(&b, 0, sizeof b);
    rc = sfj__bundle_build(h->j, h->arg, &buf, &len, reason, sizeof reason);
    if (rc == SFJ_OK)
        rc = sfj__bundle_check(buf, len, NULL, &b);
    if (rc == SFJ_OK && b.n_events != 1)
        rc = SFJ_ECORRUPT;
    sfj__bundle_clear(&b);
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    return rc;
}

static int deliver_ack(const sfj_entry *e, void *payload)
{
    (void)e;
    (*(int *)payload)++;
    return SFJ_DELIVER_ACK;
}

/* Forward the whole backlog through a callback sink, then append more so
 * that the next run has something to forward. */
static int op_forward(fixture *f, handle_arg *h)
{
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    int rc, r2, delivered = 0, i;
    long saved;

    o.sink = SFJ_SINK_CALLBACK;
    o.deliver = deliver_ack;
    o.deliver_payload = &delivered;
    o.backoff_min_ms = 1;
    o.backoff_max_ms = 1;
    rc = sfj_forwarder_new(h->j, &o, &fw);
    if (rc == SFJ_OK)
        rc = sfj_forwarder_flush(fw, 5000);
    sfj_forwarder_free(fw);
    /* Fresh work for the next run, outside the sweep's count. */
    saved = ctl->alloc_nth;
    ctl->alloc_nth = 0;
    for (i = 0; i < 3; i++) {
        r2 = append_one(f, h->j, 50);
        if (r2 == SFJ_EDEAD)
            break; /* an ack commit failed: the next run reopens */
        assert_int_equal(r2, SFJ_OK);
    }
    ctl->alloc_nth = saved;
    return rc;
}

static void test_alloc_failures(void **state)
{
    fixture *f = *state;
    static const int forward_errs[] = {SFJ_ENOMEM, SFJ_ETIMEDOUT, SFJ_EIO,
                                       SFJ_EDEAD, 0};
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    static char txn[SFJ_TXN_ID_MAX + 1];
    sfj_journal *j;
    sfj_entry *e;
    int i;

    j = open_j(f, 0);
    for (i = 0; i < 12; i++)
        assert_int_equal(append_one(f, j, 400 + 300 * i), SFJ_OK);
    assert_int_equal(sfj_read(j, 3, &e), SFJ_OK);
    strcpy(txn, e->txn_id);
    sfj_entry_free(e);
    sfj_journal_close(j);

    sweep_alloc(f, "open an existing journal", op_open_close, NULL, 0,
                nomem_or_dead);
    o.flags = SFJ_OPEN_RDONLY;
    sweep_alloc(f, "open read-only", op_open_close, &o, 0, nomem_only);
    sweep_alloc(f, "append", op_append, NULL, 1, nomem_or_dead);
    sweep_alloc(f, "read", op_read, NULL, 1, nomem_only);
    sweep_alloc(f, "iterate and verify", op_iter_verify, txn, 1, nomem_only);
    sweep_alloc(f, "recover", op_recover, NULL, 1, nomem_or_dead);
    sweep_alloc(f, "forward (callback sink)", op_forward, NULL, 1,
                forward_errs);
    sweep_alloc(f, "build and check an evidence bundle", op_bundle, txn, 1,
                nomem_only);
    reopen_and_check(f);
    print_message("%lu I/O faults and %lu allocation failures injected\n",
                  faults_injected, alloc_faults_injected);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fdatasync_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_io_failure_fails_the_append,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes_and_eintr, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_enospc_then_space_returns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_prune_redone_after_failed_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_each_write, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_map_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_at_the_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    sfj_fault_control_fn get =
        (sfj_fault_control_fn)dlsym(RTLD_DEFAULT, "sfj_fault_control");

    (void)argc;
    if (get == NULL) {
        /* Not under the shim yet: run again with it preloaded. */
        if (getenv("SFJ_FAULT_REEXEC") != NULL) {
            fprintf(stderr, "the fault shim did not load\n");
            return 1;
        }
        setenv("SFJ_FAULT_REEXEC", "1", 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 0);
        sfj_test_exec_self(argv, SFJ_FAULT_SHIM);
        perror("execv");
        return 1;
    }
    ctl = get();
    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
