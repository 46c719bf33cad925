/* A real PostgreSQL server for tests, started by the test itself:
 * initdb into a private temporary directory as an unprivileged user
 * (`postgres` through runuser when the tests run as root), pg_ctl start on
 * a free loopback port with a private socket directory, and a stop that
 * also runs from atexit and from SIGTERM/SIGINT/SIGABRT, so that a failed
 * or killed test leaves no server behind. Built only with libpq. */
#ifndef SFJ_TESTS_PGTEST_H
#define SFJ_TESTS_PGTEST_H

#include <sys/types.h>

#include <stdint.h>

#include <libpq-fe.h>

#include "sfj/journal.h"

typedef struct sfj_test_pg {
    char dir[128];  /* private temporary directory (owned by the server) */
    char data[160]; /* the cluster */
    char log[160];  /* server log */
    int port;
    char url[192]; /* postgresql://sfj@127.0.0.1:PORT/postgres */
    pid_t pm;      /* postmaster, while running */
} sfj_test_pg;

/* Are the server binaries installed? Tests skip when not. */
int sfj_test_pg_available(void);

/* initdb and start; aborts the test on failure. */
void sfj_test_pg_init(sfj_test_pg *pg);
/* A streaming standby of `primary` (pg_basebackup -R) on its own port,
 * started; the primary then waits for it on every commit
 * (synchronous_standby_names = '*', synchronous_commit = on). */
void sfj_test_pg_standby(sfj_test_pg *sb, const sfj_test_pg *primary);
/* Promote a standby to primary (and let it commit alone). */
void sfj_test_pg_promote(sfj_test_pg *pg);
/* Start again after a stop or kill (same port); aborts on failure. */
void sfj_test_pg_start(sfj_test_pg *pg);
/* Stop (fast shutdown), waiting for it. */
void sfj_test_pg_stop(sfj_test_pg *pg);
/* Kill -9 the postmaster (a crash: its backends follow). */
void sfj_test_pg_kill(sfj_test_pg *pg);
/* Stop if running and remove the directory. Safe to call twice. */
void sfj_test_pg_cleanup(sfj_test_pg *pg);

/* A connection to database `db` (NULL: postgres); aborts on failure. */
PGconn *sfj_test_pg_connect(const sfj_test_pg *pg, const char *db);
/* Run `sql` (no result rows expected); aborts the test on failure. */
void sfj_test_pg_exec(PGconn *c, const char *sql);

/* The copy of terminal journal `term` in sfj_entry: its number of rows,
 * lowest and newest seq, read in one statement (0s when there is none). */
void sfj_test_pg_copy_head(const sfj_test_pg *pg, sfj_journal *term,
                           uint64_t *rows, uint64_t *first, uint64_t *last);
/* Rows from..to of `term`'s copy: exactly one per seq, each byte-identical
 * to the terminal's sealed record; fails the test otherwise. Returns the
 * number compared. */
uint64_t sfj_test_pg_copy_equal(const sfj_test_pg *pg, sfj_journal *term,
                                uint64_t from, uint64_t to);
/* The table holds seq 1..terminal head of `term` exactly once, each row
 * byte-identical to the terminal's sealed record, and the head row says
 * the same. Returns the number of entries compared. */
uint64_t sfj_test_pg_table_equal(const sfj_test_pg *pg, sfj_journal *term);

#endif
