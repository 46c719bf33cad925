/* Chain and checkpoint verification; see verify.h. */
#include "journal/verify.h"

#include <stdio.h>
#include <string.h>

#include "crypto/chain.h"
#include "journal/internal.h"
#include "journal/journal_impl.h"
#include "journal/record.h"
#include "sfj/errors.h"

static void fail(sfj__verify_result *r, uint64_t seq, int rc,
                 const char *reason)
{
    r->bad_seq = seq;
    r->bad_rc = rc;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

/* Where the chain stands just before `first`. */
static int start_hash(sfj_journal *j, uint64_t first, const uint8_t *rec,
                      size_t len, const uint8_t *pk, uint8_t *head,
                      int *trusted_from_ckpt)
{
    uint64_t prune_seq = 0;
    MDB_txn *txn;
    sfj__rec_hdr h;
    int rc;

    *trusted_from_ckpt = 0;
    if (first == 1) {
        sfj__chain_genesis(j->journal_id, head);
        return SFJ_OK;
    }
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, &prune_seq);
    sfj__read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    if (prune_seq + 1 == first)
        return sfj__journal_chain_at(j, prune_seq, head);
    /* Mid-journal: only a checkpoint's signature vouches for the chain
     * before it. */
    if (sfj__rec_hdr_decode(rec, len, &h) != SFJ_OK ||
        h.kind != SFJ_EV_CHECKPOINT ||
        sfj__rec_checkpoint_verify(j->journal_id, pk, rec, len, NULL) != SFJ_OK)
        return SFJ_ESTATE;
    memcpy(head, h.prev_chain, 32);
    *trusted_from_ckpt = 1;
    return SFJ_OK;
}

int sfj__verify(sfj_journal *j, uint64_t from, const uint8_t *pubkey,
                int decrypt, sfj__verify_result *out)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    const uint8_t *pk = pubkey ? pubkey : j->pubkey;
    const uint8_t *rec;
    uint8_t head[32], leaf[32];
    uint64_t seq, expect = 0;
    sfj__rec_hdr h;
    sfj_entry *e;
    size_t len;
    int rc, trusted;

    memset(out, 0, sizeof *out);
    if (decrypt && j->keys == NULL)
        return SFJ_ESTATE;
    q.from_seq = from;
    rc = sfj_iter_open(j, &q, &it);
    if (rc != SFJ_OK)
        return rc;
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        if (expect == 0) {
            out->first_seq = seq;
            rc = start_hash(j, seq, rec, len, pk, head, &trusted);
            if (rc == SFJ_ESTATE && from != 0) {
                rc = SFJ_EINVAL; /* asked to start off a checkpoint */
                break;
            }
            if (rc == SFJ_ESTATE) {
                fail(out, seq, SFJ_ECORRUPT,
                     "history before this seq was removed without a prune "
                     "anchor");
                rc = SFJ_OK;
                break;
            }
            if (rc != SFJ_OK)
                break;
        } else if (seq != expect) {
            fail(out, expect, SFJ_ECORRUPT, "entry missing (gap in seqs)");
            break;
        }
        expect = seq + 1;
        out->last_seq = seq;
        out->entries++;
        rc = sfj__rec_hdr_decode(rec, len, &h);
        if (rc != SFJ_OK || h.seq != seq) {
            fail(out, seq, rc != SFJ_OK ? rc : SFJ_ECORRUPT,
                 "damaged record header");
            rc = SFJ_OK;
            break;
        }
        if (out->entries == 1)
            out->first_wall_ms = h.wall_ms;
        out->last_wall_ms = h.wall_ms;
        if (memcmp(h.prev_chain, head, sizeof head) != 0) {
            fail(out, seq, SFJ_ECORRUPT,
                 "hash chain broken: record does not follow the one before");
            break;
        }
        if (h.kind == SFJ_EV_CHECKPOINT) {
            if (sfj__rec_checkpoint_verify(j->journal_id, pk, rec, len, NULL) !=
                SFJ_OK) {
                fail(out, seq, SFJ_EAUTH, "checkpoint signature invalid");
                break;
            }
            out->checkpoints++;
            out->verified_to = seq;
            out->checkpoint_wall_ms = h.wall_ms;
        } else if (decrypt) {
            rc = sfj__entry_from_record(j, seq, rec, len, &e);
            sfj_entry_free(e);
            if (rc != SFJ_OK) {
                fail(out, seq, rc,
                     rc == SFJ_EAUTH ? "record fails authentication"
                                     : "record cannot be decoded");
                rc = SFJ_OK;
                break;
            }
        }
        sfj__chain_leaf(rec, len, leaf);
        sfj__chain_next(head, leaf, head);
    }
    if (rc == SFJ_ENOTFOUND)
        rc = SFJ_OK;
    sfj_iter_free(it);
    return rc;
}
