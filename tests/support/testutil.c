/* Shared test helpers. */
#define _GNU_SOURCE
#include "support/testutil.h"
#include "support/rawjournal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *sfj_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path;

    if (base == NULL || *base == '\0')
        base = "/tmp";
    path = malloc(strlen(base) + 32);
    if (path == NULL)
        abort();
    sprintf(path, "%s/sfjtest.XXXXXX", base);
    if (mkdtemp(path) == NULL)
        abort();
    return path;
}

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void sfj_test_rmrf(const char *path)
{
    if (path != NULL)
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

sfj_keys *sfj_test_keys(uint8_t seed)
{
    uint8_t master[SFJ_KEY_BYTES];
    sfj_keys *keys = NULL;

    memset(master, seed, sizeof master);
    if (sfj_init() != 0 ||
        sfj_keys_from_bytes(master, sizeof master, &keys) != 0)
        abort();
    return keys;
}

char *sfj_test_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);

    if (p == NULL)
        abort();
    sprintf(p, "%s/%s", dir, name);
    return p;
}

uint8_t *sfj_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

int sfj_test_memmem(const uint8_t *hay, size_t hay_len, const void *needle,
                    size_t needle_len)
{
    return memmem(hay, hay_len, needle, needle_len) != NULL;
}

const char *sfj_test_tool(const char *name)
{
    static char path[4096];
    const char *bin = getenv("SFJ_BIN");

    snprintf(path, sizeof path, "%s/%s", bin ? bin : SFJ_BINARY_DIR "/bin",
             name);
    return path;
}

const char *sfj_test_tool_command(const char *name)
{
    static char cmd[4200];
    const char *emu = getenv("SFJ_TEST_EMULATOR");

    snprintf(cmd, sizeof cmd, "%s%s%s", emu ? emu : "", emu && *emu ? " " : "",
             sfj_test_tool(name));
    return cmd;
}

void sfj_test_execv(const char *path, char *const *argv)
{
    const char *emu = getenv("SFJ_TEST_EMULATOR");
    char *args[66];
    int i;

    if (emu == NULL || *emu == '\0') {
        execv(path, argv);
        return;
    }
    args[0] = (char *)emu;
    args[1] = (char *)path;
    for (i = 1; argv[i] != NULL && i < 64; i++)
        args[i + 1] = argv[i];
    args[i + 1] = NULL;
    execvp(emu, args);
}

void sfj_test_exec_self(char *const *argv, const char *preload)
{
    const char *emu = getenv("SFJ_TEST_EMULATOR");
    const char *set = getenv("QEMU_SET_ENV");
    char self[4096], env[8192];
    ssize_t n;

    if (emu == NULL || *emu == '\0') {
        if (preload != NULL)
            setenv("LD_PRELOAD", preload, 1);
        execv("/proc/self/exe", argv);
        return;
    }
    /* The emulator shows the emulated program as /proc/self/exe. */
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = '\0';
    if (preload != NULL) {
        snprintf(env, sizeof env, "%s%sLD_PRELOAD=%s", set ? set : "",
                 set && *set ? "," : "", preload);
        setenv("QEMU_SET_ENV", env, 1);
    }
    sfj_test_execv(self, argv);
}

int sfj_test_run_toolv(const char *name, const char *out, const char *err,
                       va_list ap)
{
    const char *argv[64];
    char path[4096];
    pid_t pid;
    int n = 1, status = 0, fd;

    argv[0] = name;
    while (n < 63 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    argv[n] = NULL;
    snprintf(path, sizeof path, "%s", sfj_test_tool(name));
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        sfj_test_execv(path, (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        abort();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sfj_test_run_argv(const char *out, const char *err, unsigned timeout_s,
                      const char *const *argv)
{
    char path[4096];
    pid_t pid;
    int status = 0;

    snprintf(path, sizeof path, "%s", sfj_test_tool(argv[0]));
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        if (freopen(out, "w", stdout) == NULL ||
            freopen(err, "w", stderr) == NULL)
            _exit(127);
        alarm(timeout_s);
        sfj_test_execv(path, (char *const *)argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) != pid)
        abort();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int sfj_test_run_tool(const sfj_test_fixture *f, const char *name, ...)
{
    va_list ap;
    int rc;

    va_start(ap, name);
    rc = sfj_test_run_toolv(name, f->out, f->err, ap);
    va_end(ap);
    return rc;
}

char *sfj_test_slurp(const char *path)
{
    size_t len = 0;
    char *s = (char *)sfj_test_read_file(path, &len);

    if (s == NULL)
        abort();
    s[len] = '\0';
    return s;
}

int sfj_test_format1(void)
{
    const char *s = getenv("SFJ_TEST_JOURNAL_FORMAT");

    return s != NULL && strcmp(s, "1") == 0;
}

int sfj_test_setup(void **state)
{
    sfj_test_fixture *f = calloc(1, sizeof *f);

    if (f == NULL || sfj_init() != SFJ_OK)
        abort();
    f->dir = sfj_test_tmpdir();
    f->path = sfj_test_path(f->dir, "j");
    f->keyfile = sfj_test_path(f->dir, "master.key");
    f->out = sfj_test_path(f->dir, "stdout");
    f->err = sfj_test_path(f->dir, "stderr");
    if (sfj_keys_generate_file(f->keyfile) != SFJ_OK ||
        sfj_keys_load_file(f->keyfile, &f->keys) != SFJ_OK ||
        sfj_keys_public_key(f->keys, f->pubkey) != SFJ_OK)
        abort();
    /* The suites run again on journals of the layout earlier versions
     * made (tests/CMakeLists.txt, the _format1 tests). */
    if (sfj_test_format1())
        sfj_test_make_format1(f->path);
    *state = f;
    return 0;
}

int sfj_test_setup_open(void **state)
{
    sfj_test_fixture *f;

    sfj_test_setup(state);
    f = *state;
    return sfj_journal_open(f->path, f->keys, NULL, &f->j) == SFJ_OK ? 0 : -1;
}

int sfj_test_teardown(void **state)
{
    sfj_test_fixture *f = *state;

    sfj_journal_close(f->j);
    sfj_keys_free(f->keys);
    sfj_test_rmrf(f->dir);
    free(f->dir);
    free(f->path);
    free(f->keyfile);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

const char *sfj_test_errname(int rc)
{
    static const char *const names[] = {
        "SFJ_OK",        "SFJ_EINVAL",   "SFJ_ENOMEM", "SFJ_EIO",
        "SFJ_ENOTFOUND", "SFJ_EFULL",    "SFJ_ELIMIT", "SFJ_ECORRUPT",
        "SFJ_EAUTH",     "SFJ_EVERSION", "SFJ_ESTATE", "SFJ_ETIMEDOUT",
        "SFJ_ECLOSED",   "SFJ_ELINK",    "SFJ_EPROTO", "SFJ_EBUFS",
        "SFJ_EPERM",     "SFJ_EEXIST",   "SFJ_EDEAD",  "SFJ_EREJECTED",
    };

    if (rc > 0 || -rc >= (int)(sizeof names / sizeof names[0]))
        return "SFJ_E?";
    return names[-rc];
}

void sfj_test_child_fail(const char *who, int round, unsigned seed,
                         const char *call, sfj_journal *j, int rc, int code)
{
    char line[1024];
    const char *msg = sfj_journal_errmsg(j);
    int n;

    n = snprintf(line, sizeof line,
                 "%s: round %d seed %u: child %d: %s failed: %d %s (%s): "
                 "%s; exit %d\n",
                 who, round, seed, (int)getpid(), call, rc,
                 sfj_test_errname(rc), sfj_strerror(rc),
                 msg != NULL && *msg != '\0' ? msg : "(no detail)", code);
    if (n > 0)
        (void)!write(2, line,
                     (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    _exit(code);
}

void sfj_test_backtrace(int pid)
{
    char p[32];
    pid_t g;
    int st;

    if (access("/usr/bin/gdb", X_OK) != 0)
        return;
    snprintf(p, sizeof p, "%d", pid);
    fprintf(stderr, "backtrace of process %d:\n", pid);
    fflush(stderr);
    g = fork();
    if (g == 0) {
        dup2(2, 1);
        execl("/usr/bin/gdb", "gdb", "-p", p, "-batch", "-nx", "-ex",
              "info threads", "-ex", "thread apply all bt", (char *)NULL);
        _exit(127);
    }
    if (g > 0)
        waitpid(g, &st, 0);
}

const char *sfj_test_status_str(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, cap, "status 0x%x", (unsigned)status);
    return buf;
}

int sfj_test_run_tty(const char *in, const char *out, char *tty, size_t cap,
                     unsigned timeout_s, const char *path,
                     const char *const *argv)
{
    struct pollfd pf;
    size_t got = 0;
    char drop[512];
    ssize_t n;
    pid_t pid;
    int master, status = 0, done = 0;
    char *slave;

    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
        (slave = ptsname(master)) == NULL)
        abort();
    pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        int fd = open(slave, O_RDWR | O_NOCTTY);

        if (fd < 0 || dup2(fd, 2) < 0 ||
            freopen(in != NULL ? in : "/dev/null", "r", stdin) == NULL ||
            freopen(out, "w", stdout) == NULL)
            _exit(127);
        close(master);
        alarm(timeout_s);
        sfj_test_execv(path, (char *const *)argv);
        _exit(127);
    }
    /* Read while it runs: a full terminal would block its writes. */
    pf.fd = master;
    pf.events = POLLIN;
    for (;;) {
        if (!done && waitpid(pid, &status, WNOHANG) == pid)
            done = 1;
        if (poll(&pf, 1, done ? 0 : 50) <= 0) {
            if (done)
                break;
            continue;
        }
        n = got + 1 < cap ? read(master, tty + got, cap - 1 - got)
                          : read(master, drop, sizeof drop);
        if (n <= 0 && (n == 0 || errno != EINTR))
            break; /* EIO: every slave descriptor is closed */
        if (n > 0 && got + 1 < cap)
            got += (size_t)n;
    }
    if (!done && waitpid(pid, &status, 0) != pid)
        abort();
    tty[got] = '\0';
    close(master);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
