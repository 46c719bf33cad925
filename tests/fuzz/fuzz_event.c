/* Fuzz target: the event decoder on arbitrary plaintext. The first input
 * byte picks the record flags (bit 0: SFJ_REC_F_DEFLATE, so the inflater
 * is fuzzed too; bit 1: SFJ_REC_F_DICT2, its dictionary v2; bit 2:
 * SFJ_REC_F_DICTJ, a journal's own dictionary, SFJ_FUZZ_DICT) and bit 3
 * a reader without the journal's dictionary; the rest is the plaintext. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/secmem.h"
#include "journal/format/compress.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/errors.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Made once; kept for the process's life. */
static const sfj__dict *journal_dict(void)
{
    static sfj__dict *d;

    if (d == NULL && (sodium_init() < 0 ||
                      sfj__dict_make((const uint8_t *)SFJ_FUZZ_DICT,
                                     sizeof SFJ_FUZZ_DICT - 1, &d) != SFJ_OK))
        abort();
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sfj__dict *dict;
    uint8_t flags;
    sfj_entry *e;
    int rc;

    if (size < 1)
        return 0;
    flags = (uint8_t)(((data[0] & 1) ? SFJ_REC_F_DEFLATE : 0) |
                      ((data[0] & 2) ? SFJ_REC_F_DICT2 : 0) |
                      ((data[0] & 4) ? SFJ_REC_F_DICTJ : 0));
    dict = (data[0] & 8) ? NULL : journal_dict();
    e = sfj__secmem_alloc(sizeof *e);
    if (e == NULL)
        return 0;
    rc = sfj__event_unpack_dict(data + 1, size - 1, flags, dict, e);
    /* A record made with a journal's dictionary never decodes without
     * it (nor with another: the inflater's length check, and in a record
     * the dictionary id in the associated data). */
    if (rc == SFJ_OK && dict == NULL && (flags & SFJ_REC_F_DEFLATE) &&
        (flags & SFJ_REC_F_DICTJ))
        abort();
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
