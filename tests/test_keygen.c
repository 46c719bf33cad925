/* sfj-keygen: new (0600, never overwrites), show (public key and
 * fingerprint, master only on request), export-host (the provisioning
 * line for sfj-host), and its errors with their exit codes. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/testutil.h"

typedef struct fixture {
    char *dir;
    char *key;
    char *out;
    char *err;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);

    f->dir = sfj_test_tmpdir();
    f->key = sfj_test_path(f->dir, "master.key");
    f->out = sfj_test_path(f->dir, "stdout");
    f->err = sfj_test_path(f->dir, "stderr");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->key);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

/* Run sfj-keygen with the NULL-terminated arguments; stdout and stderr go
 * to f->out and f->err. Returns the exit code. */
static int run(fixture *f, ...)
{
    va_list ap;
    int rc;

    va_start(ap, f);
    rc = sfj_test_run_toolv("sfj-keygen", f->out, f->err, ap);
    va_end(ap);
    return rc;
}

static void expect_error(fixture *f, int rc, int code)
{
    char *err = sfj_test_slurp(f->err);
    int lines = 0;
    const char *p;

    if (rc != code)
        fail_msg("exit %d, expected %d; stderr: %s", rc, code, err);
    for (p = err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1);
    assert_true(strncmp(err, "sfj-keygen: ", 12) == 0);
    free(err);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_new_and_show(void **state)
{
    fixture *f = *state;
    uint8_t pk[32];
    char pk_hex[65], want[128], *out;
    sfj_keys *keys = NULL;
    struct stat st;
    size_t len;
    uint8_t *before, *after;

    assert_int_equal(run(f, "new", f->key, NULL), 0);
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    before = sfj_test_read_file(f->key, &len);
    expect_error(f, run(f, "new", f->key, NULL), 73);
    after = sfj_test_read_file(f->key, &len);
    assert_memory_equal(before, after, len); /* untouched */
    free(before);
    free(after);

    assert_int_equal(sfj_keys_load_file(f->key, &keys), SFJ_OK);
    sfj_keys_public_key(keys, pk);
    sfj_keys_free(keys);
    hex(pk, 32, pk_hex);
    assert_int_equal(run(f, "show", f->key, NULL), 0);
    out = sfj_test_slurp(f->out);
    snprintf(want, sizeof want, "public key   %s\nfingerprint  ", pk_hex);
    assert_true(strncmp(out, want, strlen(want)) == 0);
    /* "xxxx-xxxx-xxxx-xxxx" and nothing else: no master key. */
    assert_int_equal(strlen(out), strlen(want) + 19 + 1);
    assert_null(strstr(out, "master"));
    free(out);
    assert_int_equal(run(f, "show", f->key, "--print-master", NULL), 0);
    out = sfj_test_slurp(f->out);
    before = sfj_test_read_file(f->key, &len);
    /* The key file is "sfj-master-key-v1\n" + 64 hex + "\n". */
    assert_int_equal(len, 18 + 64 + 1);
    assert_non_null(strstr(out, "master key   "));
    assert_true(memcmp(strstr(out, "master key   ") + 13, before + 18, 64) ==
                0);
    free(before);
    free(out);
}

static void test_export_host(void **state)
{
    fixture *f = *state;
    char *jdir = sfj_test_path(f->dir, "j");
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    uint8_t jid[16], link[32], pk[32];
    char want[256], a[33], b[65], c[65], *out;

    assert_int_equal(run(f, "new", f->key, NULL), 0);
    assert_int_equal(sfj_keys_load_file(f->key, &keys), SFJ_OK);
    opts.terminal_id = "POS-42";
    assert_int_equal(sfj_journal_open(jdir, keys, &opts, &j), SFJ_OK);
    sfj_journal_id(j, jid);
    sfj_journal_close(j);
    sfj_keys_link_key(keys, link);
    sfj_keys_public_key(keys, pk);
    hex(jid, 16, a);
    hex(link, 32, b);
    hex(pk, 32, c);
    snprintf(want, sizeof want, "sfj-terminal-v1 %s POS-42 %s %s\n", a, b, c);
    assert_int_equal(run(f, "export-host", jdir, "-k", f->key, NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_string_equal(out, want);
    free(out);
    /* The old spelling, kept for one release, prints the same line. */
    assert_int_equal(run(f, "export-host", f->key, "--journal", jdir, NULL), 0);
    out = sfj_test_slurp(f->out);
    assert_string_equal(out, want);
    free(out);
    /* Another terminal's key is refused. */
    sfj_keys_free(keys);
    {
        char *other = sfj_test_path(f->dir, "other.key");

        assert_int_equal(run(f, "new", other, NULL), 0);
        expect_error(f, run(f, "export-host", jdir, "--key", other, NULL), 77);
        free(other);
    }
    expect_error(f, run(f, "export-host", f->key, NULL), 64);
    free(jdir);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    char *missing = sfj_test_path(f->dir, "nope/deeper.key");

    assert_int_equal(run(f, "--help", NULL), 0);
    expect_error(f, run(f, NULL), 64);
    expect_error(f, run(f, "frobnicate", f->key, NULL), 64);
    expect_error(f, run(f, "show", f->key, "--bogus", NULL), 64);
    expect_error(f, run(f, "new", f->key, "--print-master", NULL), 64);
    expect_error(f, run(f, "show", f->key, NULL), 66);
    expect_error(f, run(f, "new", missing, NULL), 66);
    assert_int_equal(run(f, "new", f->key, NULL), 0);
    chmod(f->key, 0640);
    expect_error(f, run(f, "show", f->key, NULL), 78);
    chmod(f->key, 0600);
    expect_error(f, run(f, "export-host", "/nonexistent/j", "-k", f->key, NULL),
                 66);
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_and_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_export_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
