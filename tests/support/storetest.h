/* The store a host test runs sfj-host on: its LMDB mirrors (the default)
 * or a PostgreSQL server the test starts itself (support/pgtest.c), so
 * that one test body checks both stores. A test binary chooses with its
 * first argument ("--pg"); CTest registers the PostgreSQL variant as
 * <test>_pg. */
#ifndef SFJ_TESTS_STORETEST_H
#define SFJ_TESTS_STORETEST_H

#include <stdint.h>

#include "sfj/sfj.h"
#include "support/hosttest.h"

typedef struct sfj_test_store {
    int pg;       /* 1: PostgreSQL */
    void *server; /* the sfj_test_pg, while started */
} sfj_test_store;

/* The store named by the test's arguments (argv[1] == "--pg"). */
void sfj_test_store_from_args(sfj_test_store *s, int argc, char **argv);
/* The name to print: "lmdb" or "postgresql". */
const char *sfj_test_store_name(const sfj_test_store *s);
/* Start the store's server (none for LMDB). Returns 0, or -1 when the
 * store cannot run here (built without libpq, server not installed): the
 * test then skips. */
int sfj_test_store_start(sfj_test_store *s);
/* Stop and remove the server. Safe to call twice. */
void sfj_test_store_cleanup(sfj_test_store *s);
/* Point host `h` at the store: mirrors under `mirrors` (h->dir, a copy)
 * or "--store URL" in h->extra. */
void sfj_test_store_host(const sfj_test_store *s, sfj_test_host *h,
                         const char *mirrors);

/* The host's copy of terminal journal `term`, read while the host may
 * run: its number of entries, lowest and newest seq. Returns 0, or 1
 * when the host holds no copy yet (the mirror is not created or its
 * first commit is not durable). */
int sfj_test_store_copy_head(const sfj_test_store *s, const sfj_test_host *h,
                             sfj_journal *term, uint64_t *n, uint64_t *first,
                             uint64_t *last);
/* Seqs from..to of the copy: each held once and byte-identical to the
 * terminal's record; fails the test otherwise. */
void sfj_test_store_copy_equal(const sfj_test_store *s, const sfj_test_host *h,
                               sfj_journal *term, uint64_t from, uint64_t to);
/* The whole copy equals the terminal journal: seq 1..head, every seq
 * exactly once, byte for byte (the host stopped). Returns the number of
 * entries compared. */
uint64_t sfj_test_store_equal(const sfj_test_store *s, const sfj_test_host *h,
                              sfj_journal *term, const sfj_keys *keys);

#endif
