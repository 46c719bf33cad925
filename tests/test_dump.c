/* sfj-dump: golden JSON and CSV, filters, PAN masking, --verify on intact,
 * damaged, gapped, unsealed and truncated journals, a mirror, dumping
 * while another process appends, bundles from the command line, and every
 * argument error with its exit code. */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends, for the TTY test */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "common/bytes.h"
#include "journal/store/journal_impl.h"
#include "sfj/sys/internal.h"
#include "support/dictcopy.h"
#include "support/settletest.h"
#include "support/rawjournal.h"
#include "support/testutil.h"

typedef sfj_test_fixture fixture;

/* Run sfj-dump with the NULL-terminated arguments; stdout and stderr go
 * to f->out and f->err. Returns the exit code. */
static int run(fixture *f, ...)
{
    va_list ap;
    int rc;

    va_start(ap, f);
    rc = sfj_test_run_toolv("sfj-dump", f->out, f->err, ap);
    va_end(ap);
    return rc;
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void expect_out(fixture *f, const char *want)
{
    char *got = sfj_test_slurp(f->out);

    assert_string_equal(got, want);
    free(got);
}

static void expect_contains(const char *path, const char *needle)
{
    char *got = sfj_test_slurp(path);

    if (strstr(got, needle) == NULL)
        fail_msg("%s lacks \"%s\":\n%s", path, needle, got);
    free(got);
}

static void expect_lacks(const char *path, const char *needle)
{
    char *got = sfj_test_slurp(path);

    if (strstr(got, needle) != NULL)
        fail_msg("%s has \"%s\":\n%s", path, needle, got);
    free(got);
}

/* An error run: exit code `code` and exactly one line on stderr. */
static void expect_error(fixture *f, int rc, int code)
{
    char *err = sfj_test_slurp(f->err);

    if (rc != code)
        fail_msg("exit %d, expected %d; stderr: %s", rc, code, err);
    assert_int_equal(count_lines(err), 1);
    assert_true(strncmp(err, "sfj-dump: ", 10) == 0);
    free(err);
}

static sfj_journal *open_rw(fixture *f)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;

    opts.terminal_id = "POS-7";
    assert_int_equal(sfj_journal_open(f->path, f->keys, &opts, &j), SFJ_OK);
    return j;
}

static void add(sfj_journal *j, uint16_t kind, uint16_t status, const char *txn,
                int64_t amount, const char *cur, const char *auth,
                uint32_t copy, int64_t wall_ms, const void *pl, size_t pl_len)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = cur;
    ev.auth_code = auth;
    ev.copy = copy;
    ev.wall_ms = wall_ms;
    ev.payload = pl;
    ev.payload_len = pl_len;
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
}

#define T0 1795435200000 /* 2026-11-23T12:00:00.000Z */

/* Seqs 1..5 with fixed times, then the closing checkpoint at 6. The
 * journal is created and closed once first so that the events are
 * written by boot 2 in epoch 1. */
static void build_fixed(fixture *f)
{
    static const char pl1[] = "0200 PAN=4111111111111111 ok";
    static const char pl2[] = "0210,\"00\"";
    static const uint8_t pl4[] = {0x01, 0x02, '\\', 'z'};
    sfj_journal *j = open_rw(f);

    sfj_journal_close(j);
    j = open_rw(f);
    add(j, SFJ_EV_TXN_INTENT, 0, "T100", 1250, "EUR", NULL, 0, T0, pl1,
        sizeof pl1 - 1);
    add(j, SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T100", 1250, "EUR", "A1B2C3",
        0, T0 + 1500, pl2, sizeof pl2 - 1);
    add(j, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T100", 1250, "EUR", NULL, 1,
        T0 + 60000, "receipt", 7);
    add(j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T200", 800, "USD", NULL, 0,
        T0 + 3600000, pl4, sizeof pl4);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 7200000, NULL, 0);
    sfj_journal_close(j);
}

static void test_golden_json(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--to", "5",
                         "--format", "json", "--payload", "text", NULL),
                     0);
    expect_out(
        f,
        "{\"seq\":1,\"time\":\"2026-11-23T12:00:00.000Z\",\"wall_ms\":"
        "1795435200000,\"kind\":\"intent\",\"kind_code\":1,\"epoch\":1,"
        "\"decrypted\":true,\"status\":\"none\",\"status_code\":0,\"boot\":2,"
        "\"txn_id\":\"T100\",\"amount\":1250,\"currency\":\"EUR\","
        "\"auth_code\":\"\",\"copy\":0,\"payload_len\":28,\"payload\":\"0200 "
        "PAN=411111******1111 ok\",\"exponent\":2,"
        "\"rrn\":\"\",\"stan\":\"\",\"response_code\":\"\",\"merchant_ref\":"
        "\"\",\"card\":\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
        "\"\",\"totals\":[]}\n"
        "{\"seq\":2,\"time\":\"2026-11-23T12:00:01.500Z\",\"wall_ms\":"
        "1795435201500,\"kind\":\"outcome\",\"kind_code\":2,\"epoch\":1,"
        "\"decrypted\":true,\"status\":\"approved\",\"status_code\":1,"
        "\"boot\":2,\"txn_id\":\"T100\",\"amount\":1250,\"currency\":\"EUR\","
        "\"auth_code\":\"A1B2C3\",\"copy\":0,\"payload_len\":9,\"payload\":"
        "\"0210,\\\"00\\\"\",\"exponent\":2,"
        "\"rrn\":\"\",\"stan\":\"\",\"response_code\":\"\",\"merchant_ref\":"
        "\"\",\"card\":\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
        "\"\",\"totals\":[]}\n"
        "{\"seq\":3,\"time\":\"2026-11-23T12:01:00.000Z\",\"wall_ms\":"
        "1795435260000,\"kind\":\"receipt\",\"kind_code\":5,\"epoch\":1,"
        "\"decrypted\":true,\"status\":\"printed\",\"status_code\":10,"
        "\"boot\":2,\"txn_id\":\"T100\",\"amount\":1250,\"currency\":\"EUR\","
        "\"auth_code\":\"\",\"copy\":1,\"payload_len\":7,\"payload\":"
        "\"receipt\",\"exponent\":2,"
        "\"rrn\":\"\",\"stan\":\"\",\"response_code\":\"\",\"merchant_ref\":"
        "\"\",\"card\":\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
        "\"\",\"totals\":[]}\n"
        "{\"seq\":4,\"time\":\"2026-11-23T13:00:00.000Z\",\"wall_ms\":"
        "1795438800000,\"kind\":\"offline\",\"kind_code\":3,\"epoch\":1,"
        "\"decrypted\":true,\"status\":\"approved\",\"status_code\":1,"
        "\"boot\":2,\"txn_id\":\"T200\",\"amount\":800,\"currency\":\"USD\","
        "\"auth_code\":\"\",\"copy\":0,\"payload_len\":4,\"payload\":"
        "\"\\\\x01\\\\x02\\\\\\\\z\",\"exponent\":2,"
        "\"rrn\":\"\",\"stan\":\"\",\"response_code\":\"\",\"merchant_ref\":"
        "\"\",\"card\":\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
        "\"\",\"totals\":[]}\n"
        "{\"seq\":5,\"time\":\"2026-11-23T14:00:00.000Z\",\"wall_ms\":"
        "1795442400000,\"kind\":\"note\",\"kind_code\":8,\"epoch\":1,"
        "\"decrypted\":true,\"status\":\"none\",\"status_code\":0,\"boot\":2,"
        "\"txn_id\":\"\",\"amount\":0,\"currency\":\"\",\"auth_code\":\"\","
        "\"copy\":0,\"payload_len\":0,\"payload\":\"\",\"exponent\":null,"
        "\"rrn\":\"\",\"stan\":\"\",\"response_code\":\"\",\"merchant_ref\":"
        "\"\",\"card\":\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
        "\"\",\"totals\":[]}\n");
    /* Without the key: clear headers only, same field names. */
    assert_int_equal(run(f, f->path, "--from", "5", "--format", "json", NULL),
                     0);
    expect_contains(
        f->out,
        "{\"seq\":5,\"time\":\"2026-11-23T14:00:00.000Z\",\"wall_ms\":"
        "1795442400000,\"kind\":\"note\",\"kind_code\":8,\"epoch\":1,"
        "\"decrypted\":false,\"status\":null,\"status_code\":null,\"boot\":"
        "null,\"txn_id\":null,\"amount\":null,\"currency\":null,\"auth_code\":"
        "null,\"copy\":null,\"payload_len\":null,\"payload\":null,"
        "\"exponent\":null,"
        "\"rrn\":null,\"stan\":null,\"response_code\":null,\"merchant_ref\":"
        "null,\"card\":null,\"tip\":null,\"flags\":null,\"flags_code\":null,"
        "\"note\":null,\"totals\":null}\n"
        "{\"seq\":6,");
    expect_contains(f->out, "\"kind\":\"checkpoint\",\"kind_code\":7,"
                            "\"epoch\":1,\"decrypted\":false,\"status\":null,"
                            "\"status_code\":null,\"boot\":2,");
}

static void test_golden_csv(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--to", "5",
                         "--format", "csv", NULL),
                     0);
    expect_out(
        f,
        "seq,time,wall_ms,kind,kind_code,epoch,decrypted,status,status_code,"
        "boot,txn_id,amount,currency,auth_code,copy,payload_len,payload,"
        "exponent,rrn,stan,response_code,merchant_ref,card,tip,flags,flags_"
        "code,"
        "note,totals\n"
        "1,2026-11-23T12:00:00.000Z,1795435200000,intent,1,1,true,none,0,2,"
        "T100,1250,EUR,,0,28,"
        "303230302050414e3d3431313131312a2a2a2a2a2a31313131206f6b,2,,,,,,0,,0,,"
        "\n"
        "2,2026-11-23T12:00:01.500Z,1795435201500,outcome,2,1,true,approved,"
        "1,2,T100,1250,EUR,A1B2C3,0,9,303231302c2230302"
        "2,2,,,,,,0,,0,,\n"
        "3,2026-11-23T12:01:00.000Z,1795435260000,receipt,5,1,true,printed,"
        "10,2,T100,1250,EUR,,1,7,72656365697074,2,,,,,,0,,0,,\n"
        "4,2026-11-23T13:00:00.000Z,1795438800000,offline,3,1,true,approved,"
        "1,2,T200,800,USD,,0,4,01025c7a,2,,,,,,0,,0,,\n"
        "5,2026-11-23T14:00:00.000Z,1795442400000,note,8,1,true,none,0,2,,0,,"
        ",0,0,,,,,,,,0,,0,,\n");
    /* Text payloads with a comma and quotes are quoted per RFC 4180. */
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--from", "2", "--to",
                         "2", "--format", "csv", "--payload", "text", NULL),
                     0);
    expect_contains(f->out, ",A1B2C3,0,9,\"0210,\"\"00\"\"\",2,,,,,,0,,0,,\n");
}

static void test_filters_and_masking(void **state)
{
    fixture *f = *state;
    char *out;

    build_fixed(f);
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--txn", "T100",
                         "--format", "csv", NULL),
                     0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 4); /* header + seqs 1..3 */
    assert_non_null(strstr(out, "\n3,"));
    assert_null(strstr(out, "T200"));
    free(out);
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--status",
                         "approved", "--format", "csv", NULL),
                     0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 3); /* seqs 2 and 4 */
    free(out);
    assert_int_equal(run(f, f->path, "--since", "2026-11-23T12:01:00Z",
                         "--until", "2026-11-23T15:00:00+01:00", "--format",
                         "csv", NULL),
                     0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 3); /* seqs 3 and 4 */
    assert_non_null(strstr(out, "\n3,"));
    assert_non_null(strstr(out, "\n4,"));
    free(out);
    assert_int_equal(run(f, f->path, "--kind", "checkpoint", NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "\n      6 2026-"));
    free(out);
    assert_int_equal(run(f, f->path, "--kind", "5", "--format", "csv", NULL),
                     0);
    expect_contains(f->out, "\n3,2026-11-23T12:01:00.000Z,");
    /* PANs: masked in every form but raw, which warns. */
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--to", "1",
                         "--payload", "text", "-o", "wide", NULL),
                     0);
    expect_contains(f->out, "0200 PAN=411111******1111 ok");
    expect_lacks(f->out, "4111111111111111");
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--to", "1",
                         "--payload", "base64", "-o", "wide", NULL),
                     0);
    expect_contains(f->out, "MDIwMCBQQU49NDExMTExKioqKioqMTExMSBvaw==");
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--to", "1",
                         "--payload", "raw", "-o", "wide", NULL),
                     0);
    expect_contains(f->out, "0200 PAN=4111111111111111 ok");
    expect_contains(f->err, "unmasked");
}

/* Rewrite or delete the stored value at `seq` through LMDB itself. */
static void poke(const char *dir, uint64_t seq, long flip)
{
    sfj_test_raw r;
    uint8_t *copy;
    MDB_val k, v;

    sfj_test_raw_open(dir, &r);
    k = sfj_test_raw_key(&r, seq);
    if (flip < 0) {
        assert_int_equal(mdb_del(r.txn, r.entries, &k, NULL), 0);
    } else {
        assert_int_equal(mdb_get(r.txn, r.entries, &k, &v), 0);
        copy = malloc(v.mv_size);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[flip] ^= 0x01;
        v.mv_data = copy;
        assert_int_equal(mdb_put(r.txn, r.entries, &k, &v, 0), 0);
        free(copy);
    }
    sfj_test_raw_close(&r);
}

static void test_verify_intact(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    assert_int_equal(run(f, f->path, "--verify", NULL), 0);
    expect_contains(f->out, "entries     1..6  (6 examined, 1 valid "
                            "checkpoints)\n");
    expect_contains(f->out, "time span   2026-11-23T12:00:00.000Z .. ");
    expect_contains(f->out, "verified    1..6  chain intact, signed by "
                            "checkpoint 6 at ");
    expect_contains(f->out, "not decrypted (no key)");
    expect_contains(f->out, "result      OK\n");
    expect_lacks(f->out, "unsealed");
    assert_int_equal(run(f, f->path, "--verify", "--key", f->keyfile,
                         "--format", "json", NULL),
                     0);
    expect_contains(f->out, "\"decrypted\":true,\"entries\":6,\"first_seq\":1,"
                            "\"last_seq\":6,\"checkpoints\":1,");
    expect_contains(f->out, "\"verified_to\":6,");
    expect_contains(f->out, "\"ok\":true}\n");
}

static void test_verify_flipped_byte(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    poke(f->path, 3, 100); /* a ciphertext byte of seq 3 */
    assert_int_equal(run(f, f->path, "--verify", "--key", f->keyfile, NULL),
                     65);
    expect_contains(f->out, "damage      seq 3: record fails authentication");
    expect_contains(f->out, "unsealed    1..2 ");
    expect_contains(f->out, "verified    none");
    expect_contains(f->out, "result      FAILED\n");
    expect_contains(f->err, "verification FAILED");
    /* Without the key the chain catches it at the next record, and the
     * report points back at the changed one. */
    assert_int_equal(run(f, f->path, "--verify", NULL), 65);
    expect_contains(f->out, "damage      seq 4: hash chain broken");
    expect_contains(f->out, "record 3 was altered");
    /* The listing names it too and goes on. */
    assert_int_equal(
        run(f, f->path, "--key", f->keyfile, "--format", "csv", NULL), 65);
    expect_contains(f->err, "seq 3: record fails authentication");
    expect_contains(f->out, "\n4,");
}

static void test_verify_record_removed(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    poke(f->path, 3, -1);
    assert_int_equal(run(f, f->path, "--verify", NULL), 65);
    expect_contains(f->out, "damage      seq 3: entry missing (gap in seqs)");
    expect_contains(f->out, "result      FAILED\n");
}

/* A second session adds 7..9 and checkpoint 10; cutting the tail after
 * checkpoint 6 leaves 7..9 unsealed, and the meta still names 10. */
static void test_verify_tail_truncated(void **state)
{
    fixture *f = *state;
    sfj_journal *j;

    build_fixed(f);
    j = open_rw(f);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 8000000, "a", 1);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 8000001, "b", 1);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 8000002, "c", 1);
    sfj_journal_close(j);
    assert_int_equal(run(f, f->path, "--verify", NULL), 0);
    expect_contains(f->out, "verified    1..10 ");
    poke(f->path, 10, -1);
    assert_int_equal(run(f, f->path, "--verify", NULL), 65);
    expect_contains(f->out, "verified    1..6  chain intact, signed by "
                            "checkpoint 6");
    expect_contains(f->out, "unsealed    7..9  3 entries after the last "
                            "checkpoint: chain intact but NOT signed, not "
                            "verified\n");
    expect_contains(f->out, "checkpoint 10 recorded in the journal's meta "
                            "is missing");
    expect_contains(f->out, "result      FAILED\n");
}

/* A crash leaves a tail without a checkpoint: reported unsealed, not
 * verified, and not damage. */
static void test_verify_unsealed_tail(void **state)
{
    fixture *f = *state;
    pid_t pid;
    int status;

    build_fixed(f);
    pid = fork();
    if (pid == 0) {
        sfj_journal *j = open_rw(f);

        add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 9000000, "x", 1);
        add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 9000001, "y", 1);
        _exit(0); /* no close: no closing checkpoint */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(run(f, f->path, "--verify", "--key", f->keyfile, NULL), 0);
    expect_contains(f->out, "verified    1..6 ");
    expect_contains(f->out, "unsealed    7..8  2 entries after the last "
                            "checkpoint: chain intact but NOT signed, not "
                            "verified\n");
    expect_contains(f->out, "result      OK\n");
    assert_int_equal(run(f, f->path, "--verify", "--format", "json", NULL), 0);
    expect_contains(f->out, "\"verified_to\":6,");
    expect_contains(f->out, "\"unsealed_from\":7,\"unsealed_to\":8,");
}

/* A host mirror built from the terminal's sealed records dumps and
 * verifies without a key, and decrypts with the terminal's key. */
static void test_mirror(void **state)
{
    fixture *f = *state;
    char *mdir = sfj_test_path(f->dir, "mirror");
    sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL, *m = NULL;
    uint8_t jid[16], pk[32], *rec;
    size_t len;
    uint64_t seq;

    build_fixed(f);
    ro.flags = SFJ_OPEN_RDONLY;
    assert_int_equal(sfj_journal_open(f->path, NULL, &ro, &j), SFJ_OK);
    sfj_journal_id(j, jid);
    sfj__journal_pubkey(j, pk);
    assert_int_equal(sfj__mirror_open(&m, mdir, jid, "POS-7", pk, 0), SFJ_OK);
    for (seq = 1; seq <= 6; seq++) {
        assert_int_equal(sfj__journal_read_sealed(j, seq, &rec, &len), 0);
        assert_int_equal(sfj__mirror_put(m, seq, rec, len), SFJ_OK);
        free(rec);
    }
    sfj_journal_close(m);
    sfj_journal_close(j);
    assert_int_equal(run(f, mdir, "--verify", NULL), 0);
    expect_contains(f->out, "verified    1..6 ");
    assert_int_equal(run(f, mdir, "--format", "csv", NULL), 0);
    expect_contains(f->out, "\n6,");
    assert_int_equal(run(f, mdir, "--key", f->keyfile, "--txn", "T200",
                         "--format", "csv", NULL),
                     0);
    expect_contains(f->out, "\n4,2026-11-23T13:00:00.000Z,");
    free(mdir);
}

/* sfj-dump reads while another process keeps appending. */
/* Nothing at all on stderr. */
static void expect_out_err_empty(fixture *f)
{
    char *err = sfj_test_slurp(f->err);

    if (err[0] != '\0')
        fail_msg("stderr: %s", err);
    free(err);
}

/* The seqs of a CSV listing, in order, as "1,2,3". */
static void csv_seqs(const char *path, char *out, size_t cap)
{
    char csv[8192], *line;
    FILE *fp = fopen(path, "r");
    size_t len = fp != NULL ? fread(csv, 1, sizeof csv - 1, fp) : 0;

    if (fp != NULL)
        fclose(fp);
    csv[len] = '\0'; /* a file being written may be empty yet */
    line = strchr(csv, '\n');
    out[0] = '\0';
    while (line != NULL && line[1] != '\0') {
        size_t n = strlen(out);

        snprintf(out + n, cap - n, "%s%ld", n ? "," : "",
                 strtol(line + 1, NULL, 10));
        line = strchr(line + 1, '\n');
    }
}

static void expect_seqs(fixture *f, const char *want)
{
    char got[256];

    csv_seqs(f->out, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("seqs %s, expected %s", got, want);
}

/* Times as journalctl takes them, and -n, -r. TZ=EET-2 makes local time
 * UTC+2 whatever the machine's zone. */
static void test_times_and_paging(void **state)
{
    fixture *f = *state;

    build_fixed(f);
    setenv("TZ", "EET-2", 1);
    /* Without a zone: local time (14:01 at UTC+2 is 12:01Z). */
    assert_int_equal(run(f, f->path, "--since", "2026-11-23 14:01", "--until",
                         "2026-11-23T15:00:00+0100", "-o", "csv", NULL),
                     0);
    expect_seqs(f, "3,4");
    /* sfj-recover's own format, and sfj-dump's. */
    assert_int_equal(run(f, f->path, "--since", "2026-11-23 12:01:00Z",
                         "--until", "2026-11-23T13:00:00.000Z", "-o", "csv",
                         NULL),
                     0);
    expect_seqs(f, "3");
    /* A date alone is local midnight: 2026-11-24 00:00 UTC+2 is
     * 2026-11-23T22:00Z, after every event but the checkpoint. */
    assert_int_equal(
        run(f, f->path, "--until", "2026-11-24", "-o", "csv", NULL), 0);
    expect_seqs(f, "1,2,3,4,5");
    /* Relative: the checkpoint was written just now, the events long
     * before. */
    assert_int_equal(run(f, f->path, "--since", "-1h", "-o", "csv", NULL), 0);
    expect_seqs(f, "6");
    assert_int_equal(run(f, f->path, "--until", "now", "-o", "csv", NULL), 0);
    expect_seqs(f, "1,2,3,4,5,6");
    assert_int_equal(run(f, f->path, "--since", "today", "--kind", "checkpoint",
                         "-o", "csv", NULL),
                     0);
    expect_seqs(f, "6");
    assert_int_equal(run(f, f->path, "--since", "tomorrow", NULL), 2);
    expect_contains(f->err, "no entries match\n");
    assert_int_equal(run(f, f->path, "--since", "-30m", "--kind", "note", NULL),
                     2);
    /* -n, -r, and both; with the encrypted filters too. */
    assert_int_equal(run(f, f->path, "-n", "2", "-o", "csv", NULL), 0);
    expect_seqs(f, "5,6");
    assert_int_equal(run(f, f->path, "-r", "-o", "csv", NULL), 0);
    expect_seqs(f, "6,5,4,3,2,1");
    assert_int_equal(run(f, f->path, "-rn", "3", "-o", "csv", NULL), 0);
    expect_seqs(f, "6,5,4");
    assert_int_equal(run(f, f->path, "-k", f->keyfile, "--txn", "T100", "-n",
                         "2", "-o", "csv", NULL),
                     0);
    expect_seqs(f, "2,3");
    assert_int_equal(
        run(f, f->path, "--to", "4", "--lines", "10", "-r", "-o", "csv", NULL),
        0);
    expect_seqs(f, "4,3,2,1");
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--txn", "NOPE", "-r", NULL), 2);
    expect_contains(f->err, "no entries match\n");
    unsetenv("TZ");
}

/* The default table: at most 120 columns, txn ids of 32 characters
 * aligned, amounts in major units with the currency's exponent, printable
 * payloads as masked text, others as hex; -o wide keeps every field. */
static void test_table(void **state)
{
    fixture *f = *state;
    static const char id[] = "0123456789abcdef0123456789abcdef";
    sfj_journal *j;
    char *out, *line, *next, want[160];
    int rows = 0;

    build_fixed(f);
    j = open_rw(f);
    add(j, SFJ_EV_TXN_INTENT, 0, id, 123456, "JPY", NULL, 0, T0 + 8000000,
        "0200 PAN=5500000000000004 and a long tail of text", 49);
    add(j, SFJ_EV_TXN_INTENT, 0, "K1", 1234, "KWD", NULL, 0, T0 + 8000001, NULL,
        0);
    add(j, SFJ_EV_TXN_INTENT, 0, "X1", 5, NULL, NULL, 0, T0 + 8000002, NULL, 0);
    sfj_journal_close(j);
    assert_int_equal(run(f, f->path, "-k", f->keyfile, NULL), 0);
    out = sfj_test_slurp(f->out);
    for (line = out; *line != '\0'; line = next + 1, rows++) {
        next = strchr(line, '\n');
        assert_non_null(next);
        if (next - line > 120)
            fail_msg("line of %d columns: %.*s", (int)(next - line),
                     (int)(next - line), line);
    }
    assert_int_equal(rows, 1 + 10); /* two checkpoints */
    snprintf(want, sizeof want, "%7d %-20s %-10s %-12s %-32s %16s %s\n", 1,
             "2026-11-23T12:00:00Z", "intent", "none", "T100", "EUR 12.50",
             "0200 PAN=41111...");
    expect_contains(f->out, want);
    snprintf(want, sizeof want, "%-32s %16s %s\n", id, "JPY 123456",
             "0200 PAN=55000...");
    expect_contains(f->out, want);

    expect_contains(f->out, " KWD 1.234 \n");
    expect_contains(f->out, "               5 \n"); /* no currency */
    expect_contains(f->out, " USD 8.00 01025c7a\n");
    expect_lacks(f->out, "5500000000000004");
    /* Wide: the whole payload, masked, milliseconds, the auth code. */
    assert_int_equal(run(f, f->path, "-k", f->keyfile, "-o", "wide", NULL), 0);
    expect_contains(f->out, "0200 PAN=550000******0004 and a long tail of "
                            "text\n");
    expect_contains(f->out, "2026-11-23T12:00:01.500Z");
    expect_contains(f->out, "A1B2C3");
    /* JSON keeps minor units and adds the exponent. */
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--from", "8", "-o", "json", NULL),
        0);
    expect_contains(f->out, "\"amount\":1234,\"currency\":\"KWD\"");
    expect_contains(f->out, "\"exponent\":3,\"rrn\":");
    expect_contains(f->out, "\"exponent\":null,\"rrn\":");
    free(out);
}

/* The acquirer's references of event codec 2: appended at the end of JSON
 * and CSV (the fields before them unchanged), and shown by -o wide. */
/* A SETTLEMENT's per-currency totals (event codec 3) in every output:
 * text and wide in major units, JSON and CSV in minor units. */
static void dump_settlement_totals(fixture *f)
{
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_settle_line l[2];
    sfj_journal *j = open_rw(f);

    l[0] = sfj_test_settle_line("EUR", 12, 34550);
    l[1] = sfj_test_settle_line("JPY", 3, 1200);
    ev.kind = SFJ_EV_SETTLEMENT;
    ev.wall_ms = T0 + 9100000;
    ev.totals = l;
    ev.n_totals = 2;
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    sfj_journal_close(j);
    assert_int_equal(run(f, f->path, "-k", f->keyfile, "--kind", "settlement",
                         "-o", "json", NULL),
                     0);
    expect_contains(f->out,
                    "\"totals\":[{\"currency\":\"EUR\",\"count\":12,"
                    "\"amount\":34550},{\"currency\":\"JPY\",\"count\":3,"
                    "\"amount\":1200}]}\n");
    assert_int_equal(run(f, f->path, "-k", f->keyfile, "--kind", "settlement",
                         "-o", "csv", NULL),
                     0);
    expect_contains(f->out, ",0,,0,,EUR:12:34550|JPY:3:1200\n");
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--kind", "settlement", NULL), 0);
    expect_contains(f->out, " 12 x EUR 345."); /* cut to 120 columns */
    assert_int_equal(run(f, f->path, "-k", f->keyfile, "--kind", "settlement",
                         "-o", "wide", NULL),
                     0);
    expect_contains(f->out, "12 x EUR 345.50, 3 x JPY 1200");
}

static void test_refs(void **state)
{
    fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_journal *j;

    build_fixed(f);
    j = open_rw(f);
    add(j, SFJ_EV_TXN_INTENT, 0, "T300", 1000, "EUR", NULL, 0, T0 + 9000000,
        NULL, 0);
    ev.kind = SFJ_EV_TXN_OUTCOME;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "T300";
    ev.amount = 900;
    ev.currency = "EUR";
    ev.auth_code = "XY12";
    ev.wall_ms = T0 + 9001000;
    ev.rrn = "123456789012";
    ev.stan = "004711";
    ev.response_code = "00";
    ev.merchant_ref = "T300-short";
    ev.card = "411111******1111";
    ev.tip = 150;
    ev.flags = SFJ_EVF_PARTIAL | SFJ_EVF_RECONCILED;
    ev.note = "report acq.csv, line 7";
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    ev = (sfj_event)SFJ_EVENT_INIT;
    ev.kind = SFJ_EV_TXN_OFFLINE;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "T400";
    ev.amount = 500;
    ev.currency = "USD";
    ev.auth_code = "V9";
    ev.wall_ms = T0 + 9002000;
    ev.flags = SFJ_EVF_MANUAL;
    ev.note = "voice auth";
    assert_int_equal(sfj_append(j, &ev, NULL), SFJ_OK);
    sfj_journal_close(j);

    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--txn", "T300", "-o", "json", NULL),
        0);
    expect_contains(
        f->out,
        "\"auth_code\":\"XY12\",\"copy\":0,\"payload_len\":0,\"payload\":\"\","
        "\"exponent\":2,\"rrn\":\"123456789012\",\"stan\":\"004711\","
        "\"response_code\":\"00\",\"merchant_ref\":\"T300-short\",\"card\":"
        "\"411111******1111\",\"tip\":150,\"flags\":\"partial|reconciled\","
        "\"flags_code\":5,\"note\":\"report acq.csv, line 7\","
        "\"totals\":[]}\n");
    /* The intent has none of them. */
    expect_contains(f->out,
                    "\"exponent\":2,\"rrn\":\"\",\"stan\":\"\","
                    "\"response_code\":\"\",\"merchant_ref\":\"\",\"card\":"
                    "\"\",\"tip\":0,\"flags\":\"\",\"flags_code\":0,\"note\":"
                    "\"\",\"totals\":[]}\n");
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--txn", "T400", "-o", "json", NULL),
        0);
    expect_contains(f->out, "\"flags\":\"manual\",\"flags_code\":2,"
                            "\"note\":\"voice auth\",\"totals\":[]}\n");
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--txn", "T300", "-o", "csv", NULL),
        0);
    expect_contains(f->out, ",900,EUR,XY12,0,0,,2,123456789012,004711,00,"
                            "T300-short,411111******1111,150,"
                            "partial|reconciled,5,\"report acq.csv, line "
                            "7\",\n");
    assert_int_equal(
        run(f, f->path, "-k", f->keyfile, "--txn", "T300", "-o", "wide", NULL),
        0);
    expect_contains(f->out, "RRN");
    expect_contains(f->out, "123456789012");
    expect_contains(f->out, "004711");
    expect_contains(f->out, "411111******1111");
    expect_contains(f->out, "EUR 1.50");
    expect_contains(f->out, "partial|reconciled");
    expect_contains(f->out, "T300-short");
    expect_contains(f->out, "\"report acq.csv, line 7\"");
    dump_settlement_totals(f);
}

/* Progress: carriage-return lines on a TTY (here a pseudo-terminal),
 * nothing when stderr is a file; stdout is the listing either way. */
static void test_progress(void **state)
{
    fixture *f = *state;
    const char *argv[] = {"sfj-dump", f->path, "-o", "csv", NULL};
    char buf[4096];

    build_fixed(f);
    setenv("SFJ_PROGRESS_MS", "0", 1); /* draw at every entry */
    assert_int_equal(run(f, f->path, "-o", "csv", NULL), 0);
    expect_seqs(f, "1,2,3,4,5,6");
    expect_out_err_empty(f);
    assert_int_equal(sfj_test_run_tty(NULL, f->out, buf, sizeof buf, 30,
                                      sfj_test_tool("sfj-dump"), argv),
                     0);
    unsetenv("SFJ_PROGRESS_MS");
    if (strstr(buf, "\rsfj-dump: listing ") == NULL ||
        strstr(buf, "/6 entries, ") == NULL || strstr(buf, "\r\033[K") == NULL)
        fail_msg("no progress on the TTY: %s", buf);
    expect_seqs(f, "1,2,3,4,5,6");
}

/* --verify shows its progress on a TTY, with and without decryption;
 * nothing when stderr is a file. */
static void test_verify_progress(void **state)
{
    fixture *f = *state;
    const char *plain[] = {"sfj-dump", f->path, "--verify", NULL};
    const char *keyed[] = {"sfj-dump", f->path,    "--verify",
                           "-k",       f->keyfile, NULL};
    char buf[4096];

    build_fixed(f);
    setenv("SFJ_PROGRESS_MS", "0", 1);
    assert_int_equal(run(f, f->path, "--verify", "-k", f->keyfile, NULL), 0);
    expect_out_err_empty(f);
    assert_int_equal(sfj_test_run_tty(NULL, f->out, buf, sizeof buf, 30,
                                      sfj_test_tool("sfj-dump"), plain),
                     0);
    if (strstr(buf, "\rsfj-dump: verifying 100% 6/6 entries, ") == NULL ||
        strstr(buf, "\r\033[K") == NULL)
        fail_msg("no verify progress on the TTY: %s", buf);
    assert_int_equal(sfj_test_run_tty(NULL, f->out, buf, sizeof buf, 30,
                                      sfj_test_tool("sfj-dump"), keyed),
                     0);
    unsetenv("SFJ_PROGRESS_MS");
    if (strstr(buf, "\rsfj-dump: verifying (decrypting) 100% 6/6 entries") ==
        NULL)
        fail_msg("no decrypting verify progress on the TTY: %s", buf);
    expect_contains(f->out, "OK");
}

/* Wait (10 s at most) until the CSV being written lists `want`. */
static void wait_seqs(fixture *f, const char *want)
{
    char got[256];
    int i;

    for (i = 0; i < 500; i++) {
        csv_seqs(f->out, got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
        usleep(20000);
    }
    fail_msg("seqs %s, waited for %s", got, want);
}

/* --follow lists what is there, then new entries as they are committed,
 * and ends cleanly on SIGTERM. */
static void test_follow(void **state)
{
    fixture *f = *state;
    sfj_journal *j;
    pid_t pid;
    int status = 0;

    build_fixed(f);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen(f->out, "w", stdout) == NULL ||
            freopen(f->err, "w", stderr) == NULL)
            _exit(127);
        alarm(60);
        char *argv[] = {"sfj-dump", f->path, "--follow", "-o", "csv", NULL};

        sfj_test_execv(sfj_test_tool("sfj-dump"), argv);
        _exit(127);
    }
    wait_seqs(f, "1,2,3,4,5,6");
    j = open_rw(f);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 9000000, NULL, 0);
    add(j, SFJ_EV_NOTE, 0, NULL, 0, NULL, NULL, 0, T0 + 9000001, NULL, 0);
    wait_seqs(f, "1,2,3,4,5,6,7,8");
    sfj_journal_close(j);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Not with -r, nor with --verify. */
    assert_int_equal(run(f, f->path, "--follow", "-r", NULL), 64);
    assert_int_equal(run(f, f->path, "--follow", "--verify", NULL), 64);
}

static void test_dump_while_appending(void **state)
{
    fixture *f = *state;
    enum { N = 400 };
    pid_t pid;
    int status = 0, i, lines, prev = 0, partial = 0;
    char *out;

    build_fixed(f);
    pid = fork();
    if (pid == 0) {
        sfj_journal *j = open_rw(f);
        char txn[16];

        for (i = 0; i < N; i++) {
            snprintf(txn, sizeof txn, "W%d", i);
            add(j, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, txn, i, "EUR", NULL, 0,
                T0 + 10000000 + i, "bulk-payload-bulk-payload", 25);
            usleep(3000);
        }
        sfj_journal_close(j);
        _exit(0);
    }
    /* Dump and verify until the writer is done; some runs must have
     * seen it half way. */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (run(f, f->path, "--key", f->keyfile, "--format", "json", NULL)) {
            char *e = sfj_test_slurp(f->err);
            fail_msg("dump failed: %s", e);
        }
        out = sfj_test_slurp(f->out);
        lines = count_lines(out);
        assert_true(lines >= prev && lines >= 6);
        partial += lines > 6 && lines < 6 + N;
        prev = lines;
        free(out);
        if (run(f, f->path, "--verify", NULL) != 0) {
            char *e = sfj_test_slurp(f->err);
            fail_msg("verify failed: %s", e);
        }
        expect_contains(f->out, "result      OK\n");
    }
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(partial > 0);
    assert_int_equal(
        run(f, f->path, "--key", f->keyfile, "--format", "csv", NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 1 + 6 + N + 1);
    free(out);
    assert_int_equal(run(f, f->path, "--verify", "--key", f->keyfile, NULL), 0);
    expect_contains(f->out, "result      OK\n");
}

static void test_bundle_cli(void **state)
{
    fixture *f = *state;
    char *b = sfj_test_path(f->dir, "T100.sfjb");
    char pk_hex[65], other_hex[65];
    uint8_t pk[32], *buf;
    sfj_keys *other = sfj_test_keys(3);
    size_t len, i;
    FILE *fp;

    build_fixed(f);
    sfj_keys_public_key(f->keys, pk);
    for (i = 0; i < 32; i++)
        sprintf(pk_hex + 2 * i, "%02x", pk[i]);
    sfj_keys_public_key(other, pk);
    for (i = 0; i < 32; i++)
        sprintf(other_hex + 2 * i, "%02x", pk[i]);
    sfj_keys_free(other);
    assert_int_equal(run(f, f->path, "--key", f->keyfile, "--txn", "T100",
                         "--bundle", b, NULL),
                     0);
    assert_int_equal(run(f, "--check-bundle", b, "--pubkey", pk_hex,
                         "--payload", "text", "-o", "wide", NULL),
                     0);
    expect_contains(f->out, "bundle      OK: txn T100, 3 record(s) disclosed, "
                            "2 other record(s) shown only as hashes\n");
    expect_contains(f->out, "matches the key given with --pubkey");
    expect_contains(f->out, "PAN=411111******1111");
    expect_lacks(f->out, "T200");
    assert_int_equal(run(f, "--check-bundle", b, "--format", "csv", NULL), 0);
    expect_contains(f->out, "\n3,2026-11-23T12:01:00.000Z,");
    expect_contains(f->err, "NOT pinned");
    expect_error(f, run(f, "--check-bundle", b, "--pubkey", other_hex, NULL),
                 65);
    expect_contains(f->err, "pinned");
    /* Refuses to overwrite; unknown and unsealed txns. */
    expect_error(f,
                 run(f, f->path, "--key", f->keyfile, "--txn", "T100",
                     "--bundle", b, NULL),
                 73);
    expect_error(f,
                 run(f, f->path, "--key", f->keyfile, "--txn", "NOPE",
                     "--bundle", "x", NULL),
                 2);
    /* A damaged bundle: one line saying why, exit 65. */
    buf = sfj_test_read_file(b, &len);
    buf[len / 2] ^= 0x20;
    fp = fopen(b, "wb");
    fwrite(buf, 1, len, fp);
    fclose(fp);
    free(buf);
    expect_error(f, run(f, "--check-bundle", b, NULL), 65);
    expect_contains(f->err, "bundle REJECTED: ");
    free(b);
}

static sfj_journal *reopen(const char *path, const sfj_keys *keys,
                           const char *tid)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;

    o.terminal_id = tid;
    assert_int_equal(sfj_journal_open(path, keys, &o, &j), SFJ_OK);
    return j;
}

static sfj_report *recover(sfj_journal *j)
{
    sfj_report *r = NULL;

    assert_int_equal(sfj_recover(j, &r), SFJ_OK);
    assert_int_equal(r->bad_seq, 0);
    return r;
}

/* Two reports list the same items (txn, seq shifted by `shift`, amount). */
static void same_items(const sfj_report *d, const sfj_report *p, uint64_t shift)
{
    size_t i;

    assert_int_equal(d->n_items, p->n_items);
    assert_int_equal(d->n_in_doubt, p->n_in_doubt);
    assert_int_equal(d->n_no_receipt, p->n_no_receipt);
    for (i = 0; i < d->n_items; i++) {
        assert_int_equal(d->items[i].type, p->items[i].type);
        assert_int_equal(d->items[i].kind, p->items[i].kind);
        assert_int_equal(d->items[i].seq, p->items[i].seq + shift);
        assert_string_equal(d->items[i].txn_id, p->items[i].txn_id);
        assert_int_equal(d->items[i].amount, p->items[i].amount);
    }
}

/* Reconcile `j` against an acquirer's report of two of the sales of
 * test_dictionary_entry: the counts of each class. */
static void reconcile_counts(sfj_journal *j, size_t *count)
{
    sfj_recon_opts o = SFJ_RECON_OPTS_INIT;
    sfj_recon *r = NULL;
    const sfj_recon_result *res;
    char report[256];
    long long now = (long long)time(NULL) * 1000;

    snprintf(report, sizeof report,
             "reference,amount,currency,time,status\n"
             "DS-00001,10.01,EUR,%lld,approved\n"
             "DS-DOUBT,7.77,EUR,%lld,approved\n",
             now, now);
    assert_int_equal(sfj_recon_preset("generic", &o), SFJ_OK);
    assert_int_equal(sfj_recon_new(&o, &r), SFJ_OK);
    assert_int_equal(sfj_recon_add_report(r, "day.csv", report, strlen(report)),
                     SFJ_OK);
    assert_int_equal(sfj_recon_run(r, j), SFJ_OK);
    res = sfj_recon_result_get(r);
    assert_int_equal(res->lines, 2);
    memcpy(count, res->count, sizeof res->count);
    sfj_recon_free(r);
}

/* A journal created with a compression dictionary: its DICTIONARY entry
 * (seq 1) is listed as what it is in every format, without its bytes,
 * and found by --kind dictionary; recovery, reconciliation, batch totals
 * and the txn index rebuild see the same sales as in a journal without
 * one. */
static void test_dictionary_entry(void **state)
{
    fixture *f = *state;
    char *dkey = sfj_test_path(f->dir, "dict.key");
    char *plain = sfj_test_path(f->dir, "plain"), *out;
    sfj_stats sd = SFJ_STATS_INIT, sp = SFJ_STATS_INIT;
    sfj_batch *bd = NULL, *bp = NULL;
    size_t cd[SFJ_RECON_CLASSES], cp[SFJ_RECON_CLASSES];
    sfj_report *rd, *rp;
    sfj_keys *dk = NULL;
    sfj_journal *d, *p;
    MDB_txn *txn;

    d = sfj_test_dict_journal(f->path, "POS-D", dkey, &dk);
    p = reopen(plain, f->keys, "POS-P");
    sfj_test_append_sales(d, 1, 3);
    sfj_test_append_sales(p, 1, 3);
    /* A sale left in doubt by the writer's end. */
    add(d, SFJ_EV_TXN_INTENT, 0, "DS-DOUBT", 777, "EUR", NULL, 0, 0, NULL, 0);
    add(p, SFJ_EV_TXN_INTENT, 0, "DS-DOUBT", 777, "EUR", NULL, 0, 0, NULL, 0);
    sfj_journal_close(d);
    sfj_journal_close(p);
    d = reopen(f->path, dk, "POS-D");
    p = reopen(plain, f->keys, "POS-P");
    /* The dictionary journal holds more than the sales: its DICTIONARY
     * record and the checkpoint that signs it. */
    assert_int_equal(sfj_stats_get(d, &sd), SFJ_OK);
    assert_int_equal(sfj_stats_get(p, &sp), SFJ_OK);
    assert_true(sd.entries > sp.entries);
    rd = recover(d);
    rp = recover(p);
    assert_int_equal(rp->n_in_doubt, 1);
    assert_int_equal(rp->n_no_receipt, 3);
    same_items(rd, rp, sd.entries - sp.entries);
    sfj_report_free(rd);
    reconcile_counts(d, cd);
    reconcile_counts(p, cp);
    assert_int_equal(cp[SFJ_RECON_MATCHED], 1);
    assert_int_equal(cp[SFJ_RECON_DOUBT_APPROVED], 1);
    assert_int_equal(cp[SFJ_RECON_NOT_RECEIVED], 2);
    assert_memory_equal(cd, cp, sizeof cd);
    assert_int_equal(sfj_batch_totals(d, &bd), SFJ_OK);
    assert_int_equal(sfj_batch_totals(p, &bp), SFJ_OK);
    assert_int_equal(bp->n, 1);
    assert_int_equal(bd->n, bp->n);
    assert_memory_equal(bd->totals, bp->totals, bp->n * sizeof bp->totals[0]);
    sfj_batch_free(bd);
    sfj_batch_free(bp);
    /* The index rebuilt from every entry, the dictionary's among them. */
    assert_int_equal(sfj__read_begin(d, &txn), SFJ_OK);
    sfj__read_end(d, txn);
    assert_int_equal(mdb_txn_begin(d->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_drop(txn, d->db_txns, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    rd = recover(d);
    assert_int_equal(rd->index_rebuilt, 1);
    /* Every entry but the checkpoints: the DICTIONARY record, three
     * sales' INTENT and OUTCOME, the INTENT in doubt. */
    assert_int_equal(rd->index_replayed, 1 + 2 * 3 + 1);
    same_items(rd, rp, sd.entries - sp.entries);
    sfj_report_free(rd);
    sfj_report_free(rp);
    sfj_journal_close(d);
    sfj_journal_close(p);
    sfj_keys_free(dk);

    /* The tables say what it is, the machine formats leave its bytes
     * out even when a text payload is asked for. */
    assert_int_equal(run(f, f->path, "--key", dkey, "--to", "1", NULL), 0);
    expect_contains(f->out, " dictionary ");
    expect_contains(f->out, " (124 bytes)\n");
    assert_int_equal(
        run(f, f->path, "--key", dkey, "--to", "1", "-o", "wide", NULL), 0);
    expect_contains(f->out, "  (journal dictionary, 124 bytes)\n");
    assert_int_equal(run(f, f->path, "--key", dkey, "--to", "1", "-o", "json",
                         "--payload", "text", NULL),
                     0);
    expect_contains(f->out, "{\"seq\":1,");
    expect_contains(f->out, ",\"kind\":\"dictionary\",\"kind_code\":10,"
                            "\"epoch\":1,\"decrypted\":true,");
    expect_contains(f->out, ",\"txn_id\":\"\",\"amount\":0,"
                            "\"currency\":\"\",\"auth_code\":\"\",\"copy\":0,"
                            "\"payload_len\":124,\"payload\":null,");
    expect_lacks(f->out, "MTI=0210");
    /* --kind dictionary: that one entry, with or without the key. */
    assert_int_equal(run(f, f->path, "--key", dkey, "--kind", "dictionary",
                         "-o", "csv", NULL),
                     0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "\n1,"));
    assert_non_null(strstr(out, ",dictionary,10,1,true,none,0,"));
    assert_non_null(strstr(out, ",0,124,,"));
    free(out);
    assert_int_equal(run(f, f->path, "--kind", "10", "-o", "json", NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "\"kind\":\"dictionary\",\"kind_code\":10,"
                                "\"epoch\":1,\"decrypted\":false,"));
    free(out);
    free(dkey);
    free(plain);
}

static void test_argument_errors(void **state)
{
    fixture *f = *state;
    char *wrong = sfj_test_path(f->dir, "wrong.key");
    char *missing = sfj_test_path(f->dir, "nope");

    build_fixed(f);
    assert_int_equal(run(f, "--help", NULL), 0);
    expect_contains(f->out, "usage: sfj-dump");
    expect_error(f, run(f, f->path, "--bogus", NULL), 64);
    expect_error(f, run(f, NULL), 64);
    expect_error(f, run(f, f->path, "--from", NULL), 64);
    expect_error(f, run(f, f->path, f->path, NULL), 64);
    expect_error(f, run(f, f->path, "--txn", "T100", NULL), 64);
    expect_error(f, run(f, f->path, "--verify", "--check-bundle", "x", NULL),
                 64);
    expect_error(f, run(f, f->path, "--bundle", "x", NULL), 64);
    expect_error(f, run(f, f->path, "--since", "2026-13-01", NULL), 64);
    expect_error(f, run(f, f->path, "--since", "2026-11-23T10", NULL), 64);
    expect_error(f, run(f, f->path, "--until", "last week", NULL), 64);
    expect_error(f, run(f, f->path, "--until", "-1y", NULL), 64);
    expect_error(f, run(f, f->path, "-n", "0", NULL), 64);
    expect_error(f, run(f, f->path, "--from", "abc", NULL), 64);
    expect_error(f, run(f, f->path, "--kind", "bogus", NULL), 64);
    expect_error(f, run(f, f->path, "--format", "xml", NULL), 64);
    expect_error(f, run(f, f->path, "--payload", "bin", NULL), 64);
    expect_error(f, run(f, "--check-bundle", "x", "--pubkey", "12", NULL), 64);
    expect_error(f, run(f, missing, NULL), 66);
    expect_error(f, run(f, "--check-bundle", missing, NULL), 66);
    expect_error(f, run(f, f->path, "--key", missing, NULL), 66);
    assert_int_equal(sfj_keys_generate_file(wrong), SFJ_OK);
    expect_error(f, run(f, f->path, "--key", wrong, NULL), 77);
    chmod(wrong, 0644);
    expect_error(f, run(f, f->path, "--key", wrong, NULL), 78);
    expect_contains(f->err, "group or others");
    expect_error(f, run(f, "--check-bundle", f->keyfile, NULL), 65);
    expect_contains(f->err, "not an sfj evidence bundle");
    free(wrong);
    free(missing);
}

/* docs/DISPUTES.md runs as written: every sh block, in order, under
 * bash -eu with pipefail. */
static void test_disputes_walkthrough(void **state)
{
    fixture *f = *state;
    char *doc = sfj_test_slurp(SFJ_SOURCE_DIR "/docs/DISPUTES.md");
    char *script = sfj_test_path(f->dir, "disputes.sh");
    FILE *fp = fopen(script, "w");
    const char *p = doc, *end;
    pid_t pid;
    int status, blocks = 0, fd;

    assert_non_null(fp);
    fputs("set -euo pipefail\n", fp);
    while ((p = strstr(p, "```sh\n")) != NULL) {
        p += 6;
        end = strstr(p, "```\n");
        assert_non_null(end);
        fwrite(p, 1, (size_t)(end - p), fp);
        p = end + 4;
        blocks++;
    }
    fclose(fp);
    assert_true(blocks >= 6);
    pid = fork();
    if (pid == 0) {
        fd = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        fd = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        setenv("SFJ_BIN", sfj_test_tool(""), 1);
        execl("/bin/bash", "bash", script, (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char *err = sfj_test_slurp(f->err);

        fail_msg("walk-through failed: %s", err);
    }
    expect_contains(f->out, "  T0001  ");
    expect_contains(f->out, "result      OK\n");
    expect_contains(f->out, "pinned with --pubkey");
    expect_contains(f->out, "bundle      OK: txn T0001, 4 record(s) "
                            "disclosed");
    expect_contains(f->out, "matches the key given with --pubkey");
    expect_lacks(f->out, "T0002  ");
    free(script);
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refs, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_golden_json, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_golden_csv, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_masking,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_intact, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_flipped_byte,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_record_removed,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_tail_truncated,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_unsealed_tail,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_mirror, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_times_and_paging, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_table, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_progress, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_verify_progress, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_follow, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dump_while_appending,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_bundle_cli, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dictionary_entry, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_argument_errors, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_disputes_walkthrough,
                                        sfj_test_setup, sfj_test_teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
