/* Key rotation: one durable commit moves a journal to a new master key.
 *
 * States of a handle: one key epoch in force (j->epoch, j->epoch_key, the
 * head of j->keys, j->pubkey). apply_rotate moves it to the next epoch
 * inside a group commit; the commit holds, together, a checkpoint over
 * the tail under the old key (when one is due), the KEY_ROTATION record
 * signed by the old key naming the new public key, meta `keys`, `epoch`,
 * `pubkey` and `keycheck` of the new key, the prune anchor signed again,
 * and the txn index rebuilt under the new txn-index key. A crash leaves
 * the journal wholly before or wholly after (LMDB's commit).
 *
 * Invariant: after a rotation the head of j->keys is the new key, bound
 * to the new epoch, and every older key the handle held follows it, bound
 * to its epoch, so that older records still open. apply_rotate may run
 * twice (the group commit retries a batch after an LMDB failure), so it
 * starts from the saved old state each time; sfj_journal_rotate_keys puts
 * that state back when the commit fails. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/check.h"
#include "crypto/keys.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/retention.h"
#include "journal/write/txn_rebuild.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

typedef struct rotate_arg {
    sfj_keys *old_ring;
    uint8_t *old_epoch_key;
    uint32_t old_epoch;
    uint8_t old_pk[32];
    sfj_keys *new_ring;     /* new key first, then a copy of old_ring */
    uint8_t *new_epoch_key; /* sodium_malloc'd */
    uint8_t *hist;          /* the key history after the rotation */
    size_t hist_n;
    uint64_t seq;
} rotate_arg;

static void put_back(sfj_journal *j, const rotate_arg *a)
{
    j->keys = a->old_ring;
    j->epoch_key = a->old_epoch_key;
    j->epoch = a->old_epoch;
}

static int apply_rotate(sfj__wctx *w, void *varg)
{
    rotate_arg *a = varg;
    sfj_journal *j = w->j;
    uint8_t rec[SFJ_REC_HDR_BYTES + SFJ_REC_ROT_BODY_BYTES], check[32];
    sfj__rec_hdr h;
    int rc = SFJ_OK;

    put_back(j, a);
    free(a->hist);
    a->hist = NULL;
    /* What the old key wrote is signed by the old key. */
    if (w->last_seq > w->last_ckpt)
        rc = sfj__wctx_checkpoint(w);
    if (rc != SFJ_OK)
        return rc;
    sfj__wctx_next_hdr(w, &h); /* epoch: the old one, still in force */
    sfj__rec_rotation(j->journal_id, j->keys->sign_sk, &h, a->new_ring->sign_pk,
                      rec);
    rc = sfj__wctx_put_entry(w, rec, sizeof rec);
    if (rc != SFJ_OK)
        return rc;
    a->seq = w->last_seq;
    rc = sfj__keyhist_put(j, w->txn, j->keyhist, j->keyhist_n, a->old_epoch + 1,
                          a->new_ring->sign_pk, &a->hist, &a->hist_n);
    if (rc != SFJ_OK)
        return rc;
    sfj__key_check(a->new_ring, j->journal_id, check);
    rc = sfj__meta_put(j, w->txn, SFJ__META_KEYCHECK, check, sizeof check);
    if (rc != SFJ_OK)
        return rc;
    /* From here on the handle works under the new key. */
    j->keys = a->new_ring;
    j->epoch_key = a->new_epoch_key;
    j->epoch = a->old_epoch + 1;
    rc = sfj__retention_resign_anchor(j, w->txn, a->old_pk);
    if (rc == SFJ_OK)
        rc = sfj__dict_reseal(w);
    if (rc == SFJ_OK)
        rc = sfj__txn_rebuild_in(w);
    return rc;
}

/* The new ring: the head of `new_keys`, bound to `epoch`, then every key
 * of the handle's ring with its binding. */
static int make_ring(const sfj_journal *j, const sfj_keys *new_keys,
                     uint32_t epoch, sfj_keys **out)
{
    sfj_keys *head = NULL, *rest = NULL;
    int rc = sfj__keys_copy(new_keys, 1, &head);

    if (rc == SFJ_OK)
        rc = sfj__keys_copy(j->keys, 0, &rest);
    if (rc != SFJ_OK) {
        sfj_keys_free(head);
        sfj_keys_free(rest);
        return rc;
    }
    head->epoch = epoch;
    head->next = rest;
    sfj__keys_seal(head);
    *out = head;
    return SFJ_OK;
}

/* Has the journal's key history ever named `pk`? */
static int used_before(sfj_journal *j, const uint8_t *pk)
{
    size_t i;

    for (i = 0; i < j->keyhist_n; i++)
        if (memcmp(j->keyhist + i * SFJ__KEYHIST_ENTRY + 4, pk, 32) == 0)
            return 1;
    return 0;
}

int sfj_journal_rotate_keys(sfj_journal *j, const sfj_keys *new_keys,
                            uint64_t *seq_out)
{
    rotate_arg a;
    int rc;

    if (seq_out != NULL)
        *seq_out = 0;
    if (j == NULL || new_keys == NULL)
        return SFJ_EINVAL;
    if (j->rdonly || j->mirror || j->acks_only || j->keys == NULL) {
        sfj__set_err(j, "journal is not open for writing");
        return SFJ_ESTATE;
    }
    if (used_before(j, new_keys->sign_pk)) {
        sfj__set_err(j, "the new key is one this journal already used");
        return SFJ_EINVAL;
    }
    if (j->epoch == UINT32_MAX || j->keyhist_n >= SFJ__KEYHIST_MAX) {
        sfj__set_err(j, "no key epoch left");
        return SFJ_ELIMIT;
    }
    memset(&a, 0, sizeof a);
    a.old_ring = j->keys;
    a.old_epoch_key = j->epoch_key;
    a.old_epoch = j->epoch;
    sfj__journal_pubkey(j, a.old_pk);
    rc = make_ring(j, new_keys, j->epoch + 1, &a.new_ring);
    if (rc != SFJ_OK)
        return rc;
    a.new_epoch_key = sodium_malloc(SFJ_KEY_BYTES);
    if (a.new_epoch_key == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    sfj__epoch_key(a.new_ring, j->epoch + 1, a.new_epoch_key);
    sodium_mprotect_readonly(a.new_epoch_key);
    rc = sfj__commit(j, apply_rotate, &a);
    if (rc != SFJ_OK) {
        put_back(j, &a);
        goto done;
    }
    sfj__keyhist_commit(j, a.hist, a.hist_n);
    a.hist = NULL;
    /* The old ring and epoch key now belong to `a` to free. */
    a.new_ring = a.old_ring;
    a.new_epoch_key = a.old_epoch_key;
    if (seq_out != NULL)
        *seq_out = a.seq;
done:
    free(a.hist);
    sfj_keys_free(a.new_ring);
    if (a.new_epoch_key != NULL)
        sodium_free(a.new_epoch_key);
    return rc;
}
