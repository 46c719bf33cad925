/* The entries of either journal format (docs/FORMAT.md, "The
 * environment"): format 1 in the named database `entries`, format 2 in
 * the main database after the named databases' records. */
#include <string.h>

#include "journal/store/journal_impl.h"
#include "sfj/errors.h"

const char *const sfj__db_names[SFJ__NAMED_DBS] = {"txns", "acked", "attention",
                                                   "meta"};

static int is_db_name(const MDB_val *k)
{
    size_t i;

    /* Every entry, the common case, begins with the tag; no name does. */
    if (k->mv_size > 0 && *(const uint8_t *)k->mv_data == SFJ__ENTRY_TAG)
        return 0;
    for (i = 0; i < SFJ__NAMED_DBS; i++)
        if (k->mv_size == strlen(sfj__db_names[i]) &&
            memcmp(k->mv_data, sfj__db_names[i], k->mv_size) == 0)
            return 1;
    return 0;
}

int sfj__entries_get(const sfj_journal *j, MDB_cursor *cur, MDB_val *k,
                     MDB_val *v, MDB_cursor_op op)
{
    int mrc;

    if (!j->entries_in_main)
        return mdb_cursor_get(cur, k, v, op);
    mrc = mdb_cursor_get(cur, k, v, op);
    /* The named databases' records sort before every entry: the first
     * entry is past them, and moving back onto one ends the entries. A
     * key damaged out of the tag's range stays in sight. */
    while (op == MDB_FIRST && mrc == MDB_SUCCESS && is_db_name(k))
        mrc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    if (mrc == MDB_SUCCESS && is_db_name(k))
        mrc = MDB_NOTFOUND;
    return mrc;
}

int sfj__entries_edge(sfj_journal *j, MDB_txn *txn, int last, uint64_t *seq)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, j->db_entries, &cur);

    *seq = 0;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_cursor_open(entries)");
    mrc = sfj__entries_get(j, cur, &k, &v, last ? MDB_LAST : MDB_FIRST);
    if (mrc == MDB_SUCCESS)
        sfj__entry_seq(j, &k, seq);
    mdb_cursor_close(cur);
    return mrc == MDB_SUCCESS || mrc == MDB_NOTFOUND
               ? SFJ_OK
               : sfj__mdb_rc(j, mrc, "mdb_cursor_get(entries)");
}

int sfj__entries_stat(const sfj_journal *j, MDB_txn *txn, MDB_stat *st)
{
    int mrc = mdb_stat(txn, j->db_entries, st);

    if (mrc == MDB_SUCCESS && j->entries_in_main)
        st->ms_entries = st->ms_entries > SFJ__NAMED_DBS
                             ? st->ms_entries - SFJ__NAMED_DBS
                             : 0;
    return mrc;
}
