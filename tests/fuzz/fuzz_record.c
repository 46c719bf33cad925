/* Fuzz target: the sealed-record header decoder, checkpoint verification
 * and, when the header decodes, opening the record under a fixed epoch
 * key (and decoding the plaintext when the tag verifies, which only the
 * seeds from make_corpus reach). */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "journal/format/entry.h"
#include "journal/format/record.h"
#include "sfj/errors.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfj_fuzz_keys k;
    static int ready;
    uint8_t rkey[SFJ_KEY_BYTES];
    sfj__rec_hdr h;
    uint32_t boot = 0;
    sfj_entry *e = NULL;
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
    sfj__rec_key(k.epoch_key, data, rkey);
    rc = sfj__rec_open(k.journal_id, rkey, NULL, data, size, &e);
    if ((rc == SFJ_OK) != (e != NULL))
        abort();
    sfj_entry_free(e);
    sodium_memzero(rkey, sizeof rkey);
    return 0;
}
