/* Shard hashes, the words the shard map (shards.c) and a PostgreSQL
 * store (store_pg.c, the ranges its database holds) both speak. */
#include <sodium.h>
#include <stdio.h>

#include "host.h"

unsigned host_shard_hash(const uint8_t *jid)
{
    uint8_t h[32];

    crypto_generichash(h, sizeof h, jid, SFJ_JOURNAL_ID_BYTES, NULL, 0);
    return (unsigned)h[0] << 8 | h[1];
}

void host_ranges_text(const unsigned (*r)[2], size_t n, char *out, size_t cap)
{
    size_t i, at = 0;
    int w;

    out[0] = '\0';
    for (i = 0; i < n && at < cap; i++) {
        w = snprintf(out + at, cap - at, "%s%u-%u", i > 0 ? ", " : "", r[i][0],
                     r[i][1]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}
