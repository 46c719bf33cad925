/* The journal's own compression dictionary: opened from meta `dict` (a
 * copy of the sealed DICTIONARY record at seq 1) when a handle with a key
 * opens the journal, and read from there for evidence bundles.
 * docs/FORMAT.md, "Journal dictionary". */
#include <sodium.h>
#include <string.h>

#include "common/bytes.h"
#include "journal/format/compress.h"
#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

static MDB_val dict_key(void)
{
    MDB_val k;

    k.mv_data = (void *)SFJ__META_DICT;
    k.mv_size = strlen(SFJ__META_DICT);
    return k;
}

const struct sfj__dict *sfj__journal_dict(const sfj_journal *j)
{
    return j != NULL ? j->dict : NULL;
}

int sfj__dict_from_record(const sfj_keys *keys, const uint8_t *journal_id,
                          const uint8_t *rec, size_t len, sfj__dict **out)
{
    uint8_t rkey[SFJ_KEY_BYTES];
    sfj_entry *e = NULL;
    int rc;

    *out = NULL;
    rc = sfj__record_open_ring(keys, journal_id, NULL, rec, len, &e, rkey);
    sodium_memzero(rkey, sizeof rkey);
    if (rc == SFJ_OK && (e->kind != SFJ_EV_DICTIONARY || e->seq != 1))
        rc = SFJ_ECORRUPT;
    if (rc == SFJ_OK)
        rc = sfj__dict_make(e->payload, e->payload_len, out);
    sfj_entry_free(e);
    return rc;
}

int sfj__dict_load(sfj_journal *j, MDB_txn *txn)
{
    MDB_val k = dict_key(), v;
    int mrc, rc;

    sfj__dict_free(j->dict);
    j->dict = NULL;
    j->dict_epoch = 0;
    mrc = mdb_get(txn, j->db_meta, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return SFJ_OK;
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "meta dict");
    /* Without a key nothing of the journal is opened, nor is this. */
    if (j->keys == NULL)
        return SFJ_OK;
    rc = sfj__dict_from_record(j->keys, j->journal_id, v.mv_data, v.mv_size,
                               &j->dict);
    /* Sealed under the newest epoch in a terminal's journal (a rotation
     * seals it again), under epoch 1 in a mirror: a reader without that
     * epoch's key reads what its keys open, and its reads of records made
     * with the dictionary say which key is missing (read.c). A writer
     * always holds the newest key. */
    if (rc == SFJ_ENOKEY) {
        j->dict_epoch =
            v.mv_size >= SFJ_REC_HDR_BYTES
                ? sfj__get_u32((const uint8_t *)v.mv_data + SFJ_REC_OFF_EPOCH)
                : 0;
        return SFJ_OK;
    }
    if (rc == SFJ_EAUTH || rc == SFJ_ECORRUPT) {
        sfj__set_err(j, "the journal's dictionary (meta dict) is damaged");
        rc = SFJ_ECORRUPT;
    }
    return rc;
}

int sfj__dict_record(sfj_journal *j, uint8_t **out, size_t *len)
{
    MDB_val k = dict_key();

    return sfj__read_copy(j, j->db_meta, &k, "meta dict", out, len);
}
