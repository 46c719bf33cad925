/* Event plaintext encoding; see event_codec.h for the layout. */
#include "journal/format/event_codec.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/abi.h"
#include "common/bytes.h"
#include "common/secmem.h"
#include "journal/format/compress.h"
#include "journal/format/record.h"
#include "sfj/errors.h"

static int printable_len(const char *s, size_t max, size_t *len)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        if (n == max || s[n] < 0x21 || s[n] > 0x7e)
            return SFJ_EINVAL;
    }
    *len = n;
    return SFJ_OK;
}

/* An optional field: NULL or "" is absent; else 1..max bytes each
 * accepted by `ok`. */
static int field_ok(const char *s, size_t max, int (*ok)(int c))
{
    size_t n;

    if (s == NULL)
        return SFJ_OK;
    for (n = 0; s[n] != '\0'; n++) {
        if (n == max || !ok((unsigned char)s[n]))
            return SFJ_EINVAL;
    }
    return SFJ_OK;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_graph(int c)
{
    return c >= 0x21 && c <= 0x7e;
}

static int is_text(int c)
{
    return c >= 0x20 && c <= 0x7e;
}

static int is_card(int c)
{
    return is_digit(c) || c == '*' || c == 'X' || c == 'x';
}

/* A masked card: 12..19 characters, digits only in the first 6 and the
 * last 4 positions. Anything else with digits is a PAN in clear. */
static int card_ok(const char *s)
{
    size_t n, i;

    if (s == NULL || s[0] == '\0')
        return SFJ_OK;
    if (field_ok(s, SFJ_CARD_MAX, is_card) != SFJ_OK)
        return sfj_looks_like_pan(s) ? SFJ_EPAN : SFJ_EINVAL;
    n = strlen(s);
    if (n < 12)
        return SFJ_EINVAL;
    for (i = 6; i < n - 4; i++) {
        if (is_digit((unsigned char)s[i]))
            return SFJ_EPAN;
    }
    return SFJ_OK;
}

static int has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int has_refs(const sfj_event *ev)
{
    return has(ev->rrn) || has(ev->stan) || has(ev->response_code) ||
           has(ev->merchant_ref) || has(ev->card) || ev->tip != 0 ||
           ev->flags != 0 || has(ev->note);
}

/* The version-2 fields. */
static int refs_validate(const sfj_event *ev)
{
    int rc;

    if (field_ok(ev->rrn, SFJ_RRN_MAX, is_alnum) != SFJ_OK ||
        field_ok(ev->stan, SFJ_STAN_MAX, is_digit) != SFJ_OK ||
        field_ok(ev->response_code, SFJ_RESPONSE_CODE_MAX, is_alnum) !=
            SFJ_OK ||
        field_ok(ev->merchant_ref, SFJ_MERCHANT_REF_MAX, is_graph) != SFJ_OK ||
        field_ok(ev->note, SFJ_NOTE_MAX, is_text) != SFJ_OK)
        return SFJ_EINVAL;
    rc = card_ok(ev->card);
    if (rc != SFJ_OK)
        return rc;
    /* A reference that is a whole PAN, or a note holding one. */
    if ((has(ev->merchant_ref) && sfj_looks_like_pan(ev->merchant_ref) &&
         strspn(ev->merchant_ref, "0123456789") == strlen(ev->merchant_ref)) ||
        sfj_looks_like_pan(ev->note))
        return SFJ_EPAN;
    if (ev->flags &
        ~(unsigned)(SFJ_EVF_PARTIAL | SFJ_EVF_MANUAL | SFJ_EVF_RECONCILED))
        return SFJ_EINVAL;
    if (ev->tip != 0 &&
        ((ev->kind != SFJ_EV_TXN_OUTCOME && ev->kind != SFJ_EV_TXN_OFFLINE) ||
         ev->tip < 0 || ev->tip > ev->amount))
        return SFJ_EINVAL;
    if ((ev->flags & SFJ_EVF_PARTIAL) &&
        (ev->kind != SFJ_EV_TXN_OUTCOME || ev->status != SFJ_ST_APPROVED))
        return SFJ_EINVAL;
    if ((ev->flags & SFJ_EVF_MANUAL) && ev->kind != SFJ_EV_TXN_OFFLINE)
        return SFJ_EINVAL;
    if ((ev->flags & SFJ_EVF_RECONCILED) && ev->kind != SFJ_EV_TXN_OUTCOME &&
        ev->kind != SFJ_EV_REVERSAL)
        return SFJ_EINVAL;
    return SFJ_OK;
}

/* The version-3 list: a SETTLEMENT's totals, one line per currency. */
static int totals_validate(const sfj_event *ev)
{
    size_t i, k, n;

    if (ev->n_totals == 0)
        return SFJ_OK;
    if (ev->kind != SFJ_EV_SETTLEMENT || ev->totals == NULL ||
        ev->n_totals > SFJ_SETTLE_LINES_MAX ||
        ev->payload_len >
            SFJ_PAYLOAD_MAX - SFJ__SETTLE_LIST_BYTES(ev->n_totals))
        return SFJ_EINVAL;
    for (i = 0; i < ev->n_totals; i++) {
        const sfj_settle_line *l = &ev->totals[i];

        for (n = 0; n < 3; n++) {
            if (l->currency[n] < 'A' || l->currency[n] > 'Z')
                return SFJ_EINVAL;
        }
        if (l->currency[3] != '\0' || l->count > SFJ_SETTLE_COUNT_MAX)
            return SFJ_EINVAL;
        for (k = 0; k < i; k++) {
            if (memcmp(ev->totals[k].currency, l->currency, 3) == 0)
                return SFJ_EINVAL;
        }
    }
    return SFJ_OK;
}

static int needs_txn_id(uint16_t kind)
{
    return kind == SFJ_EV_TXN_INTENT || kind == SFJ_EV_TXN_OUTCOME ||
           kind == SFJ_EV_TXN_OFFLINE || kind == SFJ_EV_REVERSAL ||
           kind == SFJ_EV_RECEIPT;
}

int sfj__event_validate(const sfj_event *ev)
{
    size_t n;

    if (ev == NULL)
        return SFJ_EINVAL;
    if ((unsigned)ev->kind > UINT16_MAX ||
        !sfj__rec_kind_valid((uint16_t)ev->kind) ||
        sfj__rec_is_clear((uint16_t)ev->kind) || ev->kind == SFJ_EV_DICTIONARY)
        return SFJ_EINVAL;
    if (ev->txn_id != NULL) {
        if (printable_len(ev->txn_id, SFJ_TXN_ID_MAX, &n) != SFJ_OK || n == 0)
            return SFJ_EINVAL;
    } else if (needs_txn_id(ev->kind)) {
        return SFJ_EINVAL;
    }
    if (ev->currency != NULL && ev->currency[0] != '\0') {
        for (n = 0; n < 3; n++) {
            if (ev->currency[n] < 'A' || ev->currency[n] > 'Z')
                return SFJ_EINVAL;
        }
        if (ev->currency[3] != '\0')
            return SFJ_EINVAL;
    }
    if (ev->auth_code != NULL &&
        printable_len(ev->auth_code, SFJ_AUTH_CODE_MAX, &n) != SFJ_OK)
        return SFJ_EINVAL;
    if (ev->payload_len > SFJ_PAYLOAD_MAX ||
        (ev->payload_len > 0 && ev->payload == NULL))
        return SFJ_EINVAL;
    if (totals_validate(ev) != SFJ_OK)
        return SFJ_EINVAL;
    return refs_validate(ev);
}

static size_t slen(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
    size_t n = slen(s);

    *p++ = (uint8_t)n;
    if (n > 0)
        memcpy(p, s, n);
    return p + n;
}

static size_t refs_len(const sfj_event *ev)
{
    return SFJ__EVENT_EXT_FIXED_BYTES + slen(ev->rrn) + slen(ev->stan) +
           slen(ev->response_code) + slen(ev->merchant_ref) + slen(ev->card) +
           slen(ev->note);
}

static uint8_t *put_refs(uint8_t *p, const sfj_event *ev)
{
    p = put_str(p, ev->rrn);
    p = put_str(p, ev->stan);
    p = put_str(p, ev->response_code);
    p = put_str(p, ev->merchant_ref);
    p = put_str(p, ev->card);
    sfj__put_u64(p, (uint64_t)ev->tip);
    sfj__put_u16(p + 8, (uint16_t)ev->flags);
    return put_str(p + 10, ev->note);
}

static uint8_t *put_totals(uint8_t *p, const sfj_event *ev)
{
    size_t i;

    *p++ = (uint8_t)ev->n_totals;
    for (i = 0; i < ev->n_totals; i++, p += SFJ__SETTLE_LINE_BYTES) {
        memcpy(p, ev->totals[i].currency, 3);
        sfj__put_u32(p + 3, (uint32_t)ev->totals[i].count);
        sfj__put_u64(p + 7, (uint64_t)ev->totals[i].amount);
    }
    return p;
}

int sfj__event_pack(const sfj_event *ev, uint32_t boot, uint8_t **out,
                    size_t *len, uint8_t *flags)
{
    return sfj__event_pack_dict(ev, boot, NULL, out, len, flags);
}

/* The event encoding of a validated event, uncompressed, into a malloc'd
 * buffer. */
static int encode_raw(const sfj_event *ev, uint32_t boot, uint8_t **out,
                      size_t *len)
{
    size_t txn_len = ev->txn_id ? strlen(ev->txn_id) : 0;
    size_t auth_len = ev->auth_code ? strlen(ev->auth_code) : 0;
    int v3 = ev->n_totals > 0, v2 = v3 || has_refs(ev);
    size_t raw_len = SFJ_EVENT_FIXED_BYTES + txn_len + auth_len +
                     ev->payload_len + (v2 ? refs_len(ev) : 0) +
                     (v3 ? SFJ__SETTLE_LIST_BYTES(ev->n_totals) : 0);
    uint8_t *raw = malloc(raw_len), *p = raw;

    *out = NULL;
    if (raw == NULL)
        return SFJ_ENOMEM;
    /* The oldest version that holds the event: older readers keep reading
     * journals that never use the newer fields. */
    *p++ = v3   ? SFJ__EVENT_CODEC_V3
           : v2 ? SFJ__EVENT_CODEC_V2
                : SFJ__EVENT_CODEC_V1;
    sfj__put_u16(p, ev->status);
    sfj__put_u32(p + 2, boot);
    p[6] = (uint8_t)txn_len;
    p += 7;
    memcpy(p, ev->txn_id ? ev->txn_id : "", txn_len);
    p += txn_len;
    sfj__put_u64(p, (uint64_t)ev->amount);
    memset(p + 8, 0, 3);
    if (ev->currency != NULL && ev->currency[0] != '\0')
        memcpy(p + 8, ev->currency, 3);
    p[11] = (uint8_t)auth_len;
    p += 12;
    memcpy(p, ev->auth_code ? ev->auth_code : "", auth_len);
    p += auth_len;
    if (v2)
        p = put_refs(p, ev);
    if (v3)
        p = put_totals(p, ev);
    sfj__put_u32(p, ev->copy);
    sfj__put_u32(p + 4, (uint32_t)ev->payload_len);
    if (ev->payload_len > 0)
        memcpy(p + 8, ev->payload, ev->payload_len);
    *out = raw;
    *len = raw_len;
    return SFJ_OK;
}

int sfj__event_pack_dict(const sfj_event *ev, uint32_t boot,
                         const sfj__dict *dict, uint8_t **out, size_t *len,
                         uint8_t *flags)
{
    uint8_t *raw = NULL, *packed = NULL;
    size_t raw_len = 0, packed_len = 0;
    int rc;

    *out = NULL;
    rc = encode_raw(ev, boot, &raw, &raw_len);
    if (rc != SFJ_OK)
        return rc;
    packed = malloc(raw_len);
    if (packed == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    /* The journal's own dictionary when it has one; else dictionary v2: it
     * fits payment payloads (ISO 8583 in ASCII or binary, EMV data, JSON)
     * better than v1 and costs the same on short notes
     * (docs/PERFORMANCE.md). */
    rc = dict != NULL ? sfj__deflate_dict(dict, raw, raw_len, packed, raw_len,
                                          &packed_len)
                      : sfj__deflate(SFJ__DICT_V2, raw, raw_len, packed,
                                     raw_len, &packed_len);
    if (rc < 0)
        goto done;
    if (rc == 1) {
        *flags = SFJ_REC_F_DEFLATE |
                 (dict != NULL ? SFJ_REC_F_DICTJ : SFJ_REC_F_DICT2);
        *out = packed;
        *len = packed_len;
        packed = NULL;
    } else {
        *flags = 0;
        *out = raw;
        *len = raw_len;
        raw = NULL;
    }
    rc = SFJ_OK;
done:
    if (raw != NULL) {
        sodium_memzero(raw, raw_len);
        free(raw);
    }
    if (packed != NULL) {
        sodium_memzero(packed, raw_len);
        free(packed);
    }
    return rc;
}

/* A length-prefixed field of bytes lo..0x7e (0x21: ids and codes; 0x20:
 * text with spaces). */
static int copy_chars(const uint8_t **p, const uint8_t *end, char *dst,
                      size_t max, uint8_t lo)
{
    size_t n, i;

    if (*p >= end)
        return SFJ_ECORRUPT;
    n = **p;
    if (n > max || (size_t)(end - *p - 1) < n)
        return SFJ_ECORRUPT;
    for (i = 0; i < n; i++) {
        if ((*p)[1 + i] < lo || (*p)[1 + i] > 0x7e)
            return SFJ_ECORRUPT;
    }
    memcpy(dst, *p + 1, n);
    dst[n] = '\0';
    *p += 1 + n;
    return SFJ_OK;
}

static int copy_field(const uint8_t **p, const uint8_t *end, char *dst,
                      size_t max)
{
    return copy_chars(p, end, dst, max, 0x21);
}

static void clear_refs(sfj_entry *e)
{
    e->rrn[0] = e->stan[0] = e->response_code[0] = '\0';
    e->merchant_ref[0] = e->card[0] = e->note[0] = '\0';
    e->tip = 0;
    e->flags = 0;
}

/* Structure only; what the lines may hold is sfj__entry_validate's. */
static int unpack_totals(const uint8_t **p, const uint8_t *end, sfj_entry *e)
{
    size_t n, i;

    if (*p >= end)
        return SFJ_ECORRUPT;
    n = **p;
    if (n == 0 || n > SFJ_SETTLE_LINES_MAX ||
        (size_t)(end - *p - 1) < n * SFJ__SETTLE_LINE_BYTES)
        return SFJ_ECORRUPT;
    *p += 1;
    for (i = 0; i < n; i++, *p += SFJ__SETTLE_LINE_BYTES) {
        memcpy(e->totals[i].currency, *p, 3);
        e->totals[i].currency[3] = '\0';
        e->totals[i].count = sfj__get_u32(*p + 3);
        e->totals[i].amount = (int64_t)sfj__get_u64(*p + 7);
    }
    e->n_totals = n;
    return SFJ_OK;
}

static int unpack_refs(const uint8_t **p, const uint8_t *end, sfj_entry *e)
{
    if (copy_field(p, end, e->rrn, SFJ_RRN_MAX) != SFJ_OK ||
        copy_field(p, end, e->stan, SFJ_STAN_MAX) != SFJ_OK ||
        copy_field(p, end, e->response_code, SFJ_RESPONSE_CODE_MAX) != SFJ_OK ||
        copy_field(p, end, e->merchant_ref, SFJ_MERCHANT_REF_MAX) != SFJ_OK ||
        copy_field(p, end, e->card, SFJ_CARD_MAX) != SFJ_OK || end - *p < 10)
        return SFJ_ECORRUPT;
    e->tip = (int64_t)sfj__get_u64(*p);
    e->flags = sfj__get_u16(*p + 8);
    *p += 10;
    return copy_chars(p, end, e->note, SFJ_NOTE_MAX, 0x20);
}

static int unpack_raw(const uint8_t *pt, size_t len, sfj_entry *e)
{
    const uint8_t *p = pt, *end = pt + len;
    size_t payload_len;

    if (len < SFJ_EVENT_FIXED_BYTES || p[0] < SFJ__EVENT_CODEC_V1 ||
        p[0] > SFJ__EVENT_CODEC_V3)
        return SFJ_ECORRUPT;
    e->status = sfj__get_u16(p + 1);
    e->boot = sfj__get_u32(p + 3);
    p += 7;
    if (copy_field(&p, end, e->txn_id, SFJ_TXN_ID_MAX) != SFJ_OK ||
        end - p < 12)
        return SFJ_ECORRUPT;
    e->amount = (int64_t)sfj__get_u64(p);
    memcpy(e->currency, p + 8, 3);
    e->currency[3] = '\0';
    p += 11;
    if (copy_field(&p, end, e->auth_code, SFJ_AUTH_CODE_MAX) != SFJ_OK)
        return SFJ_ECORRUPT;
    if (pt[0] >= SFJ__EVENT_CODEC_V2) {
        if (unpack_refs(&p, end, e) != SFJ_OK)
            return SFJ_ECORRUPT;
    } else {
        clear_refs(e);
    }
    e->n_totals = 0;
    if (pt[0] == SFJ__EVENT_CODEC_V3 && unpack_totals(&p, end, e) != SFJ_OK)
        return SFJ_ECORRUPT;
    if (end - p < 8)
        return SFJ_ECORRUPT;
    e->copy = sfj__get_u32(p);
    payload_len = sfj__get_u32(p + 4);
    p += 8;
    if (payload_len > SFJ_PAYLOAD_MAX || (size_t)(end - p) != payload_len)
        return SFJ_ECORRUPT;
    e->payload_len = payload_len;
    if (payload_len > 0) {
        e->payload = sfj__secmem_alloc(payload_len);
        if (e->payload == NULL)
            return SFJ_ENOMEM;
        memcpy(e->payload, p, payload_len);
    }
    return SFJ_OK;
}

/* Readers refuse what writers refuse: see event_codec.h. */
int sfj__entry_validate(const sfj_entry *e)
{
    sfj_event ev = SFJ_EVENT_INIT;
    static const char none[3] = {0, 0, 0};

    ev.kind = (sfj_kind)e->kind;
    if (e->kind == SFJ_EV_DICTIONARY) {
        /* sfj's own: a dictionary as its payload and nothing else; its
         * bytes pass what a note's would. */
        if (e->txn_id[0] != '\0' || e->status != 0 || e->amount != 0 ||
            e->currency[0] != '\0' || e->auth_code[0] != '\0' || e->copy != 0 ||
            e->n_totals != 0 || e->payload_len == 0 ||
            e->payload_len > SFJ_DICTIONARY_MAX || e->rrn[0] != '\0' ||
            e->stan[0] != '\0' || e->response_code[0] != '\0' ||
            e->merchant_ref[0] != '\0' || e->card[0] != '\0' || e->flags != 0 ||
            e->note[0] != '\0')
            return SFJ_ECORRUPT;
        ev.kind = SFJ_EV_NOTE;
    }
    ev.status = (sfj_status)e->status;
    ev.txn_id = e->txn_id[0] != '\0' ? e->txn_id : NULL;
    ev.amount = e->amount;
    /* Absent is three zero bytes; anything else must be three A-Z. */
    if (memcmp(e->currency, none, 3) != 0) {
        if (e->currency[0] == '\0')
            return SFJ_ECORRUPT;
        ev.currency = e->currency;
    }
    ev.auth_code = e->auth_code[0] != '\0' ? e->auth_code : NULL;
    ev.copy = e->copy;
    ev.payload = e->payload;
    ev.payload_len = e->payload_len;
    ev.totals = e->n_totals > 0 ? e->totals : NULL;
    ev.n_totals = e->n_totals;
    return sfj__event_validate(&ev) == SFJ_OK ? SFJ_OK : SFJ_ECORRUPT;
}

int sfj__event_unpack(const uint8_t *pt, size_t len, uint8_t flags,
                      sfj_entry *e)
{
    return sfj__event_unpack_dict(pt, len, flags, NULL, e);
}

int sfj__event_unpack_dict(const uint8_t *pt, size_t len, uint8_t flags,
                           const sfj__dict *dict, sfj_entry *e)
{
    uint8_t *raw;
    size_t raw_len;
    int rc;

    if ((flags & SFJ_REC_F_DEFLATE) == 0)
        return unpack_raw(pt, len, e);
    rc = sfj__inflate_len(pt, len, SFJ__EVENT_MAX_BYTES, &raw_len);
    if (rc != SFJ_OK)
        return rc;
    if (raw_len == 0)
        return SFJ_ECORRUPT;
    raw = sfj__secmem_alloc(raw_len);
    if (raw == NULL)
        return SFJ_ENOMEM;
    if (flags & SFJ_REC_F_DICTJ)
        rc = dict != NULL ? sfj__inflate_with(dict->bytes, dict->len, pt, len,
                                              raw, raw_len)
                          : SFJ_ECORRUPT; /* the journal's is missing */
    else
        rc = sfj__inflate((flags & SFJ_REC_F_DICT2) ? SFJ__DICT_V2
                                                    : SFJ__DICT_V1,
                          pt, len, raw, raw_len);
    if (rc == SFJ_OK)
        rc = unpack_raw(raw, raw_len, e);
    sfj__secmem_free(raw); /* wipes */
    return rc;
}

int sfj__event_widen(const sfj_event *ev, sfj_event *copy)
{
    if (ev == NULL)
        return SFJ_EINVAL;
    if (!SFJ__VERSION_OK(ev->version, SFJ_EVENT_VERSION))
        return SFJ_EVERSION;
    /* A version-1 caller's struct ends at payload_len, a version-2's at
     * note. */
    memset(copy, 0, sizeof *copy);
    memcpy(copy, ev,
           ev->version == 1   ? offsetof(sfj_event, rrn)
           : ev->version == 2 ? offsetof(sfj_event, totals)
                              : sizeof *copy);
    copy->version = SFJ_EVENT_VERSION;
    return SFJ_OK;
}

int sfj_dictionary_build(const sfj_event *const *samples, size_t n, void *out,
                         size_t cap, size_t *len)
{
    sfj_event ev;
    uint8_t *raw = NULL;
    size_t i, raw_len = 0, total = 0;
    int rc = SFJ_OK;

    if (len != NULL)
        *len = 0;
    if (samples == NULL || n == 0 || n > SFJ_DICTIONARY_SAMPLES_MAX ||
        out == NULL || len == NULL)
        return SFJ_EINVAL;
    for (i = 0; i < n && rc == SFJ_OK; i++) {
        rc = sfj__event_widen(samples[i], &ev);
        if (rc == SFJ_OK)
            rc = sfj__event_validate(&ev);
        /* Boot 0: the field of a sample has no process behind it. */
        if (rc == SFJ_OK)
            rc = encode_raw(&ev, 0, &raw, &raw_len);
        if (rc != SFJ_OK)
            break;
        if (raw_len > cap - total || raw_len > SFJ_DICTIONARY_MAX - total)
            rc = SFJ_EINVAL;
        else
            memcpy((uint8_t *)out + total, raw, raw_len);
        total += raw_len;
        sodium_memzero(raw, raw_len);
        free(raw);
        raw = NULL;
    }
    if (rc != SFJ_OK) {
        sodium_memzero(out, total < cap ? total : cap);
        return rc;
    }
    *len = total;
    return SFJ_OK;
}
