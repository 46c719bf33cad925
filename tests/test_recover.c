/* Crash recovery: a child killed with SIGKILL at the worst moments, the
 * report after reopening, and the sfj-recover tool's JSON, exit codes,
 * idempotence, --mark-reversals and corruption reporting. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sfj/sys/internal.h"
#include "support/testutil.h"

#define T0 1700000000000ll

typedef sfj_test_fixture fixture;

static int put(sfj_journal *j, uint16_t kind, uint16_t status, const char *txn,
               int64_t amount, uint64_t *seq)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = txn != NULL ? "EUR" : NULL;
    ev.wall_ms = T0 + amount;
    return sfj_append(j, &ev, seq);
}

static void put_ok(sfj_journal *j, uint16_t kind, uint16_t status,
                   const char *txn, int64_t amount, uint64_t *seq)
{
    assert_int_equal(put(j, kind, status, txn, amount, seq), SFJ_OK);
}

/* Scenarios run in the child. Seqs reach the parent through the pipe, one
 * u64 per event, then the child waits to be killed. */
enum { SC_INTENT, SC_RECEIPT, SC_SETTLE };

static void child(fixture *f, int scenario, int fd)
{
    static const struct {
        int sc;
        uint16_t kind, status;
        const char *txn;
        int64_t amount;
    } steps[] = {
        {-1, SFJ_EV_TXN_INTENT, 0, "T1", 1000},
        {-1, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T1", 1000},
        {-1, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T1", 1000},
        {SC_INTENT, SFJ_EV_TXN_INTENT, 0, "T2", 2000},
        {SC_INTENT, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T2", 2000},
        {SC_INTENT, SFJ_EV_RECEIPT, SFJ_ST_PRINT_FAILED, "T2", 2000},
        {SC_INTENT, SFJ_EV_TXN_INTENT, 0, "T3", 3000},
        {SC_RECEIPT, SFJ_EV_TXN_INTENT, 0, "T2", 2000},
        {SC_RECEIPT, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T2", 2000},
        {SC_SETTLE, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T4", 400},
        {SC_SETTLE, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T4", 400},
        {SC_SETTLE, SFJ_EV_SETTLEMENT, 0, NULL, 0},
        {SC_SETTLE, SFJ_EV_TXN_INTENT, 0, "T5", 500},
    };
    sfj_journal *j = NULL;
    uint64_t seq;
    size_t i;

    if (sfj_journal_open(f->path, f->keys, NULL, &j) != SFJ_OK)
        _exit(3);
    for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (steps[i].sc != -1 && steps[i].sc != scenario)
            continue;
        if (put(j, steps[i].kind, steps[i].status, steps[i].txn,
                steps[i].amount, &seq) != SFJ_OK)
            _exit(4);
        if (write(fd, &seq, sizeof seq) != sizeof seq)
            _exit(5);
    }
    seq = 0;
    if (write(fd, &seq, sizeof seq) != sizeof seq)
        _exit(5);
    for (;;)
        pause();
}

/* Run `scenario` in a child, kill it with SIGKILL once it has journaled
 * everything, and return the seqs it reported (count in *n). */
static void crash(fixture *f, int scenario, uint64_t *seqs, size_t *n)
{
    int p[2], status;
    pid_t pid;
    uint64_t s;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child(f, scenario, p[1]);
    }
    close(p[1]);
    *n = 0;
    while (read(p[0], &s, sizeof s) == sizeof s && s != 0)
        seqs[(*n)++] = s;
    close(p[0]);
    assert_int_equal(s, 0);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

static const sfj_report_item *item(const sfj_report *r, sfj_report_kind type,
                                   size_t k)
{
    size_t i;

    for (i = 0; i < r->n_items; i++) {
        if (r->items[i].type == type && k-- == 0)
            return &r->items[i];
    }
    return NULL;
}

/* Killed between intent and outcome: T3 is in doubt, T2's failed print
 * is reported, the closed T1 is not. */
static void test_kill_between_intent_and_outcome(void **state)
{
    fixture *f = *state;
    uint64_t seqs[16];
    size_t n;
    sfj_report *r = NULL;
    const sfj_report_item *it;
    sfj_txn t = SFJ_TXN_INIT;

    crash(f, SC_INTENT, seqs, &n);
    assert_int_equal(n, 7);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->status, SFJ_REPORT_ACTION);
    assert_int_equal(r->bad_seq, 0);
    assert_int_equal(r->n_in_doubt, 1);
    assert_int_equal(r->n_print_failed, 1);
    assert_int_equal(r->n_no_receipt, 0);
    assert_int_equal(r->n_attention, 0);
    assert_int_equal(r->n_items, 2);
    it = item(r, SFJ_REPORT_IN_DOUBT, 0);
    assert_non_null(it);
    assert_string_equal(it->txn_id, "T3");
    assert_int_equal(it->seq, seqs[6]);
    assert_int_equal(it->amount, 3000);
    assert_string_equal(it->currency, "EUR");
    assert_int_equal(it->wall_ms, T0 + 3000);
    assert_int_equal(it->host_error, 0);
    it = item(r, SFJ_REPORT_PRINT_FAILED, 0);
    assert_non_null(it);
    assert_string_equal(it->txn_id, "T2");
    assert_int_equal(it->seq, seqs[5]);
    assert_int_equal(it->first_seq, seqs[3]);
    /* The verified range reaches the tail: the reopen's checkpoint. */
    assert_int_equal(r->verified_to, r->last_seq);
    assert_int_equal(r->last_seq, seqs[6] + 1);
    assert_int_equal(r->unforwarded, r->last_seq);
    assert_int_equal(r->oldest_unforwarded_seq, 1);
    assert_int_equal(r->offline_pending, 0);
    sfj_report_free(r);
    assert_int_equal(sfj_txn_get(f->j, "T3", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_IN_DOUBT);
    assert_int_equal(sfj_txn_get(f->j, "T1", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_CLOSED);
    /* Reversing it settles the report. */
    put_ok(f->j, SFJ_EV_REVERSAL, SFJ_ST_REV_DECIDED, "T3", 3000, NULL);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->n_in_doubt, 0);
    assert_int_equal(r->n_print_failed, 1);
    sfj_report_free(r);
}

/* Killed between outcome and receipt: T2 approved without receipt. */
static void test_kill_between_outcome_and_receipt(void **state)
{
    fixture *f = *state;
    uint64_t seqs[16];
    size_t n;
    sfj_report *r = NULL;
    const sfj_report_item *it;

    crash(f, SC_RECEIPT, seqs, &n);
    assert_int_equal(n, 5);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->status, SFJ_REPORT_ACTION);
    assert_int_equal(r->n_items, 1);
    assert_int_equal(r->n_no_receipt, 1);
    it = item(r, SFJ_REPORT_NO_RECEIPT, 0);
    assert_non_null(it);
    assert_string_equal(it->txn_id, "T2");
    assert_int_equal(it->seq, seqs[4]);
    assert_int_equal(it->kind, SFJ_EV_TXN_OUTCOME);
    assert_int_equal(it->amount, 2000);
    sfj_report_free(r);
    /* The reprint clears it. */
    put_ok(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T2", 2000, NULL);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->status, SFJ_REPORT_CLEAN);
    assert_int_equal(r->n_items, 0);
    sfj_report_free(r);
}

/* Killed during a settlement (closed, no host answer): the settlement is
 * pending, T5 of the new batch is in doubt, the offline T4 is backlog. */
static void test_kill_during_settlement(void **state)
{
    fixture *f = *state;
    uint64_t seqs[16];
    size_t n;
    sfj_report *r = NULL;
    sfj_batch *b = NULL;
    const sfj_report_item *it;

    crash(f, SC_SETTLE, seqs, &n);
    assert_int_equal(n, 7);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->status, SFJ_REPORT_ACTION);
    assert_int_equal(r->settlement_seq, seqs[5]);
    assert_int_equal(r->settlement_pending, 1);
    assert_int_equal(r->n_items, 1);
    it = item(r, SFJ_REPORT_IN_DOUBT, 0);
    assert_non_null(it);
    assert_string_equal(it->txn_id, "T5");
    assert_int_equal(r->offline_pending, 1);
    assert_int_equal(r->n_amounts, 1);
    assert_string_equal(r->amounts[0].currency, "EUR");
    assert_int_equal(r->amounts[0].amount, 400);
    assert_int_equal(r->amounts[0].count, 1);
    sfj_report_free(r);
    assert_int_equal(sfj_batch_totals(f->j, &b), SFJ_OK);
    assert_int_equal(b->settlement_seq, seqs[5]);
    assert_int_equal(b->n, 0);
    sfj_batch_free(b);
    /* The host's answer completes it. */
    put_ok(f->j, SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL, 0, NULL);
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    assert_int_equal(r->settlement_pending, 0);
    sfj_report_free(r);
}

/* ---- the tool ------------------------------------------------------- */

static int run_tool(const char *args, char **out)
{
    char cmd[2048];
    char *buf = malloc(1 << 16);
    size_t n = 0, got;
    FILE *p;
    int st;

    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null",
             sfj_test_tool_command("sfj-recover"), args);
    p = popen(cmd, "r");
    assert_non_null(p);
    while ((got = fread(buf + n, 1, (1 << 16) - 1 - n, p)) > 0)
        n += got;
    buf[n] = '\0';
    st = pclose(p);
    assert_true(WIFEXITED(st));
    if (out != NULL)
        *out = buf;
    else
        free(buf);
    return WEXITSTATUS(st);
}

static void has(const char *out, const char *needle)
{
    if (strstr(out, needle) == NULL)
        fail_msg("missing in output: %s\n---\n%s", needle, out);
}

/* The line of `out` that starts (after spaces) with `"key"`. */
static void section_has(const char *out, const char *key, const char *needle)
{
    char k[64];
    const char *s, *e;

    snprintf(k, sizeof k, "\"%s\": ", key);
    s = strstr(out, k);
    assert_non_null(s);
    e = strstr(s, "],");
    if (e == NULL)
        e = s + strlen(s);
    if (strstr(s, needle) == NULL || strstr(s, needle) > e)
        fail_msg("section %s lacks %s\n---\n%s", key, needle, out);
}

static char *without_age(const char *s)
{
    char *c = strdup(s), *a = strstr(c, "\"oldest_age_ms\"");

    if (a != NULL) {
        char *eol = strchr(a, '\n');

        memmove(a, eol, strlen(eol) + 1);
    }
    return c;
}

/* JSON checked field by field; a second run gives the same report and
 * leaves data.mdb byte for byte unchanged; --mark-reversals journals the
 * reversal decision. */
static void test_tool_json_and_idempotence(void **state)
{
    fixture *f = *state;
    uint64_t seqs[16], s_off, s_note;
    size_t n, len1, len2;
    char args[1024], buf[128], *out1, *out2, *a1, *a2, *mdb;
    uint8_t *d1, *d2;
    sfj_txn t = SFJ_TXN_INIT;

    crash(f, SC_INTENT, seqs, &n);
    /* Add an unforwarded offline sale and a rejected entry. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    put_ok(f->j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T4", 400, &s_off);
    put_ok(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T4", 400, NULL);
    put_ok(f->j, SFJ_EV_NOTE, 0, NULL, 0, &s_note);
    assert_int_equal(sfj__journal_set_attention(f->j, s_note, 7, "bad mac"), 0);
    assert_int_equal(sfj__journal_ack(f->j, 3, NULL, 0), SFJ_OK);
    sfj_journal_close(f->j);
    f->j = NULL;

    snprintf(args, sizeof args, "%s --key %s --json", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out1), 1);
    has(out1, "\"status\": \"action_needed\",");
    has(out1, "\"exit_code\": 1,");
    has(out1, "\"first_seq\": 1,");
    has(out1, "\"acked_seq\": 3,");
    has(out1, "\"chain\": {\"ok\": true,");
    has(out1, "\"bad_seq\": 0,");
    has(out1, "\"index\": {\"rebuilt\": false, \"stale\": false");
    has(out1, "\"reversals_marked\": 0,");
    snprintf(buf, sizeof buf, "{\"seq\": %llu, \"first_seq\": %llu",
             (unsigned long long)seqs[6], (unsigned long long)seqs[6]);
    section_has(out1, "in_doubt", buf);
    section_has(out1, "in_doubt",
                "\"txn_id\": \"T3\", \"amount\": 3000, "
                "\"currency\": \"EUR\", \"exponent\": 2, \"recorded_ms\": "
                "1700000003000, \"host_error\": false}");
    snprintf(buf, sizeof buf, "{\"seq\": %llu, \"first_seq\": %llu",
             (unsigned long long)seqs[5], (unsigned long long)seqs[3]);
    section_has(out1, "print_failed", buf);
    section_has(out1, "print_failed", "\"txn_id\": \"T2\"");
    has(out1, "\"no_receipt\": [],");
    snprintf(buf, sizeof buf, "{\"seq\": %llu,", (unsigned long long)s_note);
    section_has(out1, "needs_attention", buf);
    section_has(out1, "needs_attention",
                "\"reason\": 7, \"text\": \"bad mac\"}");
    has(out1, "\"settlement\": {\"seq\": 0, \"pending\": false},");
    has(out1, "\"oldest_seq\": 4,");
    has(out1, "\"offline_pending\": 1,");
    has(out1, "\"amounts\": [{\"currency\": \"EUR\", \"exponent\": 2, "
              "\"count\": 1, \"amount\": 400}]");
    (void)s_off;

    /* Twice: same report, nothing written. */
    mdb = sfj_test_path(f->path, "data.mdb");
    d1 = sfj_test_read_file(mdb, &len1);
    assert_int_equal(run_tool(args, &out2), 1);
    d2 = sfj_test_read_file(mdb, &len2);
    a1 = without_age(out1);
    a2 = without_age(out2);
    assert_string_equal(a1, a2);
    assert_int_equal(len1, len2);
    assert_memory_equal(d1, d2, len1);
    free(a1);
    free(a2);
    free(d1);
    free(d2);
    free(out2);

    /* The table speaks to people. */
    snprintf(args, sizeof args, "%s --key %s", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out2), 1);
    has(out2, "IN DOUBT (1)");
    has(out2, "PRINT FAILED (1)");
    has(out2, "NEEDS ATTENTION (1)");
    has(out2, "ACTION NEEDED");
    has(out2, " EUR 30.00 "); /* the in-doubt T3, in major units */
    has(out2, "pending: EUR 4.00 (1)");
    free(out2);

    /* --mark-reversals: T3 gets its reversal decision. */
    snprintf(args, sizeof args, "%s --key %s --json --mark-reversals", f->path,
             f->keyfile);
    assert_int_equal(run_tool(args, &out2), 1);
    has(out2, "\"reversals_marked\": 1,");
    has(out2, "\"in_doubt\": [],");
    free(out2);
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    assert_int_equal(sfj_txn_get(f->j, "T3", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_REVERSED);
    assert_int_equal(t.reversal, SFJ_ST_REV_DECIDED);
    free(mdb);
    free(out1);
}

/* Exit codes (docs/CLI.md): clean 0, usage 64, no journal 66, wrong key
 * 77; -o json and the old --json alike. */
static void test_tool_exit_codes(void **state)
{
    fixture *f = *state;
    char args[1024], *other, *out;
    sfj_keys *k2 = NULL;

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    put_ok(f->j, SFJ_EV_TXN_INTENT, 0, "C1", 10, NULL);
    put_ok(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "C1", 10, NULL);
    put_ok(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "C1", 10, NULL);
    sfj_journal_close(f->j);
    f->j = NULL;
    snprintf(args, sizeof args, "%s --key %s --json", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out), 0);
    has(out, "\"status\": \"clean\",");
    has(out, "\"in_doubt\": [],");
    free(out);
    snprintf(args, sizeof args, "%s -k %s -o json", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out), 0);
    has(out, "\"status\": \"clean\",");
    free(out);
    assert_int_equal(run_tool("", NULL), 64);
    assert_int_equal(run_tool("--bogus", NULL), 64);
    snprintf(args, sizeof args, "%s", f->path);
    assert_int_equal(run_tool(args, NULL), 64);
    snprintf(args, sizeof args, "%s/nothere --key %s", f->dir, f->keyfile);
    assert_int_equal(run_tool(args, NULL), 66);
    other = sfj_test_path(f->dir, "other.key");
    assert_int_equal(sfj_keys_generate_file(other), SFJ_OK);
    snprintf(args, sizeof args, "%s --key %s", f->path, other);
    assert_int_equal(run_tool(args, NULL), 77);
    snprintf(args, sizeof args, "--help");
    assert_int_equal(run_tool(args, &out), 0);
    has(out, "IN DOUBT");
    has(out, "Exit:");
    free(out);
    sfj_keys_free(k2);
    free(other);
}

/* A damaged record: exit 65 and the seq is named. */
static void test_tool_corruption(void **state)
{
    fixture *f = *state;
    uint8_t *rec = NULL, *data;
    size_t len = 0, dlen = 0, i;
    char args[1024], *mdb, *out;
    uint64_t seq = 0;
    FILE *w;
    int k;

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    for (k = 0; k < 10; k++)
        put_ok(f->j, SFJ_EV_NOTE, 0, NULL, k, &seq);
    assert_int_equal(sfj__journal_read_sealed(f->j, 5, &rec, &len), SFJ_OK);
    sfj_journal_close(f->j);
    f->j = NULL;
    mdb = sfj_test_path(f->path, "data.mdb");
    data = sfj_test_read_file(mdb, &dlen);
    assert_non_null(data);
    /* Copy-on-write leaves older copies of the page behind: damage
     * every copy of the record, inside its ciphertext. */
    w = fopen(mdb, "r+b");
    assert_non_null(w);
    for (i = 0, k = 0; i + len <= dlen; i++) {
        if (memcmp(data + i, rec, len) != 0)
            continue;
        assert_int_equal(fseek(w, (long)(i + 80 + 3), SEEK_SET), 0);
        assert_int_equal(fputc(data[i + 80 + 3] ^ 0x40, w),
                         data[i + 80 + 3] ^ 0x40);
        k++;
    }
    assert_true(k >= 1);
    fclose(w);

    snprintf(args, sizeof args, "%s --key %s --json", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out), 65);
    has(out, "\"status\": \"corrupt\",");
    has(out, "\"chain\": {\"ok\": false,");
    has(out, "\"bad_seq\": 5,");
    free(out);
    snprintf(args, sizeof args, "%s --key %s", f->path, f->keyfile);
    assert_int_equal(run_tool(args, &out), 65);
    has(out, "DAMAGED at seq 5");
    free(out);
    free(data);
    free(rec);
    free(mdb);
}

/* The host's mirror of a terminal whose journal says ACTION NEEDED: the
 * tool refuses it (exit 79) rather than report CLEAN, and sfj_recover on a
 * mirror handle says SFJ_ESTATE. */
static void test_tool_refuses_mirror(void **state)
{
    fixture *f = *state;
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[SFJ_PUBKEY_BYTES], *rec;
    char args[8400], mdir[4096];
    sfj_journal *m = NULL;
    sfj_report *r = NULL;
    uint64_t last = 0, s;
    size_t len;
    char *out = NULL;

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    put_ok(f->j, SFJ_EV_TXN_INTENT, 0, "M1", 700, NULL);
    put_ok(f->j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "M1", 700, NULL);
    put_ok(f->j, SFJ_EV_RECEIPT, SFJ_ST_PRINT_FAILED, "M1", 700, NULL);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), SFJ_OK);
    sfj_journal_id(f->j, jid);
    sfj__journal_pubkey(f->j, pk);
    snprintf(mdir, sizeof mdir, "%s/mirror", f->dir);
    assert_int_equal(sfj__mirror_open(&m, mdir, jid, "t", pk, 0), SFJ_OK);
    for (s = 1; s <= last; s++) {
        assert_int_equal(sfj__journal_read_sealed(f->j, s, &rec, &len), SFJ_OK);
        assert_int_equal(sfj__mirror_put(m, s, rec, len), SFJ_OK);
        free(rec);
    }
    assert_int_equal(sfj_recover(m, &r), SFJ_ESTATE);
    assert_null(r);
    sfj_journal_close(m);
    sfj_journal_close(f->j);
    f->j = NULL;
    snprintf(args, sizeof args, "%s --key %s", f->path, f->keyfile);
    assert_int_equal(run_tool(args, NULL), 1);
    snprintf(args, sizeof args, "%s --key %s", mdir, f->keyfile);
    assert_int_equal(run_tool(args, &out), 79);
    assert_null(strstr(out, "CLEAN"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kill_between_intent_and_outcome,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_kill_between_outcome_and_receipt,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_kill_during_settlement,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_tool_json_and_idempotence,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_tool_exit_codes, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_tool_refuses_mirror,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_tool_corruption, sfj_test_setup,
                                        sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
