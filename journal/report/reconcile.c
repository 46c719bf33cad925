/* Reconciliation: the journal's sales against the acquirer's report lines
 * (docs/RECONCILE.md).
 *
 * The journal is read once through the public iterator and folded into one
 * sale per txn (its INTENT or OFFLINE, answer, reversal); a sale waiting
 * for its answer asks sfj_txn_get whether it is in doubt. Report lines are
 * then matched in report order, each at most once: by reference (txn id or
 * merchant reference), then auth code, then amount + currency + time
 * window (+ terminal), closest in time first. A second sale line for a
 * sale already matched by reference is a second charge. Each journal sale
 * in the report's time range, and each approved line left over, becomes
 * one item of a class. Hash tables and a sorted index keep it O(n log n);
 * memory is linear in the report and the sales. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/abi.h"
#include "journal/report/recon_impl.h"
#include "sfj/errors.h"
#include "sfj/txn.h"

#define DEFAULT_WINDOW_MS (10 * 60 * 1000)

typedef struct jsale {
    char txn_id[SFJ_TXN_ID_MAX + 1];
    char ref[SFJ_MERCHANT_REF_MAX + 1];
    char auth[SFJ_AUTH_CODE_MAX + 1];
    char currency[4];
    int64_t amount;
    int64_t wall_ms;
    uint64_t seq;
    uint16_t outcome;    /* SFJ_ST_* of the final answer, 0: none */
    uint8_t waiting;     /* an INTENT without a final answer */
    uint8_t in_doubt;    /* waiting and in doubt (sfj_txn_get) */
    uint8_t reversed;    /* a reversal is journaled */
    uint16_t rev_status; /* its newest status */
    uint8_t has_sale;    /* an INTENT or OFFLINE was seen */
    size_t line;         /* matched sale line + 1 */
    size_t rev_line;     /* matched reversal line + 1 */
} jsale;

struct sfj_recon {
    sfj_recon_opts o;
    char **names;
    size_t n_names;
    sfj__rlines lines;
    jsale *s;
    size_t ns, scap;
    sfj_recon_item *items;
    size_t *proof; /* per item: the report line that proves it + 1 */
    size_t n_items;
    sfj_recon_result res;
    int has_result;
    char err[256];
};

/* ---- hash table over strings -> index ---------------------------------- */

typedef struct htab {
    size_t *slot; /* index + 1, 0 empty */
    size_t mask;
} htab;

static uint64_t hstr(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int htab_init(htab *t, size_t n)
{
    size_t cap = 16;

    while (cap < 2 * n + 2)
        cap *= 2;
    t->slot = calloc(cap, sizeof *t->slot);
    t->mask = cap - 1;
    return t->slot != NULL ? SFJ_OK : SFJ_ENOMEM;
}

typedef const char *(*key_fn)(const void *base, size_t i);

/* Find `key`; with `add` (an index), insert it when absent. Returns the
 * index + 1 found (or 0). */
static size_t htab_find(htab *t, const char *key, key_fn kf, const void *base,
                        size_t add)
{
    size_t i = (size_t)hstr(key) & t->mask;

    for (; t->slot[i] != 0; i = (i + 1) & t->mask) {
        if (strcmp(kf(base, t->slot[i] - 1), key) == 0)
            return t->slot[i];
    }
    if (add != 0)
        t->slot[i] = add;
    return 0;
}

static const char *sale_id(const void *b, size_t i)
{
    return ((const jsale *)b)[i].txn_id;
}

static const char *sale_ref(const void *b, size_t i)
{
    const jsale *s = (const jsale *)b + i;

    return s->ref[0] != '\0' ? s->ref : s->txn_id;
}

static const char *sale_auth(const void *b, size_t i)
{
    return ((const jsale *)b)[i].auth;
}

/* ---- options --------------------------------------------------------- */

int sfj_recon_preset(const char *name, sfj_recon_opts *out)
{
    unsigned v;

    if (name == NULL || out == NULL)
        return SFJ_EINVAL;
    v = out->version;
    if (!SFJ__VERSION_OK(v, SFJ_RECON_OPTS_VERSION))
        return SFJ_EVERSION;
    memset(out, 0, sizeof *out);
    out->version = v;
    out->format = SFJ_RECON_CSV;
    out->separator = ',';
    if (strcmp(name, "generic") == 0) {
        out->col_reference = "reference";
        out->col_amount = "amount";
        out->col_currency = "currency";
        out->col_time = "time";
        out->col_status = "status";
        out->col_auth_code = "auth_code";
        out->col_card = "card";
        out->col_terminal_id = "terminal_id";
        out->approved = "approved|captured|settled|00";
        out->declined = "declined|failed|refused|05|51";
        out->reversed = "reversed|reversal|void|voided|cancelled|refunded";
        return SFJ_OK;
    }
    if (strcmp(name, "iso8583") == 0) {
        out->col_reference = "merchant_ref";
        out->col_amount = "amount";
        out->col_currency = "currency";
        out->col_time = "time";
        out->col_status = "response_code";
        out->col_auth_code = "auth_id";
        out->col_card = "pan";
        out->col_terminal_id = "terminal_id";
        out->col_rrn = "rrn";
        out->col_stan = "stan";
        out->amount_minor = 1;
        out->approved = "00|08|10|11";
        out->declined = "05|14|51|54|55|57|61|91|96";
        out->reversed = "R|400|420";
        return SFJ_OK;
    }
    return SFJ_ENOTFOUND;
}

int sfj_recon_new(const sfj_recon_opts *opts, sfj_recon **out)
{
    sfj_recon *r;

    if (out == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (opts == NULL)
        return SFJ_EINVAL;
    if (!SFJ__VERSION_OK(opts->version, SFJ_RECON_OPTS_VERSION))
        return SFJ_EVERSION;
    if (opts->col_amount == NULL || opts->col_time == NULL ||
        (opts->col_reference == NULL && opts->col_auth_code == NULL) ||
        (opts->format != SFJ_RECON_CSV && opts->format != SFJ_RECON_JSONL))
        return SFJ_EINVAL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return SFJ_ENOMEM;
    r->o = *opts;
    if (r->o.window_ms <= 0)
        r->o.window_ms = DEFAULT_WINDOW_MS;
    *out = r;
    return SFJ_OK;
}

int sfj_recon_add_report(sfj_recon *r, const char *name, const char *data,
                         size_t len)
{
    char **names, *copy;
    int rc;

    if (r == NULL || name == NULL || (data == NULL && len > 0))
        return SFJ_EINVAL;
    r->err[0] = '\0';
    names = realloc(r->names, (r->n_names + 1) * sizeof *names);
    if (names == NULL)
        return SFJ_ENOMEM;
    r->names = names;
    copy = strdup(name);
    if (copy == NULL)
        return SFJ_ENOMEM;
    rc = sfj__recon_parse(&r->o, name, (uint32_t)r->n_names, data, len,
                          &r->lines, r->err, sizeof r->err);
    if (rc != SFJ_OK) {
        free(copy);
        return rc;
    }
    r->names[r->n_names++] = copy;
    return SFJ_OK;
}

/* ---- the journal's sales ---------------------------------------------- */

/* The sale of `txn_id`, new when unseen; `t` has room for every entry. */
static int sale_of(sfj_recon *r, htab *t, const char *txn_id, jsale **out)
{
    size_t f = htab_find(t, txn_id, sale_id, r->s, 0), cap;
    jsale *v;

    if (f != 0) {
        *out = &r->s[f - 1];
        return SFJ_OK;
    }
    if (r->ns == r->scap) {
        cap = r->scap ? r->scap * 2 : 1024;
        v = realloc(r->s, cap * sizeof *v);
        if (v == NULL)
            return SFJ_ENOMEM;
        r->s = v;
        r->scap = cap;
    }
    v = &r->s[r->ns];
    memset(v, 0, sizeof *v);
    memcpy(v->txn_id, txn_id, strlen(txn_id) + 1);
    htab_find(t, txn_id, sale_id, r->s, ++r->ns);
    *out = v;
    return SFJ_OK;
}

static void fold(jsale *s, const sfj_entry *e)
{
    switch (e->kind) {
    case SFJ_EV_TXN_INTENT:
    case SFJ_EV_TXN_OFFLINE:
        if (!s->has_sale) {
            s->has_sale = 1;
            s->seq = e->seq;
            s->wall_ms = e->wall_ms;
        }
        s->amount = e->amount;
        memcpy(s->currency, e->currency, 4);
        if (e->merchant_ref[0] != '\0')
            memcpy(s->ref, e->merchant_ref, sizeof s->ref);
        if (e->kind == SFJ_EV_TXN_OFFLINE) {
            s->outcome = e->status == SFJ_ST_DECLINED ? SFJ_ST_DECLINED
                                                      : SFJ_ST_APPROVED;
            memcpy(s->auth, e->auth_code, sizeof s->auth);
        } else {
            s->waiting = 1;
        }
        break;
    case SFJ_EV_TXN_OUTCOME:
        if (e->status == SFJ_ST_ERROR)
            break;
        s->outcome = (uint16_t)e->status;
        s->waiting = 0;
        if (e->auth_code[0] != '\0')
            memcpy(s->auth, e->auth_code, sizeof s->auth);
        if (e->status == SFJ_ST_APPROVED && e->amount != 0)
            s->amount = e->amount;
        if (e->merchant_ref[0] != '\0')
            memcpy(s->ref, e->merchant_ref, sizeof s->ref);
        break;
    case SFJ_EV_REVERSAL:
        s->reversed = 1;
        s->rev_status = (uint16_t)e->status;
        break;
    default:
        break;
    }
}

static int scan_journal(sfj_recon *r, sfj_journal *j)
{
    sfj_iter *it = NULL;
    sfj_entry *e = NULL;
    htab t = {0};
    jsale *s;
    sfj_txn tx = SFJ_TXN_INIT;
    sfj_stats st = SFJ_STATS_INIT;
    size_t i, keep = 0;
    int rc;

    r->ns = 0;
    /* At most one sale per entry: the table never fills past half. */
    rc = sfj_stats_get(j, &st);
    if (rc == SFJ_OK)
        rc = htab_init(&t, (size_t)st.entries + 16);
    if (rc == SFJ_OK)
        rc = sfj_iter_open(j, NULL, &it);
    while (rc == SFJ_OK && (rc = sfj_iter_next(it, &e)) == SFJ_OK) {
        if ((e->kind == SFJ_EV_TXN_INTENT || e->kind == SFJ_EV_TXN_OFFLINE ||
             e->kind == SFJ_EV_TXN_OUTCOME || e->kind == SFJ_EV_REVERSAL) &&
            e->txn_id[0] != '\0') {
            rc = sale_of(r, &t, e->txn_id, &s);
            if (rc == SFJ_OK)
                fold(s, e);
        }
        sfj_entry_free(e);
        e = NULL;
    }
    if (rc == SFJ_ENOTFOUND)
        rc = SFJ_OK;
    sfj_iter_free(it);
    free(t.slot);
    /* Keep sales whose INTENT or OFFLINE is still held; ask the index
     * whether a waiting one is in doubt. */
    for (i = 0; rc == SFJ_OK && i < r->ns; i++) {
        if (!r->s[i].has_sale)
            continue;
        if (r->s[i].waiting && !r->s[i].reversed) {
            rc = sfj_txn_get(j, r->s[i].txn_id, &tx);
            if (rc != SFJ_OK)
                break;
            r->s[i].in_doubt = tx.state == SFJ_TXN_IN_DOUBT;
        }
        r->s[keep++] = r->s[i];
    }
    r->ns = keep;
    return rc;
}

/* ---- matching --------------------------------------------------------- */

static int64_t dist(int64_t a, int64_t b)
{
    return a > b ? a - b : b - a;
}

/* May line `l` take sale `s` under the amount/time rule? */
static int fits(const sfj_recon *r, const sfj__rline *l, const jsale *s)
{
    return s->line == 0 && s->amount == l->amount &&
           strcmp(s->currency, l->currency) == 0 &&
           dist(s->wall_ms, l->time_ms) <= r->o.window_ms;
}

static const jsale *cmp_base;

static int cmp_amount(const void *a, const void *b)
{
    const jsale *x = &cmp_base[*(const size_t *)a];
    const jsale *y = &cmp_base[*(const size_t *)b];
    int c = strcmp(x->currency, y->currency);

    if (c != 0)
        return c;
    if (x->amount != y->amount)
        return x->amount < y->amount ? -1 : 1;
    return x->wall_ms < y->wall_ms ? -1 : x->wall_ms > y->wall_ms;
}

/* First index in `ord` whose sale is not below (currency, amount). */
static size_t lower(const sfj_recon *r, const size_t *ord, const char *cy,
                    int64_t amount)
{
    size_t lo = 0, hi = r->ns;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const jsale *s = &r->s[ord[mid]];
        int c = strcmp(s->currency, cy);

        if (c < 0 || (c == 0 && s->amount < amount))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int match(sfj_recon *r)
{
    htab by_id = {0}, by_ref = {0}, by_auth = {0};
    size_t *ord = NULL, *auth_next = NULL, i, k, f;
    int rc;

    rc = htab_init(&by_id, r->ns);
    if (rc == SFJ_OK)
        rc = htab_init(&by_ref, r->ns);
    if (rc == SFJ_OK)
        rc = htab_init(&by_auth, r->ns);
    ord = malloc((r->ns + 1) * sizeof *ord);
    auth_next = calloc(r->ns + 1, sizeof *auth_next);
    if (rc != SFJ_OK || ord == NULL || auth_next == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    /* Sales by txn id and by merchant reference; by auth code as chains of
     * sales sharing one (auth_next links them). */
    for (i = 0; i < r->ns; i++) {
        jsale *s = &r->s[i];

        s->line = s->rev_line = 0;
        htab_find(&by_id, s->txn_id, sale_id, r->s, i + 1);
        if (s->ref[0] != '\0')
            htab_find(&by_ref, s->ref, sale_ref, r->s, i + 1);
        if (s->auth[0] != '\0') {
            f = htab_find(&by_auth, s->auth, sale_auth, r->s, i + 1);
            if (f != 0) { /* push onto the chain after its head */
                auth_next[i] = auth_next[f - 1];
                auth_next[f - 1] = i + 1;
            }
        }
        ord[i] = i;
    }
    cmp_base = r->s;
    qsort(ord, r->ns, sizeof *ord, cmp_amount);

    for (k = 0; k < r->lines.n; k++) {
        sfj__rline *l = &r->lines.v[k];
        size_t best = 0;
        int64_t bd = INT64_MAX;

        l->sale = 0;
        l->rule = SFJ_RECON_RULE_NONE;
        if (l->other)
            continue;
        if (l->ref[0] != '\0') {
            f = htab_find(&by_id, l->ref, sale_id, r->s, 0);
            if (f == 0)
                f = htab_find(&by_ref, l->ref, sale_ref, r->s, 0);
            if (f != 0) {
                jsale *s = &r->s[f - 1];

                l->rule = SFJ_RECON_RULE_REFERENCE;
                if (l->status == RL_REVERSED && s->rev_line == 0) {
                    s->rev_line = k + 1;
                    l->sale = f;
                } else if (l->status != RL_REVERSED && s->line == 0) {
                    s->line = k + 1;
                    l->sale = f;
                } /* else: a second line for the sale (kept unmatched) */
                continue;
            }
        }
        if (l->status == RL_REVERSED)
            continue; /* a reversal is only ever matched by reference */
        if (l->auth[0] != '\0') {
            f = htab_find(&by_auth, l->auth, sale_auth, r->s, 0);
            for (; f != 0; f = auth_next[f - 1]) {
                const jsale *s = &r->s[f - 1];

                if (s->line == 0 && dist(s->wall_ms, l->time_ms) < bd) {
                    bd = dist(s->wall_ms, l->time_ms);
                    best = f;
                }
            }
            if (best != 0) {
                l->rule = SFJ_RECON_RULE_AUTH_CODE;
                goto take;
            }
        }
        for (i = lower(r, ord, l->currency, l->amount); i < r->ns; i++) {
            const jsale *s = &r->s[ord[i]];

            if (strcmp(s->currency, l->currency) != 0 || s->amount != l->amount)
                break;
            if (fits(r, l, s) && dist(s->wall_ms, l->time_ms) < bd) {
                bd = dist(s->wall_ms, l->time_ms);
                best = ord[i] + 1;
            }
        }
        if (best == 0)
            continue;
        l->rule = SFJ_RECON_RULE_AMOUNT_TIME;
    take:
        r->s[best - 1].line = k + 1;
        l->sale = best;
    }
done:
    free(by_id.slot);
    free(by_ref.slot);
    free(by_auth.slot);
    free(ord);
    free(auth_next);
    return rc;
}

/* ---- classes ---------------------------------------------------------- */

static int classify(const jsale *s, const sfj__rline *l, const sfj__rline *rv,
                    int *applicable)
{
    int same = l != NULL && l->amount == s->amount &&
               strcmp(l->currency, s->currency) == 0;

    *applicable = 0;
    if (s->reversed) {
        if (rv != NULL) {
            *applicable = s->rev_status != SFJ_ST_APPROVED;
            return SFJ_RECON_MATCHED;
        }
        return l != NULL && l->status == RL_APPROVED
                   ? SFJ_RECON_REVERSAL_UNCONFIRMED
                   : SFJ_RECON_MATCHED;
    }
    if (s->waiting) {
        if (l != NULL && l->status == RL_APPROVED) {
            *applicable = same && s->in_doubt;
            return same ? SFJ_RECON_DOUBT_APPROVED : SFJ_RECON_MISMATCH;
        }
        *applicable = l != NULL && l->status == RL_DECLINED && s->in_doubt;
        return SFJ_RECON_DOUBT_ABSENT;
    }
    if (s->outcome == SFJ_ST_APPROVED) {
        if (l == NULL || l->status != RL_APPROVED)
            return SFJ_RECON_NOT_RECEIVED;
        return same ? SFJ_RECON_MATCHED : SFJ_RECON_MISMATCH;
    }
    /* Declined here. */
    return l != NULL && l->status == RL_APPROVED ? SFJ_RECON_NOT_JOURNALED
                                                 : SFJ_RECON_MATCHED;
}

static void item_line(sfj_recon *r, sfj_recon_item *it, const sfj__rline *l)
{
    static const char *const st[] = {"other", "approved", "declined",
                                     "reversed"};

    it->report = r->names[l->report];
    it->line = l->line;
    it->report_amount = l->amount;
    memcpy(it->report_currency, l->currency, 4);
    snprintf(it->report_status, sizeof it->report_status, "%s", st[l->status]);
    memcpy(it->auth_code, l->auth, sizeof it->auth_code);
    memcpy(it->card, l->card, sizeof it->card);
}

static int build(sfj_recon *r, sfj_journal *j)
{
    sfj_recon_result *res = &r->res;
    char tid[SFJ_TERMINAL_ID_MAX + 1];
    size_t i, mine = 0;
    int rc;

    memset(res, 0, sizeof *res);
    rc = sfj_journal_terminal_id(j, tid, sizeof tid);
    if (rc != SFJ_OK)
        return rc;
    res->from_ms = INT64_MAX;
    res->to_ms = INT64_MIN;
    for (i = 0; i < r->lines.n; i++) {
        sfj__rline *l = &r->lines.v[i];

        l->other = l->terminal[0] != '\0' && tid[0] != '\0' &&
                   strcmp(l->terminal, tid) != 0;
        if (l->other) {
            res->lines_other++;
            continue;
        }
        mine++;
        if (l->time_ms < res->from_ms)
            res->from_ms = l->time_ms;
        if (l->time_ms > res->to_ms)
            res->to_ms = l->time_ms;
    }
    res->lines = r->lines.n;
    res->pans_masked = r->lines.pans_masked;
    if (mine == 0) {
        snprintf(r->err, sizeof r->err,
                 "no report line is for terminal \"%s\" (%zu lines of other "
                 "terminals)",
                 tid, res->lines_other);
        return SFJ_EREPORT;
    }
    return SFJ_OK;
}

int sfj_recon_run(sfj_recon *r, sfj_journal *j)
{
    sfj_recon_result *res;
    sfj_recon_item *it;
    size_t i, n = 0;
    int rc, app;

    if (r == NULL || j == NULL)
        return SFJ_EINVAL;
    r->has_result = 0;
    r->err[0] = '\0';
    if (r->lines.n == 0) {
        snprintf(r->err, sizeof r->err, "no report");
        return SFJ_EREPORT;
    }
    rc = build(r, j);
    if (rc == SFJ_OK)
        rc = scan_journal(r, j);
    if (rc != SFJ_OK)
        return rc;
    /* Sales outside the report's time range (and its window) are not
     * in it: a partial report says nothing of them. */
    res = &r->res;
    for (i = 0; i < r->ns; i++) {
        jsale *s = &r->s[i];

        if (s->wall_ms < res->from_ms - r->o.window_ms ||
            s->wall_ms > res->to_ms + r->o.window_ms ||
            (s->waiting && !s->in_doubt && !s->reversed)) {
            continue;
        }
        r->s[n++] = *s;
    }
    r->ns = n;
    res->sales = n;
    rc = match(r);
    if (rc != SFJ_OK)
        return rc;
    free(r->items);
    free(r->proof);
    r->items = calloc(r->ns + r->lines.n + 1, sizeof *r->items);
    r->proof = calloc(r->ns + r->lines.n + 1, sizeof *r->proof);
    if (r->items == NULL || r->proof == NULL)
        return SFJ_ENOMEM;
    r->n_items = 0;
    for (i = 0; i < r->ns; i++) {
        const jsale *s = &r->s[i];
        const sfj__rline *l = s->line ? &r->lines.v[s->line - 1] : NULL;
        const sfj__rline *rv =
            s->rev_line ? &r->lines.v[s->rev_line - 1] : NULL;

        it = &r->items[r->n_items++];
        it->cls = (sfj_recon_class)classify(s, l, rv, &app);
        it->applicable = app;
        if (app)
            r->proof[r->n_items - 1] = s->reversed ? s->rev_line : s->line;
        memcpy(it->txn_id, s->txn_id, sizeof it->txn_id);
        it->seq = s->seq;
        it->wall_ms = s->wall_ms;
        it->amount = s->amount;
        memcpy(it->currency, s->currency, 4);
        if (l != NULL || rv != NULL) {
            it->rule = (l != NULL ? l : rv)->rule;
            item_line(r, it, l != NULL ? l : rv);
        }
    }
    /* Approved lines no sale took: money taken with no record here (or a
     * second charge for one). */
    for (i = 0; i < r->lines.n; i++) {
        const sfj__rline *l = &r->lines.v[i];

        if (l->other || l->sale != 0 || l->status != RL_APPROVED)
            continue;
        it = &r->items[r->n_items++];
        it->cls = SFJ_RECON_NOT_JOURNALED;
        it->rule = l->rule;
        it->wall_ms = l->time_ms;
        item_line(r, it, l);
    }
    for (i = 0; i < r->n_items; i++)
        res->count[r->items[i].cls]++;
    res->n_items = r->n_items;
    res->items = r->items;
    r->has_result = 1;
    return SFJ_OK;
}

const sfj_recon_result *sfj_recon_result_get(const sfj_recon *r)
{
    return r != NULL && r->has_result ? &r->res : NULL;
}

/* ---- apply ------------------------------------------------------------ */

/* Journal the event the report line `l` proves for item `it`. */
static int apply_one(sfj_recon *r, sfj_journal *j, const sfj_recon_item *it,
                     const sfj__rline *l, size_t *written)
{
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_txn tx = SFJ_TXN_INIT;
    char note[SFJ_NOTE_MAX + 1];
    size_t i;
    int rc;

    rc = sfj_txn_get(j, it->txn_id, &tx);
    if (rc != SFJ_OK)
        return rc;
    snprintf(note, sizeof note, "recon %.100s:%zu", r->names[l->report],
             l->line);
    for (i = 0; note[i] != '\0'; i++) {
        if (note[i] < 0x20 || note[i] > 0x7e)
            note[i] = '?';
    }
    ev.txn_id = it->txn_id;
    ev.note = note;
    ev.flags = SFJ_EVF_RECONCILED;
    ev.rrn = l->rrn;
    ev.stan = l->stan;
    ev.card = l->card;
    if (l->status == RL_REVERSED) {
        if (tx.state != SFJ_TXN_REVERSED || tx.reversal == SFJ_ST_APPROVED)
            return SFJ_OK; /* already confirmed */
        ev.kind = SFJ_EV_REVERSAL;
        ev.status = SFJ_ST_APPROVED;
        ev.amount = it->amount;
        ev.currency = it->currency;
    } else {
        if (tx.state != SFJ_TXN_IN_DOUBT)
            return SFJ_OK; /* answered since, or by a first apply */
        ev.kind = SFJ_EV_TXN_OUTCOME;
        ev.status =
            l->status == RL_APPROVED ? SFJ_ST_APPROVED : SFJ_ST_DECLINED;
        ev.auth_code = l->auth;
        ev.amount = l->status == RL_APPROVED ? l->amount : 0;
        ev.currency = it->currency;
    }
    rc = sfj_append(j, &ev, NULL);
    if (rc == SFJ_OK)
        (*written)++;
    return rc;
}

int sfj_recon_apply(sfj_recon *r, sfj_journal *j, size_t *written)
{
    size_t n = 0, i;
    int rc = SFJ_OK;

    if (written != NULL)
        *written = 0;
    if (r == NULL || j == NULL || !r->has_result)
        return SFJ_EINVAL;
    for (i = 0; rc == SFJ_OK && i < r->n_items; i++) {
        if (r->items[i].applicable && r->proof[i] != 0)
            rc =
                apply_one(r, j, &r->items[i], &r->lines.v[r->proof[i] - 1], &n);
    }
    if (written != NULL)
        *written = n;
    return rc;
}

/* ---- names and cleanup ------------------------------------------------ */

const char *sfj_recon_errmsg(const sfj_recon *r)
{
    return r != NULL ? r->err : "no reconciliation";
}

const char *sfj_recon_class_name(unsigned cls)
{
    static const char *const n[] = {"matched",
                                    "doubt_approved",
                                    "doubt_absent",
                                    "not_received",
                                    "not_journaled",
                                    "mismatch",
                                    "reversal_unconfirmed"};

    return cls < sizeof n / sizeof n[0] ? n[cls] : "unknown";
}

const char *sfj_recon_rule_name(unsigned rule)
{
    static const char *const n[] = {"none", "reference", "auth_code",
                                    "amount_time"};

    return rule < sizeof n / sizeof n[0] ? n[rule] : "unknown";
}

void sfj_recon_free(sfj_recon *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_names; i++)
        free(r->names[i]);
    free(r->names);
    if (r->lines.v != NULL)
        sodium_memzero(r->lines.v, r->lines.cap * sizeof *r->lines.v);
    free(r->lines.v);
    if (r->s != NULL)
        sodium_memzero(r->s, r->scap * sizeof *r->s);
    free(r->s);
    if (r->items != NULL)
        sodium_memzero(r->items, r->n_items * sizeof *r->items);
    free(r->items);
    free(r->proof);
    free(r);
}
