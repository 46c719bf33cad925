/* The plaintext encoding of an event, inside the AEAD box.
 *
 *   u8 version(1) | u16 status | u32 boot | u8 txn_len | txn_id |
 *   u64 amount | u8[3] currency | u8 auth_len | auth_code | u32 copy |
 *   u32 payload_len | payload
 *
 * Version 2 (written only when an event carries one of its fields) adds,
 * between auth_code and copy, the acquirer references:
 *
 *   u8 rrn_len | rrn | u8 stan_len | stan | u8 rc_len | response_code |
 *   u8 ref_len | merchant_ref | u8 card_len | card | u64 tip | u16 flags |
 *   u8 note_len | note
 *
 * Version 3 (written only when a SETTLEMENT carries per-currency totals)
 * is version 2 with, between note and copy, the list:
 *
 *   u8 n_lines | n_lines x (u8[3] currency | u32 count | u64 amount)
 *
 * Version 1 decodes with the version-2 fields empty, versions 1 and 2
 * without lines.
 * big-endian, raw-deflated as a whole (compress.h) when that is shorter. */
#ifndef SFJ_JOURNAL_EVENT_CODEC_H
#define SFJ_JOURNAL_EVENT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/journal.h"
#include "journal/format/compress.h"

#define SFJ__EVENT_CODEC_V1        1
#define SFJ__EVENT_CODEC_V2        2
#define SFJ__EVENT_CODEC_V3        3
#define SFJ__EVENT_CODEC_VERSION   SFJ__EVENT_CODEC_V3 /* the newest */
#define SFJ_EVENT_FIXED_BYTES      28
#define SFJ__EVENT_EXT_FIXED_BYTES 16 /* five lengths, tip, flags, note len */
#define SFJ__SETTLE_LINE_BYTES     15 /* currency, u32 count, u64 amount */
/* Bytes the settlement list of `n` lines takes (counted against the
 * payload's SFJ_PAYLOAD_MAX). */
#define SFJ__SETTLE_LIST_BYTES(n) (1 + (n)*SFJ__SETTLE_LINE_BYTES)
/* Largest plaintext of any version (the list shares the payload's room). */
#define SFJ__EVENT_MAX_BYTES                                                   \
    (SFJ_EVENT_FIXED_BYTES + SFJ__EVENT_EXT_FIXED_BYTES + 8 * 255 +            \
     SFJ_PAYLOAD_MAX)

/* Copy an app's event of any supported version into `copy`, widened to
 * the current version (later fields zero): SFJ_EINVAL for NULL,
 * SFJ_EVERSION for an unknown version. */
int sfj__event_widen(const sfj_event *ev, sfj_event *copy);

/* SFJ_EINVAL unless `ev` (of the current version) is a valid event for
 * sfj_append; SFJ_EPAN for a card number in clear. */
int sfj__event_validate(const sfj_event *ev);

/* Readers refuse what writers refuse: SFJ_ECORRUPT unless the decoded
 * entry `e` (kind from its clear header) passes sfj__event_validate, the
 * check sfj_append applied. Currency is three zero bytes or three A-Z. */
int sfj__entry_validate(const sfj_entry *e);

/* Encode (and compress when it pays) a validated event into a malloc'd
 * buffer; `*flags` gets SFJ_REC_F_DEFLATE | SFJ_REC_F_DICT2 when
 * compressed (dictionary v2; v1 records, SFJ_REC_F_DEFLATE alone, are
 * still read). The caller wipes
 * and frees `*out`. */
int sfj__event_pack(const sfj_event *ev, uint32_t boot, uint8_t **out,
                    size_t *len, uint8_t *flags);

/* The same, compressed against the journal's dictionary `dict` when it is
 * not NULL (`*flags` then SFJ_REC_F_DEFLATE | SFJ_REC_F_DICTJ). */
int sfj__event_pack_dict(const sfj_event *ev, uint32_t boot,
                         const sfj__dict *dict, uint8_t **out, size_t *len,
                         uint8_t *flags);

/* Decode a decrypted plaintext (record flags `flags`) into `e`, allocating
 * e->payload. SFJ_ECORRUPT on any malformed field. */
int sfj__event_unpack(const uint8_t *pt, size_t len, uint8_t flags,
                      sfj_entry *e);

/* The same for a record that may have been compressed against the
 * journal's dictionary `dict` (NULL when the reader has none: such a
 * record is then SFJ_ECORRUPT). */
int sfj__event_unpack_dict(const uint8_t *pt, size_t len, uint8_t flags,
                           const sfj__dict *dict, sfj_entry *e);

#endif
