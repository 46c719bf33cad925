/* sfj_append: validate and pack outside any lock, then seal and put inside
 * the group commit (sealing needs the seq and the chain head, which only
 * the commit leader knows). */
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "journal/format/compress.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/pending.h"
#include "journal/write/txn_hooks.h"
#include "common/abi.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

/* One event, packed outside the commit. */
typedef struct packed {
    const sfj_event *ev; /* &copy */
    sfj_event copy;      /* the caller's event, widened to the current
                            version (later fields zero) */
    uint8_t *pt;
    size_t pt_len;
    uint8_t flags;
    int64_t wall_ms;
} packed;

typedef struct append_arg {
    packed p;
    uint8_t *rec; /* scratch for the sealed record */
    uint64_t seq;
} append_arg;

/* Seal packed event `p` into `rec` as record `seq` after chain head
 * `prev`, under the journal's epoch in force; `dict_id` is the journal's
 * dictionary id when `p` was packed against it. */
static void seal_packed(const sfj_journal *j, const packed *p, uint64_t seq,
                        const uint8_t *prev, const uint8_t *dict_id,
                        uint8_t *rec)
{
    sfj__rec_hdr h;

    memset(&h, 0, sizeof h);
    h.format = SFJ_REC_FORMAT;
    h.flags = p->flags;
    h.kind = p->ev->kind;
    h.epoch = j->epoch;
    h.seq = seq;
    h.wall_ms = p->wall_ms;
    memcpy(h.prev_chain, prev, sizeof h.prev_chain);
    sfj__rec_seal(j->journal_id, j->epoch_key, &h, dict_id, p->pt, p->pt_len,
                  rec);
}

/* Check, seal, put and index one packed event as the next seq inside a
 * write context: the one place an event becomes an entry. */
static int put_event(sfj__wctx *w, const packed *p, uint8_t *rec)
{
    sfj_journal *j = w->j;
    size_t len = SFJ_REC_HDR_BYTES + p->pt_len + SFJ_REC_TAG_BYTES;
    sfj__txn_look look;
    int rc;

    /* Transaction rules and limits first: they must not write on
     * refusal. */
    rc = sfj__txn_check(w, p->ev, p->wall_ms, &look);
    if (rc == SFJ_OK)
        rc = sfj__wctx_reserve(w, len);
    if (rc != SFJ_OK)
        return rc;
    seal_packed(j, p, w->last_seq + 1, w->head,
                (p->flags & SFJ_REC_F_DICTJ) ? j->dict->id : NULL, rec);
    rc = sfj__wctx_put_entry(w, rec, len);
    if (rc != SFJ_OK)
        return rc;
    w->events++;
    w->event_wall_ms = p->wall_ms;
    rc = sfj__txn_apply(w, p->ev, w->last_seq, p->wall_ms, &look);
    if (rc == SFJ_OK)
        rc = sfj__pending_on_append(w, p->ev, w->last_seq, p->wall_ms);
    return rc;
}

static int apply_append(sfj__wctx *w, void *varg)
{
    append_arg *a = varg;
    int rc = put_event(w, &a->p, a->rec);

    if (rc == SFJ_OK)
        a->seq = w->last_seq;
    return rc;
}

/* Validate and pack `ev` (outside any lock), compressed against `dict`
 * (the journal's, or NULL for dictionary v2). */
static int pack(sfj_journal *j, const sfj_event *ev, const sfj__dict *dict,
                packed *p)
{
    int rc;

    memset(p, 0, sizeof *p);
    rc = sfj__event_widen(ev, &p->copy);
    if (rc == SFJ_EVERSION)
        sfj__set_err(j, "event version %u not supported", ev->version);
    if (rc != SFJ_OK)
        return rc;
    ev = &p->copy;
    rc = sfj__event_validate(ev);
    if (rc != SFJ_OK) {
        sfj__set_err(j, rc == SFJ_EPAN ? "a card number in clear in the event"
                                       : "invalid event");
        return rc;
    }
    p->ev = ev;
    p->wall_ms = ev->wall_ms != 0 ? ev->wall_ms : sfj__now_ms();
    return sfj__event_pack_dict(ev, j->boot, dict, &p->pt, &p->pt_len,
                                &p->flags);
}

static void unpack(packed *p)
{
    if (p->pt != NULL) {
        sodium_memzero(p->pt, p->pt_len);
        free(p->pt);
        p->pt = NULL;
    }
}

static int check_appendable(sfj_journal *j)
{
    if (j == NULL)
        return SFJ_EINVAL;
    if (j->rdonly || j->mirror || j->acks_only || j->keys == NULL) {
        sfj__set_err(j, "journal is not open for appending");
        return SFJ_ESTATE;
    }
    return SFJ_OK;
}

/* Commit one packed event with `fn`, a record's room allocated. */
static int commit_one(sfj_journal *j, sfj__apply_fn fn, append_arg *a)
{
    a->rec = malloc(SFJ_REC_HDR_BYTES + a->p.pt_len + SFJ_REC_TAG_BYTES);
    if (a->rec == NULL)
        return SFJ_ENOMEM;
    return sfj__commit(j, fn, a);
}

int sfj_append(sfj_journal *j, const sfj_event *ev, uint64_t *seq_out)
{
    append_arg a;
    int rc;

    if (seq_out != NULL)
        *seq_out = 0;
    memset(&a, 0, sizeof a);
    rc = check_appendable(j);
    if (rc != SFJ_OK)
        return rc;
    /* j->dict is set before the handle is returned and never changes. */
    rc = pack(j, ev, j->dict, &a.p);
    if (rc == SFJ_OK)
        rc = commit_one(j, apply_append, &a);
    if (rc == SFJ_OK && seq_out != NULL)
        *seq_out = a.seq;
    unpack(&a.p);
    free(a.rec);
    return rc;
}

typedef struct batch_arg {
    packed *p;
    size_t n;
    uint8_t *rec; /* scratch for one sealed record */
} batch_arg;

static int apply_batch(sfj__wctx *w, void *varg)
{
    batch_arg *b = varg;
    sfj_journal *j = w->j;
    size_t i;
    int rc;

    for (i = 0; i < b->n; i++) {
        rc = put_event(w, &b->p[i], b->rec);
        if (rc == SFJ_OK &&
            w->last_seq - w->last_ckpt >= j->opts.checkpoint_every)
            rc = sfj__wctx_checkpoint(w);
        if (rc != SFJ_OK)
            return rc;
    }
    return SFJ_OK;
}

int sfj__journal_append_batch(sfj_journal *j, const sfj_event *evs, size_t n)
{
    batch_arg b;
    size_t i;
    int rc;

    memset(&b, 0, sizeof b);
    rc = check_appendable(j);
    if (rc != SFJ_OK || n == 0)
        return rc;
    b.p = calloc(n, sizeof *b.p);
    b.rec = malloc(SFJ_REC_MAX_BYTES);
    if (b.p == NULL || b.rec == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    for (b.n = 0; b.n < n; b.n++) {
        rc = pack(j, &evs[b.n], j->dict, &b.p[b.n]);
        if (rc != SFJ_OK)
            goto done;
    }
    rc = sfj__commit(j, apply_batch, &b);
done:
    if (b.p != NULL) {
        for (i = 0; i <= b.n && i < n; i++)
            unpack(&b.p[i]);
        free(b.p);
    }
    free(b.rec);
    return rc;
}

static int apply_dictionary(sfj__wctx *w, void *varg)
{
    append_arg *a = varg;
    size_t len = SFJ_REC_HDR_BYTES + a->p.pt_len + SFJ_REC_TAG_BYTES;
    int rc;

    /* Only the first entry: a journal's dictionary never changes. */
    if (w->last_seq != 0)
        return SFJ_ESTATE;
    rc = put_event(w, &a->p, a->rec);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(w->j, w->txn, SFJ__META_DICT, a->rec, len);
    /* An open leaves nothing unsigned: the checkpoint follows at seq 2. */
    if (rc == SFJ_OK)
        rc = sfj__wctx_checkpoint(w);
    return rc;
}

/* The DICTIONARY event of `bytes`, packed: encoded as a note with that
 * payload (which checks its length), stored under its own kind,
 * compressed with dictionary v2 at most. */
static int pack_dictionary(sfj_journal *j, const void *bytes, size_t len,
                           packed *p)
{
    sfj_event ev = SFJ_EVENT_INIT;
    int rc;

    ev.kind = SFJ_EV_NOTE;
    ev.payload = bytes;
    ev.payload_len = len;
    rc = pack(j, &ev, NULL, p);
    p->copy.kind = SFJ_EV_DICTIONARY;
    return rc;
}

int sfj__dict_reseal(sfj__wctx *w)
{
    sfj_journal *j = w->j;
    uint8_t *rec = NULL, genesis[SFJ_HASH_BYTES];
    packed p;
    int rc;

    if (j->dict == NULL)
        return SFJ_OK;
    rc = pack_dictionary(j, j->dict->payload, j->dict->payload_len, &p);
    if (rc == SFJ_OK) {
        rec = malloc(SFJ_REC_HDR_BYTES + p.pt_len + SFJ_REC_TAG_BYTES);
        if (rec == NULL)
            rc = SFJ_ENOMEM;
    }
    if (rc == SFJ_OK) {
        /* Seq 1 of the journal, as the entry it copies. */
        sfj__chain_genesis(j->journal_id, genesis);
        seal_packed(j, &p, 1, genesis, NULL, rec);
        rc = sfj__meta_put(j, w->txn, SFJ__META_DICT, rec,
                           SFJ_REC_HDR_BYTES + p.pt_len + SFJ_REC_TAG_BYTES);
    }
    unpack(&p);
    free(rec);
    return rc;
}

int sfj__dict_create(sfj_journal *j, const void *bytes, size_t len)
{
    append_arg a;
    int rc;

    memset(&a, 0, sizeof a);
    rc = pack_dictionary(j, bytes, len, &a.p);
    if (rc == SFJ_OK)
        rc = commit_one(j, apply_dictionary, &a);
    if (rc == SFJ_OK)
        rc = sfj__dict_make(bytes, len, &j->dict);
    unpack(&a.p);
    free(a.rec);
    return rc;
}
