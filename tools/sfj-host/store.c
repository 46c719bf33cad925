/* Which store a gateway keeps terminal records in: the LMDB mirrors under
 * --dir (the default), one PostgreSQL database (--store URL), or
 * PostgreSQL shards (--shards MAP). */
#include "host.h"

#ifdef SFJ_HAVE_LIBPQ
/* One database (--store) holds every shard hash: one that a shard map
 * gave part of the hashes is refused, as a gateway with another map
 * would be (shards.c). */
static int open_whole(host_config *cfg)
{
    static const unsigned all[1][2] = {{0, 65535}};
    char held[256];
    int rc = host_store_pg_open(cfg, &cfg->store), recorded = 0;

    if (rc == HOST_EXIT_OK)
        rc = host_store_pg_ranges(cfg->store, all, 1, cfg->shards_record, held,
                                  sizeof held, &recorded);
    if (rc == HOST_EXIT_SHARDMAP)
        host_log("--store: the database holds shard hash %s of a shard map, "
                 "not all of 0-65535: use --shards MAP (if its journals "
                 "moved here: sfj-host shards record --store URL, "
                 "docs/FLEET.md)",
                 held);
    else if (rc == HOST_EXIT_OK && recorded && held[0] != '\0')
        host_log("--store: the database now holds shard hash 0-65535 "
                 "(recorded; it held %s)",
                 held);
    return rc;
}
#endif

/* The store named by --store or --shards: the LMDB mirrors by default. */
int host_store_open(host_config *cfg)
{
    if (cfg->store_url == NULL && cfg->shards == NULL)
        return host_store_lmdb_open(cfg, &cfg->store);
#ifdef SFJ_HAVE_LIBPQ
    if (cfg->shards != NULL)
        return host_store_shards_open(cfg, &cfg->store);
    return open_whole(cfg);
#else
    host_log("--store/--shards: this sfj-host was built without libpq");
    return HOST_EXIT_USAGE;
#endif
}
