/* Fixed key material shared by the fuzz targets and make_corpus, so that
 * the seed corpus holds records, checkpoints and HELLOs that really open
 * and verify under the keys the targets use. Test values only. */
#ifndef SFJ_TESTS_FUZZ_KEYS_H
#define SFJ_TESTS_FUZZ_KEYS_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "sfj/journal.h"
#include "sfj/keys.h"

/* Master key seed of the journal make_corpus builds bundles from
 * (sfj_test_keys). */
#define SFJ_FUZZ_BUNDLE_SEED 0x5a

typedef struct sfj_fuzz_keys {
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    uint8_t epoch_key[SFJ_KEY_BYTES];
    uint8_t link_key[SFJ_KEY_BYTES];
    uint8_t sign_pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sign_sk[crypto_sign_SECRETKEYBYTES];
} sfj_fuzz_keys;

static inline void sfj_fuzz_keys_init(sfj_fuzz_keys *k)
{
    uint8_t seed[crypto_sign_SEEDBYTES];

    if (sodium_init() < 0)
        abort();
    memset(k->journal_id, 0x11, sizeof k->journal_id);
    memset(k->epoch_key, 0x22, sizeof k->epoch_key);
    memset(k->link_key, 0x44, sizeof k->link_key);
    memset(seed, 0x33, sizeof seed);
    crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed);
}

/* Version 2 link: fixed ephemeral private keys of the terminal and the
 * upstream, and the transport key of the sealed-frame target, so that
 * the seeds replay exactly. */
#define SFJ_FUZZ_INIT_E 0x61
#define SFJ_FUZZ_RESP_E 0x62
#define SFJ_FUZZ_SEAL_K 0x63
/* The payload of the DICTIONARY record whose dictionary the event target
 * inflates SFJ_REC_F_DICTJ plaintexts against: a test sale's layout. */
#define SFJ_FUZZ_DICT                                                          \
    "0200723C448108E08200164761730000000119000000000000001500031410150000"     \
    "0001101500031458120510010030006428517TID00042MID000004410871CAFE "        \
    "CENTRAL HERRENG 14WIEN           AT978046"                                \
    "9F2608000000000000000009F2701809F360200019F3704000000009A032503149C0100"
/* The payload of the seed's Noise message 1. */
#define SFJ_FUZZ_TID "T-FUZZ"

#endif
