/* Retention: pruning of acknowledged entries. */
#ifndef SFJ_JOURNAL_RETENTION_H
#define SFJ_JOURNAL_RETENTION_H

#include "sfj/journal.h"

/* Called by the commit leader when the map is full at its cap: prune
 * acknowledged entries that may go (never unacked, in-doubt or
 * needs-attention ones) in their own durable commit. Returns how many
 * entries were pruned (0: nothing could go) or a negative error. */
int sfj__retention_make_room(sfj_journal *j);

#endif
