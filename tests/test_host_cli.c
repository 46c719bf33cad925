/* sfj-host's command line: an address or directory it cannot serve is
 * refused at start with a one-line error and a documented exit code,
 * never half-served (a port taken modulo 65536, a file used as a
 * directory). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/hosttest.h"
#include "support/testutil.h"

/* Run sfj-host with its output in the fixture's files. A host that wrongly
 * starts serving is ended by SIGALRM after 5 s, so the test fails instead
 * of hanging. */
static int run_host(sfj_test_fixture *f, ...)
{
    const char *argv[16];
    va_list ap;
    int n = 1;

    argv[0] = "sfj-host";
    va_start(ap, f);
    while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    return sfj_test_run_argv(f->out, f->err, 5, argv);
}

/* One line on stderr, containing `needle`; nothing served on stdout. */
static void assert_one_line_error(sfj_test_fixture *f, const char *needle)
{
    char *err = sfj_test_slurp(f->err), *out = sfj_test_slurp(f->out);
    char *nl = strchr(err, '\n');

    assert_non_null(strstr(err, needle));
    assert_non_null(nl);
    assert_int_equal(nl[1], '\0');
    assert_null(strstr(out, "listening"));
    free(err);
    free(out);
}

static char *provisioned(sfj_test_fixture *f)
{
    char *prov = sfj_test_path(f->dir, "provision");

    sfj_test_provision(prov, f->j, f->keys, NULL);
    return prov;
}

static void test_listen_port_out_of_range(void **state)
{
    sfj_test_fixture *f = *state;
    char *prov = provisioned(f), *dir = sfj_test_path(f->dir, "mirrors");
    static const char *bad[] = {"127.0.0.1:70000", "127.0.0.1:65536",
                                "127.0.0.1:-1",    "127.0.0.1:12x",
                                "127.0.0.1:",      "127.0.0.1"};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_host(f, "--dir", dir, "--provision", prov,
                                  "--listen", bad[i], NULL),
                         64);
        assert_one_line_error(f, "--listen");
        assert_int_equal(run_host(f, "--dir", dir, "--provision", prov,
                                  "--listen", "127.0.0.1:0", "--metrics",
                                  bad[i], NULL),
                         64);
        assert_one_line_error(f, "--metrics");
    }
    free(prov);
    free(dir);
}

static void test_dir_is_a_file(void **state)
{
    sfj_test_fixture *f = *state;
    char *prov = provisioned(f), *file = sfj_test_path(f->dir, "plain");
    FILE *fp = fopen(file, "w");

    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(run_host(f, "--dir", file, "--provision", prov, "--listen",
                              "127.0.0.1:0", NULL),
                     73);
    assert_one_line_error(f, "not a directory");
    free(prov);
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_listen_port_out_of_range,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_dir_is_a_file, sfj_test_setup_open,
                                        sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
