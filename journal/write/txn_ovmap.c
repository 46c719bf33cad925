/* The rows of the txn index overlay; see txn_ovmap.h. */
#include "journal/write/txn_ovmap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sfj/errors.h"

int sfj__txi_new(sfj__txi **out)
{
    sfj__txi *t = calloc(1, sizeof *t);

    *out = NULL;
    if (t == NULL)
        return SFJ_ENOMEM;
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return SFJ_OK;
}

void sfj__txi_free(sfj__txi *t)
{
    if (t == NULL)
        return;
    sfj__txi_clear(t);
    free(t->rows);
    free(t->order);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

int sfj__txi_keycmp(const uint8_t *a, size_t alen, const uint8_t *b,
                    size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

size_t sfj__txi_lower(const sfj__txi *t, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = t->n, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (sfj__txi_keycmp(sfj__txi_at(t, mid)->key, sfj__txi_at(t, mid)->klen,
                            key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const sfj__txi_row *sfj__txi_find(const sfj__txi *t, const uint8_t *key,
                                  size_t klen)
{
    size_t i = sfj__txi_lower(t, key, klen);

    if (i < t->n && sfj__txi_keycmp(sfj__txi_at(t, i)->key,
                                    sfj__txi_at(t, i)->klen, key, klen) == 0)
        return sfj__txi_at(t, i);
    return NULL;
}

int sfj__txi_set(sfj__txi *t, const uint8_t *key, size_t klen,
                 const uint8_t *val, size_t vlen)
{
    size_t i, cap;
    sfj__txi_row *r;
    uint32_t *o;

    if (klen > SFJ__TXI_KEY_MAX || vlen > SFJ__TXI_VAL_MAX)
        return SFJ_EINVAL;
    i = sfj__txi_lower(t, key, klen);
    if (i == t->n || sfj__txi_keycmp(sfj__txi_at(t, i)->key,
                                     sfj__txi_at(t, i)->klen, key, klen) != 0) {
        if (t->n == t->cap) {
            cap = t->cap ? t->cap * 2 : 64;
            r = realloc(t->rows, cap * sizeof *r);
            if (r == NULL)
                return SFJ_ENOMEM;
            t->rows = r;
            o = realloc(t->order, cap * sizeof *o);
            if (o == NULL)
                return SFJ_ENOMEM;
            t->order = o;
            t->cap = cap;
        }
        memmove(&t->order[i + 1], &t->order[i], (t->n - i) * sizeof *t->order);
        t->order[i] = (uint32_t)t->n;
        r = &t->rows[t->n++];
        memset(r, 0, sizeof *r);
        memcpy(r->key, key, klen);
        r->klen = (uint8_t)klen;
    }
    r = &t->rows[t->order[i]];
    r->gone = val == NULL;
    r->vlen = val == NULL ? 0 : (uint8_t)vlen;
    if (val != NULL)
        memcpy(r->val, val, vlen);
    return SFJ_OK;
}

void sfj__txi_clear(sfj__txi *t)
{
    if (t->rows != NULL)
        sodium_memzero(t->rows, t->n * sizeof *t->rows);
    t->n = 0;
}
