/* The pending-sales row: what a cashier may read without the key. */
#ifndef SFJ_JOURNAL_PENDING_H
#define SFJ_JOURNAL_PENDING_H

#include "journal/store/journal_impl.h"

/* Meta key of the row (docs/FORMAT.md, "Pending sales"). */
#define SFJ__META_PENDING "pending"

/* Count an event just stored at `seq` in the same transaction: only an
 * approved OFFLINE sale changes the row; other kinds cost nothing. */
int sfj__pending_on_append(sfj__wctx *w, const sfj_event *ev, uint64_t seq,
                           int64_t wall_ms);

/* Ack bookkeeping, one per ack commit: start before the ack changes
 * anything, call drop for each seq the ack newly acknowledges, and end
 * after the watermark and the acked set are written. A handle without the
 * key cannot tell an acknowledged entry's amount: it removes the row
 * (readers see "unknown" until the next keyed writable open). */
typedef struct sfj__pend_ack sfj__pend_ack;
int sfj__pending_ack_begin(sfj__wctx *w, sfj__pend_ack **out);
int sfj__pending_ack_drop(sfj__pend_ack *a, uint64_t seq);
/* 1 when no drop can change the row (no sale waits, or it is unknown). */
int sfj__pending_ack_idle(const sfj__pend_ack *a);
int sfj__pending_ack_end(sfj__pend_ack *a, int ok);

/* At a keyed writable open: build the row from the entries when it is
 * absent (a journal written by an older library). */
int sfj__pending_open(sfj_journal *j);

#endif
