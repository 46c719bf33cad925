/* A closed journal's LMDB files opened with LMDB itself, as someone with
 * the disk has them: the entries of either layout (docs/FORMAT.md,
 * "The environment"), and a journal made in the layout of format 1. */
#ifndef SFJ_TESTS_RAWJOURNAL_H
#define SFJ_TESTS_RAWJOURNAL_H

#include <lmdb.h>
#include <stdint.h>

typedef struct sfj_test_raw {
    MDB_env *env;
    MDB_txn *txn; /* one write transaction, committed by sfj_test_raw_close */
    MDB_dbi entries, meta;
    int tagged;      /* format 2: an entry's key is 0xFF || u64be seq */
    uint8_t kbuf[9]; /* the last key sfj_test_raw_key made */
} sfj_test_raw;

/* Open the journal at `path` (closed by sfj) and begin a write
 * transaction; fails the test on any error. */
void sfj_test_raw_open(const char *path, sfj_test_raw *r);

/* Commit the transaction and close the environment. */
void sfj_test_raw_close(sfj_test_raw *r);

/* The key of entry `seq` in r->entries (valid until the next call). */
MDB_val sfj_test_raw_key(sfj_test_raw *r, uint64_t seq);

/* Prepare `path` (a directory not yet made) so that sfj_journal_open
 * creates a format 1 journal there, as versions before format 2 did: its
 * named `entries` database exists and is empty. */
void sfj_test_make_format1(const char *path);

#endif
