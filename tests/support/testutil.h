/* Shared test helpers (linked into every test through sfj_testing). */
#ifndef SFJ_TESTS_TESTUTIL_H
#define SFJ_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "sfj/sfj.h"

/* The fixture most suites share: a private directory with a key file and
 * room for a journal and a tool's output. */
typedef struct sfj_test_fixture {
    char *dir;     /* private temp dir, removed by teardown */
    char *path;    /* dir/j: where the journal goes */
    char *keyfile; /* dir/master.key, written with mode 0600 */
    char *out;     /* dir/stdout and dir/stderr for tool runs */
    char *err;
    sfj_keys *keys;                   /* loaded from keyfile */
    uint8_t pubkey[SFJ_PUBKEY_BYTES]; /* the keys' checkpoint key */
    sfj_journal *j;                   /* NULL, or a journal teardown closes */
} sfj_test_fixture;

/* Whether this run's fixtures make journals of format 1: the
 * environment's SFJ_TEST_JOURNAL_FORMAT=1. */
int sfj_test_format1(void);

/* cmocka setup: the fixture without a journal. When sfj_test_format1(),
 * the journal made at `path` is of format 1 (sfj_test_make_format1). */
int sfj_test_setup(void **state);
/* cmocka setup: the fixture with the journal at `path` open (no options). */
int sfj_test_setup_open(void **state);
/* cmocka teardown for both: closes the journal, removes the directory. */
int sfj_test_teardown(void **state);

/* A fresh private directory under $TMPDIR (or /tmp); aborts on failure.
 * The caller frees the string after sfj_test_rmrf. */
char *sfj_test_tmpdir(void);

/* Remove a directory tree (best effort). */
void sfj_test_rmrf(const char *path);

/* A key set whose master key is 32 bytes of `seed`; aborts on failure. */
sfj_keys *sfj_test_keys(uint8_t seed);

/* Join dir and name into a malloc'd path. */
char *sfj_test_path(const char *dir, const char *name);

/* Read a whole file into a malloc'd buffer; NULL on failure. */
uint8_t *sfj_test_read_file(const char *path, size_t *len);

/* Does `hay` contain `needle`? */
int sfj_test_memmem(const uint8_t *hay, size_t hay_len, const void *needle,
                    size_t needle_len);

/* Path of a built tool (e.g. "sfj-dump"): $SFJ_BIN/name. Static buffer. */
const char *sfj_test_tool(const char *name);
/* The same tool as a shell command's first words: under an emulator
 * (SFJ_TEST_EMULATOR) the emulator, then the path. */
const char *sfj_test_tool_command(const char *name);

/* execv(path, argv), or under an emulator (SFJ_TEST_EMULATOR names it,
 * as tests/cross/emulated-toolchain.cmake sets) the emulator running `path`:
 * a test's program of another processor cannot be run by the kernel.
 * Returns only on failure. */
void sfj_test_execv(const char *path, char *const *argv);

/* Exec this test program again with `argv`, with `preload` (or nothing)
 * in LD_PRELOAD; returns only on failure. Under an emulator
 * (SFJ_TEST_EMULATOR names it, as tests/cross/emulated-toolchain.cmake
 * sets), the emulator runs the program and the preload goes to the
 * emulated program alone, through QEMU_SET_ENV. */
void sfj_test_exec_self(char *const *argv, const char *preload);

/* Run built tool `name` with the NULL-terminated arguments in `ap`, its
 * stdout and stderr written to the files `out` and `err`. Returns its exit
 * code, or 128 + signal if a signal ended it. */
int sfj_test_run_toolv(const char *name, const char *out, const char *err,
                       va_list ap);

/* Run built tool `argv[0]` with the NULL-terminated `argv`, its stdout
 * and stderr into the files `out` and `err`, ended by SIGALRM after
 * `timeout_s` seconds (a tool that wrongly starts serving fails the test
 * instead of hanging it). Its exit code, or 128 + signal. */
int sfj_test_run_argv(const char *out, const char *err, unsigned timeout_s,
                      const char *const *argv);

/* Run the program at `path` with the NULL-terminated `argv`, stdin from
 * the file `in` (NULL: /dev/null), stdout into the file `out`, and
 * stderr on a pseudo-terminal: what the terminal showed is copied into
 * `tty` (NUL-terminated, at most cap - 1 bytes). Ended by SIGALRM after
 * `timeout_s` seconds. Its exit code, or 128 + signal. */
int sfj_test_run_tty(const char *in, const char *out, char *tty, size_t cap,
                     unsigned timeout_s, const char *path,
                     const char *const *argv);

/* sfj_test_run_toolv with the fixture's out and err files and the
 * NULL-terminated arguments after `name`. */
int sfj_test_run_tool(const sfj_test_fixture *f, const char *name, ...);

/* A whole file as a NUL-terminated string (the caller frees); aborts the
 * test if the file cannot be read. */
char *sfj_test_slurp(const char *path);

/* The name of an SFJ_E* code ("SFJ_EIO"), or "SFJ_E?" for an unknown one. */
const char *sfj_test_errname(int rc);

/* For crash-harness children: write one line to stderr naming the harness,
 * round and seed, the failing call, its SFJ_E* code and text and
 * sfj_journal_errmsg(j) (j may be NULL: the thread's last failed open),
 * then _exit(code). A child that exits by itself must say why. */
void sfj_test_child_fail(const char *who, int round, unsigned seed,
                         const char *call, sfj_journal *j, int rc, int code)
    __attribute__((noreturn));

/* Write every thread's backtrace of process `pid` to stderr with gdb, if
 * gdb is installed (best effort, bounded by gdb's batch mode). */
void sfj_test_backtrace(int pid);

/* Describe a wait status ("exit 4", "signal 9") into buf. */
const char *sfj_test_status_str(int status, char *buf, size_t cap);

#endif
