/* Core files for tests: whether this machine writes them where a test can
 * read them, a directory a control child proved it in, and sfj-host
 * aborted with core dumps allowed while it serves a terminal. */
#ifndef SFJ_TESTS_CORETEST_H
#define SFJ_TESTS_CORETEST_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/sfj.h"
#include "support/hosttest.h"

/* Why core files cannot be examined here, or NULL: core_pattern must name
 * a file in the crashing process's directory, and the hard RLIMIT_CORE
 * must not be 0. */
const char *sfj_test_cores_unusable(void);

/* Raise this process's core limit to its hard limit (children inherit). */
void sfj_test_allow_cores(void);

/* Does any file in `dir` hold `needle`? Every file is removed once read;
 * *files counts them. */
int sfj_test_dir_holds(const char *dir, const void *needle, size_t len,
                       int *files);

/* Does the file at `path` hold any 8 bytes in a row of `key`? */
int sfj_test_file_has_window(const char *path, const uint8_t *key, size_t len);

/* A new empty directory `parent`/cwd (malloc'd) in which a crashing child
 * that held a random canary left it in its core file. Skips the test
 * where this machine writes no such core. */
char *sfj_test_core_dir(const char *parent);

/* As sfj_test_core_dir, for a core of sfj-host: skips the test in
 * AddressSanitizer builds too, whose runtime turns the host's core dumps
 * off (disable_coredump). */
char *sfj_test_host_core_dir(const char *parent);

/* Start `h` in `cwd` with core dumps allowed, deliver `n` new entries of
 * `j` to it through a forwarder (acknowledged: the session is live), then
 * kill it with SIGABRT. Returns the path of its core file (malloc'd);
 * fails the test when it wrote none. */
char *sfj_test_host_abort_core(sfj_test_host *h, const char *cwd,
                               sfj_journal *j, int n);

#endif
