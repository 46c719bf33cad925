/* Retention of acknowledged entries. Pruning is not implemented yet:
 * nothing is ever removed, so a journal at its cap fails appends with
 * SFJ_EFULL until it is pruned. */
#include "journal/retention.h"

int sfj__retention_make_room(sfj_journal *j)
{
    (void)j;
    return 0;
}
