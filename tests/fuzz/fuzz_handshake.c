/* Fuzz target: the version 2 handshake messages (docs/PROTOCOL.md section
 * 4), as each side reads them from the wire.
 *
 * Input: one control byte, then a frame body. Control bit 0 clear: the
 * body is a HELLO read by the upstream (version, journal id, Noise
 * message 1 under the fuzz link key, then the resume point); an accepted
 * one is answered with message 2, which the matching initiator must then
 * read. Bit 0 set: the body is a HELLO_ACK read by a terminal that sent
 * the seed's message 1 (fixed ephemeral). Nothing may crash or read out
 * of bounds; what opens must decode consistently. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "sfj/errors.h"
#include "sfj/sys/proto_v2.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixed_e(sfj__lsess *s, uint8_t v)
{
    uint8_t e[SFJ_NOISE_DHLEN];

    memset(e, v, sizeof e);
    sfj__noise_set_ephemeral(s->hs, e);
}

/* The seed terminal's message 1 into `out`; returns its length. */
static size_t seed_msg1(const sfj_fuzz_keys *k, sfj__lsess *s, uint8_t *out,
                        size_t cap)
{
    uint8_t pl[SFJ_HELLO2_PAYLOAD_MAX];
    sfj__hello2 h;
    size_t n = 0;

    memset(&h, 0, sizeof h);
    strcpy(h.terminal_id, SFJ_FUZZ_TID);
    h.first_unacked = 1;
    h.last_seq = 10;
    if (sfj__lsess_start(s, 1, k->journal_id, k->link_key) != SFJ_OK)
        abort();
    fixed_e(s, SFJ_FUZZ_INIT_E);
    if (sfj__lsess_write(s, pl, sfj__hello2_payload_encode(&h, pl), out, cap,
                         &n) != SFJ_OK)
        abort();
    return n;
}

static void as_upstream(const sfj_fuzz_keys *k, const uint8_t *b, size_t n)
{
    uint8_t pl[SFJ_NOISE_MSG_MAX], m2[512], back[512];
    sfj__lsess r = {0};
    sfj__hello_ack ha;
    sfj__hello2 h;
    size_t pn = 0, n2 = 0, bn = 0;

    if (sfj__proto_version(b, n) != SFJ_PROTO_V2 || n < SFJ_HELLO2_HDR ||
        memcmp(b + 2, k->journal_id, SFJ_JOURNAL_ID_BYTES) != 0)
        return;
    if (sfj__lsess_start(&r, 0, k->journal_id, k->link_key) != SFJ_OK)
        abort();
    fixed_e(&r, SFJ_FUZZ_RESP_E);
    if (sfj__lsess_read(&r, b + SFJ_HELLO2_HDR, n - SFJ_HELLO2_HDR, pl,
                        sizeof pl, &pn) != SFJ_OK)
        goto done;
    if (sfj__hello2_payload_decode(pl, pn, &h) == SFJ_OK &&
        (h.first_unacked < 1 || h.first_unacked > h.last_seq + 1))
        abort();
    memset(&ha, 0, sizeof ha);
    ha.window = 1;
    ha.next_seq = 1;
    pn = sfj__hello_ack2_payload_encode(&ha, pl);
    if (sfj__lsess_write(&r, pl, pn, m2, sizeof m2, &n2) != SFJ_OK ||
        !sfj__lsess_ready(&r))
        abort();
    /* Only the seed's own terminal can read the answer. */
    {
        sfj__lsess i = {0};
        uint8_t m1[512];

        (void)seed_msg1(k, &i, m1, sizeof m1);
        if (sfj__lsess_read(&i, m2, n2, back, sizeof back, &bn) == SFJ_OK &&
            (bn != pn || memcmp(back, pl, pn) != 0))
            abort();
        sfj__lsess_end(&i);
    }
done:
    sfj__lsess_end(&r);
}

static void as_terminal(const sfj_fuzz_keys *k, const uint8_t *b, size_t n)
{
    uint8_t m1[512], pl[SFJ_NOISE_MSG_MAX];
    sfj__lsess i = {0};
    sfj__hello_ack ha;
    size_t pn = 0;

    (void)seed_msg1(k, &i, m1, sizeof m1);
    if (sfj__proto_version(b, n) != SFJ_PROTO_V2 || n < SFJ_HELLO_ACK2_HDR ||
        b[2] != 0)
        goto done;
    if (sfj__lsess_read(&i, b + SFJ_HELLO_ACK2_HDR, n - SFJ_HELLO_ACK2_HDR, pl,
                        sizeof pl, &pn) != SFJ_OK) {
        if (sfj__lsess_ready(&i))
            abort();
        goto done;
    }
    if (!sfj__lsess_ready(&i))
        abort();
    if (sfj__hello_ack2_payload_decode(pl, pn, &ha) == SFJ_OK &&
        ha.status == 0 && (ha.next_seq == 0 || ha.window == 0))
        abort();
done:
    sfj__lsess_end(&i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sfj_fuzz_keys k;
    static int ready;

    if (!ready) {
        sfj_fuzz_keys_init(&k);
        ready = 1;
    }
    if (size < 1)
        return 0;
    if (data[0] & 1)
        as_terminal(&k, data + 1, size - 1);
    else
        as_upstream(&k, data + 1, size - 1);
    return 0;
}
