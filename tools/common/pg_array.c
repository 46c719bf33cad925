/* PostgreSQL binary array parameters (pg_array.h). */
#include "pg_array.h"

#include <stdlib.h>
#include <string.h>

#include "sfj/errors.h"

static void be32(uint32_t x, uint8_t *out)
{
    out[0] = (uint8_t)(x >> 24);
    out[1] = (uint8_t)(x >> 16);
    out[2] = (uint8_t)(x >> 8);
    out[3] = (uint8_t)x;
}

static int room(sfj__pg_array *a, size_t more)
{
    size_t cap = a->cap ? a->cap : 4096;
    uint8_t *b;

    if (a->len + more <= a->cap)
        return SFJ_OK;
    while (cap < a->len + more)
        cap *= 2;
    b = realloc(a->b, cap);
    if (b == NULL)
        return SFJ_ENOMEM;
    a->b = b;
    a->cap = cap;
    return SFJ_OK;
}

int sfj__pg_array_start(sfj__pg_array *a, uint32_t elem_oid)
{
    a->len = 0;
    a->count = 0;
    if (room(a, 20) != SFJ_OK)
        return SFJ_ENOMEM;
    be32(1, a->b);
    be32(0, a->b + 4);
    be32(elem_oid, a->b + 8);
    be32(0, a->b + 12); /* the length, set by sfj__pg_array_add */
    be32(1, a->b + 16);
    a->len = 20;
    return SFJ_OK;
}

int sfj__pg_array_add(sfj__pg_array *a, const void *v, size_t len)
{
    if (len > 0x7fffffff || room(a, 4 + len) != SFJ_OK)
        return SFJ_ENOMEM;
    be32((uint32_t)len, a->b + a->len);
    memcpy(a->b + a->len + 4, v, len);
    a->len += 4 + len;
    be32(++a->count, a->b + 12);
    return SFJ_OK;
}

int sfj__pg_array_add_u64(sfj__pg_array *a, uint64_t x)
{
    uint8_t b[8];
    int i;

    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(x >> (56 - 8 * i));
    return sfj__pg_array_add(a, b, sizeof b);
}

void sfj__pg_array_free(sfj__pg_array *a)
{
    free(a->b);
    memset(a, 0, sizeof *a);
}
