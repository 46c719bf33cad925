/* The embedded store: one LMDB mirror journal per terminal under --dir,
 * opened on first use and kept until exit. A gateway owns its mirrors
 * alone, so the newest session is tracked in memory (host_terminal.owner)
 * and a claim is always 0. */
#include <stdlib.h>
#include <string.h>

#include "cli_text.h"
#include "host.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/internal.h"

static int open_mirror(host_store *st, host_terminal *t)
{
    char hex[2 * SFJ_JOURNAL_ID_BYTES + 1], *path;
    int rc;

    if (t->mirror != NULL)
        return SFJ_OK;
    sfj__cli_hex(t->journal_id, SFJ_JOURNAL_ID_BYTES, hex);
    path = malloc(strlen(st->cfg->dir) + sizeof hex + 2);
    if (path == NULL)
        return SFJ_ENOMEM;
    sprintf(path, "%s/%s", st->cfg->dir, hex);
    rc = sfj__mirror_open(&t->mirror, path, t->journal_id, t->terminal_id,
                          t->pubkey, st->cfg->max_bytes);
    if (rc != SFJ_OK) {
        host_log("cannot open mirror %s: %s (%s)", path, sfj_strerror(rc),
                 sfj_journal_errmsg(NULL));
        t->mirror = NULL;
    }
    free(path);
    return rc;
}

static int lmdb_head(host_store *st, host_terminal *t, uint64_t *last,
                     uint8_t *chain, uint64_t *ckpt)
{
    sfj_stats ms = SFJ_STATS_INIT;
    int rc = open_mirror(st, t);

    *last = 0;
    if (ckpt != NULL)
        *ckpt = 0;
    if (rc == SFJ_OK)
        rc = sfj__journal_head(t->mirror, last, chain);
    if (rc != SFJ_OK)
        return rc;
    if (*last == 0 && chain != NULL)
        sfj__chain_genesis(t->journal_id, chain);
    if (ckpt != NULL && sfj_stats_get(t->mirror, &ms) == SFJ_OK)
        *ckpt = ms.last_checkpoint;
    return SFJ_OK;
}

static int lmdb_claim(host_store *st, host_terminal *t, uint64_t *claim)
{
    *claim = 0;
    return open_mirror(st, t);
}

static void lmdb_put(host_store *st, host_put *items, size_t n)
{
    host_put *p;
    size_t i;
    int hrc;

    for (i = 0; i < n; i++) {
        p = &items[i];
        p->stored = 0;
        p->last = 0;
        p->rc = open_mirror(st, p->t);
        if (p->rc != SFJ_OK)
            continue;
        if (p->n > 0)
            p->rc = sfj__mirror_put_batch(p->t->mirror, p->first, p->recs,
                                          p->lens, p->n, &p->stored);
        hrc = lmdb_head(st, p->t, &p->last, p->chain, NULL);
        if (p->rc == SFJ_OK)
            p->rc = hrc;
    }
}

static const char *lmdb_errmsg(host_store *st, host_terminal *t)
{
    (void)st;
    return sfj_journal_errmsg(t->mirror);
}

static void lmdb_free(host_store *st)
{
    free(st);
}

static const host_store_ops lmdb_ops = {lmdb_head, lmdb_claim,  lmdb_put, NULL,
                                        NULL,      lmdb_errmsg, lmdb_free};

int host_store_lmdb_open(host_config *cfg, host_store **out)
{
    host_store *st = calloc(1, sizeof *st);

    if (st == NULL) {
        host_log("out of memory");
        return HOST_EXIT_UNAVAIL;
    }
    st->ops = &lmdb_ops;
    st->cfg = cfg;
    *out = st;
    return HOST_EXIT_OK;
}
