/* sfj_append: validate and pack outside any lock, then seal and put inside
 * the group commit (sealing needs the seq and the chain head, which only
 * the commit leader knows). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/txn_hooks.h"
#include "sfj/errors.h"

typedef struct append_arg {
    const sfj_event *ev;
    const uint8_t *pt;
    size_t pt_len;
    uint8_t flags;
    int64_t wall_ms;
    uint8_t *rec; /* scratch for the sealed record */
    uint64_t seq;
} append_arg;

static int apply_append(sfj__wctx *w, void *varg)
{
    append_arg *a = varg;
    sfj_journal *j = w->j;
    sfj__rec_hdr h;
    int rc;

    /* Transaction rules and limits first: they must not write on
     * refusal. */
    rc = sfj__txn_check(w, a->ev, a->wall_ms);
    if (rc == SFJ_OK)
        rc = sfj__wctx_reserve(w, SFJ_REC_HDR_BYTES + a->pt_len +
                                      SFJ_REC_TAG_BYTES);
    if (rc != SFJ_OK)
        return rc;
    memset(&h, 0, sizeof h);
    h.format = SFJ_REC_FORMAT;
    h.flags = a->flags;
    h.kind = a->ev->kind;
    h.epoch = j->epoch;
    h.seq = w->last_seq + 1;
    h.wall_ms = a->wall_ms;
    memcpy(h.prev_chain, w->head, sizeof h.prev_chain);
    sfj__rec_seal(j->journal_id, j->epoch_key, &h, a->pt, a->pt_len, a->rec);
    rc = sfj__wctx_put_entry(w, a->rec,
                             SFJ_REC_HDR_BYTES + a->pt_len + SFJ_REC_TAG_BYTES);
    if (rc != SFJ_OK)
        return rc;
    a->seq = w->last_seq;
    return sfj__txn_apply(w, a->ev, a->seq, a->wall_ms);
}

int sfj_append(sfj_journal *j, const sfj_event *ev, uint64_t *seq_out)
{
    append_arg a;
    uint8_t *pt = NULL;
    int rc;

    if (seq_out != NULL)
        *seq_out = 0;
    if (j == NULL)
        return SFJ_EINVAL;
    if (j->rdonly || j->mirror || j->keys == NULL) {
        sfj__set_err(j, "journal is not open for appending");
        return SFJ_ESTATE;
    }
    rc = sfj__event_validate(ev);
    if (rc != SFJ_OK) {
        sfj__set_err(j, "invalid event");
        return rc;
    }
    memset(&a, 0, sizeof a);
    a.ev = ev;
    a.wall_ms = ev->wall_ms != 0 ? ev->wall_ms : sfj__now_ms();
    rc = sfj__event_pack(ev, j->boot, &pt, &a.pt_len, &a.flags);
    if (rc != SFJ_OK)
        goto done;
    a.pt = pt;
    a.rec = malloc(SFJ_REC_HDR_BYTES + a.pt_len + SFJ_REC_TAG_BYTES);
    if (a.rec == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    rc = sfj__commit(j, apply_append, &a);
    if (rc == SFJ_OK && seq_out != NULL)
        *seq_out = a.seq;
done:
    if (pt != NULL) {
        sodium_memzero(pt, a.pt_len);
        free(pt);
    }
    free(a.rec);
    return rc;
}
