/* Corruption: every bit of a small journal's data file flipped in turn
 * (journald's test), and the file truncated at many offsets. For every
 * damaged copy, opened read-only in this process: open fails with a clear
 * error, or every entry reads back exactly as written or fails with an
 * error, and sfj__verify names the first damaged seq whenever a read of
 * one fails. Damaged data is never returned as valid, and nothing
 * crashes. A sample of damaged copies also goes through sfj-dump --verify
 * and sfj-recover (exit 65, the bad seq named, or a clean refusal).
 *
 * By default every bit of every k-th byte is flipped, k chosen for about
 * 40,000 flips and the first byte varying from run to run;
 * SFJ_CORRUPTION_STRIDE=k sets k, SFJ_SOAK=1 flips every bit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"

#define N_ENTRIES 7

typedef struct original {
    uint64_t last_seq;
    sfj_entry *e[N_ENTRIES + 8]; /* by seq; NULL for checkpoints */
} original;

typedef struct tally {
    unsigned long copies;
    unsigned long open_refused;
    unsigned long unchanged; /* every entry intact, verify clean */
    unsigned long damage_found;
    unsigned long damage_at_seq; /* verify named the damaged seq or before */
    unsigned long rolled_back;   /* an older commit: a consistent prefix */
    unsigned long refused_by_rc[32];
    unsigned long crashed; /* SIGSEGV/SIGBUS inside the library */
    size_t first_crash;
} tally;

/* A crash inside LMDB or sfj on a damaged file is caught here so that
 * the test can count every such flip and name the first one instead of
 * dying on it. The handle it happened on is abandoned (its locks and
 * memory leak); the test fails at the end if any flip crashed. */
static sigjmp_buf crash_jmp;
static volatile sig_atomic_t crash_armed;
static sfj_journal *volatile crash_handle;

static void on_crash(int sig)
{
    if (!crash_armed) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    crash_armed = 0;
    siglongjmp(crash_jmp, sig);
}

static int same_entry(const sfj_entry *a, const sfj_entry *b)
{
    return a->seq == b->seq && a->kind == b->kind && a->status == b->status &&
           a->amount == b->amount && a->wall_ms == b->wall_ms &&
           strcmp(a->txn_id, b->txn_id) == 0 &&
           strcmp(a->currency, b->currency) == 0 &&
           a->payload_len == b->payload_len &&
           (a->payload_len == 0 ||
            memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static sfj_journal_opts ro_opts(void)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    /* As sfj-dump and sfj-recover open a journal that may be damaged. */
    o.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK;
    return o;
}

/* A small journal: notes and offline sales with varied payloads, a
 * checkpoint every third entry, closed (sealed). */
static void build(const char *path, const sfj_keys *keys, original *orig)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    uint8_t payload[600];
    char txn[32];
    uint64_t seq;
    int i;

    o.checkpoint_every = 3;
    assert_int_equal(sfj_journal_open(path, keys, &o, &j), SFJ_OK);
    for (i = 0; i < N_ENTRIES; i++) {
        sfj_event ev = SFJ_EVENT_INIT;

        randombytes_buf(payload, sizeof payload);
        snprintf(txn, sizeof txn, "CORR-%d", i);
        ev.kind = i % 2 ? SFJ_EV_NOTE : SFJ_EV_TXN_OFFLINE;
        ev.status = i % 2 ? 0 : SFJ_ST_APPROVED;
        ev.txn_id = i % 2 ? NULL : txn;
        ev.amount = 100 * (i + 1);
        ev.currency = "EUR";
        ev.payload = payload;
        ev.payload_len = (size_t)(i * 90);
        assert_int_equal(sfj_append(j, &ev, &seq), SFJ_OK);
    }
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
    assert_int_equal(sfj_journal_open(path, keys, NULL, &j), SFJ_OK);
    assert_int_equal(sfj__journal_head(j, &orig->last_seq, NULL), SFJ_OK);
    assert_true(orig->last_seq < N_ENTRIES + 8);
    for (seq = 1; seq <= orig->last_seq; seq++) {
        sfj_entry *e = NULL;

        assert_int_equal(sfj_read(j, seq, &e), SFJ_OK);
        orig->e[seq] = e;
    }
    assert_int_equal(sfj_journal_close(j), SFJ_OK);
}

/* Open, read and verify one damaged copy; fail the test on any damaged
 * data returned as valid. `what` names the damage. */
static void check_copy(const char *dir, const sfj_keys *keys,
                       const original *orig, tally *t, const char *what)
{
    sfj_journal_opts o = ro_opts();
    sfj_journal *j = NULL;
    sfj__verify_result vr;
    uint64_t seq;
    volatile uint64_t first_bad = 0, absent_from = 0, hole = 0;
    int rc, vrc;

    t->copies++;
    crash_handle = NULL;
    if (sigsetjmp(crash_jmp, 1) != 0) {
        if (t->crashed++ == 0)
            print_message("%s: crashed\n", what);
        /* Release what can be released without touching LMDB again. */
        return;
    }
    crash_armed = 1;
    rc = sfj_journal_open(dir, keys, &o, &j);
    crash_handle = j;
    if (rc != SFJ_OK) {
        /* Refused: must be a code that says the data is bad. */
        if (rc != SFJ_ECORRUPT && rc != SFJ_EVERSION && rc != SFJ_EAUTH &&
            rc != SFJ_ENOTFOUND)
            fail_msg("%s: open failed with %s (%s)", what, sfj_strerror(rc),
                     sfj_journal_errmsg(NULL));
        t->open_refused++;
        t->refused_by_rc[-rc]++;
        return;
    }
    vrc = sfj__verify(j, 0, NULL, 1, &vr);
    for (seq = 1; seq <= orig->last_seq; seq++) {
        sfj_entry *e = NULL;

        rc = sfj_read(j, seq, &e);
        if (rc == SFJ_OK) {
            if (!same_entry(e, orig->e[seq]))
                fail_msg("%s: seq %llu read back as valid but differs", what,
                         (unsigned long long)seq);
            if (absent_from != 0 && hole == 0)
                hole = seq; /* present again after a missing one */
        } else if (rc == SFJ_ENOTFOUND) {
            if (absent_from == 0)
                absent_from = seq;
        } else if (first_bad == 0) {
            first_bad = seq;
        }
        sfj_entry_free(e);
    }
    if (vrc != SFJ_OK) {
        /* The walk itself could not run: only an LMDB-level failure. */
        if (vrc != SFJ_ECORRUPT && vrc != SFJ_EIO)
            fail_msg("%s: verify failed with %s", what, sfj_strerror(vrc));
        t->damage_found++;
    } else if (first_bad != 0 || hole != 0) {
        /* A record is damaged, or gone before one still held: verify says
         * so. It names the seq where it met the damage: the damaged one,
         * the first after a gap, or the seq a damaged key now claims. */
        uint64_t at = first_bad != 0 && (hole == 0 || first_bad < hole)
                          ? first_bad
                          : hole;

        if (vr.bad_seq == 0)
            fail_msg("%s: seq %llu damaged or missing but verify found "
                     "nothing",
                     what, (unsigned long long)at);
        if (vr.bad_seq <= at)
            t->damage_at_seq++;
        t->damage_found++;
    } else if (vr.bad_seq != 0) {
        t->damage_found++;
    } else if (absent_from != 0) {
        /* The newest entries are gone and verify found nothing: only a
         * flip in the newest meta page, making LMDB take the previous
         * commit, may do that (a consistent older journal; only the
         * host's checkpoints can tell, which is sfj-host's job). */
        if (vr.last_seq != absent_from - 1)
            fail_msg("%s: entries from %llu missing, verify to %llu", what,
                     (unsigned long long)absent_from,
                     (unsigned long long)vr.last_seq);
        t->rolled_back++;
    } else {
        if (vr.last_seq != orig->last_seq)
            fail_msg("%s: verify examined %llu of %llu entries", what,
                     (unsigned long long)vr.last_seq,
                     (unsigned long long)orig->last_seq);
        t->unchanged++;
    }
    sfj_journal_close(j);
}

/* cmocka installs its own handlers around each test: take them over for
 * the calls into the library, and give them back. */
static void check_copy_guarded(const char *dir, const sfj_keys *keys,
                               const original *orig, tally *t, const char *what)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    struct sigaction sa, old[5];
    int i;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_NODEFER;
    for (i = 0; i < 5; i++)
        sigaction(sigs[i], &sa, &old[i]);
    check_copy(dir, keys, orig, t, what);
    crash_armed = 0;
    for (i = 0; i < 5; i++)
        sigaction(sigs[i], &old[i], NULL);
}

static void flip(int fd, off_t off, uint8_t mask)
{
    uint8_t b;

    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= mask;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
}

static void print_tally(const char *name, const tally *t)
{
    print_message("%s: %lu damaged copies: %lu refused at open "
                  "(corrupt %lu, version %lu, auth %lu, not found %lu), %lu "
                  "with the damage reported (%lu at the damaged seq), %lu "
                  "rolled back to the previous "
                  "commit, %lu unaffected, %lu crashed; no damaged data "
                  "returned\n",
                  name, t->copies, t->open_refused,
                  t->refused_by_rc[-SFJ_ECORRUPT],
                  t->refused_by_rc[-SFJ_EVERSION], t->refused_by_rc[-SFJ_EAUTH],
                  t->refused_by_rc[-SFJ_ENOTFOUND], t->damage_found,
                  t->damage_at_seq, t->rolled_back, t->unchanged, t->crashed);
}

/* Bytes between flipped bytes: SFJ_CORRUPTION_STRIDE, 1 with SFJ_SOAK,
 * else enough to keep about 40,000 flips (under a minute). */
static size_t stride(size_t size)
{
    const char *s = getenv("SFJ_CORRUPTION_STRIDE");
    const char *soak = getenv("SFJ_SOAK");
    int n = s ? atoi(s) : 0;

    if (n > 0)
        return (size_t)n;
    if (soak != NULL && *soak != '\0' && strcmp(soak, "0") != 0)
        return 1;
    return size * 8 / 40000 + 1;
}

typedef struct fixture {
    char *dir;
    char *path;    /* the journal */
    char *copy;    /* the damaged copy */
    char *data;    /* copy/data.mdb */
    char *keyfile; /* the same key, for the tools */
    sfj_keys *keys;
    original orig;
    size_t size;
} fixture;

/* The key file of sfj_test_keys(seed), for the tools. */
static void write_key_file(const char *path, uint8_t seed)
{
    FILE *fp = fopen(path, "w");
    int i;

    assert_non_null(fp);
    fprintf(fp, "sfj-master-key-v1\n");
    for (i = 0; i < 32; i++)
        fprintf(fp, "%02x", seed);
    fprintf(fp, "\n");
    fclose(fp);
    chmod(path, 0600);
}

static int run_tool(const char *dir, const char *name, ...)
{
    char *out = sfj_test_path(dir, "../tool.out");
    char *err = sfj_test_path(dir, "../tool.err");
    va_list ap;
    int rc;

    va_start(ap, name);
    rc = sfj_test_run_toolv(name, out, err, ap);
    va_end(ap);
    free(out);
    free(err);
    return rc;
}

/* A damaged copy through the tools, as a support technician would run
 * them (exit codes of docs/CLI.md): sfj-dump --verify reports the damage
 * (65) or refuses the journal, as does sfj-recover (66 not found, 74 I/O,
 * 76 format, 77 the key check itself is damaged); sfj-recover may also
 * find nothing if the damage is older than the checkpoint it verifies
 * from (0, 1). Neither ever dies on a signal. */
static void check_tools(const char *copy, const char *keyfile,
                        unsigned long *runs)
{
    int d =
        run_tool(copy, "sfj-dump", copy, "--verify", "--key", keyfile, NULL);
    int r;

    if (d != 65 && d != 66 && d != 74 && d != 76 && d != 77) {
        char *err = sfj_test_path(copy, "../tool.err");
        char *msg = sfj_test_slurp(err);

        fail_msg("sfj-dump --verify on a damaged copy exited %d: %s", d, msg);
    }
    r = run_tool(copy, "sfj-recover", copy, "--key", keyfile, NULL);
    if (r != 0 && r != 1 && r != 65 && r != 66 && r != 74 && r != 76 && r != 77)
        fail_msg("sfj-recover on a damaged copy exited %d", r);
    *runs += 2;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char cmd[4096];
    struct stat st;

    f->dir = sfj_test_tmpdir();
    f->path = sfj_test_path(f->dir, "j");
    f->copy = sfj_test_path(f->dir, "copy");
    f->data = sfj_test_path(f->copy, "data.mdb");
    f->keys = sfj_test_keys(4);
    f->keyfile = sfj_test_path(f->dir, "master.key");
    write_key_file(f->keyfile, 4);
    build(f->path, f->keys, &f->orig);
    mkdir(f->copy, 0700);
    snprintf(cmd, sizeof cmd, "cp '%s/data.mdb' '%s'", f->path, f->data);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(stat(f->data, &st), 0);
    f->size = (size_t)st.st_size;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    uint64_t s;

    for (s = 0; s < N_ENTRIES + 8; s++)
        sfj_entry_free(f->orig.e[s]);
    sfj_keys_free(f->keys);
    sfj_test_rmrf(f->dir);
    free(f->data);
    free(f->keyfile);
    free(f->copy);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

/* Every bit of the data file, one at a time. */
static void test_flip_every_bit(void **state)
{
    fixture *f = *state;
    tally t;
    char what[64];
    size_t k = stride(f->size), off, start = (size_t)time(NULL) % k;
    unsigned long damaged_seen = 0, tool_runs = 0;
    int fd, bit;

    memset(&t, 0, sizeof t);
    print_message("flipping every bit of every %zu. byte from %zu of %zu\n", k,
                  start, f->size);
    fd = open(f->data, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    /* The undamaged copy reads back whole. */
    check_copy(f->copy, f->keys, &f->orig, &t, "no damage");
    assert_int_equal(t.unchanged, 1);
    for (off = start; off < f->size; off += k) {
        for (bit = 0; bit < 8; bit++) {
            flip(fd, (off_t)off, (uint8_t)(1u << bit));
            snprintf(what, sizeof what, "bit %d of byte %zu", bit, off);
            check_copy_guarded(f->copy, f->keys, &f->orig, &t, what);
            /* Every 40th damaged copy also goes through the tools. */
            if (t.damage_found + t.open_refused > damaged_seen) {
                damaged_seen = t.damage_found + t.open_refused;
                if (damaged_seen % 40 == 1)
                    check_tools(f->copy, f->keyfile, &tool_runs);
            }
            flip(fd, (off_t)off, (uint8_t)(1u << bit));
        }
    }
    close(fd);
    print_tally("bit flips", &t);
    print_message("%lu tool runs on damaged copies: damage reported, no "
                  "crash\n",
                  tool_runs);
    assert_true(tool_runs > 0);
    assert_int_equal(t.crashed, 0);
    /* Flips in records must have been seen as damage. */
    assert_true(t.damage_found > 0);
    assert_true(t.open_refused > 0);
}

/* The data file cut short at every 512-byte boundary and at odd offsets
 * within the first and last pages. */
static void test_truncate(void **state)
{
    fixture *f = *state;
    uint8_t *whole;
    size_t len = 0, at;
    tally t;
    char what[64];
    int fd;

    memset(&t, 0, sizeof t);
    whole = sfj_test_read_file(f->data, &len);
    assert_non_null(whole);
    for (at = 0; at < len; at += at < 4096 || at + 4096 > len ? 97 : 512) {
        fd = open(f->data, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, whole, at), (ssize_t)at);
        close(fd);
        snprintf(what, sizeof what, "truncated to %zu bytes", at);
        check_copy_guarded(f->copy, f->keys, &f->orig, &t, what);
    }
    fd = open(f->data, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_int_equal(write(fd, whole, len), (ssize_t)len);
    close(fd);
    free(whole);
    print_tally("truncation", &t);
    assert_int_equal(t.crashed, 0);
    assert_int_equal(t.unchanged, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flip_every_bit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncate, setup, teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
