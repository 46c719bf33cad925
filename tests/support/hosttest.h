/* Helpers for tests that run sfj-host: provisioning lines, starting and
 * stopping the host, appending entries, comparing a mirror with its
 * terminal journal. */
#ifndef SFJ_TESTS_HOSTTEST_H
#define SFJ_TESTS_HOSTTEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sfj/forwarder.h"
#include "sfj/sfj.h"

typedef struct sfj_test_host {
    pid_t pid;
    int port;
    char *dir;            /* mirrors (NULL: a --store given in extra) */
    char *prov;           /* provisioning file (NULL: none given) */
    char *log;            /* stderr of the host */
    char extra[256];      /* e.g. "--serial /dev/pts/3" (space separated) */
    int metrics_port;     /* bound port of "--metrics 127.0.0.1:0" in extra */
    const char *core_dir; /* non-NULL: the host runs there, core dumps
                             allowed up to the hard limit */
} sfj_test_host;

/* Append the provisioning line of journal `j` (key set `keys`, terminal
 * id `tid`) to file `path` (created 0600), built from sfj_keys_link_key and
 * sfj_keys_public_key. */
void sfj_test_provision(const char *path, sfj_journal *j, const sfj_keys *keys,
                        const char *tid);

/* Start sfj-host on 127.0.0.1:h->port (0 = any; the bound port is stored
 * back) unless h->port < 0 (serial only). Aborts the test on failure. */
void sfj_test_host_start(sfj_test_host *h);

/* The usual files of a host under `dir`: mirrors/, terminals.conf,
 * host.log (malloc'd; sfj_test_host_done stops the host and frees
 * them). */
void sfj_test_host_init(sfj_test_host *h, const char *dir);
void sfj_test_host_done(sfj_test_host *h);

/* Stop with `sig` (sent again each second, for at most 60 s); for SIGTERM
 * the exit status must be 0. */
void sfj_test_host_stop(sfj_test_host *h, int sig);

/* Append `n` NOTE entries (from 8 threads when n >= 1000); the first
 * error fails the test. Call it from the test's own thread only: cmocka
 * keeps its failure state per thread, so an assertion that fails on any
 * other thread ends the whole binary with exit status 255 and its message
 * unprinted. */
void sfj_test_append(sfj_journal *j, int n);

/* The same without any cmocka call, for appender threads and forked
 * children: 0, or the first error (told on stderr), which the test's own
 * thread then asserts on. */
int sfj_test_append_rc(sfj_journal *j, int n);

/* The newest seq of `term`'s mirror under `host_dir` (0: no mirror yet),
 * read-only. */
uint64_t sfj_test_mirror_head(const char *host_dir, sfj_journal *term);

/* Open the mirror of `term` under `host_dir` and check it holds every
 * seq 1..terminal head exactly once, byte for byte. Returns the number of
 * entries compared; fails the test otherwise. */
uint64_t sfj_test_mirror_equal(const char *host_dir, sfj_journal *term,
                               const sfj_keys *keys);

/* Forwarder status events counted from the forwarder's thread; read
 * them with sfj_test_counted. */
typedef struct sfj_test_status {
    pthread_mutex_t lock;
    int online, offline, errors, auth_errors, rejected, version_errors;
    int refused; /* SFJ_FWD_REFUSED: a refusal for good (also counted in
                  * rejected when its error is SFJ_EREJECTED) */
    char last_error[300];  /* detail of the last SFJ_FWD_ERROR */
    char last_online[300]; /* detail of the last SFJ_FWD_ONLINE */
} sfj_test_status;

void sfj_test_status_init(sfj_test_status *s);
void sfj_test_status_destroy(sfj_test_status *s);
/* sfj_forwarder_opts.status with an sfj_test_status as payload. */
void sfj_test_on_status(const sfj_forwarder_status *st, void *payload);
int sfj_test_counted(sfj_test_status *s, const int *counter);

/* Forwarder options for loopback TCP to 127.0.0.1:`port` (address
 * written into `addr`), short backoffs and timeouts for tests, status
 * events counted into `st`. */
sfj_forwarder_opts sfj_test_tcp_opts(char *addr, size_t cap, int port,
                                     sfj_test_status *st);

/* Does the file at `path` contain `needle`? */
int sfj_test_file_contains(const char *path, const char *needle);

#endif
