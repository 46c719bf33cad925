/* docs/CLI.md, checked: every tool over one table of conditions, each
 * with the exit code the convention gives it; an error is exactly one line
 * on stderr starting with the tool's name, and nothing but --help prints
 * the usage. */
#include <setjmp.h>
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

/* Placeholders in the table's arguments. */
typedef struct paths {
    const char *journal; /* $J: a journal with a few entries */
    const char *key;     /* $K: its key, mode 0600 */
    char *wrong;         /* $W: another journal's key, mode 0600 */
    char *open_key;      /* $O: a key file with mode 0644 */
    char *missing;       /* $M: nothing there */
    char *file;          /* $F: a regular file */
    char *prov;          /* $P: a provisioning file, mode 0600 */
    char *prov_open;     /* $Q: the same with mode 0644 */
    char *mirrors;       /* $D: a directory for the host */
} paths;

typedef struct cli_case {
    const char *tool;
    const char *args[10];
    int code;
} cli_case;

#define OK        0
#define NOMATCH   2
#define USAGE     64
#define NOTFOUND  66
#define CANTWRITE 73
#define WRONGKEY  77
#define KEYFILE   78

static const char *const tools[] = {"sfj-dump",     "sfj-recover", "sfj-keygen",
                                    "sfj-host",     "sfj-bench",   "pos-sim",
                                    "sfj-reconcile"};

static const cli_case cases[] = {
    /* Bad usage. */
    {"sfj-dump", {NULL}, USAGE},
    {"sfj-recover", {NULL}, USAGE},
    {"sfj-keygen", {NULL}, USAGE},
    {"sfj-host", {NULL}, USAGE},
    {"pos-sim", {NULL}, USAGE},
    {"sfj-dump", {"$J", "-k"}, USAGE},
    {"sfj-recover", {"$J", "--key"}, USAGE},
    {"sfj-keygen", {"show", "-k"}, USAGE},
    {"sfj-host", {"--dir"}, USAGE},
    {"sfj-bench", {"--dir"}, USAGE},
    {"pos-sim", {"init", "--journal"}, USAGE},
    {"sfj-dump", {"$J", "$J"}, USAGE},
    {"sfj-recover", {"$J", "$J", "-k", "$K"}, USAGE},
    {"sfj-keygen", {"frobnicate", "$K"}, USAGE},
    {"sfj-reconcile", {"$J", "-k"}, USAGE},
    {"sfj-reconcile", {"$J", "-k", "$K", "-o", "xml", "$F"}, USAGE},
    /* Bad option values. */
    {"sfj-dump", {"$J", "--from", "abc"}, USAGE},
    {"sfj-dump", {"$J", "-o", "xml"}, USAGE},
    {"sfj-recover", {"$J", "-k", "$K", "-o", "csv"}, USAGE},
    {"sfj-host", {"--dir", "$D", "--provision", "$P", "--window", "0"}, USAGE},
    {"sfj-host",
     {"--dir", "$D", "--provision", "$P", "--listen", "127.0.0.1:70000"},
     USAGE},
    {"sfj-bench", {"--seconds", "x"}, USAGE},
    {"sfj-bench", {"-o", "csv"}, USAGE},
    {"pos-sim", {"init", "--journal", "$M", "-k", "$K", "--sales", "x"}, USAGE},
    /* Journal not found, or not a journal. */
    {"sfj-dump", {"$M"}, NOTFOUND},
    {"sfj-dump", {"$F"}, NOTFOUND},
    {"sfj-dump", {"$D"}, NOTFOUND},
    {"sfj-recover", {"$M", "-k", "$K"}, NOTFOUND},
    {"sfj-recover", {"$F", "-k", "$K"}, NOTFOUND},
    {"sfj-keygen", {"export-host", "$M", "-k", "$K"}, NOTFOUND},
    {"sfj-keygen", {"export-host", "$F", "-k", "$K"}, NOTFOUND},
    {"sfj-reconcile", {"$M", "-k", "$K", "$F"}, NOTFOUND},
    /* Key file missing. */
    {"sfj-dump", {"$J", "-k", "$M"}, NOTFOUND},
    {"sfj-recover", {"$J", "-k", "$M"}, NOTFOUND},
    {"sfj-keygen", {"show", "$M"}, NOTFOUND},
    {"sfj-keygen", {"export-host", "$J", "-k", "$M"}, NOTFOUND},
    {"sfj-host",
     {"--dir", "$D", "--provision", "$M", "--listen", "127.0.0.1:0"},
     NOTFOUND},
    /* Key (or provisioning) file readable by others, or not a key. */
    {"sfj-dump", {"$J", "-k", "$O"}, KEYFILE},
    {"sfj-recover", {"$J", "-k", "$O"}, KEYFILE},
    {"sfj-keygen", {"show", "$O"}, KEYFILE},
    {"sfj-reconcile", {"$J", "-k", "$O", "$F"}, KEYFILE},
    {"sfj-keygen", {"export-host", "$J", "-k", "$O"}, KEYFILE},
    {"sfj-dump", {"$J", "-k", "$F"}, KEYFILE},
    {"sfj-host",
     {"--dir", "$D", "--provision", "$Q", "--listen", "127.0.0.1:0"},
     KEYFILE},
    /* Another journal's key. */
    {"sfj-dump", {"$J", "-k", "$W"}, WRONGKEY},
    {"sfj-dump", {"$J", "--verify", "-k", "$W"}, WRONGKEY},
    {"sfj-recover", {"$J", "-k", "$W"}, WRONGKEY},
    {"sfj-keygen", {"export-host", "$J", "-k", "$W"}, WRONGKEY},
    {"sfj-reconcile", {"$J", "-k", "$W", "$F"}, WRONGKEY},
    /* Cannot write. */
    {"sfj-keygen", {"new", "$K"}, CANTWRITE},
    {"sfj-host",
     {"--dir", "$F", "--provision", "$P", "--listen", "127.0.0.1:0"},
     CANTWRITE},
    {"sfj-bench", {"--dir", "$M", "--quick"}, CANTWRITE},
    /* Nothing matches. */
    {"sfj-dump", {"$J", "-k", "$K", "--txn", "NOPE"}, NOMATCH},
    {"sfj-dump", {"$J", "--from", "1000"}, NOMATCH},
    /* The convention's spellings and the old ones, all working. */
    {"sfj-dump", {"$J"}, OK},
    {"sfj-dump", {"$J", "--key=$K", "-o", "json"}, OK},
    {"sfj-dump", {"$J", "-k", "$K", "-f", "csv"}, OK},
    {"sfj-dump", {"$J", "--verify", "-k", "$K"}, OK},
    {"sfj-recover", {"$J", "-k", "$K"}, OK},
    {"sfj-recover", {"$J", "--key", "$K", "-o", "json"}, OK},
    {"sfj-recover", {"$J", "--key", "$K", "--json"}, OK},
    {"sfj-keygen", {"show", "-k", "$K"}, OK},
    {"sfj-keygen", {"export-host", "$J", "-k", "$K"}, OK},
};

/* Expand one placeholder. */
static const char *expand(const paths *p, const char *a, char *buf, size_t cap)
{
    const char *v = NULL;

    if (a[0] != '$' && strstr(a, "=$") == NULL)
        return a;
    if (strstr(a, "=$") != NULL) {
        /* --opt=$X */
        size_t n = (size_t)(strstr(a, "=$") - a) + 1;
        const char *e = expand(p, a + n, buf + n, cap - n);

        memmove(buf + n, e, strlen(e) + 1);
        memcpy(buf, a, n);
        return buf;
    }
    switch (a[1]) {
    case 'J':
        v = p->journal;
        break;
    case 'K':
        v = p->key;
        break;
    case 'W':
        v = p->wrong;
        break;
    case 'O':
        v = p->open_key;
        break;
    case 'M':
        v = p->missing;
        break;
    case 'F':
        v = p->file;
        break;
    case 'P':
        v = p->prov;
        break;
    case 'Q':
        v = p->prov_open;
        break;
    case 'D':
        v = p->mirrors;
        break;
    default:
        fail_msg("unknown placeholder %s", a);
    }
    snprintf(buf, cap, "%s", v);
    return buf;
}

/* Run one tool, ended after 60 s should it wrongly start serving or
 * benchmarking. */
static int run(sfj_test_fixture *f, const char *const *argv)
{
    return sfj_test_run_argv(f->out, f->err, 60, argv);
}

static int count_lines(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void build(sfj_test_fixture *f, paths *p)
{
    sfj_event ev = SFJ_EVENT_INIT;
    FILE *fp;

    memset(p, 0, sizeof *p);
    p->journal = f->path;
    p->key = f->keyfile;
    p->wrong = sfj_test_path(f->dir, "wrong.key");
    p->open_key = sfj_test_path(f->dir, "open.key");
    p->missing = sfj_test_path(f->dir, "nothing/here");
    p->file = sfj_test_path(f->dir, "plain");
    p->prov = sfj_test_path(f->dir, "provision");
    p->prov_open = sfj_test_path(f->dir, "provision-open");
    p->mirrors = sfj_test_path(f->dir, "mirrors");
    ev.kind = SFJ_EV_NOTE;
    ev.payload = "installed";
    ev.payload_len = 9;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    sfj_test_provision(p->prov, f->j, f->keys, NULL);
    sfj_test_provision(p->prov_open, f->j, f->keys, NULL);
    assert_int_equal(chmod(p->prov_open, 0644), 0);
    sfj_journal_close(f->j);
    f->j = NULL;
    assert_int_equal(sfj_keys_generate_file(p->wrong), SFJ_OK);
    assert_int_equal(sfj_keys_generate_file(p->open_key), SFJ_OK);
    assert_int_equal(chmod(p->open_key, 0644), 0);
    fp = fopen(p->file, "w");
    assert_non_null(fp);
    fputs("not a journal\n", fp);
    fclose(fp);
    assert_int_equal(chmod(p->file, 0600), 0);
    assert_int_equal(mkdir(p->mirrors, 0700), 0);
}

static void free_paths(paths *p)
{
    free(p->wrong);
    free(p->open_key);
    free(p->missing);
    free(p->file);
    free(p->prov);
    free(p->prov_open);
    free(p->mirrors);
}

/* Every row of the table: its exit code; an error is one line on stderr
 * naming the tool; a success prints nothing on stderr. */
static void test_conditions(void **state)
{
    sfj_test_fixture *f = *state;
    char bufs[10][4096], prefix[64];
    const char *argv[12];
    paths p;
    size_t i, k;

    build(f, &p);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cli_case *c = &cases[i];
        char *err, *out;
        int rc;

        argv[0] = c->tool;
        for (k = 0; k < 10 && c->args[k] != NULL; k++)
            argv[k + 1] = expand(&p, c->args[k], bufs[k], sizeof bufs[k]);
        argv[k + 1] = NULL;
        rc = run(f, argv);
        err = sfj_test_slurp(f->err);
        out = sfj_test_slurp(f->out);
        if (rc != c->code)
            fail_msg("row %zu: %s %s ... exited %d, expected %d; stderr: %s", i,
                     c->tool, c->args[0] ? c->args[0] : "", rc, c->code, err);
        snprintf(prefix, sizeof prefix, "%s: ", c->tool);
        if (c->code != OK && c->code != NOMATCH) {
            if (count_lines(err) != 1 || strncmp(err, prefix, strlen(prefix)))
                fail_msg("row %zu: %s: stderr is not one line: %s", i, c->tool,
                         err);
            if (strstr(err, "usage:") != NULL || strstr(out, "usage:") != NULL)
                fail_msg("row %zu: %s printed its usage on an error", i,
                         c->tool);
        } else if (c->code == NOMATCH) {
            if (strcmp(err, "sfj-dump: no entries match\n") != 0)
                fail_msg("row %zu: stderr %s", i, err);
        } else if (err[0] != '\0') {
            fail_msg("row %zu: %s succeeded but wrote on stderr: %s", i,
                     c->tool, err);
        }
        free(err);
        free(out);
    }
    free_paths(&p);
}

/* --help (usage on stdout, nothing on stderr), --version (one line,
 * "<tool> <version>") and an unknown option (one line, 64) in every tool. */
static void test_every_tool(void **state)
{
    sfj_test_fixture *f = *state;
    char want[128];
    size_t i;

    for (i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        const char *help[] = {tools[i], "--help", NULL};
        const char *version[] = {tools[i], "--version", NULL};
        const char *bogus[] = {tools[i], "--no-such-option", NULL};
        const char *bogus_short[] = {tools[i], "-Z", NULL};
        char *out, *err;

        assert_int_equal(run(f, help), 0);
        out = sfj_test_slurp(f->out);
        err = sfj_test_slurp(f->err);
        if (strstr(out, "usage:") == NULL || err[0] != '\0')
            fail_msg("%s --help: stdout %s stderr %s", tools[i], out, err);
        free(out);
        free(err);

        assert_int_equal(run(f, version), 0);
        out = sfj_test_slurp(f->out);
        snprintf(want, sizeof want, "%s %s\n", tools[i], sfj_version());
        if (strcmp(out, want) != 0)
            fail_msg("%s --version printed %s", tools[i], out);
        free(out);

        assert_int_equal(run(f, bogus), 64);
        err = sfj_test_slurp(f->err);
        snprintf(want, sizeof want,
                 "%s: unknown option --no-such-option (see --help)\n",
                 tools[i]);
        if (strcmp(err, want) != 0)
            fail_msg("%s --no-such-option: stderr %s", tools[i], err);
        free(err);

        assert_int_equal(run(f, bogus_short), 64);
        err = sfj_test_slurp(f->err);
        snprintf(want, sizeof want, "%s: unknown option -Z (see --help)\n",
                 tools[i]);
        if (strcmp(err, want) != 0)
            fail_msg("%s -Z: stderr %s", tools[i], err);
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_conditions, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_every_tool, sfj_test_setup,
                                        sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
