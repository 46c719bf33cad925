/* Helpers of the settlement tests (test_settle, test_reconcile, test_dump,
 * test_kat): events, appends that must succeed, settlement lines and the
 * parts of a settlement difference. */
#ifndef SFJ_TESTS_SETTLETEST_H
#define SFJ_TESTS_SETTLETEST_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/sfj.h"

/* An event of the current version with these fields, the rest empty. */
sfj_event sfj_test_event(uint16_t kind, uint16_t status, const char *txn,
                         int64_t amount, const char *cur, int64_t wall_ms);

/* Append `ev` to `j`; fails the test (naming the event and the error) if
 * the journal refuses it. Its seq. */
uint64_t sfj_test_put(sfj_journal *j, const sfj_event *ev);

/* The journal's newest seq. */
uint64_t sfj_test_last_seq(sfj_journal *j);

/* A settlement line. */
sfj_settle_line sfj_test_settle_line(const char *cur, uint64_t count,
                                     int64_t amount);

/* The first part of `d` naming sale `txn` ("" for a report line without
 * one) and, unless `line` is 0, report line `line`; fails the test if
 * none does. */
const sfj_settle_why *sfj_test_why(const sfj_settle_diff *d, const char *txn,
                                   size_t line);

#endif
