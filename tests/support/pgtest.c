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

#include "sfj/sys/internal.h"
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

static void jid_hex(sfj_journal *j, char out[33])
{
    uint8_t jid[16];
    int i;

    assert_int_equal(sfj_journal_id(j, jid), 0);
    for (i = 0; i < 16; i++)
        sprintf(out + 2 * i, "%02x", jid[i]);
}

void sfj_test_pg_copy_head(const sfj_test_pg *pg, sfj_journal *term,
                           uint64_t *rows, uint64_t *first, uint64_t *last)
{
    PGconn *c = sfj_test_pg_connect(pg, NULL);
    char hj[33], sql[200];
    PGresult *r;

    jid_hex(term, hj);
    snprintf(sql, sizeof sql,
             "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) "
             "FROM sfj_entry WHERE journal_id = '\\x%s'",
             hj);
    r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    *rows = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    *first = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
    *last = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    PQfinish(c);
}

uint64_t sfj_test_pg_copy_equal(const sfj_test_pg *pg, sfj_journal *term,
                                uint64_t from, uint64_t to)
{
    PGconn *c;
    uint8_t *rec = NULL;
    char hj[33], sql[320];
    uint64_t seq;
    size_t len;
    PGresult *r;
    int i;

    if (from > to)
        return 0;
    c = sfj_test_pg_connect(pg, NULL);
    jid_hex(term, hj);
    /* count(*) per (journal, seq): the primary key keeps it at one. */
    snprintf(sql, sizeof sql,
             "SELECT seq, rec, (SELECT count(*) FROM sfj_entry WHERE "
             "journal_id = e.journal_id AND seq = e.seq) FROM sfj_entry e "
             "WHERE journal_id = '\\x%s' AND seq BETWEEN %llu AND %llu "
             "ORDER BY seq",
             hj, (unsigned long long)from, (unsigned long long)to);
    r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal((uint64_t)PQntuples(r), to - from + 1);
    for (i = 0; i < PQntuples(r); i++) {
        seq = from + (uint64_t)i;
        assert_int_equal((uint8_t)PQgetvalue(r, i, 0)[7], seq & 0xff);
        assert_int_equal(sfj__journal_read_sealed(term, seq, &rec, &len), 0);
        assert_int_equal((size_t)PQgetlength(r, i, 1), len);
        assert_memory_equal(PQgetvalue(r, i, 1), rec, len);
        assert_int_equal(PQgetvalue(r, i, 2)[7], 1);
        free(rec);
    }
    PQclear(r);
    PQfinish(c);
    return to - from + 1;
}

uint64_t sfj_test_pg_table_equal(const sfj_test_pg *pg, sfj_journal *term)
{
    PGconn *c;
    uint8_t chain[32];
    char hj[33], sql[256];
    uint64_t last = 0, rows = 0, first = 0, max = 0;
    PGresult *r;

    assert_int_equal(sfj__journal_head(term, &last, chain), 0);
    sfj_test_pg_copy_head(pg, term, &rows, &first, &max);
    assert_int_equal(rows, last);
    assert_int_equal(max, last);
    sfj_test_pg_copy_equal(pg, term, 1, last);
    c = sfj_test_pg_connect(pg, NULL);
    jid_hex(term, hj);
    snprintf(sql, sizeof sql,
             "SELECT seq, chain FROM sfj_head WHERE journal_id = '\\x%s'", hj);
    r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQntuples(r), 1);
    assert_int_equal((uint8_t)PQgetvalue(r, 0, 0)[7], last & 0xff);
    assert_memory_equal(PQgetvalue(r, 0, 1), chain, 32);
    PQclear(r);
    PQfinish(c);
    return last;
}
#else
typedef int sfj_test_pg_unused; /* built without libpq */
#endif
