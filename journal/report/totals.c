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

#include "common/abi.h"
#include "journal/write/txn_index.h"
#include "journal/write/txn_overlay.h"
#include "sfj/errors.h"
#include "sfj/reconcile.h"
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
    int64_t from_ms; /* wall time of the batch's first entry */
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
    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txnrec_get(j, txn, hash, r);
    sfj__txi_read_end(j, txn);
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
    rc = sfj__txi_read_begin(j, &txn);
    if (rc != SFJ_OK)
        return rc;
    rc = sfj__txm_get(j, txn, SFJ__TXM_SETTLE, &settle, NULL);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_PRUNE_SEQ, &prune);
    sfj__txi_read_end(j, txn);
    if (rc != SFJ_OK)
        return rc;
    s->b->settlement_seq = settle;
    s->b->from_seq = settle + 1;
    s->b->partial = prune > settle;
    q.from_seq = s->b->from_seq;
    rc = sfj_iter_open(j, &q, &it);
    s->from_ms = INT64_MAX;
    while (rc == SFJ_OK && (rc = sfj_iter_next(it, &e)) == SFJ_OK) {
        if (s->from_ms == INT64_MAX)
            s->from_ms = e->wall_ms;
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
    MDB_txn *txn;
    int rc = sfj__read_begin(j, &txn);

    if (rc != SFJ_OK)
        return rc;
    rc = sfj__seq_held(j, txn, j->db_attn, seq, "mdb_get(attention)", found);
    sfj__read_end(j, txn);
    return rc;
}

/* Is entry `seq` still the terminal's alone: not acknowledged by the
 * host, or set aside as rejected (`*attn`)? */
static int host_lacks(sfj_journal *j, uint64_t seq, int *lacks, int *attn)
{
    int acked = 0, rc = sfj__journal_is_acked(j, seq, &acked);

    *attn = 0;
    if (rc == SFJ_OK)
        rc = is_set_aside(j, seq, attn);
    *lacks = !acked || *attn;
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
    int rc = SFJ_OK, lacks, attn, reason;

    for (i = 0; i < s->n; i++) {
        const bentry *x = &s->e[i];

        if (strcmp(x->currency, l->currency) != 0)
            continue;
        if (dcount > 0 && x->kind == l->kind) {
            rc = host_lacks(j, x->seq, &lacks, &attn);
            if (rc != SFJ_OK)
                return rc;
            if (x->amount == want_a && single == (size_t)-1)
                single = i;
            if (!lacks)
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

/* ---- Settlement per currency ----------------------------------------- */

/* The batch's lines per currency (its totals are sorted by currency). */
static int net_lines(const sfj_batch *b, sfj_settle_line *out, size_t cap,
                     size_t *n)
{
    size_t i, k = 0;

    for (i = 0; i < b->n; i++) {
        const sfj_total *t = &b->totals[i];

        if (k == 0 || strcmp(out[k - 1].currency, t->currency) != 0) {
            if (k == cap)
                return SFJ_EBUFS;
            memset(&out[k], 0, sizeof out[k]);
            memcpy(out[k].currency, t->currency, sizeof out[k].currency);
            k++;
        }
        if (t->kind == SFJ_EV_REVERSAL) {
            out[k - 1].amount -= t->amount;
        } else {
            out[k - 1].count += t->count;
            out[k - 1].amount += t->amount;
        }
    }
    *n = k;
    return SFJ_OK;
}

int sfj_batch_lines(const sfj_batch *b, sfj_settle_line *out, size_t cap,
                    size_t *n)
{
    if (n != NULL)
        *n = 0;
    if (b == NULL || n == NULL || (out == NULL && cap > 0))
        return SFJ_EINVAL;
    return net_lines(b, out, cap, n);
}

/* One comparison under way. */
typedef struct sctx {
    sfj_journal *j;
    const bscan *s;
    const sfj_recon_item **ix; /* reconciled sales by txn id */
    size_t nix;
    sfj_settle_why *w; /* every part found, in any currency */
    size_t nw, wcap;
} sctx;

static int cmp_item_id(const void *a, const void *b)
{
    const sfj_recon_item *const *x = a, *const *y = b;

    return strcmp((*x)->txn_id, (*y)->txn_id);
}

static const sfj_recon_item *item_of(const sctx *c, const char *txn_id)
{
    sfj_recon_item key;
    const sfj_recon_item *kp = &key, *const * hit;

    if (c->nix == 0)
        return NULL;
    memcpy(key.txn_id, txn_id, sizeof key.txn_id);
    hit = bsearch(&kp, c->ix, c->nix, sizeof *c->ix, cmp_item_id);
    return hit != NULL ? *hit : NULL;
}

static int add_why(sctx *c, const char *currency, int64_t delta, int count,
                   int reason, const bentry *x, const sfj_recon_item *it)
{
    sfj_settle_why *w;

    if (c->nw == c->wcap) {
        size_t nc = c->wcap ? c->wcap * 2 : 16;
        sfj_settle_why *nw = realloc(c->w, nc * sizeof *nw);

        if (nw == NULL)
            return SFJ_ENOMEM;
        c->w = nw;
        c->wcap = nc;
    }
    w = &c->w[c->nw++];
    memset(w, 0, sizeof *w);
    memcpy(w->currency, currency, sizeof w->currency);
    w->delta = delta;
    w->count_delta = count;
    w->reason = (sfj_diff_reason)reason;
    w->recon_class = -1;
    if (x != NULL) {
        w->seq = x->seq;
        w->kind = (sfj_kind)x->kind;
        memcpy(w->txn_id, x->txn_id, sizeof w->txn_id);
        w->amount = x->amount;
    } else if (it != NULL) {
        memcpy(w->txn_id, it->txn_id, sizeof w->txn_id);
        w->amount = it->report_amount;
    }
    if (it != NULL) {
        w->recon_class = (int)it->cls;
        w->report = it->report;
        w->line = it->line;
    }
    return SFJ_OK;
}

/* The parts one batch entry may play in a difference. */
static int entry_parts(sctx *c, const bentry *x)
{
    const sfj_recon_item *it = item_of(c, x->txn_id);
    int cls = it != NULL ? (int)it->cls : -1;
    int sale = x->kind != SFJ_EV_REVERSAL, lacks, attn, rc;
    int64_t a = x->amount;

    if (x->kind == SFJ_EV_TXN_INTENT) {
        /* In doubt: the host may have charged it, unless the acquirer's
         * report proves it did not. */
        if (cls == SFJ_RECON_DOUBT_ABSENT)
            return SFJ_OK;
        if (cls == SFJ_RECON_MISMATCH)
            return add_why(c, it->report_currency, -it->report_amount, -1,
                           SFJ_DIFF_IN_DOUBT, x, it);
        return add_why(c, x->currency, -a, -1, SFJ_DIFF_IN_DOUBT, x, it);
    }
    rc = host_lacks(c->j, x->seq, &lacks, &attn);
    if (rc != SFJ_OK)
        return rc;
    /* With a reconciliation the host's totals are the acquirer's: what
     * its report shows is no difference, forwarded yet or not. */
    if (lacks && cls != SFJ_RECON_MATCHED)
        return add_why(c, x->currency, sale ? a : -a, sale,
                       attn ? SFJ_DIFF_ATTENTION : SFJ_DIFF_UNFORWARDED, x, it);
    if (sale && cls == SFJ_RECON_NOT_RECEIVED)
        return add_why(c, x->currency, a, 1, SFJ_DIFF_REPORT, x, it);
    if (sale && cls == SFJ_RECON_MISMATCH) {
        if (strcmp(x->currency, it->report_currency) == 0)
            return add_why(c, x->currency, a - it->report_amount, 0,
                           SFJ_DIFF_REPORT, x, it);
        rc = add_why(c, x->currency, a, 1, SFJ_DIFF_REPORT, x, it);
        return rc != SFJ_OK
                   ? rc
                   : add_why(c, it->report_currency, -it->report_amount, -1,
                             SFJ_DIFF_REPORT, x, it);
    }
    if (!sale && cls == SFJ_RECON_REVERSAL_UNCONFIRMED)
        return add_why(c, x->currency, -a, 0, SFJ_DIFF_REPORT, x, it);
    return SFJ_OK;
}

/* Every part: the batch's entries, then the report's charges that no
 * journal sale of the batch holds. */
static int find_parts(sctx *c, const sfj_recon_result *res)
{
    size_t i;
    int rc = SFJ_OK;

    for (i = 0; rc == SFJ_OK && i < c->s->n; i++)
        rc = entry_parts(c, &c->s->e[i]);
    for (i = 0; rc == SFJ_OK && res != NULL && i < res->n_items; i++) {
        const sfj_recon_item *it = &res->items[i];

        if (it->cls == SFJ_RECON_NOT_JOURNALED && it->wall_ms >= c->s->from_ms)
            rc = add_why(c, it->report_currency, -it->report_amount, -1,
                         SFJ_DIFF_REPORT, NULL, it);
    }
    return rc;
}

static int index_items(sctx *c, const sfj_recon_result *res)
{
    size_t i;

    if (res == NULL || res->n_items == 0)
        return SFJ_OK;
    c->ix = malloc(res->n_items * sizeof *c->ix);
    if (c->ix == NULL)
        return SFJ_ENOMEM;
    for (i = 0; i < res->n_items; i++) {
        if (res->items[i].txn_id[0] != '\0' &&
            res->items[i].cls != SFJ_RECON_NOT_JOURNALED)
            c->ix[c->nix++] = &res->items[i];
    }
    qsort(c->ix, c->nix, sizeof *c->ix, cmp_item_id);
    return SFJ_OK;
}

static int host_line_ok(const sfj_settle_line *l)
{
    size_t i;

    if (l->currency[0] == '\0')
        return 1;
    for (i = 0; i < 3; i++) {
        if (l->currency[i] < 'A' || l->currency[i] > 'Z')
            return 0;
    }
    return l->currency[3] == '\0';
}

static int cmp_dline(const void *a, const void *b)
{
    return strcmp(((const sfj_settle_diff_line *)a)->currency,
                  ((const sfj_settle_diff_line *)b)->currency);
}

static int cmp_why(const void *a, const void *b)
{
    const sfj_settle_why *x = a, *y = b;
    int c = strcmp(x->currency, y->currency);

    if (c != 0)
        return c;
    if (x->seq != y->seq) /* report lines without an entry last */
        return x->seq == 0 ? 1 : y->seq == 0 ? -1 : (x->seq > y->seq) ? 1 : -1;
    return (x->line > y->line) - (x->line < y->line);
}

/* The currencies of `local` and `host` that differ, sorted. */
static int diff_lines(const sfj_settle_line *local, size_t nl,
                      const sfj_settle_line *host, size_t nh,
                      sfj_settle_diff *d)
{
    size_t i, k, keep = 0;

    d->lines = calloc(nl + nh + 1, sizeof *d->lines);
    if (d->lines == NULL)
        return SFJ_ENOMEM;
    for (i = 0; i < nl; i++) {
        sfj_settle_diff_line *l = &d->lines[d->n_lines++];

        memcpy(l->currency, local[i].currency, sizeof l->currency);
        l->local_count = local[i].count;
        l->local_amount = local[i].amount;
    }
    for (i = 0; i < nh; i++) {
        for (k = 0; k < d->n_lines; k++) {
            if (strcmp(d->lines[k].currency, host[i].currency) == 0)
                break;
        }
        if (k == d->n_lines)
            memcpy(d->lines[d->n_lines++].currency, host[i].currency, 4);
        d->lines[k].host_count = host[i].count;
        d->lines[k].host_amount = host[i].amount;
    }
    for (i = 0; i < d->n_lines; i++) {
        if (d->lines[i].local_count != d->lines[i].host_count ||
            d->lines[i].local_amount != d->lines[i].host_amount)
            d->lines[keep++] = d->lines[i];
    }
    d->n_lines = keep;
    d->balanced = keep == 0;
    if (keep > 1)
        qsort(d->lines, keep, sizeof *d->lines, cmp_dline);
    return SFJ_OK;
}

/* A sale the host acknowledged yet lacks: the one whose amount is the
 * difference, if any. */
static int amount_part(sctx *c, sfj_settle_diff_line *l, int64_t want,
                       size_t first, sfj_settle_diff *d)
{
    size_t i;

    for (i = 0; i < c->s->n; i++) {
        const bentry *x = &c->s->e[i];

        if ((x->kind == SFJ_EV_TXN_OUTCOME || x->kind == SFJ_EV_TXN_OFFLINE) &&
            x->amount == want && strcmp(x->currency, l->currency) == 0) {
            size_t n0 = c->nw;
            int rc = add_why(c, l->currency, want, 1, SFJ_DIFF_AMOUNT, x,
                             item_of(c, x->txn_id));

            if (rc != SFJ_OK)
                return rc;
            c->nw = n0;       /* not a part of other lines */
            d->n_why = first; /* the single entry says it all */
            d->why[d->n_why++] = c->w[n0];
            l->explained = 1;
            return SFJ_OK;
        }
    }
    return SFJ_OK;
}

/* Keep the parts of the differing currencies and judge each line: its
 * parts add up, or a single part is the whole difference. */
static int explain_lines(sctx *c, sfj_settle_diff *d)
{
    size_t i, k, first, single;
    int rc = SFJ_OK;

    d->why = calloc(c->nw + d->n_lines + 1, sizeof *d->why);
    if (d->why == NULL)
        return SFJ_ENOMEM;
    if (c->nw > 1)
        qsort(c->w, c->nw, sizeof *c->w, cmp_why);
    for (i = 0; i < d->n_lines; i++) {
        sfj_settle_diff_line *l = &d->lines[i];
        int64_t want_a = l->local_amount - l->host_amount, sum_a = 0;
        int64_t want_n = (int64_t)l->local_count - (int64_t)l->host_count;
        int64_t sum_n = 0;

        first = d->n_why;
        single = (size_t)-1;
        for (k = 0; k < c->nw; k++) {
            if (strcmp(c->w[k].currency, l->currency) != 0)
                continue;
            d->why[d->n_why++] = c->w[k];
            sum_a += c->w[k].delta;
            sum_n += c->w[k].count_delta;
            if (c->w[k].delta == want_a && c->w[k].count_delta == want_n &&
                single == (size_t)-1)
                single = d->n_why - 1;
        }
        if (sum_a == want_a && sum_n == want_n) {
            l->explained = d->n_why > first;
        } else if (single != (size_t)-1) {
            d->why[first] = d->why[single];
            d->n_why = first + 1;
            l->explained = 1;
        } else if (want_n == 1) {
            rc = amount_part(c, l, want_a, first, d);
        }
    }
    return rc;
}

int sfj_settle_compare(sfj_journal *j, const sfj_settle_line *host, size_t n,
                       const sfj_settle_opts *opts, sfj_settle_diff **out)
{
    const sfj_recon_result *res = NULL;
    sfj_settle_line *local = NULL;
    sfj_settle_diff *d = NULL;
    sctx c;
    bscan s;
    size_t i, k, nl = 0;
    int rc;

    memset(&s, 0, sizeof s);
    memset(&c, 0, sizeof c);
    if (out != NULL)
        *out = NULL;
    if (opts != NULL &&
        !SFJ__VERSION_OK(opts->version, SFJ_SETTLE_OPTS_VERSION))
        return SFJ_EVERSION;
    if (j == NULL || out == NULL || (n > 0 && host == NULL))
        return SFJ_EINVAL;
    for (i = 0; i < n; i++) {
        if (!host_line_ok(&host[i]))
            return SFJ_EINVAL;
        for (k = 0; k < i; k++) {
            if (strcmp(host[k].currency, host[i].currency) == 0)
                return SFJ_EINVAL;
        }
    }
    if (opts != NULL && opts->recon != NULL) {
        res = sfj_recon_result_get(opts->recon);
        if (res == NULL)
            return SFJ_EINVAL;
    }
    rc = scan_batch(j, &s);
    if (rc != SFJ_OK)
        goto done;
    local = calloc(s.b->n + 1, sizeof *local);
    d = calloc(1, sizeof *d);
    if (local == NULL || d == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    d->from_seq = s.b->from_seq;
    d->to_seq = s.b->to_seq;
    c.j = j;
    c.s = &s;
    rc = net_lines(s.b, local, s.b->n, &nl);
    if (rc == SFJ_OK)
        rc = diff_lines(local, nl, host, n, d);
    if (rc == SFJ_OK && !d->balanced) {
        rc = index_items(&c, res);
        if (rc == SFJ_OK)
            rc = find_parts(&c, res);
        if (rc == SFJ_OK)
            rc = explain_lines(&c, d);
    }
done:
    bscan_free(&s);
    free(local);
    free(c.ix);
    if (c.w != NULL) {
        sodium_memzero(c.w, c.wcap * sizeof *c.w);
        free(c.w);
    }
    if (rc != SFJ_OK) {
        sfj_settle_diff_free(d);
        return rc;
    }
    *out = d;
    return SFJ_OK;
}

void sfj_settle_diff_free(sfj_settle_diff *d)
{
    if (d == NULL)
        return;
    if (d->why != NULL) {
        sodium_memzero(d->why, d->n_why * sizeof *d->why);
        free(d->why);
    }
    free(d->lines);
    free(d);
}
