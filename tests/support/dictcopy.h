/* Journals created with a compression dictionary (docs/FORMAT.md,
 * "Journal dictionary"), the sales they hold, and the checks of a copy
 * of one made upstream (an LMDB mirror, a PostgreSQL export) with the
 * tools a dispute uses on it. */
#ifndef SFJ_TESTS_DICTCOPY_H
#define SFJ_TESTS_DICTCOPY_H

#include <stddef.h>

#include "sfj/sfj.h"

/* The dictionary every journal of sfj_test_dict_journal gets: a template
 * of the messages of sfj_test_append_sales. */
extern const char sfj_test_sales_dict[];

/* A terminal journal at `path` (terminal id `tid`) created with
 * sfj_test_sales_dict; its master key is generated into `keyfile` (mode
 * 0600) and loaded into `*keys`. Fails the test on any error. */
sfj_journal *sfj_test_dict_journal(const char *path, const char *tid,
                                   const char *keyfile, sfj_keys **keys);

/* Append `n` sales: for i = first..first + n - 1 an INTENT and an
 * approved OUTCOME of txn
 * "DS-<i, 5 digits>", 1000 + i EUR cents, with a message payload like
 * the dictionary's. Fails the test on any error. */
void sfj_test_append_sales(sfj_journal *j, int first, int n);

/* Run sfj-dump with the NULL-terminated arguments after `out`, its
 * stdout into `scratch`/`out` and its stderr into `scratch`/dump.err
 * (printed when it fails); its exit code. */
int sfj_test_dump(const char *scratch, const char *out, ...);

/* The copy at `copy` of a terminal journal (at `term_dir`,
 * master key in `keyfile`, sales 1..n of sfj_test_append_sales): seq 1 is
 * the DICTIONARY record, and meta `dict` opens with the key to
 * sfj_test_sales_dict; the first sale is compressed against it (flag
 * bit 3);
 * `sfj-dump --key` lists every sale's two entries with txn id and
 * amount, and the dictionary as kind "dictionary" without its bytes;
 * `sfj-dump --verify --key` passes on the copy and on the terminal's
 * journal. Tool output goes to files under `scratch`. Fails the test
 * otherwise. */
void sfj_test_dict_copy_check(const char *copy, const char *term_dir,
                              const char *keyfile, int n, const char *scratch);

#endif
