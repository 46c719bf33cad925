/* Link sessions of wire protocol version 2; see link_session.h. */
#include "sfj/sys/link_session.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "crypto/cipher_slab.h"
#include "crypto/tags.h"
#include "sfj/errors.h"

#ifndef NDEBUG
static int assert_lsess_state(const sfj__lsess *s)
{
    return s->hs == NULL || s->cs == NULL;
}
#endif

void sfj__lsess_end(sfj__lsess *s)
{
    sfj__noise_free(s->hs);
    sfj__cipher_pair_give(s->cs);
    s->hs = NULL;
    s->cs = NULL;
    sodium_memzero(s->hash, sizeof s->hash);
}

int sfj__lsess_start(sfj__lsess *s, int initiator, const uint8_t *journal_id,
                     const uint8_t *link_key)
{
    uint8_t pro[sizeof SFJ__TAG_LINK - 1 + 2 + 16];
    size_t tl = sizeof SFJ__TAG_LINK - 1;

    sfj__lsess_end(s);
    memcpy(pro, SFJ__TAG_LINK, tl);
    pro[tl] = 0;
    pro[tl + 1] = SFJ_LINK_VERSION;
    memcpy(pro + tl + 2, journal_id, 16);
    return sfj__noise_new(&s->hs, initiator, pro, sizeof pro, link_key);
}

/* After the last handshake message: split into the transport states. */
static int finish(sfj__lsess *s)
{
    int rc = SFJ_ENOMEM;

    if (s->hs->step != SFJ_NOISE_DONE)
        return SFJ_OK;
    s->cs = sfj__cipher_pair_take();
    if (s->cs == NULL)
        goto done;
    rc = sfj__noise_split(s->hs, &s->cs[0], &s->cs[1], s->hash);
done:
    sfj__noise_free(s->hs);
    s->hs = NULL;
    if (rc != SFJ_OK)
        sfj__lsess_end(s);
    assert(assert_lsess_state(s));
    return rc;
}

int sfj__lsess_write(sfj__lsess *s, const uint8_t *payload, size_t len,
                     uint8_t *out, size_t cap, size_t *out_len)
{
    int rc;

    *out_len = 0;
    if (s->hs == NULL)
        return SFJ_EINVAL;
    rc = sfj__noise_write(s->hs, payload, len, out, cap, out_len);
    if (rc == SFJ_OK)
        rc = finish(s);
    else if (rc != SFJ_EINVAL)
        sfj__lsess_end(s);
    return rc;
}

int sfj__lsess_read(sfj__lsess *s, const uint8_t *msg, size_t len,
                    uint8_t *payload, size_t cap, size_t *payload_len)
{
    int rc;

    *payload_len = 0;
    if (s->hs == NULL)
        return SFJ_EAUTH;
    rc = sfj__noise_read(s->hs, msg, len, payload, cap, payload_len);
    if (rc == SFJ_OK)
        rc = finish(s);
    if (rc != SFJ_OK) {
        sfj__lsess_end(s);
        rc = SFJ_EAUTH;
    }
    return rc;
}

int sfj__lsess_ready(const sfj__lsess *s)
{
    return s->cs != NULL;
}

sfj__cipher *sfj__lsess_tx(sfj__lsess *s)
{
    return s->cs == NULL ? NULL : &s->cs[0];
}

sfj__cipher *sfj__lsess_rx(sfj__lsess *s)
{
    return s->cs == NULL ? NULL : &s->cs[1];
}

void sfj__lsess_move(sfj__lsess *dst, sfj__lsess *src)
{
    if (dst == src)
        return;
    sfj__lsess_end(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}
