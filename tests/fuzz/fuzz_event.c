/* Fuzz target: the event decoder on arbitrary plaintext. The first input
 * byte picks the record flags (bit 0: SFJ_REC_F_DEFLATE, so the inflater
 * is fuzzed too; bit 1: SFJ_REC_F_DICT2, its dictionary v2); the rest is
 * the plaintext. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags;
    sfj_entry *e;
    int rc;

    if (size < 1)
        return 0;
    flags = (uint8_t)(((data[0] & 1) ? SFJ_REC_F_DEFLATE : 0) |
                      ((data[0] & 2) ? SFJ_REC_F_DICT2 : 0));
    e = sfj__secmem_alloc(sizeof *e);
    if (e == NULL)
        return 0;
    rc = sfj__event_unpack(data + 1, size - 1, flags, e);
    if (rc == SFJ_OK) {
        /* What a reader relies on: terminated strings, a payload pointer
         * exactly when there is a payload. */
        if (memchr(e->txn_id, 0, sizeof e->txn_id) == NULL ||
            memchr(e->auth_code, 0, sizeof e->auth_code) == NULL ||
            memchr(e->currency, 0, sizeof e->currency) == NULL ||
            (e->payload_len > 0 && e->payload == NULL))
            abort();
    }
    sfj_entry_free(e);
    return 0;
}
