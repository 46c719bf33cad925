/* A real PostgreSQL server for tests: see pgtest.h. */
#ifdef SFJ_HAVE_LIBPQ
#define _GNU_SOURCE
#include "support/pgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/testutil.h"

#define PG_BIN   "/usr/lib/postgresql/15/bin"
#define PG_MAX   8
#define PG_OWNER "postgres"

/* Every server this process started, for the atexit and signal paths. */
static sfj_test_pg *g_started[PG_MAX];
static int g_hooked;

static void kill_all(void)
{
    int i;

    for (i = 0; i < PG_MAX; i++) {
        if (g_started[i] != NULL && g_started[i]->pm > 0)
            kill(g_started[i]->pm, SIGQUIT); /* immediate shutdown */
    }
}

/* At exit (also after a failed group setup, which cmocka does not tear
 * down): stop and remove whatever is left. */
static void cleanup_all(void)
{
    int i;

    for (i = 0; i < PG_MAX; i++) {
        if (g_started[i] != NULL)
            sfj_test_pg_cleanup(g_started[i]);
    }
}

static void on_fatal(int sig)
{
    kill_all(); /* kill(2) is async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void hook(sfj_test_pg *pg)
{
    int i;

    if (!g_hooked) {
        g_hooked = 1;
        atexit(cleanup_all);
        signal(SIGTERM, on_fatal);
        signal(SIGINT, on_fatal);
        signal(SIGABRT, on_fatal);
    }
    for (i = 0; i < PG_MAX; i++) {
        if (g_started[i] == pg)
            return;
    }
    for (i = 0; i < PG_MAX; i++) {
        if (g_started[i] == NULL) {
            g_started[i] = pg;
            return;
        }
    }
}

int sfj_test_pg_available(void)
{
    return access(PG_BIN "/initdb", X_OK) == 0 &&
           access(PG_BIN "/pg_ctl", X_OK) == 0;
}

/* Run a server binary, as PG_OWNER when we are root; its output goes to
 * the server log. Returns the exit status. */
static int run_pg(sfj_test_pg *pg, const char *tool, ...)
{
    const char *argv[32];
    char path[128], path2[160];
    va_list ap;
    int argc = 0, status = 0, fd;
    pid_t pid;

    snprintf(path, sizeof path, PG_BIN "/%s", tool);
    if (geteuid() == 0) {
        argv[argc++] = "runuser";
        argv[argc++] = "-u";
        argv[argc++] = PG_OWNER;
        argv[argc++] = "--";
    }
    argv[argc++] = path;
    va_start(ap, tool);
    while (argc < 31 && (argv[argc] = va_arg(ap, const char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    snprintf(path2, sizeof path2, "%s/tools.log", pg->dir);
    pid = fork();
    if (pid == 0) {
        /* Not the server log: pg_ctl writes that one as its owner. */
        fd = open(path2, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static pid_t read_pm(const sfj_test_pg *pg)
{
    char path[200], line[32] = "";
    FILE *f;

    snprintf(path, sizeof path, "%s/postmaster.pid", pg->data);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof line, f) == NULL)
        line[0] = '\0';
    fclose(f);
    return (pid_t)atoi(line);
}

static void make_dir(sfj_test_pg *pg)
{
    const char *tmp = getenv("TMPDIR");
    struct passwd *pw = geteuid() == 0 ? getpwnam(PG_OWNER) : NULL;
    int keep_port = pg->port; /* a server rebuilt keeps its port */

    memset(pg, 0, sizeof *pg);
    snprintf(pg->dir, sizeof pg->dir, "%s/sfj-pg-XXXXXX",
             tmp != NULL && strlen(tmp) < 80 ? tmp : "/tmp");
    assert_non_null(mkdtemp(pg->dir));
    snprintf(pg->data, sizeof pg->data, "%s/data", pg->dir);
    snprintf(pg->log, sizeof pg->log, "%s/server.log", pg->dir);
    if (geteuid() == 0) {
        if (pw == NULL) {
            fprintf(stderr, "no user %s to run PostgreSQL as\n", PG_OWNER);
            fail();
        }
        assert_int_equal(chown(pg->dir, pw->pw_uid, pw->pw_gid), 0);
    }
    pg->port = keep_port > 0 ? keep_port : free_port();
    assert_true(pg->port > 0);
    snprintf(pg->url, sizeof pg->url,
             "postgresql://sfj@127.0.0.1:%d/postgres?connect_timeout=5",
             pg->port);
    hook(pg);
}

void sfj_test_pg_init(sfj_test_pg *pg)
{
    make_dir(pg);
    if (run_pg(pg, "initdb", "-D", pg->data, "-A", "trust", "-U", "sfj", "-E",
               "UTF8", "--no-sync", "--no-instructions", NULL) != 0) {
        fprintf(stderr, "initdb failed; log %s\n", pg->log);
        fail();
    }
    sfj_test_pg_start(pg);
}

void sfj_test_pg_start(sfj_test_pg *pg)
{
    char o[256];
    int i, rc = -1;

    snprintf(o, sizeof o,
             "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on "
             "-c max_connections=60 -c shared_buffers=16MB",
             pg->port, pg->dir);
    /* After a kill -9 the old backends may hold the shared memory for a
     * moment: retry. */
    for (i = 0; i < 20 && rc != 0; i++) {
        rc = run_pg(pg, "pg_ctl", "-D", pg->data, "-l", pg->log, "-o", o, "-w",
                    "-t", "60", "start", NULL);
        if (rc != 0)
            usleep(250000);
    }
    if (rc != 0) {
        fprintf(stderr, "pg_ctl start failed; log %s\n", pg->log);
        fail();
    }
    pg->pm = read_pm(pg);
    assert_true(pg->pm > 0);
}

void sfj_test_pg_stop(sfj_test_pg *pg)
{
    if (pg->pm <= 0)
        return;
    run_pg(pg, "pg_ctl", "-D", pg->data, "-m", "fast", "-w", "-t", "60", "stop",
           NULL);
    pg->pm = 0;
}

void sfj_test_pg_kill(sfj_test_pg *pg)
{
    int i;

    if (pg->pm <= 0)
        return;
    kill(pg->pm, SIGKILL);
    /* The postmaster is not our child: wait until it is gone. */
    for (i = 0; i < 200 && kill(pg->pm, 0) == 0; i++)
        usleep(10000);
    pg->pm = 0;
}

void sfj_test_pg_cleanup(sfj_test_pg *pg)
{
    int i;

    if (pg->dir[0] == '\0')
        return;
    if (pg->pm > 0) {
        run_pg(pg, "pg_ctl", "-D", pg->data, "-m", "immediate", "-w", "-t",
               "30", "stop", NULL);
        pg->pm = 0;
    }
    for (i = 0; i < PG_MAX; i++) {
        if (g_started[i] == pg)
            g_started[i] = NULL;
    }
    if (getenv("SFJ_TEST_KEEP") == NULL)
        sfj_test_rmrf(pg->dir);
    pg->dir[0] = '\0';
}

PGconn *sfj_test_pg_connect(const sfj_test_pg *pg, const char *db)
{
    char ci[256];
    PGconn *c;

    snprintf(ci, sizeof ci,
             "host=127.0.0.1 port=%d user=sfj dbname=%s connect_timeout=5",
             pg->port, db != NULL ? db : "postgres");
    c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        fail();
    }
    return c;
}

void sfj_test_pg_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        fail();
    }
    PQclear(r);
}
void sfj_test_pg_standby(sfj_test_pg *sb, const sfj_test_pg *primary)
{
    char port[16];
    PGconn *c;

    make_dir(sb);
    snprintf(port, sizeof port, "%d", primary->port);
    if (run_pg(sb, "pg_basebackup", "-h", "127.0.0.1", "-p", port, "-U", "sfj",
               "-D", sb->data, "-R", "-X", "stream", "-c", "fast", "--no-sync",
               NULL) != 0) {
        fprintf(stderr, "pg_basebackup failed; log %s/tools.log\n", sb->dir);
        fail();
    }
    sfj_test_pg_start(sb);
    /* Commits on the primary now wait for this standby's flush. */
    c = sfj_test_pg_connect(primary, NULL);
    sfj_test_pg_exec(c, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    sfj_test_pg_exec(c, "ALTER SYSTEM SET synchronous_commit = on");
    sfj_test_pg_exec(c, "SELECT pg_reload_conf()");
    PQfinish(c);
}

void sfj_test_pg_promote(sfj_test_pg *pg)
{
    PGconn *c;

    if (run_pg(pg, "pg_ctl", "-D", pg->data, "-w", "-t", "60", "promote",
               NULL) != 0) {
        fprintf(stderr, "pg_ctl promote failed; log %s\n", pg->log);
        fail();
    }
    /* A promoted standby alone must not wait for a standby it lacks. */
    c = sfj_test_pg_connect(pg, NULL);
    sfj_test_pg_exec(c, "ALTER SYSTEM SET synchronous_standby_names = ''");
    sfj_test_pg_exec(c, "SELECT pg_reload_conf()");
    PQfinish(c);
}
#else
typedef int sfj_test_pg_unused; /* built without libpq */
#endif
