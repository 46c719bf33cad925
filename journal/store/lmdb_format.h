/* What sfj knows of LMDB's on-disk layout (data format version 1, LMDB
 * 0.9.x, host byte order), for the checks that read the data file
 * themselves before LMDB trusts it (lmdb_check.c, lmdb_walk.c).
 *
 * LMDB's page numbers, transaction ids and counts are size_t, so the
 * layout depends on the processor's word: 8 bytes on 64-bit ones, 4 on
 * 32-bit ones (an ARMv7 terminal). W below is that word. A page starts
 * with a W-byte pgno, u16 pad, u16 flags, then u16 lower, u16 upper (u32
 * page count in overflow pages) and the u16 node offsets from W + 8. A
 * meta page holds, after that header, u32 magic, u32 version, a W-byte
 * address and mapsize, the FREE and MAIN database records (u32 pad, u16
 * flags, u16 depth, then W-byte branch, leaf and overflow page counts,
 * entries and root page; the FREE record's pad holds the page size), the
 * last page number and the txnid. With W = 8: magic at 16, records at 40
 * and 88 (48 bytes each, root at 40), last page 136, txnid 144. */
#ifndef SFJ_JOURNAL_LMDB_FORMAT_H
#define SFJ_JOURNAL_LMDB_FORMAT_H

#include <stdint.h>
#include <string.h>

/* LMDB's own test for a 64-bit pgno_t (mdb.c, without MDB_VL32). */
#if SIZE_MAX > 0xffffffffU
#define SFJ__LMDB_WORD 8
#else
#define SFJ__LMDB_WORD 4
#endif

#define SFJ__LMDB_PAGE_FLAGS   (SFJ__LMDB_WORD + 2)
#define SFJ__LMDB_PAGE_LOWER   (SFJ__LMDB_WORD + 4)
#define SFJ__LMDB_PAGE_UPPER   (SFJ__LMDB_WORD + 6)
#define SFJ__LMDB_PAGE_OVPAGES (SFJ__LMDB_WORD + 4)
#define SFJ__LMDB_PAGEHDRSZ    (SFJ__LMDB_WORD + 8)
#define SFJ__LMDB_P_BRANCH     0x01
#define SFJ__LMDB_P_LEAF       0x02
#define SFJ__LMDB_P_OVERFLOW   0x04
#define SFJ__LMDB_P_META       0x08
#define SFJ__LMDB_MAGIC        0xBEEFC0DEu
#define SFJ__LMDB_VERSION      1u
/* An unused database's root. */
#define SFJ__LMDB_P_INVALID                                                    \
    (SFJ__LMDB_WORD == 8 ? ~(uint64_t)0 : (uint64_t)0xffffffffU)

#define SFJ__LMDB_DB_BRANCH 8
#define SFJ__LMDB_DB_LEAF   (8 + SFJ__LMDB_WORD)
#define SFJ__LMDB_DB_ROOT   (8 + 4 * SFJ__LMDB_WORD)
#define SFJ__LMDB_DB_RECORD (8 + 5 * SFJ__LMDB_WORD)

#define SFJ__LMDB_META_FLAGS   SFJ__LMDB_PAGE_FLAGS
#define SFJ__LMDB_META_MAGIC   SFJ__LMDB_PAGEHDRSZ
#define SFJ__LMDB_META_VERSION (SFJ__LMDB_PAGEHDRSZ + 4)
#define SFJ__LMDB_META_FREE_DB (SFJ__LMDB_PAGEHDRSZ + 8 + 2 * SFJ__LMDB_WORD)
#define SFJ__LMDB_META_PSIZE   SFJ__LMDB_META_FREE_DB
#define SFJ__LMDB_META_MAIN_DB (SFJ__LMDB_META_FREE_DB + SFJ__LMDB_DB_RECORD)
#define SFJ__LMDB_META_LAST_PG (SFJ__LMDB_META_MAIN_DB + SFJ__LMDB_DB_RECORD)
#define SFJ__LMDB_META_TXNID   (SFJ__LMDB_META_LAST_PG + SFJ__LMDB_WORD)
#define SFJ__LMDB_META_END     (SFJ__LMDB_META_TXNID + SFJ__LMDB_WORD)

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

/* One of LMDB's size_t fields: a page number, a count, a txnid. */
static inline uint64_t sfj__lmdb_word(const uint8_t *p)
{
    return SFJ__LMDB_WORD == 8 ? sfj__host64(p) : sfj__host32(p);
}

#endif
