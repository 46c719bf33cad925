/* What sfj knows of LMDB's on-disk layout (data format version 1, LMDB
 * 0.9.x, 64-bit pgno_t, host byte order), for the checks that read the
 * data file themselves before LMDB trusts it (lmdb_check.c, lmdb_walk.c).
 *
 * A page starts with u64 pgno, u16 pad, u16 flags, then u16 lower, u16
 * upper (u32 page count in overflow pages) and the u16 node offsets from
 * byte 16. A meta page holds u32 magic and u32 version at 16 and 20, the
 * FREE and MAIN database records (48 bytes each; the first one's u32 pad
 * holds the page size, a record's root page is at its byte 40) at 40 and
 * 88, the last page number at 136 and the txnid at 144. */
#ifndef SFJ_JOURNAL_LMDB_FORMAT_H
#define SFJ_JOURNAL_LMDB_FORMAT_H

#include <stdint.h>
#include <string.h>

#define SFJ__LMDB_PAGEHDRSZ  16
#define SFJ__LMDB_P_BRANCH   0x01
#define SFJ__LMDB_P_LEAF     0x02
#define SFJ__LMDB_P_OVERFLOW 0x04
#define SFJ__LMDB_P_META     0x08
#define SFJ__LMDB_MAGIC      0xBEEFC0DEu
#define SFJ__LMDB_VERSION    1u

#define SFJ__LMDB_META_FLAGS   10
#define SFJ__LMDB_META_MAGIC   16
#define SFJ__LMDB_META_VERSION 20
#define SFJ__LMDB_META_PSIZE   40
#define SFJ__LMDB_META_FREE_DB 40
#define SFJ__LMDB_META_MAIN_DB 88
#define SFJ__LMDB_META_LAST_PG 136
#define SFJ__LMDB_META_TXNID   144
#define SFJ__LMDB_META_END     152
#define SFJ__LMDB_DB_RECORD    48
#define SFJ__LMDB_DB_ROOT      40

static inline uint16_t sfj__host16(const uint8_t *p)
{
    uint16_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t sfj__host32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t sfj__host64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

#endif
