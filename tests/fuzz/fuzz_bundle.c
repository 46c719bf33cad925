/* Fuzz target: the evidence bundle reader, on arbitrary bytes, once with
 * the public key of the journal make_corpus builds its bundles from
 * pinned and once trusting the bundle's own key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfj/sfj.h"
#include "sfj/sys/bundle.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *data, size_t size, const uint8_t *pin)
{
    sfj__bundle b;
    size_t i;
    int rc;

    memset(&b, 0, sizeof b);
    rc = sfj__bundle_check(data, size, pin, &b);
    if (rc == SFJ_OK) {
        if (b.n_events == 0 || b.events == NULL ||
            b.n_events > SFJ_BUNDLE_MAX_RECORDS ||
            memchr(b.txn_id, 0, sizeof b.txn_id) == NULL ||
            (pin != NULL && memcmp(b.pubkey, pin, sizeof b.pubkey) != 0) ||
            ((b.flags & SFJ_BUNDLE_F_DICT) != 0) != (b.dict_len > 0))
            abort();
        for (i = 0; i < b.n_events; i++) {
            if (b.events[i] == NULL ||
                strcmp(b.events[i]->txn_id, b.txn_id) != 0 ||
                b.events[i]->seq < b.first_seq ||
                b.events[i]->seq >= b.ckpt_seq)
                abort();
        }
    } else {
        /* A failed check discloses nothing and says where and why. */
        if (b.n_events != 0 || b.events != NULL || b.bad_offset > size ||
            memchr(b.reason, 0, sizeof b.reason) == NULL ||
            (rc != SFJ_ENOMEM && b.reason[0] == 0))
            abort();
    }
    sfj__bundle_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pin[SFJ_PUBKEY_BYTES];
    static int ready;

    if (!ready) {
        uint8_t master[SFJ_KEY_BYTES];
        sfj_keys *keys = NULL;

        memset(master, SFJ_FUZZ_BUNDLE_SEED, sizeof master);
        if (sfj_init() != 0 ||
            sfj_keys_from_bytes(master, sizeof master, &keys) != 0 ||
            sfj_keys_public_key(keys, pin) != 0)
            abort();
        sfj_keys_free(keys);
        ready = 1;
    }
    check(data, size, pin);
    check(data, size, NULL);
    return 0;
}
