/* Settlement: totals of the open batch (everything after the newest
 * batch-closing SETTLEMENT) and their comparison with the host's.
 *
 * Both read and decrypt the batch's entries once, so their cost grows with
 * the batch, not the journal. A batch entry counts in a total line when it
 * is an approved OUTCOME, an approved OFFLINE, or the first REVERSAL of its
 * txn; an intent still in doubt is kept aside, because the host may have
 * approved it without the terminal knowing. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "journal/write/txn_index.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

typedef struct bentry {
    uint64_t seq;
    uint16_t kind; /* total line, or SFJ_EV_TXN_INTENT for in doubt */
    char currency[4];
    int64_t amount;
    char txn_id[SFJ_TXN_ID_MAX + 1];
} bentry;

typedef struct bscan {
    sfj_batch *b;
    bentry *e;
    size_t n, cap;
} bscan;

static void bscan_free(bscan *s)
{
    if (s->e != NULL) {
        sodium_memzero(s->e, s->cap * sizeof *s->e);
        free(s->e);
    }
    sfj_batch_free(s->b);
}

static int get_rec(sfj_journal *j, const char *txn_id, sfj__txnrec *r)
{
    uint8_t hash[SFJ__TXN_HASH_BYTES];
    MDB_txn *txn;
    int rc;

    sfj__txn_hash(j->keys, txn_id, hash);
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txnrec_get(j, txn, hash, r);
    sfj__read_end(j, txn);
    return rc;
}

/* Which total line (or in-doubt set) does entry `e` belong to? 0: none. */
static int line_kind(sfj_journal *j, const sfj_entry *e, uint16_t *kind)
{
    sfj__txnrec r;
    int rc;

    *kind = 0;
    if ((e->kind == SFJ_EV_TXN_OUTCOME || e->kind == SFJ_EV_TXN_OFFLINE) &&
        (e->status == SFJ_ST_APPROVED ||
         (e->kind == SFJ_EV_TXN_OFFLINE && e->status == SFJ_ST_NONE))) {
        *kind = e->kind;
    } else if (e->kind != SFJ_EV_REVERSAL && e->kind != SFJ_EV_TXN_INTENT) {
        return SFJ_OK;
    }
    rc = get_rec(j, e->txn_id, &r);
    if (rc == SFJ_ENOTFOUND)
        return SFJ_OK;
    if (rc != SFJ_OK)
        return rc;
    /* An offline sale the acquirer answered counts once, as its OFFLINE
     * line, and not at all once the acquirer declined it. */
    if (*kind == SFJ_EV_TXN_OUTCOME && r.offline_seq != 0)
        *kind = 0;
    else if (*kind == SFJ_EV_TXN_OFFLINE && r.outcome_seq > e->seq &&
             r.outcome == SFJ_ST_DECLINED)
        *kind = 0;
    else if (e->kind == SFJ_EV_REVERSAL && r.reversal_seq == e->seq)
        *kind = SFJ_EV_REVERSAL;
    else if (e->kind == SFJ_EV_TXN_INTENT && r.intent_seq == e->seq &&
             sfj__txn_in_doubt(j, &r))
        *kind = SFJ_EV_TXN_INTENT;
    return SFJ_OK;
}

static int cmp_total(const void *a, const void *b)
{
    const sfj_total *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);

    return c != 0 ? c : (x->kind > y->kind) - (x->kind < y->kind);
}

static int add_total(sfj_batch *b, size_t *cap, const char *currency,
                     uint16_t kind, uint64_t count, int64_t amount)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (b->totals[i].kind == kind &&
            strcmp(b->totals[i].currency, currency) == 0)
            break;
    }
    if (i == b->n) {
        if (b->n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            sfj_total *t = realloc(b->totals, nc * sizeof *t);

            if (t == NULL)
                return SFJ_ENOMEM;
            b->totals = t;
            *cap = nc;
        }
        memset(&b->totals[i], 0, sizeof b->totals[i]);
        memcpy(b->totals[i].currency, currency, 4);
        b->totals[i].kind = kind;
        b->n++;
    }
    b->totals[i].count += count;
    b->totals[i].amount += amount;
    return SFJ_OK;
}

static int push(bscan *s, const sfj_entry *e, uint16_t kind)
{
    bentry *x;

    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        bentry *ne = realloc(s->e, nc * sizeof *ne);

        if (ne == NULL)
            return SFJ_ENOMEM;
        s->e = ne;
        s->cap = nc;
    }
    x = &s->e[s->n++];
    memset(x, 0, sizeof *x);
    x->seq = e->seq;
    x->kind = kind;
    memcpy(x->currency, e->currency, sizeof x->currency);
    x->amount = e->amount;
    memcpy(x->txn_id, e->txn_id, sizeof x->txn_id);
    return SFJ_OK;
}

/* Read the open batch into `s`: its bounds, lines and entries. */
static int scan_batch(sfj_journal *j, bscan *s)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    sfj_entry *e = NULL;
    MDB_txn *txn;
    uint64_t settle = 0, prune = 0;
    uint16_t kind;
    size_t cap = 0, i;
    int rc;

    memset(s, 0, sizeof *s);
    if (j->keys == NULL || j->mirror)
        return SFJ_ESTATE;
    s->b = calloc(1, sizeof *s->b);
    if (s->b == NULL)
        return SFJ_ENOMEM;
    rc = sfj__read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txm_get(j, txn, SFJ__TXM_SETTLE, &settle, NULL);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, &prune);
    sfj__read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    s->b->settlement_seq = settle;
    s->b->from_seq = settle + 1;
    s->b->partial = prune > settle;
    q.from_seq = s->b->from_seq;
    rc = sfj_iter_open(j, &q, &it);
    while (rc == SFJ_OK && (rc = sfj_iter_next(it, &e)) == SFJ_OK) {
        s->b->to_seq = e->seq;
        rc = line_kind(j, e, &kind);
        if (rc == SFJ_OK && kind != 0)
            rc = push(s, e, kind);
        sfj_entry_free(e);
        e = NULL;
    }
    sfj_iter_free(it);
    if (rc != SFJ_ENOTFOUND)
        return rc;
    for (i = 0, rc = SFJ_OK; rc == SFJ_OK && i < s->n; i++) {
        if (s->e[i].kind != SFJ_EV_TXN_INTENT)
            rc = add_total(s->b, &cap, s->e[i].currency, s->e[i].kind, 1,
                           s->e[i].amount);
    }
    if (rc == SFJ_OK && s->b->n > 1)
        qsort(s->b->totals, s->b->n, sizeof *s->b->totals, cmp_total);
    return rc;
}

int sfj_batch_totals(sfj_journal *j, sfj_batch **out)
{
    bscan s;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (j == NULL || out == NULL)
        return SFJ_EINVAL;
    rc = scan_batch(j, &s);
    if (rc == SFJ_OK) {
        *out = s.b;
        s.b = NULL;
    }
    bscan_free(&s);
    return rc;
}

void sfj_batch_free(sfj_batch *b)
{
    if (b == NULL)
        return;
    if (b->totals != NULL) {
        sodium_memzero(b->totals, b->n * sizeof *b->totals);
        free(b->totals);
    }
    free(b);
}

static int is_set_aside(sfj_journal *j, uint64_t seq, int *found)
{
    uint8_t kbuf[8];
    MDB_val k = sfj__seq_key(kbuf, seq), v;
    MDB_txn *txn;
    int rc = sfj__read_begin(j, &txn), mrc;

    if (rc != SFJ_OK)
        return rc;
    mrc = mdb_get(txn, j->db_attn, &k, &v);
    *found = mrc == MDB_SUCCESS;
    if (mrc != MDB_SUCCESS && mrc != MDB_NOTFOUND)
        rc = sfj__mdb_rc(j, mrc, "mdb_get(attention)");
    sfj__read_end(j, txn);
    return rc;
}

static int add_diff_entry(sfj_batch_diff *d, size_t *cap, const bentry *x,
                          uint16_t kind, int reason)
{
    sfj_diff_entry *de;

    if (d->n_entries == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        sfj_diff_entry *ne = realloc(d->entries, nc * sizeof *ne);

        if (ne == NULL)
            return SFJ_ENOMEM;
        d->entries = ne;
        *cap = nc;
    }
    de = &d->entries[d->n_entries++];
    memset(de, 0, sizeof *de);
    de->seq = x->seq;
    de->kind = kind;
    memcpy(de->currency, x->currency, sizeof de->currency);
    de->amount = x->amount;
    memcpy(de->txn_id, x->txn_id, sizeof de->txn_id);
    de->reason = reason;
    return SFJ_OK;
}

/* Explain one line: candidates are the entries the host cannot know
 * (local has more) or the in-doubt intents (host has more). When they add
 * up to the difference exactly the line is explained; otherwise a single
 * entry whose amount is the difference is; otherwise the candidates are
 * listed as leads. */
static int explain(sfj_journal *j, const bscan *s, sfj_diff_line *l,
                   sfj_batch_diff *d, size_t *cap)
{
    int64_t dcount = (int64_t)l->local_count - (int64_t)l->host_count;
    int64_t damount = l->local_amount - l->host_amount, sum = 0;
    int64_t want_n = dcount > 0 ? dcount : -dcount;
    int64_t want_a = dcount > 0 ? damount : -damount;
    size_t i, first = d->n_entries, nc = 0, single = (size_t)-1;
    int rc = SFJ_OK, acked, attn, reason;

    for (i = 0; i < s->n; i++) {
        const bentry *x = &s->e[i];

        if (strcmp(x->currency, l->currency) != 0)
            continue;
        if (dcount > 0 && x->kind == l->kind) {
            rc = sfj__journal_is_acked(j, x->seq, &acked);
            if (rc == SFJ_OK)
                rc = is_set_aside(j, x->seq, &attn);
            if (rc != SFJ_OK)
                return rc;
            if (x->amount == want_a && single == (size_t)-1)
                single = i;
            if (acked && !attn)
                continue;
            reason = attn ? SFJ_DIFF_ATTENTION : SFJ_DIFF_UNFORWARDED;
        } else if (dcount < 0 && x->kind == SFJ_EV_TXN_INTENT &&
                   l->kind == SFJ_EV_TXN_OUTCOME) {
            reason = SFJ_DIFF_IN_DOUBT;
        } else {
            continue;
        }
        rc = add_diff_entry(d, cap, x, l->kind, reason);
        if (rc != SFJ_OK)
            return rc;
        nc++;
        sum += x->amount;
    }
    if (dcount != 0 && (int64_t)nc == want_n && sum == want_a) {
        l->explained = 1;
        return SFJ_OK;
    }
    if (want_n == 1 && single != (size_t)-1) {
        d->n_entries = first; /* the single entry says it all */
        rc = add_diff_entry(d, cap, &s->e[single], l->kind, SFJ_DIFF_AMOUNT);
        l->explained = rc == SFJ_OK;
    }
    return rc;
}

static int cmp_diff_entry(const void *a, const void *b)
{
    const sfj_diff_entry *x = a, *y = b;

    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int add_line(sfj_batch_diff *d, size_t *cap, const char *currency,
                    uint16_t kind, sfj_diff_line **out)
{
    size_t i;

    for (i = 0; i < d->n_lines; i++) {
        if (d->lines[i].kind == kind &&
            strcmp(d->lines[i].currency, currency) == 0) {
            *out = &d->lines[i];
            return SFJ_OK;
        }
    }
    if (d->n_lines == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        sfj_diff_line *nl = realloc(d->lines, nc * sizeof *nl);

        if (nl == NULL)
            return SFJ_ENOMEM;
        d->lines = nl;
        *cap = nc;
    }
    *out = &d->lines[d->n_lines++];
    memset(*out, 0, sizeof **out);
    memcpy((*out)->currency, currency, strlen(currency) + 1);
    (*out)->kind = kind;
    return SFJ_OK;
}

int sfj_batch_compare(sfj_journal *j, const sfj_total *host, size_t n,
                      sfj_batch_diff **out)
{
    sfj_batch_diff *d = NULL;
    sfj_diff_line *l;
    bscan s;
    size_t i, lcap = 0, ecap = 0, keep = 0;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (j == NULL || out == NULL || (n > 0 && host == NULL))
        return SFJ_EINVAL;
    for (i = 0; i < n; i++) {
        if (memchr(host[i].currency, '\0', sizeof host[i].currency) == NULL)
            return SFJ_EINVAL;
    }
    rc = scan_batch(j, &s);
    if (rc != SFJ_OK)
        goto done;
    d = calloc(1, sizeof *d);
    if (d == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    for (i = 0; rc == SFJ_OK && i < s.b->n; i++) {
        rc = add_line(d, &lcap, s.b->totals[i].currency, s.b->totals[i].kind,
                      &l);
        if (rc == SFJ_OK) {
            l->local_count = s.b->totals[i].count;
            l->local_amount = s.b->totals[i].amount;
        }
    }
    for (i = 0; rc == SFJ_OK && i < n; i++) {
        rc = add_line(d, &lcap, host[i].currency, host[i].kind, &l);
        if (rc == SFJ_OK) {
            l->host_count += host[i].count;
            l->host_amount += host[i].amount;
        }
    }
    /* Keep only the lines that differ. */
    for (i = 0; rc == SFJ_OK && i < d->n_lines; i++) {
        if (d->lines[i].local_count != d->lines[i].host_count ||
            d->lines[i].local_amount != d->lines[i].host_amount)
            d->lines[keep++] = d->lines[i];
    }
    d->n_lines = keep;
    d->balanced = keep == 0;
    for (i = 0; rc == SFJ_OK && i < d->n_lines; i++)
        rc = explain(j, &s, &d->lines[i], d, &ecap);
    if (rc == SFJ_OK && d->n_entries > 1)
        qsort(d->entries, d->n_entries, sizeof *d->entries, cmp_diff_entry);
done:
    bscan_free(&s);
    if (rc != SFJ_OK) {
        sfj_batch_diff_free(d);
        return rc;
    }
    *out = d;
    return SFJ_OK;
}

void sfj_batch_diff_free(sfj_batch_diff *d)
{
    if (d == NULL)
        return;
    if (d->entries != NULL) {
        sodium_memzero(d->entries, d->n_entries * sizeof *d->entries);
        free(d->entries);
    }
    free(d->lines);
    free(d);
}
