/* Progress of long work on a TTY (docs/CLI.md, "Progress"), for what
 * test_dump does not cover: pos-sim's replay drain and the build step of
 * tools/demo.sh and tools/test.sh. Each runs once with stderr on a
 * pseudo-terminal (a carriage-return line, cleared at the end) and once
 * with stderr in a file (nothing). sfj-dump's listing and --verify are in
 * test_dump, sfj-host export in test_host_pg. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/hosttest.h"
#include "support/testutil.h"

/* The recover phase of pos-sim forwards the offline sales of an outage:
 * its drain shows on a TTY, not on a file. */
static void test_pos_sim_drain(void **state)
{
    sfj_test_fixture *f = *state;
    char *j = sfj_test_path(f->dir, "terminal");
    char *key = sfj_test_path(f->dir, "pos.key");
    const char *init[] = {"pos-sim", "init", "--journal", j,
                          "--key",   key,    NULL};
    const char *outage[] = {"pos-sim", "outage", "--journal",   j,   "--key",
                            key,       "--host", "127.0.0.1:9", NULL};
    const char *exp[] = {"sfj-keygen", "export-host", j, "-k", key, NULL};
    const char *rec[] = {"pos-sim", "recover", "--journal", j,   "--key",
                         key,       "--host",  NULL,        NULL};
    sfj_test_host h;
    char addr[64], buf[4096];

    assert_int_equal(sfj_test_run_argv(f->out, f->err, 30, init), 0);
    assert_int_equal(sfj_test_run_argv(f->out, f->err, 30, outage), 0);
    sfj_test_host_init(&h, f->dir);
    assert_int_equal(sfj_test_run_argv(h.prov, f->err, 30, exp), 0);
    assert_int_equal(chmod(h.prov, 0600), 0);
    sfj_test_host_start(&h);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", h.port);
    rec[7] = addr;
    setenv("SFJ_PROGRESS_MS", "0", 1);
    assert_int_equal(sfj_test_run_tty(NULL, f->out, buf, sizeof buf, 60,
                                      sfj_test_tool("pos-sim"), rec),
                     0);
    if (strstr(buf, "\rpos-sim: forwarding backlog ") == NULL ||
        strstr(buf, " entries, ") == NULL || strstr(buf, "\r\033[K") == NULL)
        fail_msg("no drain progress on the TTY: %s", buf);
    assert_true(sfj_test_file_contains(f->out, "backlog drained"));
    /* Again with stderr in a file: a second drain (a settlement's few
     * entries), and nothing at all on stderr. */
    assert_int_equal(sfj_test_run_argv(f->out, f->err, 60, rec), 0);
    unsetenv("SFJ_PROGRESS_MS");
    assert_true(sfj_test_file_contains(f->out, "backlog drained"));
    assert_false(sfj_test_file_contains(f->err, "forwarding backlog"));
    assert_false(sfj_test_file_contains(f->err, "\r"));
    sfj_test_host_stop(&h, SIGTERM);
    sfj_test_host_done(&h);
    free(j);
    free(key);
}

/* The build step's filter of tools/setup.sh over a canned cmake output:
 * every line into the log; on a TTY cmake's percentage and the time
 * left; in a file nothing. */
static void test_build_filter(void **state)
{
    sfj_test_fixture *f = *state;
    char *in = sfj_test_path(f->dir, "cmake.out");
    char *log = sfj_test_path(f->dir, "build.log");
    char script[4200], buf[4096], *got;
    const char *argv[] = {"bash", "-c", script, NULL};
    FILE *fp = fopen(in, "w");

    assert_non_null(fp);
    fputs("-- Configuring done\n[  4%] Building C object a.o\n"
          "[ 52%] Linking C executable x\n[100%] Built target x\n",
          fp);
    fclose(fp);
    snprintf(script, sizeof script,
             ". '%s/tools/setup.sh' && sfj_progress_filter '%s'",
             SFJ_SOURCE_DIR, log);
    assert_int_equal(
        sfj_test_run_tty(in, f->out, buf, sizeof buf, 30, "/bin/bash", argv),
        0);
    if (strstr(buf, "\rsfj: building  52%") == NULL ||
        strstr(buf, "\rsfj: building 100%") == NULL ||
        strstr(buf, "\r\033[K") == NULL)
        fail_msg("no build progress on the TTY: %s", buf);
    got = sfj_test_slurp(log);
    assert_non_null(strstr(got, "-- Configuring done\n[  4%] Building C"));
    assert_non_null(strstr(got, "[100%] Built target x\n"));
    free(got);
    /* stderr in a file: the log alone. */
    {
        const char *sh[] = {"/bin/bash", "-c", script, NULL};
        char cmd[4400];

        snprintf(cmd, sizeof cmd, "%s < '%s' 2> '%s'", script, in, f->err);
        sh[2] = cmd;
        assert_int_equal(sfj_test_run_tty(NULL, f->out, buf, sizeof buf, 30,
                                          "/bin/bash", sh),
                         0);
    }
    got = sfj_test_slurp(f->err);
    assert_string_equal(got, "");
    free(got);
    got = sfj_test_slurp(log);
    assert_non_null(strstr(got, "[ 52%] Linking C executable x\n"));
    free(got);
    free(in);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pos_sim_drain, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_build_filter, sfj_test_setup,
                                        sfj_test_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
