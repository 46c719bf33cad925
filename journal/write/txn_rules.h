/* The transaction state machine: which event fits which state, and what
 * it does to the txn's index record. */
#ifndef SFJ_JOURNAL_TXN_RULES_H
#define SFJ_JOURNAL_TXN_RULES_H

#include "journal/write/txn_index.h"

/* Kinds that belong to a txn and are indexed. */
int sfj__txn_kind(uint16_t kind);

/* Kinds the index must see: txn kinds and settlements. Every other kind
 * (NOTE, checkpoints, ...) leaves the index as it is. */
int sfj__txn_indexed_kind(uint16_t kind);

/* May `ev` be journaled for txn `r` (NULL: not indexed)? SFJ_ESTATE for a
 * transition the state machine forbids, SFJ_EINVAL for a status the kind
 * does not take, 0 otherwise. */
int sfj__txn_rule_check(const sfj__txnrec *r, const sfj__txn_ev *ev);

/* Apply `ev`, stored at `seq`, to `r` (`is_new`: r is not indexed yet).
 * Never fails: a rebuild replays events whose predecessors may have been
 * pruned. */
void sfj__txn_rule_apply(sfj__txnrec *r, int is_new, const sfj__txn_ev *ev,
                         uint64_t seq);

/* Settlement events: check against the pending settlement state. */
int sfj__settle_rule_check(uint64_t settle_seq, uint64_t answer_seq,
                           uint16_t status);

/* Update the index for `ev` at `seq` inside write txn `txn`: the txn
 * record, the open set and the settlement pointers. */
int sfj__txn_index_event(sfj_journal *j, MDB_txn *txn, const sfj__txn_ev *ev,
                         uint64_t seq);

#endif
