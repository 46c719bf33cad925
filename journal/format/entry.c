/* The one record-open, and the wiping free of what it returns; see
 * entry.h. */
#include "journal/format/entry.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "crypto/keys.h"
#include "crypto/seal.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

/* The fields of an entry that the clear header carries. */
static void take_clear(sfj_entry *e, const sfj__rec_hdr *h)
{
    e->seq = h->seq;
    e->kind = h->kind;
    e->epoch = h->epoch;
    e->wall_ms = h->wall_ms;
}

int sfj__rec_open(const uint8_t *journal_id, const uint8_t *record_key,
                  const sfj__dict *dict, const uint8_t *rec, size_t len,
                  sfj_entry **out)
{
    uint8_t ad[SFJ_REC_AD_HDR_MAX];
    size_t ad_len, pt_len = 0;
    uint8_t *pt = NULL;
    sfj__rec_hdr h;
    sfj_entry *e = NULL;
    int rc;

    *out = NULL;
    rc = sfj__rec_hdr_decode(rec, len, &h);
    if (rc != SFJ_OK)
        goto done;
    if (sfj__rec_is_clear(h.kind)) {
        rc = SFJ_ECORRUPT;
        goto done;
    }
    /* Made with the journal's dictionary: without it, nothing to check
     * the tag against. */
    if ((h.flags & SFJ_REC_F_DICTJ) && dict == NULL) {
        rc = SFJ_ECORRUPT;
        goto done;
    }
    e = sfj__secmem_alloc(sizeof *e);
    pt = sfj__secmem_alloc(len - SFJ_REC_HDR_BYTES);
    if (e == NULL || pt == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    ad_len = sfj__rec_ad_header(rec, dict != NULL ? dict->id : NULL, ad);
    rc = sfj__aead_record_open(journal_id, record_key, ad, ad_len, h.nonce,
                               rec + SFJ_REC_HDR_BYTES, len - SFJ_REC_HDR_BYTES,
                               pt, &pt_len);
    if (rc != SFJ_OK)
        goto done;
    take_clear(e, &h);
    rc = sfj__event_unpack_dict(pt, pt_len, h.flags, dict, e);
    if (rc == SFJ_OK)
        rc = sfj__entry_validate(e);
done:
    sfj__secmem_free(pt); /* wipes */
    if (rc != SFJ_OK) {
        sfj_entry_free(e);
        e = NULL;
    }
    /* The plaintext went through registers and the frames below this
     * one (inflate, the decoding's copies), which the next signal or
     * first call through the PLT writes to the stack. */
    sfj__wipe_dead_stack();
    *out = e;
    return rc;
}

/* Try the keys of `ring` bound to `epoch` (pass 0) or unbound (pass 1) on
 * a record. Returns SFJ_ENOKEY when the ring has no such key. */
static int open_pass(const sfj_keys *ring, int pass, uint32_t epoch,
                     const uint8_t *journal_id, const sfj__dict *dict,
                     const uint8_t *rec, size_t len, sfj_entry **out,
                     uint8_t *rkey)
{
    uint8_t ekey[SFJ_KEY_BYTES];
    int rc = SFJ_ENOKEY;

    for (; ring != NULL; ring = ring->next) {
        if (ring->epoch != (pass == 0 ? epoch : 0))
            continue;
        sfj__epoch_key(ring, epoch, ekey);
        sfj__rec_key(ekey, rec, rkey);
        rc = sfj__rec_open(journal_id, rkey, dict, rec, len, out);
        if (rc != SFJ_EAUTH)
            break;
    }
    sodium_memzero(ekey, sizeof ekey);
    return rc;
}

int sfj__record_open_ring(const sfj_keys *keys, const uint8_t *journal_id,
                          const sfj__dict *dict, const uint8_t *rec, size_t len,
                          sfj_entry **out, uint8_t *rkey)
{
    uint32_t epoch;
    int rc;

    *out = NULL;
    if (len < SFJ_REC_HDR_BYTES)
        return SFJ_ECORRUPT;
    /* A key bound to the record's epoch is the only one that may open
     * it; with none, each key not bound to any epoch is tried (a ring no
     * journal has bound: a journal's handle drops the keys of none of its
     * epochs, open.c). */
    epoch = sfj__get_u32(rec + SFJ_REC_OFF_EPOCH);
    rc = open_pass(keys, 0, epoch, journal_id, dict, rec, len, out, rkey);
    if (rc == SFJ_ENOKEY)
        rc = open_pass(keys, 1, epoch, journal_id, dict, rec, len, out, rkey);
    if (rc != SFJ_OK)
        sodium_memzero(rkey, SFJ_KEY_BYTES);
    return rc;
}

int sfj__record_open_keys(const sfj_keys *keys, const uint8_t *journal_id,
                          const struct sfj__dict *dict, const uint8_t *rec,
                          size_t len, sfj_entry **out)
{
    uint8_t rkey[SFJ_KEY_BYTES];
    int rc = sfj__record_open_ring(keys, journal_id, dict, rec, len, out, rkey);

    sodium_memzero(rkey, sizeof rkey);
    return rc;
}

int sfj__record_peek(const uint8_t *rec, size_t len, sfj_entry *out)
{
    sfj__rec_hdr h;
    int rc = sfj__rec_hdr_decode(rec, len, &h);

    memset(out, 0, sizeof *out);
    if (rc != SFJ_OK)
        return rc;
    take_clear(out, &h);
    if (h.kind == SFJ_EV_CHECKPOINT)
        out->boot = sfj__get_u32(rec + SFJ_REC_OFF_BOOT);
    return SFJ_OK;
}

void sfj_entry_free(sfj_entry *e)
{
    if (e == NULL)
        return;
    /* Both live in dump-excluded memory and are wiped on free. */
    sfj__secmem_free(e->payload);
    sfj__secmem_free(e);
}
