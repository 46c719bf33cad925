/* Library-wide entry points: initialisation, version and the process-wide
 * cleanup. Nothing in the library calls them.
 *
 * They sit at the top of the journal rather than in common/ because the
 * cleanup releases state owned by layers below (the format layer's pooled
 * compression streams). The error texts, which every layer uses, are in
 * common/strerror.c. */
#include <sodium.h>

#include "crypto/keys.h"
#include "journal/format/compress.h"
#include "sfj/sfj.h"

int sfj_init(void)
{
    return sfj__sodium_init() < 0 ? SFJ_ENOMEM : SFJ_OK;
}

const char *sfj_version(void)
{
    return SFJ_VERSION_STRING;
}

void sfj_shutdown(void)
{
    sfj__compress_shutdown();
}
