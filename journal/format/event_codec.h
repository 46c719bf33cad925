/* The plaintext encoding of an event, inside the AEAD box.
 *
 *   u8 version(1) | u16 status | u32 boot | u8 txn_len | txn_id |
 *   u64 amount | u8[3] currency | u8 auth_len | auth_code | u32 copy |
 *   u32 payload_len | payload
 *
 * big-endian, raw-deflated as a whole (compress.h) when that is shorter. */
#ifndef SFJ_JOURNAL_EVENT_CODEC_H
#define SFJ_JOURNAL_EVENT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/journal.h"

#define SFJ__EVENT_CODEC_VERSION 1
#define SFJ_EVENT_FIXED_BYTES    28

/* SFJ_EINVAL unless `ev` is a valid event for sfj_append. */
int sfj__event_validate(const sfj_event *ev);

/* Encode (and compress when it pays) a validated event into a malloc'd
 * buffer; `*flags` gets SFJ_REC_F_DEFLATE when compressed. The caller wipes
 * and frees `*out`. */
int sfj__event_pack(const sfj_event *ev, uint32_t boot, uint8_t **out,
                    size_t *len, uint8_t *flags);

/* Decode a decrypted plaintext (record flags `flags`) into `e`, allocating
 * e->payload. SFJ_ECORRUPT on any malformed field. */
int sfj__event_unpack(const uint8_t *pt, size_t len, uint8_t flags,
                      sfj_entry *e);

#endif
