/* The shard map (--shards FILE) and the store that routes over it.
 *
 * A fleet spreads over several PostgreSQL clusters. Each journal lives on
 * exactly one of them, chosen by a hash of its journal id:
 *
 *   shard hash = the first two bytes, big-endian, of BLAKE2b-256 (no key)
 *                of the 16-byte journal id: 0..65535
 *
 * The map file names, per line, an inclusive range of that hash and the
 * libpq connection string of the cluster holding it:
 *
 *   # comment
 *   0-32767      postgresql://sfj@db-a1,db-a2/sfj?target_session_attrs=...
 *   32768-65535  host=db-b1 dbname=sfj
 *
 * The ranges must cover 0..65535 exactly once: a hole would leave
 * journals nowhere, an overlap would put one journal in two places (two
 * copies, two heads: a fork). A bad map is refused at start with one line
 * naming the file and line (exit 80, docs/CLI.md).
 *
 * Each cluster records the ranges it holds (table sfj_shard: its ranges
 * of the first map that wrote to it, or of `sfj-host shards record`),
 * and a map that gives a cluster other ranges is refused at start (exit
 * 80): a gateway with a stale map would otherwise keep a second copy of
 * a journal in another cluster.
 *
 * The routing store holds one store (one connection) per distinct
 * connection string and passes every call to the store of the journal's
 * shard; a group put is split into one transaction per shard. States:
 * opened (every shard's store open, by host_store_shards_open) -> freed.
 * Invariant: every hash value maps to exactly one store. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_text.h"
#include "host.h"
#include "sfj/errors.h"

#define SHARDS_MAX   1024 /* ranges in one map */
#define SHARD_LINE   2048
#define SHARD_HASH_N 65536u

typedef struct shard_range {
    unsigned lo, hi;
    size_t store; /* index into the routing store's stores */
    unsigned line;
} shard_range;

struct host_shards {
    shard_range r[SHARDS_MAX];
    size_t n;
    char *url[SHARDS_MAX];         /* distinct connection strings */
    unsigned url_line[SHARDS_MAX]; /* the first line naming each */
    size_t nurl;
};

/* A decimal 0..65535 at *p, advancing it; -1 when there is none. */
static long parse_hash(const char **p)
{
    long v = 0;
    int digits = 0;

    while (isdigit((unsigned char)**p) && digits < 6) {
        v = v * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    return digits == 0 || digits > 5 || v >= (long)SHARD_HASH_N ? -1 : v;
}

static int by_lo(const void *a, const void *b)
{
    const shard_range *x = a, *y = b;

    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int bad(const char *path, unsigned line, const char *what)
{
    if (line > 0)
        host_log("shard map %s: line %u: %s", path, line, what);
    else
        host_log("shard map %s: %s", path, what);
    return HOST_EXIT_SHARDMAP;
}

/* One line "LO-HI URL" into the map; blank lines and comments are
 * skipped. Returns an exit code. */
static int parse_line(host_shards *m, const char *path, unsigned ln, char *s)
{
    const char *p = s;
    char *end;
    long lo, hi;
    size_t k;

    s[strcspn(s, "\r\n")] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0' || *p == '#')
        return HOST_EXIT_OK;
    lo = parse_hash(&p);
    if (lo < 0 || *p != '-')
        return bad(path, ln,
                   "malformed: want \"LO-HI URL\" with LO and HI "
                   "decimal 0..65535");
    p++;
    hi = parse_hash(&p);
    if (hi < 0 || !isspace((unsigned char)*p))
        return bad(path, ln,
                   "malformed: want \"LO-HI URL\" with LO and HI "
                   "decimal 0..65535");
    if (lo > hi)
        return bad(path, ln, "malformed: range LO-HI with LO above HI");
    while (isspace((unsigned char)*p))
        p++;
    end = s + strlen(s);
    while (end > p && isspace((unsigned char)end[-1]))
        *--end = '\0';
    if (*p == '\0')
        return bad(path, ln,
                   "malformed: no connection string after the "
                   "range");
    if (m->n == SHARDS_MAX)
        return bad(path, ln, "more than 1024 ranges");
    for (k = 0; k < m->nurl && strcmp(m->url[k], p) != 0; k++)
        ;
    if (k == m->nurl) {
        m->url[k] = strdup(p);
        if (m->url[k] == NULL)
            return bad(path, ln, "out of memory");
        m->url_line[k] = ln;
        m->nurl++;
    }
    m->r[m->n].lo = (unsigned)lo;
    m->r[m->n].hi = (unsigned)hi;
    m->r[m->n].store = k;
    m->r[m->n].line = ln;
    m->n++;
    return HOST_EXIT_OK;
}

/* Every hash value exactly once: sorted by LO, each range must start
 * right after the one before. */
static int check_cover(host_shards *m, const char *path)
{
    char what[96];
    size_t i;

    if (m->n == 0)
        return bad(path, 0, "no ranges: journals would have nowhere to go");
    qsort(m->r, m->n, sizeof m->r[0], by_lo);
    if (m->r[0].lo != 0) {
        snprintf(what, sizeof what, "hole: hash 0-%u is in no range",
                 m->r[0].lo - 1);
        return bad(path, m->r[0].line, what);
    }
    for (i = 1; i < m->n; i++) {
        if (m->r[i].lo <= m->r[i - 1].hi) {
            snprintf(what, sizeof what,
                     "overlap: range %u-%u overlaps %u-%u of line %u",
                     m->r[i].lo, m->r[i].hi, m->r[i - 1].lo, m->r[i - 1].hi,
                     m->r[i - 1].line);
            return bad(path, m->r[i].line, what);
        }
        if (m->r[i].lo > m->r[i - 1].hi + 1) {
            snprintf(what, sizeof what, "hole: hash %u-%u is in no range",
                     m->r[i - 1].hi + 1, m->r[i].lo - 1);
            return bad(path, m->r[i].line, what);
        }
    }
    if (m->r[m->n - 1].hi != SHARD_HASH_N - 1) {
        snprintf(what, sizeof what, "hole: hash %u-65535 is in no range",
                 m->r[m->n - 1].hi + 1);
        return bad(path, m->r[m->n - 1].line, what);
    }
    return HOST_EXIT_OK;
}

int host_shards_load(const char *path, host_shards **out)
{
    host_shards *m = calloc(1, sizeof *m);
    char line[SHARD_LINE], what[160];
    unsigned ln = 0;
    FILE *f = NULL;
    int rc = HOST_EXIT_OK;

    *out = NULL;
    if (m == NULL)
        return bad(path, 0, "out of memory");
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(what, sizeof what, "cannot read: %s", strerror(errno));
        rc = bad(path, 0, what);
        goto done;
    }
    while (rc == HOST_EXIT_OK && fgets(line, sizeof line, f) != NULL) {
        ln++;
        if (strchr(line, '\n') == NULL && !feof(f))
            rc = bad(path, ln, "line longer than 2047 bytes");
        else
            rc = parse_line(m, path, ln, line);
    }
    if (rc == HOST_EXIT_OK && ferror(f)) {
        snprintf(what, sizeof what, "cannot read: %s", strerror(errno));
        rc = bad(path, 0, what);
    }
    if (rc == HOST_EXIT_OK)
        rc = check_cover(m, path);
done:
    if (f != NULL)
        fclose(f);
    if (rc != HOST_EXIT_OK) {
        host_shards_free(m);
        return rc;
    }
    *out = m;
    return HOST_EXIT_OK;
}

void host_shards_free(host_shards *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nurl; i++)
        free(m->url[i]);
    free(m);
}

/* The index of the store (distinct connection string) holding `jid`. */
static size_t shard_of(const host_shards *m, const uint8_t *jid)
{
    unsigned h = host_shard_hash(jid);
    size_t lo = 0, hi = m->n - 1, mid;

    /* Sorted, covering, disjoint: a binary search always lands. */
    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (m->r[mid].lo <= h)
            lo = mid;
        else
            hi = mid - 1;
    }
    return m->r[lo].store;
}

const char *host_shards_url(const host_shards *m, const uint8_t *jid)
{
    return m->url[shard_of(m, jid)];
}

/* ---- the routing store ---- */

typedef struct shard_store {
    host_store base;
    host_shards *map;
    host_store *sub[SHARDS_MAX]; /* one per distinct connection string */
    host_put *scratch;           /* a group put's items of one shard */
    size_t scratch_cap;
    size_t failed; /* the store whose import failed last */
} shard_store;

static host_store *sub_of(host_store *st, const uint8_t *jid)
{
    shard_store *s = (shard_store *)st;

    return s->sub[shard_of(s->map, jid)];
}

static int sh_head(host_store *st, host_terminal *t, uint64_t *last,
                   uint8_t *chain, uint64_t *ckpt)
{
    host_store *sub = sub_of(st, t->journal_id);

    return sub->ops->head(sub, t, last, chain, ckpt);
}

static int sh_claim(host_store *st, host_terminal *t, uint64_t *claim)
{
    host_store *sub = sub_of(st, t->journal_id);

    return sub->ops->claim(sub, t, claim);
}

/* One transaction per shard that has batches in this group; a shard
 * that is down fails only its own terminals' batches. */
static void sh_put(host_store *st, host_put *items, size_t n)
{
    shard_store *s = (shard_store *)st;
    host_put *grown;
    size_t k, i, m;

    if (n > s->scratch_cap) {
        grown = realloc(s->scratch, n * sizeof *grown);
        if (grown == NULL) {
            for (i = 0; i < n; i++) {
                items[i].stored = 0;
                items[i].last = 0;
                items[i].rc = SFJ_ENOMEM;
            }
            return;
        }
        s->scratch = grown;
        s->scratch_cap = n;
    }
    for (k = 0; k < s->map->nurl; k++) {
        for (i = 0, m = 0; i < n; i++) {
            if (shard_of(s->map, items[i].t->journal_id) == k)
                s->scratch[m++] = items[i];
        }
        if (m == 0)
            continue;
        s->sub[k]->ops->put(s->sub[k], s->scratch, m);
        for (i = 0, m = 0; i < n; i++) {
            if (shard_of(s->map, items[i].t->journal_id) == k)
                items[i] = s->scratch[m++];
        }
    }
}

static int sh_lookup(host_store *st, const uint8_t *jid, host_terminal **out)
{
    host_store *sub = sub_of(st, jid);

    return sub->ops->lookup(sub, jid, out);
}

/* Each shard's terminals into that shard's table (one transaction per
 * shard; an import is idempotent, so a partial one is simply rerun). */
static int sh_import(host_store *st, const host_terminal *terms, size_t n)
{
    shard_store *s = (shard_store *)st;
    host_terminal *mine = n > 0 ? malloc(n * sizeof *mine) : NULL;
    size_t k, i, m;
    int rc = n > 0 && mine == NULL ? SFJ_ENOMEM : SFJ_OK;

    for (k = 0; k < s->map->nurl && rc == SFJ_OK; k++) {
        for (i = 0, m = 0; i < n; i++) {
            if (shard_of(s->map, terms[i].journal_id) == k)
                mine[m++] = terms[i];
        }
        if (m > 0)
            rc = s->sub[k]->ops->import(s->sub[k], mine, m);
        if (rc != SFJ_OK)
            s->failed = k;
    }
    free(mine);
    return rc;
}

static const char *sh_errmsg(host_store *st, host_terminal *t)
{
    shard_store *s = (shard_store *)st;
    host_store *sub = t != NULL ? sub_of(st, t->journal_id) : s->sub[s->failed];

    return sub->ops->errmsg(sub, t);
}

static void sh_free(host_store *st)
{
    shard_store *s = (shard_store *)st;
    size_t k;

    if (s == NULL)
        return;
    for (k = 0; s->map != NULL && k < s->map->nurl; k++) {
        if (s->sub[k] != NULL)
            s->sub[k]->ops->free(s->sub[k]);
    }
    host_shards_free(s->map);
    free(s->scratch);
    free(s);
}

static const host_store_ops shard_ops = {
    sh_head, sh_claim, sh_put, sh_lookup, sh_import, sh_errmsg, sh_free};

/* The ranges the map gives store `k`, adjacent ones joined, against
 * those its database holds (host_store_pg_ranges). */
static int check_ranges(const host_config *cfg, const host_shards *m, size_t k,
                        host_store *sub)
{
    unsigned(*r)[2] = malloc(m->n * sizeof *r);
    char held[256], want[256];
    size_t i, n = 0;
    int rc, recorded = 0;

    if (r == NULL) {
        host_log("out of memory");
        return HOST_EXIT_UNAVAIL;
    }
    for (i = 0; i < m->n; i++) { /* sorted by LO */
        if (m->r[i].store != k)
            continue;
        if (n > 0 && r[n - 1][1] + 1 == m->r[i].lo) {
            r[n - 1][1] = m->r[i].hi;
        } else {
            r[n][0] = m->r[i].lo;
            r[n][1] = m->r[i].hi;
            n++;
        }
    }
    rc = host_store_pg_ranges(sub, (const unsigned(*)[2])r, n,
                              cfg->shards_record, held, sizeof held, &recorded);
    host_ranges_text((const unsigned(*)[2])r, n, want, sizeof want);
    if (rc == HOST_EXIT_SHARDMAP)
        host_log("shard map %s: line %u: its cluster holds shard hash %s, "
                 "the map gives it %s: a journal would be kept in two "
                 "clusters (if the ranges moved: sfj-host shards record, "
                 "docs/FLEET.md)",
                 cfg->shards, m->url_line[k], held, want);
    else if (rc == HOST_EXIT_OK && recorded)
        host_log("shard map %s: line %u: its cluster now holds shard hash %s "
                 "(recorded%s%s)",
                 cfg->shards, m->url_line[k], want,
                 held[0] != '\0' ? "; it held " : "", held);
    free(r);
    return rc;
}

int host_store_shards_open(host_config *cfg, host_store **out)
{
    shard_store *s = calloc(1, sizeof *s);
    size_t k;
    int rc;

    *out = NULL;
    if (s == NULL) {
        host_log("out of memory");
        return HOST_EXIT_UNAVAIL;
    }
    s->base.ops = &shard_ops;
    s->base.cfg = cfg;
    rc = host_shards_load(cfg->shards, &s->map);
    /* One connection per cluster; each prepares its own schema. */
    for (k = 0; rc == HOST_EXIT_OK && k < s->map->nurl; k++) {
        rc = host_store_pg_open_url(cfg, s->map->url[k], &s->sub[k]);
        /* Not the string itself: it may carry a password. */
        if (rc != HOST_EXIT_OK)
            host_log("shard map %s: the cluster of line %u could not be "
                     "opened",
                     cfg->shards, s->map->url_line[k]);
        else
            rc = check_ranges(cfg, s->map, k, s->sub[k]);
    }
    if (rc != HOST_EXIT_OK) {
        sh_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return HOST_EXIT_OK;
}
