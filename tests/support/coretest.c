/* Core files for tests; see coretest.h. */
#include "support/coretest.h"

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "sfj/forwarder.h"
#include "support/testutil.h"

const char *sfj_test_cores_unusable(void)
{
    static char why[256];
    struct rlimit rl;
    char pat[256] = "";
    FILE *p = fopen("/proc/sys/kernel/core_pattern", "r");

    if (p == NULL)
        return "no /proc/sys/kernel/core_pattern";
    if (fgets(pat, sizeof pat, p) == NULL)
        pat[0] = '\0';
    fclose(p);
    pat[strcspn(pat, "\n")] = '\0';
    if (pat[0] == '|' || strchr(pat, '/') != NULL || pat[0] == '\0') {
        snprintf(why, sizeof why,
                 "core_pattern \"%.100s\" is not a file in "
                 "the crashing process's directory",
                 pat);
        return why;
    }
    if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_max == 0)
        return "the hard RLIMIT_CORE is 0";
    return NULL;
}

void sfj_test_allow_cores(void)
{
    struct rlimit rl;

    getrlimit(RLIMIT_CORE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_CORE, &rl);
}

int sfj_test_dir_holds(const char *dir, const void *needle, size_t len,
                       int *files)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;

    *files = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char *path;
        uint8_t *buf;
        size_t n = 0;

        if (de->d_name[0] == '.')
            continue;
        path = sfj_test_path(dir, de->d_name);
        buf = sfj_test_read_file(path, &n);
        if (buf != NULL) {
            (*files)++;
            found |= sfj_test_memmem(buf, n, needle, len);
            free(buf);
        }
        unlink(path);
        free(path);
    }
    closedir(d);
    return found;
}

int sfj_test_file_has_window(const char *path, const uint8_t *key, size_t len)
{
    size_t n = 0, i;
    uint8_t *b = sfj_test_read_file(path, &n);
    int found = 0;

    assert_non_null(b);
    for (i = 0; i + 8 <= len; i++)
        found |= sfj_test_memmem(b, n, key + i, 8);
    free(b);
    return found;
}

char *sfj_test_core_dir(const char *parent)
{
    const char *why = sfj_test_cores_unusable();
    char canary[40], *cwd;
    unsigned char r[8];
    int st, files = 0;
    size_t i;
    pid_t pid;

    if (why != NULL) {
        printf("SKIPPED: %s\n", why);
        skip();
    }
    randombytes_buf(r, sizeof r);
    strcpy(canary, "CORE-CANARY-");
    for (i = 0; i < sizeof r; i++)
        sprintf(canary + strlen(canary), "%02x", r[i]);
    cwd = sfj_test_path(parent, "cwd");
    assert_int_equal(mkdir(cwd, 0700), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        volatile char held[sizeof canary];

        memcpy((char *)held, canary, sizeof canary);
        if (chdir(cwd) != 0)
            _exit(3);
        sfj_test_allow_cores();
        /* Not the parent's handler (pgtest.c stops its server on
         * SIGABRT): the default action, which writes the core. */
        signal(SIGABRT, SIG_DFL);
        abort();
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st) || !WCOREDUMP(st) ||
        !sfj_test_dir_holds(cwd, canary, strlen(canary), &files)) {
        printf("SKIPPED: this machine wrote no readable core file for a "
               "crashing child (%d files)\n",
               files);
        rmdir(cwd);
        free(cwd);
        skip();
    }
    return cwd;
}

char *sfj_test_host_core_dir(const char *parent)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)parent;
    printf("SKIPPED: AddressSanitizer build: its runtime writes no core\n");
    skip();
    return NULL;
#else
    return sfj_test_core_dir(parent);
#endif
}

char *sfj_test_host_abort_core(sfj_test_host *h, const char *cwd,
                               sfj_journal *j, int n)
{
    sfj_forwarder *fw = NULL;
    sfj_forwarder_opts o;
    sfj_test_status st;
    char addr[64];
    int status;

    h->core_dir = cwd;
    sfj_test_host_start(h);
    h->core_dir = NULL;
    sfj_test_append(j, n);
    sfj_test_status_init(&st);
    o = sfj_test_tcp_opts(addr, sizeof addr, h->port, &st);
    assert_int_equal(sfj_forwarder_new(j, &o, &fw), 0);
    assert_int_equal(sfj_forwarder_flush(fw, 30000), 0);
    kill(h->pid, SIGABRT);
    assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
    h->pid = 0;
    sfj_forwarder_free(fw);
    sfj_test_status_destroy(&st);
    assert_true(WIFSIGNALED(status) && WCOREDUMP(status));
    return sfj_test_path(cwd, "core");
}
