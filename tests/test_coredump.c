/* Crash-dump hygiene: a tool that decrypts (sfj-dump --key) is killed with
 * SIGABRT while it holds decrypted records (blocked writing them to a full
 * pipe) and with RLIMIT_CORE raised before exec; no core file may hold the
 * canary payload. A control child that holds the canary itself shows that
 * this machine writes core files where the test can read them; where it
 * does not (core_pattern a pipe or an absolute path, hard limit 0), the
 * test is skipped with the reason printed.
 *
 * A library user that does not turn dumps off (an app) is aborted while
 * it holds hundreds of entries read with sfj_iter_next: its core must not
 * hold their payloads either, as the entries live in memory excluded from
 * core dumps (common/secmem.c). That child is this binary run afresh
 * (--entry-child), so that no copy of the canary from the parent's
 * appends is in its memory; it checks the payloads against a hash.
 *
 * sfj-host is killed the same way while it serves a terminal: its core
 * holds no byte run of the terminal's link key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "support/coretest.h"
#include "support/hosttest.h"
#include "support/stackscan.h"
#include "support/testutil.h"

static const char *self_path;

typedef sfj_test_fixture fixture;

static char canary[48];

static void make_canary(void)
{
    unsigned char r[8];
    size_t i;
    FILE *u = fopen("/dev/urandom", "rb");

    assert_non_null(u);
    assert_int_equal(fread(r, 1, sizeof r, u), sizeof r);
    fclose(u);
    strcpy(canary, "CANARY-SFJ-");
    for (i = 0; i < sizeof r; i++)
        sprintf(canary + strlen(canary), "%02x", r[i]);
}

/* Does any file in `dir` hold the canary? Every file is removed;
 * *cores counts them. */
static int dir_has_canary(const char *dir, int *cores)
{
    return sfj_test_dir_holds(dir, canary, strlen(canary), cores);
}

/* Wait until the pipe holds `want` unread bytes (the writer is blocked). */
static void wait_pipe(int fd, int want)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    int n = 0, i;

    for (i = 0; i < 500; i++) {
        if (ioctl(fd, FIONREAD, &n) == 0 && n >= want)
            return;
        nanosleep(&ts, NULL);
    }
    fail_msg("the child never filled the pipe (%d bytes)", n);
}

/* 600 notes whose payload is the canary: a listing far larger than a pipe
 * holds. */
static void canary_journal(fixture *f)
{
    int i;

    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    for (i = 0; i < 600; i++) {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = SFJ_EV_NOTE;
        ev.payload = canary;
        ev.payload_len = strlen(canary);
        assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    }
    sfj_journal_close(f->j);
    f->j = NULL;
}

/* A new canary and a directory where this machine is shown to write
 * readable core files (skips the test otherwise). */
static char *core_dir(fixture *f)
{
    make_canary();
    return sfj_test_core_dir(f->dir);
}

static void test_no_plaintext_in_core(void **state)
{
    fixture *f = *state;
    char *cwd = core_dir(f);
    int p[2], st, cores = 0;
    pid_t pid;

    canary_journal(f);

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        close(p[0]);
        dup2(p[1], 1);
        dup2(null, 2);
        if (chdir(cwd) != 0)
            _exit(3);
        sfj_test_allow_cores();
        execl(sfj_test_tool("sfj-dump"), "sfj-dump", f->path, "--key",
              f->keyfile, "-p", "text", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    wait_pipe(p[0], 60000);
    kill(pid, SIGABRT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(p[0]);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(dir_has_canary(cwd, &cores), 0);
    /* It turned core dumps off for itself. */
    assert_false(WCOREDUMP(st));
    assert_int_equal(cores, 0);
    rmdir(cwd);
    free(cwd);
}

/* sfj-host keeps every provisioned link key and each live session's keys
 * in memory excluded from core dumps, and wipes the stack its key uses
 * leave behind. Killed with SIGABRT (core dumps allowed) while a
 * terminal's session is live, it leaves a core that holds no 8 bytes of
 * that terminal's link key. (test_host_pg does the same with the
 * PostgreSQL store and its host key.) */
static void test_no_link_key_in_host_core(void **state)
{
    fixture *f = *state;
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    sfj_test_host h;
    char *cwd, *hostdir, *core;
    uint8_t link[SFJ_KEY_BYTES];

    cwd = sfj_test_host_core_dir(f->dir);
    hostdir = sfj_test_path(f->dir, "host");
    assert_int_equal(mkdir(hostdir, 0700), 0);
    sfj_test_host_init(&h, hostdir);
    jo.terminal_id = "T-CORE";
    assert_int_equal(sfj_journal_open(f->path, f->keys, &jo, &f->j), SFJ_OK);
    sfj_test_provision(h.prov, f->j, f->keys, jo.terminal_id);
    core = sfj_test_host_abort_core(&h, cwd, f->j, 20);
    assert_int_equal(sfj_keys_link_key(f->keys, link), 0);
    assert_false(sfj_test_file_has_window(core, link, sizeof link));
    sodium_memzero(link, sizeof link);
    unlink(core);
    free(core);
    sfj_test_host_done(&h);
    rmdir(cwd);
    free(cwd);
    free(hostdir);
}

/* The app: read every entry and keep them, check their payloads by hash,
 * then abort with core dumps allowed. Exit codes name what went wrong. */
static int entry_child(const char *dir, const char *keyfile, const char *hex)
{
    uint8_t want[32], got[32];
    sfj_entry *held[1000];
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_iter *it = NULL;
    size_t n = 0, bin = 0;

    if (sodium_hex2bin(want, sizeof want, hex, strlen(hex), NULL, &bin, NULL) !=
            0 ||
        bin != sizeof want)
        return 40;
    o.flags = SFJ_OPEN_RDONLY;
    if (sfj_keys_load_file(keyfile, &keys) != SFJ_OK ||
        sfj_journal_open(dir, keys, &o, &j) != SFJ_OK ||
        sfj_iter_open(j, NULL, &it) != SFJ_OK)
        return 41;
    while (n < 1000 && sfj_iter_next(it, &held[n]) == SFJ_OK) {
        if (held[n]->kind != SFJ_EV_NOTE) {
            sfj_entry_free(held[n]);
            continue;
        }
        crypto_generichash(got, sizeof got, held[n]->payload,
                           held[n]->payload_len, NULL, 0);
        if (memcmp(got, want, sizeof got) != 0)
            return 42;
        n++;
    }
    if (n < 500)
        return 43;
    sfj_test_allow_cores();
    abort();
}

static void test_entries_not_in_app_core(void **state)
{
    fixture *f = *state;
    const char *why = sfj_test_cores_unusable();
    uint8_t h[32];
    char hex[65], *cwd;
    int st, cores = 0;
    pid_t pid;

#if defined(__SANITIZE_ADDRESS__)
    why = "AddressSanitizer build: entries come from malloc there";
#endif
    if (why != NULL) {
        printf("SKIPPED: %s\n", why);
        skip();
    }
    make_canary();
    cwd = sfj_test_path(f->dir, "cwd");
    assert_int_equal(mkdir(cwd, 0700), 0);
    canary_journal(f);
    crypto_generichash(h, sizeof h, (const uint8_t *)canary, strlen(canary),
                       NULL, 0);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(cwd) != 0)
            _exit(3);
        execl(self_path, self_path, "--entry-child", f->path, f->keyfile, hex,
              (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st))
        fail_msg("the app child exited with %d", WEXITSTATUS(st));
    if (!WCOREDUMP(st)) {
        printf("SKIPPED: the app child left no core file\n");
        free(cwd);
        skip();
    }
    /* It dumped core, and its entries were not in it. */
    assert_int_equal(dir_has_canary(cwd, &cores), 0);
    assert_true(cores >= 1);
    rmdir(cwd);
    free(cwd);
}

/* An app's thread that appended or read an entry holds none of its
 * payload on its stack afterwards, nor in the registers a signal would
 * save there: what a core dump of a live app would show of its past
 * entries (support/stackscan.h). The main thread never loads a payload
 * byte. */
typedef struct stack_app {
    fixture *f;
    uint8_t payload[200];
    uint64_t seq;
    int read, rc;
    const uint8_t *stack;
    size_t len, windows;
} stack_app;

static void *open_with_payload(void *arg)
{
    stack_app *a = arg;
    size_t i;

    for (i = 0; i < sizeof a->payload; i++)
        a->payload[i] = (uint8_t)('A' + randombytes_uniform(26));
    a->rc = sfj_journal_open(a->f->path, a->f->keys, NULL, &a->f->j);
    return NULL;
}

static void *append_or_read(void *arg)
{
    stack_app *a = arg;
    sfj_entry *e = NULL;
    sfj_event ev;

    if (!a->read) {
        memset(&ev, 0, sizeof ev);
        ev.version = SFJ_EVENT_VERSION;
        ev.kind = SFJ_EV_NOTE;
        ev.payload = a->payload;
        ev.payload_len = sizeof a->payload;
        a->rc = sfj_append(a->f->j, &ev, &a->seq);
        return NULL;
    }
    a->rc = sfj_read(a->f->j, a->seq, &e);
    if (a->rc == SFJ_OK &&
        (e->payload_len != sizeof a->payload ||
         memcmp(e->payload, a->payload, sizeof a->payload) != 0))
        a->rc = SFJ_ECORRUPT;
    sfj_entry_free(e);
    return NULL;
}

static void *scan_payload(void *arg)
{
    stack_app *a = arg;

    a->windows =
        sfj_test_windows(a->stack, a->len, a->payload, sizeof a->payload);
    return NULL;
}

static void test_no_payload_left_on_stack(void **state)
{
    fixture *f = *state;
    size_t len = 256 * 1024, found = 0;
    uint8_t *stack = aligned_alloc(4096, len);
    stack_app *a = calloc(1, sizeof *a);
    int round;

    assert_non_null(stack);
    assert_non_null(a);
    a->f = f;
    a->stack = stack;
    a->len = len;
    assert_int_equal(sfj_test_on_thread(open_with_payload, a), 0);
    assert_int_equal(a->rc, SFJ_OK);
    /* Each twice: the first without a signal (a first call through the
     * PLT saves the registers itself), the second with one. */
    for (round = 0; round < 4; round++) {
        a->read = round >= 2;
        assert_int_equal(
            sfj_test_on_stack(stack, len, append_or_read, a, round % 2), 0);
        assert_int_equal(a->rc, SFJ_OK);
        assert_int_equal(sfj_test_on_thread(scan_payload, a), 0);
        if (a->windows != 0)
            print_message("%s, %s: %zu windows of the payload\n",
                          a->read ? "sfj_read" : "sfj_append",
                          round % 2 ? "signal" : "no signal", a->windows);
        found += a->windows;
    }
    assert_int_equal(found, 0);
    free(a);
    free(stack);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        /* First: the process's first append and read resolve their
         * calls through the PLT then. */
        cmocka_unit_test_setup_teardown(test_no_payload_left_on_stack,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_plaintext_in_core,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_entries_not_in_app_core,
                                        sfj_test_setup, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_no_link_key_in_host_core,
                                        sfj_test_setup, sfj_test_teardown),
    };

    if (argc == 5 && strcmp(argv[1], "--entry-child") == 0)
        return entry_child(argv[2], argv[3], argv[4]);
    {
        static char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

        exe[n > 0 ? n : 0] = '\0';
        self_path = exe;
    }

    return cmocka_run_group_tests(tests, NULL, NULL);
}
