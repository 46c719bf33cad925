/* Which store a gateway keeps terminal records in: the LMDB mirrors under
 * --dir (the default), one PostgreSQL database (--store URL), or
 * PostgreSQL shards (--shards MAP). */
#include "host.h"

/* The store named by --store or --shards: the LMDB mirrors by default. */
int host_store_open(host_config *cfg)
{
    if (cfg->store_url == NULL && cfg->shards == NULL)
        return host_store_lmdb_open(cfg, &cfg->store);
#ifdef SFJ_HAVE_LIBPQ
    if (cfg->shards != NULL)
        return host_store_shards_open(cfg, &cfg->store);
    return host_store_pg_open(cfg, &cfg->store);
#else
    host_log("--store/--shards: this sfj-host was built without libpq");
    return HOST_EXIT_USAGE;
#endif
}
