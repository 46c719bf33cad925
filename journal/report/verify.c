/* Chain and checkpoint verification; see sfj/sys/verify.h.
 *
 * The chain walk is sequential (each hash needs the one before), but with
 * decryption most of the time goes to opening records, which are
 * independent. Records to decrypt are therefore copied into a batch and
 * opened by the walking thread and one helper thread together (on a
 * machine with more than one CPU), once the first batch fills. Results
 * are as a serial walk gives them: each queued record keeps a snapshot of
 * the result at the point where the serial walk would have decrypted it,
 * and the first failing record (in seq order) restores its snapshot and
 * wins over any failure found later in the walk. */
#include "sfj/sys/verify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

static void fail(sfj__verify_result *r, uint64_t seq, int rc,
                 const char *reason)
{
    r->bad_seq = seq;
    r->bad_rc = rc;
    snprintf(r->reason, sizeof r->reason, "%s", reason);
}

#define BATCH_SLOTS 256
#define BATCH_BYTES (256u << 10)

typedef struct slot {
    uint64_t seq;
    size_t off, len;
    int rc;
    sfj__verify_result snap; /* the result when this record came up */
} slot;

/* Records waiting to be decrypted, and the helper thread that opens the
 * odd-numbered ones while the walking thread opens the even ones. */
typedef struct batch {
    sfj_journal *j;
    slot *s;
    int n;
    uint8_t *buf;
    size_t used, cap;
    pthread_t th;
    int helper;        /* the helper thread runs */
    pthread_mutex_t m; /* posted, done, stop */
    pthread_cond_t cv;
    unsigned posted, done;
    int stop;
} batch;

static void open_slots(batch *b, int first)
{
    sfj_entry *e;
    int i;

    for (i = first; i < b->n; i += 2) {
        e = NULL;
        b->s[i].rc = sfj__entry_from_record(
            b->j, b->s[i].seq, b->buf + b->s[i].off, b->s[i].len, &e);
        sfj_entry_free(e);
    }
}

static void *helper_main(void *arg)
{
    batch *b = arg;
    unsigned seen = 0;

    pthread_mutex_lock(&b->m);
    for (;;) {
        while (b->posted == seen && !b->stop)
            pthread_cond_wait(&b->cv, &b->m);
        if (b->stop)
            break;
        seen = b->posted;
        pthread_mutex_unlock(&b->m);
        open_slots(b, 1);
        pthread_mutex_lock(&b->m);
        b->done = seen;
        pthread_cond_broadcast(&b->cv);
    }
    pthread_mutex_unlock(&b->m);
    return NULL;
}

static void start_helper(batch *b)
{
    if (b->helper || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    pthread_mutex_init(&b->m, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (pthread_create(&b->th, NULL, helper_main, b) == 0) {
        b->helper = 1;
    } else {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->m);
    }
}

static void batch_free(batch *b)
{
    if (b->helper) {
        pthread_mutex_lock(&b->m);
        b->stop = 1;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->m);
        pthread_join(b->th, NULL);
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->m);
    }
    free(b->s);
    free(b->buf);
}

/* Queue a record for decryption with the result as it stands. */
static int queue_record(batch *b, uint64_t seq, const uint8_t *rec, size_t len,
                        const sfj__verify_result *now)
{
    if (b->s == NULL) {
        b->s = malloc(BATCH_SLOTS * sizeof *b->s);
        if (b->s == NULL)
            return SFJ_ENOMEM;
    }
    if (b->used + len > b->cap) {
        size_t cap = b->used + len > BATCH_BYTES ? b->used + len : BATCH_BYTES;
        uint8_t *nb = realloc(b->buf, cap);

        if (nb == NULL)
            return SFJ_ENOMEM;
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->used, rec, len);
    b->s[b->n].seq = seq;
    b->s[b->n].off = b->used;
    b->s[b->n].len = len;
    b->s[b->n].snap = *now;
    b->used += len;
    b->n++;
    return SFJ_OK;
}

static int batch_full(const batch *b)
{
    return b->n == BATCH_SLOTS || b->used >= BATCH_BYTES;
}

/* Decrypt every queued record. Returns 1 when one failed: `out` then holds
 * the result a serial walk stops with, at the first failing record. */
static int settle(batch *b, sfj__verify_result *out)
{
    int i;

    if (b->n == 0)
        return 0;
    if (b->helper && b->n > 1) {
        pthread_mutex_lock(&b->m);
        b->posted++;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->m);
        open_slots(b, 0);
        pthread_mutex_lock(&b->m);
        while (b->done != b->posted)
            pthread_cond_wait(&b->cv, &b->m);
        pthread_mutex_unlock(&b->m);
    } else {
        for (i = 0; i < b->n; i++) {
            sfj_entry *e = NULL;

            b->s[i].rc = sfj__entry_from_record(
                b->j, b->s[i].seq, b->buf + b->s[i].off, b->s[i].len, &e);
            sfj_entry_free(e);
        }
    }
    for (i = 0; i < b->n; i++) {
        if (b->s[i].rc != SFJ_OK) {
            *out = b->s[i].snap;
            fail(out, b->s[i].seq, b->s[i].rc,
                 b->s[i].rc == SFJ_EAUTH ? "record fails authentication"
                                         : "record cannot be decoded");
            b->n = 0;
            b->used = 0;
            return 1;
        }
    }
    b->n = 0;
    b->used = 0;
    return 0;
}

/* Where the chain stands just before `first`. A whole-journal walk
 * (`from` 0) starts only at seq 1 or right after the prune anchor, whose
 * signature vouches that the entries before it went on purpose: a
 * checkpoint vouches for the chain before it, not for how much of it must
 * still be held. Returns SFJ_ESTATE when the walk may not start there,
 * SFJ_EAUTH for a forged anchor; `*anchor` gets the anchor's state. */
static int start_hash(sfj_journal *j, uint64_t first, uint64_t from,
                      const uint8_t *rec, size_t len, const uint8_t *pk,
                      const uint8_t *pinned, uint8_t *head, int *anchor)
{
    uint8_t epk[32];
    uint64_t prune_seq = 0;
    MDB_txn *txn;
    sfj__rec_hdr h;
    int rc;

    *anchor = SFJ__ANCHOR_SIGNED;
    if (first == 1)
        return sfj__journal_chain_at(j, 0, head);
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__prune_anchor(j, txn, pk, &prune_seq, head, anchor);
    sfj__read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    if (prune_seq != 0 && prune_seq + 1 == first && from == 0) {
        /* A mirror is never pruned: any anchor there was written by
         * someone else. */
        if (*anchor == SFJ__ANCHOR_FORGED ||
            (*anchor == SFJ__ANCHOR_UNSIGNED && j->mirror))
            return SFJ_EAUTH;
        return SFJ_OK;
    }
    *anchor = SFJ__ANCHOR_SIGNED;
    if (from == 0)
        return SFJ_ESTATE;
    /* Asked to start mid-journal: only a checkpoint's signature vouches
     * for the chain before it, under the key of its epoch. */
    if (sfj__rec_hdr_decode(rec, len, &h) != SFJ_OK ||
        h.kind != SFJ_EV_CHECKPOINT ||
        (pinned == NULL && sfj__journal_pubkey_of(j, h.epoch, epk) != SFJ_OK) ||
        sfj__rec_checkpoint_verify(j->journal_id, pinned ? pinned : epk, rec,
                                   len, NULL) != SFJ_OK)
        return SFJ_ESTATE;
    memcpy(head, h.prev_chain, 32);
    return SFJ_OK;
}

/* The key the walk starts with: the pinned one, or the key history's for
 * the first record's epoch. 1 when there is one. */
static int walk_key(sfj_journal *j, const uint8_t *pinned, uint32_t epoch,
                    uint8_t *out)
{
    if (pinned != NULL) {
        memcpy(out, pinned, 32);
        return 1;
    }
    return sfj__journal_pubkey_of(j, epoch, out) == SFJ_OK;
}

/* A rotation record: signed by the key in force (`*epoch`, `pk`), naming
 * the next epoch's key, which the key history must name too. On success
 * the walk continues under the new epoch and key. SFJ_EAUTH or
 * SFJ_ECORRUPT. */
static int follow_rotation(sfj_journal *j, const uint8_t *rec, size_t len,
                           uint32_t *epoch, uint8_t *pk)
{
    uint8_t npk[32], hpk[32];
    uint32_t ne = 0;
    int rc = sfj__rec_rotation_verify(j->journal_id, pk, rec, len, &ne, npk);

    if (rc != SFJ_OK)
        return rc == SFJ_EAUTH ? SFJ_EAUTH : SFJ_ECORRUPT;
    if (sfj__journal_pubkey_of(j, ne, hpk) != SFJ_OK ||
        memcmp(hpk, npk, sizeof npk) != 0)
        return SFJ_ECORRUPT;
    *epoch = ne;
    memcpy(pk, npk, sizeof npk);
    return SFJ_OK;
}

/* The walk reached the end: does meta's newest checkpoint still exist?
 * A damaged page can drop the newest entries without a gap in seqs. */
static int check_tail(sfj_journal *j, sfj__verify_result *out)
{
    char why[sizeof out->reason];
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX];
    uint64_t ckpt = 0;
    MDB_txn *txn;
    MDB_val k, v;
    int rc = sfj__read_begin(j, &txn), mrc = MDB_SUCCESS;

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_CKPT, &ckpt);
    /* Another process may have appended since the walk: then the
     * checkpoint is there, in this newer snapshot. */
    if (rc == SFJ_OK && ckpt > out->last_seq) {
        k = sfj__entry_key(j, kbuf, ckpt);
        mrc = mdb_get(txn, j->db_entries, &k, &v);
    }
    sfj__read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    if (ckpt > out->last_seq && mrc == MDB_NOTFOUND) {
        snprintf(why, sizeof why,
                 "checkpoint %llu recorded in the journal's meta is missing: "
                 "entries were removed from the tail",
                 (unsigned long long)ckpt);
        fail(out, out->last_seq + 1, SFJ_ECORRUPT, why);
    }
    return SFJ_OK;
}

/* Records between two progress calls: rare enough to cost nothing. */
#define PROGRESS_EVERY 4096

int sfj__verify(sfj_journal *j, uint64_t from, const uint8_t *pubkey,
                int decrypt, sfj__verify_result *out)
{
    return sfj__verify_watch(j, from, pubkey, decrypt, NULL, NULL, out);
}

int sfj__verify_watch(sfj_journal *j, uint64_t from, const uint8_t *pubkey,
                      int decrypt, sfj__verify_progress_cb progress,
                      void *payload, sfj__verify_result *out)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    uint8_t cur_pk[32], pk[32], wpk[32];
    uint32_t wepoch = 0;
    const uint8_t *rec;
    uint8_t head[32], leaf[32];
    uint64_t seq, expect = 0;
    sfj__rec_hdr h;
    batch b;
    size_t len;
    int rc, anchor;

    memset(out, 0, sizeof *out);
    memset(&b, 0, sizeof b);
    b.j = j;
    if (decrypt && j->keys == NULL)
        return SFJ_ESTATE;
    sfj__journal_pubkey(j, cur_pk);
    memcpy(pk, pubkey ? pubkey : cur_pk, sizeof pk);
    q.from_seq = from;
    rc = sfj_iter_open(j, &q, &it);
    if (rc != SFJ_OK)
        return rc;
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        if (expect == 0) {
            out->first_seq = seq;
            rc = start_hash(j, seq, from, rec, len, pk, pubkey, head, &anchor);
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
            if (rc == SFJ_EAUTH) {
                fail(out, seq, SFJ_EAUTH,
                     j->mirror ? "a mirror holds a prune anchor: history "
                                 "before this seq was removed"
                               : "prune anchor signature invalid: history "
                                 "before this seq was removed");
                rc = SFJ_OK;
                break;
            }
            out->unsigned_anchor = anchor == SFJ__ANCHOR_UNSIGNED;
            if (rc != SFJ_OK)
                break;
        } else if (seq != expect) {
            if (!settle(&b, out))
                fail(out, expect, SFJ_ECORRUPT, "entry missing (gap in seqs)");
            break;
        }
        expect = seq + 1;
        out->last_seq = seq;
        out->entries++;
        if (progress != NULL && out->entries % PROGRESS_EVERY == 0)
            progress(out->entries, payload);
        rc = sfj__rec_hdr_decode(rec, len, &h);
        if (rc != SFJ_OK || h.seq != seq) {
            sfj__verify_result before = *out;

            if (!settle(&b, out)) {
                *out = before;
                fail(out, seq, rc != SFJ_OK ? rc : SFJ_ECORRUPT,
                     "damaged record header");
            }
            rc = SFJ_OK;
            break;
        }
        if (out->entries == 1 && !walk_key(j, pubkey, h.epoch, wpk)) {
            fail(out, seq, SFJ_ECORRUPT,
                 "the record's key epoch is not in the journal's key history");
            break;
        }
        if (out->entries == 1)
            wepoch = h.epoch;
        /* Every record is sealed or signed under the epoch in force; only
         * a rotation record moves it on. */
        if (h.epoch != wepoch) {
            if (!settle(&b, out))
                fail(out, seq, SFJ_ECORRUPT,
                     "record of another key epoch than the one in force");
            break;
        }
        if (out->entries == 1)
            out->first_wall_ms = h.wall_ms;
        out->last_wall_ms = h.wall_ms;
        if (memcmp(h.prev_chain, head, sizeof head) != 0) {
            if (!settle(&b, out))
                fail(out, seq, SFJ_ECORRUPT,
                     "hash chain broken: record does not follow the one "
                     "before");
            break;
        }
        if (h.kind == SFJ_EV_KEY_ROTATION) {
            rc = follow_rotation(j, rec, len, &wepoch, wpk);
            if (rc != SFJ_OK) {
                if (!settle(&b, out))
                    fail(out, seq, rc,
                         rc == SFJ_EAUTH
                             ? "key rotation record not signed by the key in "
                               "force"
                             : "key rotation record differs from the "
                               "journal's key history");
                rc = SFJ_OK;
                break;
            }
            out->rotations++;
        } else if (h.kind == SFJ_EV_CHECKPOINT) {
            if (sfj__rec_checkpoint_verify(j->journal_id, wpk, rec, len,
                                           NULL) != SFJ_OK) {
                if (!settle(&b, out))
                    fail(out, seq, SFJ_EAUTH, "checkpoint signature invalid");
                break;
            }
            out->checkpoints++;
            out->verified_to = seq;
            out->checkpoint_wall_ms = h.wall_ms;
        } else if (decrypt) {
            rc = queue_record(&b, seq, rec, len, out);
            if (rc != SFJ_OK)
                break;
            if (batch_full(&b)) {
                start_helper(&b);
                if (settle(&b, out))
                    break;
            }
        }
        sfj__chain_leaf(rec, len, leaf);
        sfj__chain_next(head, leaf, head);
    }
    if (rc == SFJ_ENOTFOUND) {
        rc = SFJ_OK;
        settle(&b, out);
    }
    batch_free(&b);
    sfj_iter_free(it);
    if (progress != NULL)
        progress(out->entries, payload);
    /* The rotations walked must lead to the key in force. */
    if (rc == SFJ_OK && out->bad_seq == 0 && wepoch != 0 &&
        (wepoch != j->epoch || memcmp(wpk, cur_pk, sizeof wpk) != 0))
        fail(out, out->last_seq + 1, SFJ_ECORRUPT,
             "the journal's public key is not the one its key rotation "
             "records lead to");
    if (rc == SFJ_OK && out->bad_seq == 0)
        rc = check_tail(j, out);
    return rc;
}
