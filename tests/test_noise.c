/* Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b against the published
 * known-answer vector (cacophony's vector for this protocol name), and
 * the failure cases of the handshake and transport layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/cipher_slab.h"
#include "sfj/sys/noise.h"
#include "sfj/errors.h"
#include "sfj/sfj.h"
#include "support/stackscan.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;

    assert_int_equal(sodium_hex2bin(out, cap, s, strlen(s), NULL, &n, NULL), 0);
    return n;
}

/* The vector: prologue "John Galt", psk, both ephemerals, six messages
 * (two handshake, four transport, alternating from the initiator). */
#define V_PROLOGUE "4a6f686e2047616c74"
#define V_PSK      "54686973206973206d7920417573747269616e20706572737065637469766521"
#define V_INIT_E                                                               \
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"
#define V_RESP_E                                                               \
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"
#define V_HASH                                                                 \
    "ed5e9692d0ab507b6c2beec3f584fd5b127817a9d20b26cd50aa72c507260fa31aa7d88d" \
    "d3723316338af37ce0b4cfb2923aeb848bbf2b934911306f01ffc963"

static const char *const v_msgs[6][2] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944ed63df2f"
     "5a12aee1185ee9c50305f2ecf12421dcb53c047a63b784cf7c54a105"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088430e0fe7d5"
     "c0c9b92f7478716c8852f1b4f389edb75e3ebe546fafafd5b6f0f7"},
    {"462e20412e20486179656b",
     "0fe04b26dcfbb69f8a6a94c61f1a26ef88769218d32f5d17c068a6"},
    {"4361726c204d656e676572",
     "2239e0c540c01f09eb1f4cc5258fd5acfefff18a5a3773f21b7bfe"},
    {"4a65616e2d426170746973746520536179",
     "f216cb03d30fb8af1e561fe02a07552d09b416e27a75e62c77d193718b0bdaae9f"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "6e8baf98b944184dd7dc5ef14d8108cbeca626de118a5460f3308e294d61e17238bce29b"
     "d9"},
};

typedef struct pair {
    sfj__noise *i, *r;
    sfj__cipher is, ir, rs, rr;
} pair;

static void make_pair(pair *p, const char *psk_i, const char *psk_r)
{
    uint8_t pro[16], ki[32], kr[32], e[32];
    size_t pl = unhex(V_PROLOGUE, pro, sizeof pro);

    unhex(psk_i, ki, sizeof ki);
    unhex(psk_r, kr, sizeof kr);
    assert_int_equal(sfj__noise_new(&p->i, 1, pro, pl, ki), 0);
    assert_int_equal(sfj__noise_new(&p->r, 0, pro, pl, kr), 0);
    unhex(V_INIT_E, e, sizeof e);
    sfj__noise_set_ephemeral(p->i, e);
    unhex(V_RESP_E, e, sizeof e);
    sfj__noise_set_ephemeral(p->r, e);
}

static void test_vector(void **state)
{
    uint8_t pt[128], ct[160], want[160], got[128], hi[64], hr[64], vh[64];
    size_t pn, wn, cn, gn;
    pair p;
    int i;

    (void)state;
    make_pair(&p, V_PSK, V_PSK);
    /* Message 1, initiator -> responder. */
    pn = unhex(v_msgs[0][0], pt, sizeof pt);
    wn = unhex(v_msgs[0][1], want, sizeof want);
    assert_int_equal(sfj__noise_write(p.i, pt, pn, ct, sizeof ct, &cn), 0);
    assert_int_equal(cn, wn);
    assert_memory_equal(ct, want, wn);
    assert_int_equal(sfj__noise_read(p.r, ct, cn, got, sizeof got, &gn), 0);
    assert_int_equal(gn, pn);
    assert_memory_equal(got, pt, pn);
    /* Message 2, responder -> initiator. */
    pn = unhex(v_msgs[1][0], pt, sizeof pt);
    wn = unhex(v_msgs[1][1], want, sizeof want);
    assert_int_equal(sfj__noise_write(p.r, pt, pn, ct, sizeof ct, &cn), 0);
    assert_int_equal(cn, wn);
    assert_memory_equal(ct, want, wn);
    assert_int_equal(sfj__noise_read(p.i, ct, cn, got, sizeof got, &gn), 0);
    assert_memory_equal(got, pt, pn);
    assert_int_equal(sfj__noise_split(p.i, &p.is, &p.ir, hi), 0);
    assert_int_equal(sfj__noise_split(p.r, &p.rs, &p.rr, hr), 0);
    unhex(V_HASH, vh, sizeof vh);
    assert_memory_equal(hi, vh, 64);
    assert_memory_equal(hr, vh, 64);
    /* Transport messages, empty associated data. */
    for (i = 2; i < 6; i++) {
        sfj__cipher *snd = i % 2 == 0 ? &p.is : &p.rs;
        sfj__cipher *rcv = i % 2 == 0 ? &p.rr : &p.ir;

        pn = unhex(v_msgs[i][0], pt, sizeof pt);
        wn = unhex(v_msgs[i][1], want, sizeof want);
        assert_int_equal(sfj__cipher_seal(snd, NULL, 0, pt, pn, ct), 0);
        assert_int_equal(pn + SFJ_NOISE_TAGLEN, wn);
        assert_memory_equal(ct, want, wn);
        assert_int_equal(sfj__cipher_open(rcv, NULL, 0, ct, wn, got), 0);
        assert_memory_equal(got, pt, pn);
    }
    sfj__noise_free(p.i);
    sfj__noise_free(p.r);
}

static void test_wrong_psk(void **state)
{
    uint8_t ct[160], got[128];
    size_t cn, gn;
    pair p;

    (void)state;
    make_pair(
        &p, V_PSK,
        "54686973206973206d7920417573747269616e20706572737065637469766522");
    assert_int_equal(
        sfj__noise_write(p.i, (const uint8_t *)"x", 1, ct, sizeof ct, &cn), 0);
    assert_int_equal(sfj__noise_read(p.r, ct, cn, got, sizeof got, &gn),
                     SFJ_EAUTH);
    assert_int_equal(p.r->step, SFJ_NOISE_FAILED);
    sfj__noise_free(p.i);
    sfj__noise_free(p.r);
}

/* A replayed message 2 (recorded from an earlier handshake) fails against
 * a fresh initiator ephemeral; a reflected message 1 fails at the
 * initiator; the turns are kept. */
static void test_replay_reflect(void **state)
{
    uint8_t k[32], m1[96], m2[96], m1b[96], got[64];
    size_t n1, n2, n1b, gn;
    sfj__noise *i, *r, *i2, *r2;

    (void)state;
    randombytes_buf(k, sizeof k);
    assert_int_equal(sfj__noise_new(&i, 1, (const uint8_t *)"p", 1, k), 0);
    assert_int_equal(sfj__noise_new(&r, 0, (const uint8_t *)"p", 1, k), 0);
    assert_int_equal(sfj__noise_write(r, NULL, 0, m1, sizeof m1, &n1),
                     SFJ_EINVAL);
    assert_int_equal(sfj__noise_write(i, NULL, 0, m1, sizeof m1, &n1), 0);
    assert_int_equal(sfj__noise_read(r, m1, n1, got, sizeof got, &gn), 0);
    assert_int_equal(sfj__noise_write(r, NULL, 0, m2, sizeof m2, &n2), 0);
    assert_int_equal(sfj__noise_read(i, m2, n2, got, sizeof got, &gn), 0);
    /* Replay m2 to a new initiator. */
    assert_int_equal(sfj__noise_new(&i2, 1, (const uint8_t *)"p", 1, k), 0);
    assert_int_equal(sfj__noise_write(i2, NULL, 0, m1b, sizeof m1b, &n1b), 0);
    assert_int_equal(sfj__noise_read(i2, m2, n2, got, sizeof got, &gn),
                     SFJ_EAUTH);
    sfj__noise_free(i2);
    /* Reflect m1b back to its sender as if it were message 2. */
    assert_int_equal(sfj__noise_new(&i2, 1, (const uint8_t *)"p", 1, k), 0);
    assert_int_equal(sfj__noise_write(i2, NULL, 0, m1b, sizeof m1b, &n1b), 0);
    assert_int_equal(sfj__noise_read(i2, m1b, n1b, got, sizeof got, &gn),
                     SFJ_EAUTH);
    /* A replayed m1 is accepted by a responder (no state yet), but its
     * message 2 is useless to anyone without the initiator's e. */
    assert_int_equal(sfj__noise_new(&r2, 0, (const uint8_t *)"p", 1, k), 0);
    assert_int_equal(sfj__noise_read(r2, m1, n1, got, sizeof got, &gn), 0);
    /* Other prologue (journal id): refused. */
    sfj__noise_free(r2);
    assert_int_equal(sfj__noise_new(&r2, 0, (const uint8_t *)"q", 1, k), 0);
    assert_int_equal(sfj__noise_read(r2, m1, n1, got, sizeof got, &gn),
                     SFJ_EAUTH);
    sfj__noise_free(r2);
    sfj__noise_free(i2);
    sfj__noise_free(i);
    sfj__noise_free(r);
}

static void test_transport_faults(void **state)
{
    sfj__cipher a, b;
    uint8_t ct1[32], ct2[32], pt[16];

    (void)state;
    randombytes_buf(a.k, sizeof a.k);
    memcpy(b.k, a.k, sizeof a.k);
    a.n = b.n = 0;
    assert_int_equal(
        sfj__cipher_seal(&a, NULL, 0, (const uint8_t *)"one", 3, ct1), 0);
    assert_int_equal(
        sfj__cipher_seal(&a, NULL, 0, (const uint8_t *)"two", 3, ct2), 0);
    /* Out of order. */
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct2, 19, pt), SFJ_EAUTH);
    assert_int_equal(b.n, 0);
    /* Bit flip, truncation. */
    ct1[5] ^= 1;
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct1, 19, pt), SFJ_EAUTH);
    ct1[5] ^= 1;
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct1, 18, pt), SFJ_EAUTH);
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct1, 19, pt), 0);
    assert_memory_equal(pt, "one", 3);
    /* Reused counter: the same frame again. */
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct1, 19, pt), SFJ_EAUTH);
    /* Associated data is bound. */
    assert_int_equal(sfj__cipher_open(&b, (const uint8_t *)"x", 1, ct2, 19, pt),
                     SFJ_EAUTH);
    assert_int_equal(sfj__cipher_open(&b, NULL, 0, ct2, 19, pt), 0);
    a.n = UINT64_MAX;
    assert_int_equal(sfj__cipher_seal(&a, NULL, 0, pt, 1, ct1), SFJ_ELIMIT);
}

/* Cipher pairs of many sessions share slabs: each pair taken is zeroed,
 * apart from every other live pair, and wiped when given back; a slab
 * whose pairs all came back is freed, and pairs keep coming after it. */
static void test_cipher_slab(void **state)
{
    enum { N = 450 }; /* more than two slabs */
    static sfj__cipher *p[N];
    static const uint8_t zero[2 * sizeof(sfj__cipher)];
    size_t i, j;

    (void)state;
    for (i = 0; i < N; i++) {
        p[i] = sfj__cipher_pair_take();
        assert_non_null(p[i]);
        assert_memory_equal(p[i], zero, sizeof zero);
        memset(p[i], (int)(i % 251) + 1, sizeof zero);
    }
    /* No pair overlaps another: each still holds its own bytes. */
    for (i = 0; i < N; i++) {
        for (j = 0; j < sizeof zero; j++)
            assert_int_equal(((uint8_t *)p[i])[j], (uint8_t)(i % 251 + 1));
    }
    /* Give back every other one: they are wiped in place (their slab
     * lives on for the neighbours), and taken again zeroed. */
    for (i = 0; i < N; i += 2) {
        sfj__cipher *q = p[i];

        sfj__cipher_pair_give(q);
        assert_memory_equal(q, zero, sizeof zero);
    }
    for (i = 0; i < N; i += 2) {
        p[i] = sfj__cipher_pair_take();
        assert_non_null(p[i]);
        assert_memory_equal(p[i], zero, sizeof zero);
    }
    for (i = 0; i < N; i++)
        sfj__cipher_pair_give(p[i]);
    sfj__cipher_pair_give(NULL);
    p[0] = sfj__cipher_pair_take();
    assert_non_null(p[0]);
    assert_memory_equal(p[0], zero, sizeof zero);
    sfj__cipher_pair_give(p[0]);
}

/* The handshake and the transport leave no key on the stack or in the
 * registers a signal would save there (support/stackscan.h): the PSK,
 * the ephemeral private keys, their DH result, the chaining and cipher
 * keys, the transport keys. */
typedef struct link_secrets {
    uint8_t psk[SFJ_NOISE_PSKLEN];
    sfj__noise *i, *r;
    sfj__cipher i_send, i_recv, r_send, r_recv;
    uint8_t m1[128], m2[128], payload[64], ct[64], pt[64];
    size_t n1, n2;
    int step, rc;
    const uint8_t *stack;
    size_t stack_len, windows;
} link_secrets;

enum { LINK_NEW, LINK_W1, LINK_R1, LINK_W2, LINK_R2, LINK_SPLIT, LINK_FRAME };

static void *make_psk(void *arg)
{
    link_secrets *l = arg;

    randombytes_buf(l->psk, sizeof l->psk);
    return NULL;
}

static void *link_step(void *arg)
{
    static const uint8_t prologue[] = "sfj-test";
    link_secrets *l = arg;
    size_t n = 0;
    int rc = SFJ_OK;

    switch (l->step) {
    case LINK_NEW:
        rc = sfj__noise_new(&l->i, 1, prologue, sizeof prologue, l->psk);
        if (rc == SFJ_OK)
            rc = sfj__noise_new(&l->r, 0, prologue, sizeof prologue, l->psk);
        break;
    case LINK_W1:
        rc = sfj__noise_write(l->i, NULL, 0, l->m1, sizeof l->m1, &l->n1);
        break;
    case LINK_R1:
        rc = sfj__noise_read(l->r, l->m1, l->n1, l->payload, sizeof l->payload,
                             &n);
        break;
    case LINK_W2:
        rc = sfj__noise_write(l->r, NULL, 0, l->m2, sizeof l->m2, &l->n2);
        break;
    case LINK_R2:
        rc = sfj__noise_read(l->i, l->m2, l->n2, l->payload, sizeof l->payload,
                             &n);
        break;
    case LINK_SPLIT:
        rc = sfj__noise_split(l->i, &l->i_send, &l->i_recv, NULL);
        if (rc == SFJ_OK)
            rc = sfj__noise_split(l->r, &l->r_send, &l->r_recv, NULL);
        break;
    default:
        rc = sfj__cipher_seal(&l->i_send, NULL, 0, l->pt, 32, l->ct);
        if (rc == SFJ_OK)
            rc = sfj__cipher_open(&l->r_recv, NULL, 0, l->ct, 48, l->pt);
        break;
    }
    l->rc = rc;
    return NULL;
}

static void *scan_link(void *arg)
{
    link_secrets *l = arg;
    const uint8_t *st = l->stack;
    size_t len = l->stack_len, w;
    uint8_t dh[SFJ_NOISE_DHLEN];

    w = sfj_test_windows(st, len, l->psk, sizeof l->psk) +
        sfj_test_windows(st, len, l->i->e_priv, SFJ_NOISE_DHLEN) +
        sfj_test_windows(st, len, l->r->e_priv, SFJ_NOISE_DHLEN);
    if (l->step >= LINK_W1)
        w += sfj_test_windows(st, len, l->i->ck, SFJ_NOISE_HASHLEN) +
             sfj_test_windows(st, len, l->i->c.k, SFJ_NOISE_KEYLEN);
    if (l->step >= LINK_R1)
        w += sfj_test_windows(st, len, l->r->ck, SFJ_NOISE_HASHLEN) +
             sfj_test_windows(st, len, l->r->c.k, SFJ_NOISE_KEYLEN);
    if (l->step >= LINK_W2 &&
        crypto_scalarmult(dh, l->i->e_priv, l->r->e_pub) == 0) {
        w += sfj_test_windows(st, len, dh, sizeof dh);
        sodium_memzero(dh, sizeof dh);
    }
    if (l->step >= LINK_SPLIT)
        w += sfj_test_windows(st, len, l->i_send.k, SFJ_NOISE_KEYLEN) +
             sfj_test_windows(st, len, l->i_recv.k, SFJ_NOISE_KEYLEN);
    l->windows = w;
    return NULL;
}

static void test_link_leaves_no_key_on_stack(void **state)
{
    size_t len = 256 * 1024, found = 0;
    link_secrets *l = sodium_malloc(sizeof *l);
    uint8_t *stack = aligned_alloc(4096, len);

    (void)state;
    assert_non_null(l);
    assert_non_null(stack);
    memset(l, 0, sizeof *l);
    l->stack = stack;
    l->stack_len = len;
    assert_int_equal(sfj_test_on_thread(make_psk, l), 0);
    for (l->step = LINK_NEW; l->step <= LINK_FRAME; l->step++) {
        assert_int_equal(sfj_test_on_stack(stack, len, link_step, l, 1), 0);
        assert_int_equal(l->rc, SFJ_OK);
        assert_int_equal(sfj_test_on_thread(scan_link, l), 0);
        if (l->windows != 0)
            print_message("step %d: %zu windows of a secret\n", l->step,
                          l->windows);
        found += l->windows;
    }
    assert_int_equal(found, 0);
    sfj__noise_free(l->i);
    sfj__noise_free(l->r);
    sodium_free(l);
    free(stack);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector),
        cmocka_unit_test(test_cipher_slab),
        cmocka_unit_test(test_wrong_psk),
        cmocka_unit_test(test_replay_reflect),
        cmocka_unit_test(test_transport_faults),
        cmocka_unit_test(test_link_leaves_no_key_on_stack),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
