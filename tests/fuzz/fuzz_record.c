/* Fuzz target: the sealed-record header decoder, checkpoint verification
 * and, when the header decodes, opening the record under a fixed epoch
 * key (and decoding the plaintext when the tag verifies, which only the
 * seeds from make_corpus reach). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/errors.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfj_fuzz_keys k;
    static int ready;
    sfj__rec_hdr h;
    uint32_t boot = 0;
    uint8_t *pt;
    size_t pt_len = 0, cap;
    sfj_entry *e;
    int rc;

    if (!ready) {
        sfj_fuzz_keys_init(&k);
        ready = 1;
    }
    (void)sfj__rec_checkpoint_verify(k.journal_id, k.sign_pk, data, size,
                                     &boot);
    (void)sfj__rec_checkpoint_verify(k.journal_id, k.sign_pk, data, size, NULL);
    if (sfj__rec_hdr_decode(data, size, &h) != SFJ_OK)
        return 0;
    /* A decoded header guarantees room for the header and a tag. */
    if (size < SFJ_REC_HDR_BYTES + SFJ_REC_TAG_BYTES)
        abort();
    cap = size - SFJ_REC_HDR_BYTES - SFJ_REC_TAG_BYTES;
    pt = malloc(cap > 0 ? cap : 1);
    if (pt == NULL)
        return 0;
    rc = sfj__rec_open(k.journal_id, k.epoch_key, data, size, pt, &pt_len);
    if (rc == SFJ_OK) {
        if (pt_len > cap)
            abort();
        e = calloc(1, sizeof *e);
        if (e != NULL)
            (void)sfj__event_unpack(pt, pt_len, h.flags, e);
        sfj_entry_free(e);
    }
    sodium_memzero(pt, cap);
    free(pt);
    return 0;
}
