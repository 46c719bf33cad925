/* Retention: pruning keeps the rest verifiable, never removes an
 * unacknowledged, in-doubt or needs-attention entry, and a journal kept
 * at its cap keeps accepting appends as acks arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "journal/store/lmdb_format.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"

#define T0  1700000000000ll
#define DAY 86400000ll

typedef sfj_test_fixture fixture;

static void open_j(fixture *f, uint64_t max_bytes)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    sfj_journal_close(f->j);
    f->j = NULL;
    o.retention_days = 1;
    o.max_bytes = max_bytes;
    o.checkpoint_every = 1000;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &f->j), SFJ_OK);
}

static int put(fixture *f, uint16_t kind, uint16_t status, const char *txn,
               int64_t wall, const void *pl, size_t pl_len, uint64_t *seq)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = 100;
    ev.currency = "EUR";
    ev.wall_ms = wall;
    ev.payload = pl;
    ev.payload_len = pl_len;
    return sfj_append(f->j, &ev, seq);
}

static uint64_t note(fixture *f, int64_t wall)
{
    uint64_t seq = 0;

    assert_int_equal(put(f, SFJ_EV_NOTE, 0, NULL, wall, "n", 1, &seq), SFJ_OK);
    return seq;
}

static sfj_stats stats(fixture *f)
{
    sfj_stats st = SFJ_STATS_INIT;

    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    return st;
}

static void verify_ok(fixture *f)
{
    sfj__verify_result vr;
    sfj_stats st = stats(f);

    assert_int_equal(sfj__verify(f->j, 0, NULL, 1, &vr), SFJ_OK);
    if (vr.bad_seq != 0)
        fail_msg("verify: bad seq %llu: %s", (unsigned long long)vr.bad_seq,
                 vr.reason);
    assert_int_equal(vr.first_seq, st.first_seq);
    assert_int_equal(vr.last_seq, st.last_seq);
}

/* Acked entries past retention go; the first one held verifies from the
 * prune anchor; pruned seqs read as not found; unacked ones stay. */
static void test_prune_by_age_keeps_verification(void **state)
{
    fixture *f = *state;
    sfj_entry *e = NULL;
    uint64_t i, last = 0;
    sfj_stats st = SFJ_STATS_INIT;

    open_j(f, 0);
    for (i = 0; i < 60; i++)
        last = note(f, T0);
    assert_int_equal(sfj__journal_ack(f->j, 40, NULL, 0), SFJ_OK);
    /* Still young: nothing goes. */
    note(f, T0 + DAY / 2);
    assert_int_equal(stats(f).first_seq, 1);
    /* Two days later, each append prunes a bounded batch. */
    for (i = 0; i < 4; i++)
        note(f, T0 + 2 * DAY);
    st = stats(f);
    assert_int_equal(st.first_seq, 41);
    assert_int_equal(sfj_read(f->j, 40, &e), SFJ_ENOTFOUND);
    assert_int_equal(sfj_read(f->j, 41, &e), SFJ_OK);
    sfj_entry_free(e);
    verify_ok(f);
    /* Still verifies after a reopen, and appends chain on. */
    open_j(f, 0);
    note(f, T0 + 2 * DAY);
    verify_ok(f);
    assert_true(last < stats(f).last_seq);
}

/* An in-doubt intent and a needs-attention entry stop pruning even when
 * acknowledged and old; resolving the txn lets it go. */
static void test_never_prunes_open_or_attention(void **state)
{
    fixture *f = *state;
    uint64_t s_doubt = 0, s_attn, i, last;

    open_j(f, 0);
    note(f, T0);
    assert_int_equal(
        put(f, SFJ_EV_TXN_INTENT, 0, "DOUBT", T0, NULL, 0, &s_doubt), SFJ_OK);
    for (i = 0; i < 5; i++)
        note(f, T0);
    s_attn = note(f, T0);
    for (i = 0; i < 5; i++)
        last = note(f, T0);
    open_j(f, 0); /* the intent is now in doubt */
    assert_int_equal(sfj__journal_set_attention(f->j, s_attn, 3, "rejected"),
                     SFJ_OK);
    assert_int_equal(sfj__journal_ack(f->j, last, NULL, 0), SFJ_OK);
    note(f, T0 + 3 * DAY);
    assert_int_equal(stats(f).first_seq, s_doubt);
    verify_ok(f);
    /* Reverse it: the intent may go, up to the attention entry. */
    assert_int_equal(put(f, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "DOUBT",
                         T0 + 3 * DAY, NULL, 0, NULL),
                     SFJ_OK);
    note(f, T0 + 3 * DAY);
    assert_int_equal(stats(f).first_seq, s_attn);
    verify_ok(f);
    /* Unacknowledged entries stay whatever their age. */
    open_j(f, 0);
    {
        sfj_stats st = stats(f);

        assert_true(st.first_seq <= s_attn);
        assert_true(st.unacked > 0);
    }
}

/* The random tests' seed: SFJ_RETENTION_SEED replays a failed run. */
static unsigned test_seed(void)
{
    const char *e = getenv("SFJ_RETENTION_SEED");

    return e != NULL ? (unsigned)strtoul(e, NULL, 10) : (unsigned)time(NULL);
}

/* At the cap with nothing acknowledged appends fail with SFJ_EFULL; as
 * acks arrive (one every `ack_every` appends) the journal keeps taking
 * entries of `payload` bytes, far more than fit, and what is held still
 * verifies. Entries this size take several contiguous LMDB overflow
 * pages, which the pages just freed by a prune must supply. */
static void cap_accepts(fixture *f, size_t payload, unsigned ack_every)
{
    const uint64_t cap = 2u << 20;
    uint8_t *pl = malloc(payload);
    uint64_t seq = 0, written = 0, i, first_full;
    sfj_stats st = SFJ_STATS_INIT;
    int rc;

    assert_non_null(pl);
    randombytes_buf(pl, payload);
    open_j(f, cap);
    for (;;) {
        rc = put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, payload, &seq);
        if (rc != SFJ_OK)
            break;
        written++;
        assert_true(written < 1000);
    }
    assert_int_equal(rc, SFJ_EFULL);
    first_full = written;
    assert_true(first_full * payload > cap / 2);
    st = stats(f);
    assert_true(st.first_seq == 1);
    /* Acks arrive: the same append now succeeds. */
    assert_int_equal(sfj__journal_ack(f->j, st.last_seq, NULL, 0), SFJ_OK);
    assert_int_equal(put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, payload, &seq),
                     SFJ_OK);
    assert_true(stats(f).first_seq > 1);
    /* A forwarder acking every few entries: five times the cap. */
    for (i = 0; i < 5 * first_full; i++) {
        pl[0] = (uint8_t)i;
        rc = put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, payload, &seq);
        if (rc != SFJ_OK)
            fail_msg("%zu-byte append %llu at the cap, acks every %u: %s (%s)",
                     payload, (unsigned long long)i, ack_every,
                     sfj_strerror(rc), sfj_journal_errmsg(f->j));
        if (i % ack_every == ack_every - 1)
            assert_int_equal(sfj__journal_ack(f->j, seq, NULL, 0), SFJ_OK);
    }
    st = stats(f);
    assert_true(st.first_seq > first_full);
    assert_true(st.used_bytes <= st.max_bytes);
    verify_ok(f);
    free(pl);
}

static void test_cap_keeps_accepting_as_acks_arrive(void **state)
{
    cap_accepts(*state, 8192, 8);
}

static void note_report(const uint64_t *rec, uint64_t *reported,
                        uint64_t *acked)
{
    if (rec[0] > *reported)
        *reported = rec[0];
    if (rec[1] && rec[0] > *acked)
        *acked = rec[0];
}

/* kill -9 at any moment of a journal kept at its cap, where appends of
 * large entries take turns with prunes and with the commits that release
 * the pages a prune freed: no entry reported durable is lost unless it
 * was acknowledged (then it may be pruned), the chain verifies, and the
 * journal takes appends again after the crash. */
static void test_cap_kill_during_release(void **state)
{
    enum { PAYLOAD = 30000, ROUNDS = 12 };
    fixture *f = *state;
    uint64_t reported = 0, acked = 0, rec[2], seq = 0;
    uint8_t *pl = malloc(PAYLOAD);
    sfj_entry *e = NULL;
    unsigned round, got, want, seed = test_seed();
    int p[2], st;
    pid_t pid;

    assert_non_null(pl);
    srand(seed);
    randombytes_buf(pl, PAYLOAD);
    open_j(f, 2u << 20);
    sfj_journal_close(f->j);
    f->j = NULL;
    for (round = 0; round < ROUNDS; round++) {
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
            sfj_journal *j = NULL;
            sfj_event ev = SFJ_EVENT_INIT;

            close(p[0]);
            o.max_bytes = 2u << 20;
            if (sfj_journal_open(f->path, f->keys, &o, &j) != SFJ_OK)
                _exit(3);
            ev.kind = SFJ_EV_NOTE;
            ev.payload = pl;
            ev.payload_len = PAYLOAD;
            for (;;) {
                /* [seq, 0] once durable, [seq, 1] once acknowledged. */
                if (sfj_append(j, &ev, &rec[0]) != SFJ_OK)
                    _exit(4);
                rec[1] = 0;
                if (write(p[1], rec, sizeof rec) != sizeof rec)
                    _exit(5);
                if (sfj__journal_ack(j, rec[0], NULL, 0) != SFJ_OK)
                    _exit(6);
                rec[1] = 1;
                if (write(p[1], rec, sizeof rec) != sizeof rec)
                    _exit(5);
            }
        }
        close(p[1]);
        /* Past the first refill of the cap (about 60 appends), then a
         * random number of appends more. */
        want = 60 + (unsigned)(rand() % 90);
        for (got = 0; got < want;) {
            if (read(p[0], rec, sizeof rec) != sizeof rec)
                break;
            note_report(rec, &reported, &acked);
            got += rec[1] == 0;
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFSIGNALED(st))
            fail_msg("round %u (seed %u): the child exited with %d", round,
                     seed, WEXITSTATUS(st));
        while (read(p[0], rec, sizeof rec) == sizeof rec)
            note_report(rec, &reported, &acked);
        close(p[0]);
        open_j(f, 2u << 20);
        assert_true(stats(f).last_seq >= reported);
        /* Everything after the last acknowledged entry is still held. */
        for (seq = acked + 1; seq <= reported; seq++) {
            if (sfj_read(f->j, seq, &e) != SFJ_OK)
                fail_msg("round %u (seed %u): seq %llu, reported durable and "
                         "not acknowledged, is gone",
                         round, seed, (unsigned long long)seq);
            sfj_entry_free(e);
            e = NULL;
        }
        verify_ok(f);
        assert_int_equal(put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, PAYLOAD, &seq),
                         SFJ_OK);
        reported = seq;
        sfj_journal_close(f->j);
        f->j = NULL;
    }
    /* The cap was refilled many times over. */
    assert_true(reported > ROUNDS * 60);
    free(pl);
}

/* A terminal's mix at the cap: sale events of a few hundred bytes and,
 * every fourth entry, a receipt image of 4 to 32 KB, with acks arriving
 * in groups and lagging up to 150 entries. Freed pages then come in runs
 * of every length, and an image needs a contiguous run of its own. A
 * refusal is right only when unacknowledged entries fill a good part of
 * the cap, and acking everything must then cure it. */
static void test_cap_mixed_sizes(void **state)
{
    enum { BIG_MIN = 4000, BIG_MAX = 32000, LAG_MAX = 150 };
    const uint64_t cap = 2u << 20;
    fixture *f = *state;
    uint8_t *pl = malloc(BIG_MAX + 1024);
    size_t *sizes = calloc(8192, sizeof *sizes), len;
    uint64_t seq = 0, got, acked = 0, total = 0, unacked, s, n = 0;
    unsigned seed = test_seed(), refused = 0;
    int rc;

    assert_non_null(pl);
    assert_non_null(sizes);
    srand(seed);
    randombytes_buf(pl, BIG_MAX + 1024);
    open_j(f, cap);
    while (total < 5 * cap) {
        len = n % 4 == 3 ? BIG_MIN + (size_t)rand() % (BIG_MAX - BIG_MIN + 1)
                         : 200 + (size_t)rand() % 100;
        pl[0] = (uint8_t)n;
        got = 0;
        rc = put(f, SFJ_EV_NOTE, 0, NULL, T0, pl + rand() % 1024, len, &got);
        if (rc == SFJ_EFULL) {
            for (unacked = 0, s = acked + 1; s <= seq; s++)
                unacked += sizes[s];
            if (unacked < cap / 4)
                fail_msg("seed %u: a %zu-byte append refused at the cap with "
                         "%llu bytes unacknowledged: %s",
                         seed, len, (unsigned long long)unacked,
                         sfj_journal_errmsg(f->j));
            assert_int_equal(sfj__journal_ack(f->j, seq, NULL, 0), SFJ_OK);
            acked = seq;
            refused++;
            continue;
        }
        if (rc != SFJ_OK)
            fail_msg("seed %u: append %llu: %s (%s)", seed,
                     (unsigned long long)n, sfj_strerror(rc),
                     sfj_journal_errmsg(f->j));
        assert_true(got > seq && got < 8192); /* checkpoints take seqs too */
        seq = got;
        sizes[seq] = len;
        total += len;
        n++;
        if (rand() % 8 == 0) {
            s = (uint64_t)(rand() % (LAG_MAX + 1));
            if (seq > s && seq - s > acked) {
                assert_int_equal(sfj__journal_ack(f->j, seq - s, NULL, 0),
                                 SFJ_OK);
                acked = seq - s;
            }
        }
    }
    printf("mixed sizes at a 2 MiB cap (seed %u): %llu appends, %u refused\n",
           seed, (unsigned long long)n, refused);
    /* The cap was refilled several times over, and refusals were rare. */
    assert_true(stats(f).first_seq > 1);
    assert_true(refused < n / 100);
    assert_true(stats(f).used_bytes <= cap);
    verify_ok(f);
    free(sizes);
    free(pl);
}

/* The newest LMDB txnid in the journal's file: the larger of the two
 * meta pages'. */
static uint64_t file_txnid(fixture *f)
{
    char *data = sfj_test_path(f->path, "data.mdb");
    uint8_t page[2][SFJ__LMDB_META_END];
    uint64_t a, b;
    FILE *fp = fopen(data, "rb");
    int i;

    assert_non_null(fp);
    for (i = 0; i < 2; i++) {
        assert_int_equal(fseek(fp, (long)i * 4096, SEEK_SET), 0);
        assert_int_equal(fread(page[i], 1, sizeof page[i], fp), sizeof page[i]);
    }
    fclose(fp);
    free(data);
    a = sfj__lmdb_word(page[0] + SFJ__LMDB_META_TXNID);
    b = sfj__lmdb_word(page[1] + SFJ__LMDB_META_TXNID);
    return a > b ? a : b;
}

/* At the cap with nothing acknowledged, refused appends write nothing
 * after the first (and report no seq): the commit that releases freed
 * pages runs once per other commit, not once per refusal. */
static void test_cap_refusals_do_not_write(void **state)
{
    fixture *f = *state;
    uint8_t pl[8192];
    uint64_t before, seq = 0;
    int i, rc;

    randombytes_buf(pl, sizeof pl);
    open_j(f, 2u << 20);
    do
        rc = put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, sizeof pl, &seq);
    while (rc == SFJ_OK);
    assert_int_equal(rc, SFJ_EFULL);
    before = file_txnid(f);
    for (i = 0; i < 20; i++) {
        seq = UINT64_MAX;
        assert_int_equal(put(f, SFJ_EV_NOTE, 0, NULL, T0, pl, sizeof pl, &seq),
                         SFJ_EFULL);
        assert_int_equal(seq, 0); /* a refused append reports no seq */
    }
    assert_true(file_txnid(f) <= before + 1);
}

/* The shapes that failed with MDB_MAP_FULL at a nearly empty cap while
 * the last prune's pages were still out of LMDB's reach: a receipt image
 * acked at once, and larger records acked in small groups. */
static void test_cap_large_records_acked_at_once(void **state)
{
    cap_accepts(*state, 30000, 1);
}

static void test_cap_large_records_acked_in_groups(void **state)
{
    cap_accepts(*state, 16000, 4);
}

static void test_cap_records_acked_in_large_groups(void **state)
{
    cap_accepts(*state, 8192, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prune_by_age_keeps_verification,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_never_prunes_open_or_attention,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_keeps_accepting_as_acks_arrive,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_large_records_acked_at_once,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_large_records_acked_in_groups,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_records_acked_in_large_groups,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_mixed_sizes, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_refusals_do_not_write,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_cap_kill_during_release,
                                        sfj_test_setup, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
