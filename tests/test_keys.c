/* Key derivation: every subkey against known-answer vectors computed
 * outside libsfj (Python's hashlib.blake2b with salt and personalisation,
 * which is what crypto_kdf_derive_from_key is documented to be), distinct
 * contexts and ids giving distinct keys, and the public accessors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "journal/write/txn_index.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/link_mac.h"
#include "support/stackscan.h"
#include "sfj/sfj.h"

/* master = 00 01 02 .. 1f */
static void master_bytes(uint8_t m[SFJ_KEY_BYTES])
{
    size_t i;

    for (i = 0; i < SFJ_KEY_BYTES; i++)
        m[i] = (uint8_t)i;
}

/* blake2b(key=master, salt=LE64(1)||0^8, person="sfjlink1"||0^8, 32) */
static const uint8_t KAT_LINK[32] = {
    0xa5, 0x6e, 0x51, 0x06, 0x91, 0xe2, 0xc2, 0xe5, 0xd3, 0x09, 0xa8,
    0x71, 0x8c, 0x87, 0x76, 0x85, 0x08, 0xfa, 0xcf, 0xf1, 0x90, 0x28,
    0x7e, 0xc2, 0x63, 0x83, 0x81, 0xcf, 0xda, 0xd8, 0x1e, 0x4e};
/* epoch 7: person "sfjepoch", salt LE64(7) */
static const uint8_t KAT_EPOCH7[32] = {
    0xa4, 0x47, 0xeb, 0xff, 0x93, 0xca, 0xfc, 0x65, 0xac, 0xbf, 0x64,
    0x78, 0xf9, 0x33, 0xe7, 0x89, 0x87, 0xfb, 0x91, 0xb8, 0x2c, 0x8e,
    0x82, 0x42, 0x7f, 0x2b, 0x29, 0x37, 0x42, 0x83, 0x0b, 0xaa};
/* record key of seq 0x0102030405060708 under KAT_EPOCH7, person "sfjrecrd" */
static const uint8_t KAT_RECORD[32] = {
    0x6c, 0x65, 0x2a, 0x01, 0x53, 0x8f, 0xbd, 0xd8, 0xe8, 0xb4, 0x0e,
    0x35, 0x64, 0x3d, 0x62, 0x4e, 0xab, 0xff, 0x11, 0xcb, 0x81, 0x44,
    0x50, 0x13, 0xee, 0x53, 0xe0, 0xea, 0x72, 0x34, 0xae, 0x39};
/* amount box key: KDF(KDF(master, 1, "sfjtxnix"), 1, "sfjtxamt") */
static const uint8_t KAT_AMOUNT[32] = {
    0x67, 0x2d, 0x90, 0xfd, 0x7f, 0x2e, 0x30, 0x23, 0x37, 0xe8, 0x52,
    0x3b, 0x10, 0xca, 0x54, 0x0e, 0x0c, 0x15, 0x25, 0x06, 0x4b, 0x81,
    0x83, 0x7b, 0xbb, 0x46, 0x7e, 0x0c, 0x82, 0xa5, 0x93, 0x92};
/* key check of journal id a0..af: blake2b(id, key=KDF(master,1,"sfjkchk1")) */
static const uint8_t KAT_KCV[32] = {
    0x44, 0x0d, 0x7d, 0xa9, 0xad, 0xc2, 0x3c, 0x75, 0xc6, 0x92, 0x91,
    0xd2, 0xa4, 0xe4, 0x7a, 0x92, 0x0a, 0xfb, 0xac, 0x6b, 0x5e, 0xcb,
    0x4a, 0x54, 0x34, 0x87, 0x9f, 0xaa, 0x0a, 0x50, 0xb3, 0x9e};

/* The documented construction of crypto_kdf_derive_from_key, spelled out
 * with the generic hash, so that the library's own call is checked
 * against something it does not use. */
static void kdf_by_hand(uint8_t *out, size_t len, uint64_t id, const char *ctx,
                        const uint8_t key[SFJ_KEY_BYTES])
{
    uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {0};
    uint8_t personal[crypto_generichash_blake2b_PERSONALBYTES] = {0};
    size_t i;

    for (i = 0; i < 8; i++)
        salt[i] = (uint8_t)(id >> (8 * i));
    memcpy(personal, ctx, 8);
    assert_int_equal(crypto_generichash_blake2b_salt_personal(
                         out, len, NULL, 0, key, SFJ_KEY_BYTES, salt, personal),
                     0);
}

static sfj_keys *load(void)
{
    uint8_t m[SFJ_KEY_BYTES];
    sfj_keys *k = NULL;

    master_bytes(m);
    assert_int_equal(sfj_keys_from_bytes(m, sizeof m, &k), SFJ_OK);
    assert_non_null(k);
    return k;
}

static void test_known_answers(void **state)
{
    sfj_keys *k = load();
    uint8_t out[SFJ_KEY_BYTES], rec[SFJ_KEY_BYTES];
    uint8_t id[SFJ_JOURNAL_ID_BYTES];
    size_t i;

    (void)state;
    assert_int_equal(sfj_keys_link_key(k, out), SFJ_OK);
    assert_memory_equal(out, KAT_LINK, sizeof out);
    sfj__epoch_key(k, 7, out);
    assert_memory_equal(out, KAT_EPOCH7, sizeof out);
    sfj__record_key(out, 0x0102030405060708ull, rec);
    assert_memory_equal(rec, KAT_RECORD, sizeof rec);
    for (i = 0; i < sizeof id; i++)
        id[i] = (uint8_t)(0xa0 + i);
    sfj__key_check(k, id, out);
    assert_memory_equal(out, KAT_KCV, sizeof out);
    sfj__amount_key(k, out);
    assert_memory_equal(out, KAT_AMOUNT, sizeof out);
    sfj_keys_free(k);
}

/* Each subkey equals the documented construction with its own context. */
static void test_matches_construction(void **state)
{
    uint8_t m[SFJ_KEY_BYTES], want[SFJ_KEY_BYTES], got[SFJ_KEY_BYTES];
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t epoch_key[SFJ_KEY_BYTES];
    sfj_keys *k = load();
    uint32_t epochs[] = {0, 1, 2, 0xffffffffu};
    uint64_t seqs[] = {1, 2, 1000, UINT64_MAX};
    size_t i;

    (void)state;
    master_bytes(m);
    kdf_by_hand(want, sizeof want, 1, SFJ__CTX_LINK, m);
    assert_int_equal(sfj_keys_link_key(k, got), SFJ_OK);
    assert_memory_equal(got, want, sizeof got);
    kdf_by_hand(want, sizeof want, 1, SFJ__CTX_TXNIDX, m);
    assert_memory_equal(k->txnidx, want, sizeof want);
    kdf_by_hand(want, sizeof want, 1, SFJ__CTX_CHECK, m);
    assert_memory_equal(k->check, want, sizeof want);
    kdf_by_hand(seed, sizeof seed, 1, SFJ__CTX_SIGN, m);
    assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
    assert_int_equal(sfj_keys_public_key(k, got), SFJ_OK);
    assert_memory_equal(got, pk, sizeof pk);
    for (i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
        kdf_by_hand(want, sizeof want, epochs[i], SFJ__CTX_EPOCH, m);
        sfj__epoch_key(k, epochs[i], epoch_key);
        assert_memory_equal(epoch_key, want, sizeof want);
        kdf_by_hand(want, sizeof want, seqs[i], SFJ__CTX_RECORD, epoch_key);
        sfj__record_key(epoch_key, seqs[i], got);
        assert_memory_equal(got, want, sizeof want);
    }
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    sfj_keys_free(k);
}

/* No two purposes, epochs or seqs share a key, and none is the master. */
static void test_distinct(void **state)
{
    enum { N = 10 };
    uint8_t keys[N][SFJ_KEY_BYTES], m[SFJ_KEY_BYTES];
    sfj_keys *k = load(), *k2;
    size_t a, b;

    (void)state;
    master_bytes(m);
    memcpy(keys[0], m, SFJ_KEY_BYTES);
    memcpy(keys[1], k->txnidx, SFJ_KEY_BYTES);
    memcpy(keys[2], k->link, SFJ_KEY_BYTES);
    memcpy(keys[3], k->check, SFJ_KEY_BYTES);
    sfj__epoch_key(k, 1, keys[4]);
    sfj__epoch_key(k, 2, keys[5]);
    sfj__record_key(keys[4], 1, keys[6]);
    sfj__record_key(keys[4], 2, keys[7]);
    sfj__record_key(keys[5], 1, keys[8]);
    sfj__amount_key(k, keys[9]);
    for (a = 0; a < N; a++)
        for (b = a + 1; b < N; b++)
            assert_memory_not_equal(keys[a], keys[b], SFJ_KEY_BYTES);
    /* A different master changes every subkey. */
    m[31] ^= 1;
    assert_int_equal(sfj_keys_from_bytes(m, sizeof m, &k2), SFJ_OK);
    assert_memory_not_equal(k2->link, k->link, SFJ_KEY_BYTES);
    assert_memory_not_equal(k2->sign_pk, k->sign_pk, sizeof k->sign_pk);
    sfj__epoch_key(k2, 1, keys[0]);
    assert_memory_not_equal(keys[0], keys[4], SFJ_KEY_BYTES);
    sodium_memzero(keys, sizeof keys);
    sfj_keys_free(k2);
    sfj_keys_free(k);
}

static void test_refusals(void **state)
{
    uint8_t m[SFJ_KEY_BYTES + 1] = {0}, out[SFJ_KEY_BYTES];
    sfj_keys *k = (sfj_keys *)&m; /* must be reset to NULL on failure */

    (void)state;
    assert_int_equal(sfj_keys_from_bytes(m, SFJ_KEY_BYTES - 1, &k), SFJ_EINVAL);
    assert_null(k);
    k = (sfj_keys *)&m;
    assert_int_equal(sfj_keys_from_bytes(m, SFJ_KEY_BYTES + 1, &k), SFJ_EINVAL);
    assert_null(k);
    assert_int_equal(sfj_keys_from_bytes(NULL, SFJ_KEY_BYTES, &k), SFJ_EINVAL);
    assert_int_equal(sfj_keys_from_bytes(m, SFJ_KEY_BYTES, NULL), SFJ_EINVAL);
    assert_int_equal(sfj_keys_link_key(NULL, out), SFJ_EINVAL);
    assert_int_equal(sfj_keys_public_key(NULL, out), SFJ_EINVAL);
    sfj_keys_free(NULL);
}

/* Key derivations, record and amount seals and the ack MAC leave no key
 * and no plaintext on the stack or in the registers a signal would save
 * there (support/stackscan.h). */
typedef struct secrets {
    uint8_t master[SFJ_KEY_BYTES];
    sfj_keys *keys;
    uint8_t epoch[SFJ_KEY_BYTES];
    uint8_t record[SFJ_KEY_BYTES];
    uint8_t pt[64];
    uint8_t ct[64 + SFJ__SEAL_TAG_BYTES];
    uint8_t box[SFJ__AMOUNT_BOX_BYTES(8)];
} secrets;

enum {
    DERIVE_LOAD,
    DERIVE_EPOCH,
    DERIVE_RECORD,
    DERIVE_AMOUNT,
    SEAL_RECORD,
    OPEN_RECORD,
    SEAL_AMOUNT,
    OPEN_AMOUNT,
    ACK_MAC,
    HELLO_MAC,
    KEY_CHECK,
    CKPT_SIGN,
    TXN_HASH,
    KEY_USES
};

typedef struct key_use {
    secrets *s;
    int what;
    const uint8_t *stack;
    size_t stack_len;
    size_t windows; /* 8-byte windows of a secret found on the stack */
} key_use;

static void *make_secrets(void *arg)
{
    secrets *s = arg;

    randombytes_buf(s->master, sizeof s->master);
    randombytes_buf(s->pt, sizeof s->pt);
    if (sfj_keys_from_bytes(s->master, sizeof s->master, &s->keys) != SFJ_OK)
        s->keys = NULL;
    else {
        sfj__epoch_key(s->keys, 3, s->epoch);
        sfj__record_key(s->epoch, 77, s->record);
    }
    return NULL;
}

static void *use_key(void *arg)
{
    static const uint8_t id[SFJ_JOURNAL_ID_BYTES], hdr[8], nonce[24],
        chain[SFJ_HASH_BYTES];
    key_use *u = arg;
    secrets *s = u->s;
    uint8_t out[SFJ_KEY_BYTES], pt[sizeof s->pt], hello[96],
        sig[crypto_sign_BYTES];
    sfj_keys *k = NULL;
    size_t n = 0;

    switch (u->what) {
    case DERIVE_LOAD:
        if (sfj_keys_from_bytes(s->master, SFJ_KEY_BYTES, &k) == SFJ_OK)
            sfj_keys_free(k);
        break;
    case DERIVE_EPOCH:
        sfj__epoch_key(s->keys, 3, out);
        break;
    case DERIVE_RECORD:
        sfj__record_key(s->epoch, 77, out);
        break;
    case DERIVE_AMOUNT:
        sfj__amount_key(s->keys, out);
        break;
    case SEAL_RECORD:
        sfj__aead_record_seal(id, s->record, hdr, sizeof hdr, nonce, s->pt,
                              sizeof s->pt, s->ct);
        break;
    case OPEN_RECORD:
        if (sfj__aead_record_open(id, s->record, hdr, sizeof hdr, nonce, s->ct,
                                  sizeof s->ct, pt, &n) != SFJ_OK)
            u->windows = 1000;
        sodium_memzero(pt, sizeof pt);
        break;
    case SEAL_AMOUNT:
        sfj__amount_seal(s->keys, hdr, sizeof hdr, s->pt, 8, s->box);
        break;
    case OPEN_AMOUNT:
        if (sfj__amount_open(s->keys, hdr, sizeof hdr, s->box, pt, 8) != SFJ_OK)
            u->windows = 1000;
        sodium_memzero(pt, sizeof pt);
        break;
    case ACK_MAC:
        sfj__ack_mac(s->keys->link, id, 77, chain, out);
        break;
    case HELLO_MAC:
        memset(hello, 'h', sizeof hello);
        sfj__hello_sign(s->keys->link, hello, sizeof hello);
        break;
    case KEY_CHECK:
        sfj__key_check(s->keys, id, out);
        break;
    case CKPT_SIGN:
        sfj__ckpt_sign(id, hdr, sizeof hdr, hdr, s->keys->sign_sk, sig);
        break;
    default:
        sfj__txn_hash(s->keys, "TXN-000123", out);
        break;
    }
    sodium_memzero(out, sizeof out);
    return NULL;
}

static void *scan_secrets(void *arg)
{
    key_use *u = arg;
    const secrets *s = u->s;
    const sfj_keys *k = s->keys;
    const uint8_t *st = u->stack;
    size_t len = u->stack_len;

    u->windows = sfj_test_windows(st, len, s->master, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, k->txnidx, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, k->link, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, k->check, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, k->sign_sk, crypto_sign_SEEDBYTES) +
                 sfj_test_windows(st, len, s->epoch, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, s->record, SFJ_KEY_BYTES) +
                 sfj_test_windows(st, len, s->pt, sizeof s->pt);
    return NULL;
}

static void test_key_uses_leave_no_key_on_stack(void **state)
{
    size_t len = 256 * 1024, found = 0;
    secrets *s = sodium_malloc(sizeof *s);
    uint8_t *stack = aligned_alloc(4096, len);
    key_use u;
    int what;

    (void)state;
    assert_non_null(s);
    assert_non_null(stack);
    assert_int_equal(sfj_test_on_thread(make_secrets, s), 0);
    assert_non_null(s->keys);
    for (what = 0; what < KEY_USES; what++) {
        memset(&u, 0, sizeof u);
        u.s = s;
        u.what = what;
        u.stack = stack;
        u.stack_len = len;
        assert_int_equal(sfj_test_on_stack(stack, len, use_key, &u, 1), 0);
        if (u.windows == 0)
            assert_int_equal(sfj_test_on_thread(scan_secrets, &u), 0);
        if (u.windows != 0)
            print_message("case %d: %zu windows of a secret\n", what,
                          u.windows);
        found += u.windows;
    }
    assert_int_equal(found, 0);
    sfj_keys_free(s->keys);
    sodium_free(s);
    free(stack);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_matches_construction),
        cmocka_unit_test(test_distinct),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_key_uses_leave_no_key_on_stack),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
