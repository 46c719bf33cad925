/* Raw deflate with a preset dictionary (v1, v2 or a journal's own).
 *
 * Records whose dictionary and plaintext fit one 32 KiB window are
 * compressed by sfj's own encoder (deflate_enc.c) against the dictionary
 * hashed once, and each stream it makes is inflated by zlib and compared
 * before it is used; longer records, and a stream that failed the check,
 * are compressed by zlib. Every stream is read by zlib's inflate, over a
 * small pool of streams.
 *
 * deflateInit2 allocates a few hundred KiB, far more than compressing one
 * record costs, so streams are kept in a pool and reset between uses. The
 * pool is shared by all handles and threads and guarded by one mutex held
 * only to take or return a stream.
 *
 * A stream's buffers (deflate's window and pending buffer, inflate's
 * window) hold the plaintext it last handled. Streams allocate through
 * zalloc/zfree below, which remember every block, so that a stream
 * returned to the pool has all its buffers but its internal state wiped
 * (the state holds code tables and positions, not data), and a stream freed
 * has every block wiped. sfj__compress_shutdown (from sfj_shutdown) frees
 * the pool.
 *
 * States of a stream: IDLE (in the pool: buffers wiped, unowned), BUSY
 * (taken by one caller: take() makes it BUSY, give_back() wipes it and
 * makes it IDLE, or frees it when the pool is full).
 *
 * Fork: a process may fork while another thread holds the pool mutex; the
 * child, whose only thread is the forking one, would then block forever
 * on its first record. pthread_atfork handlers (registered on first use)
 * take the mutex around fork() and release it in both processes. A stream
 * that another thread had taken is simply missing from the child's pool;
 * the pooled ones are idle and private to the child after the fork. */
#include "journal/format/compress.h"

#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/bytes.h"
#include "sfj/errors.h"

/* Dictionary v1: fragments common in terminal payloads (ISO 8583 ASCII
 * fields, JSON host messages). Most frequent material goes last, as zlib
 * prefers near matches. Never edit: stored records depend on it. */
static const char DICT_V1[] =
    "\"merchant\":\"\"terminal\":\"\"batch\":\"\"invoice\":\"\"receipt\":"
    "\"entry_mode\":\"chip\"\"contactless\"\"magstripe\"\"fallback\""
    "\"emv\":{\"9F26\":\"9F27\":\"9F10\":\"9F37\":\"9F36\":\"95\":\"9A\":"
    "\"9C\":\"5F2A\":\"82\":\"9F1A\":\"9F34\":\"9F33\":\"9F35\":\"84\":"
    "\"response_code\":\"00\"\"51\"\"05\"\"91\"\"APPROVED\"\"DECLINED\""
    "\"currency\":\"EUR\"\"USD\"\"GBP\"\"CNY\"\"978\"\"840\"\"826\"\"156\""
    "\"pan\":\"******\"\"expiry\":\"stan\":\"rrn\":\"auth_code\":"
    "\"mti\":\"0100\"\"0110\"\"0200\"\"0210\"\"0400\"\"0410\"\"0420\"\"0430\""
    "\"processing_code\":\"000000\"\"amount\":\"000000000000\""
    "020072380001088180001640000000000000000000000000000000000000000000000";

/* Dictionary v2 (record flag SFJ_REC_F_DICT2): payment payloads, by
 * segment, least frequent material first: JSON host message keys (232
 * bytes), binary EMV data as field 55 carries it (TLV, 91), a binary
 * ISO 8583 head (BCD MTI, binary bitmap, 19), EMV data in ASCII hex (156)
 * and an ASCII ISO 8583 0200 in the common layout (hex bitmap, LL/LLL
 * lengths as digits, 243). Values are zeros or placeholders, the PAN
 * masked. 741 bytes, listed byte for byte in docs/FORMAT.md with its
 * BLAKE2b-256. Never edit: stored records depend on it. */
static const uint8_t DICT_V2[] = {
    0x7b, 0x22, 0x6d, 0x74, 0x69, 0x22, 0x3a, 0x22, 0x30, 0x32, 0x30, 0x30,
    0x22, 0x2c, 0x22, 0x70, 0x61, 0x6e, 0x22, 0x3a, 0x22, 0x2a, 0x2a, 0x2a,
    0x2a, 0x2a, 0x2a, 0x22, 0x2c, 0x22, 0x70, 0x72, 0x6f, 0x63, 0x65, 0x73,
    0x73, 0x69, 0x6e, 0x67, 0x5f, 0x63, 0x6f, 0x64, 0x65, 0x22, 0x3a, 0x22,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x22, 0x2c, 0x22, 0x61, 0x6d, 0x6f,
    0x75, 0x6e, 0x74, 0x22, 0x3a, 0x22, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x22, 0x2c, 0x22, 0x73, 0x74, 0x61,
    0x6e, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x72, 0x72, 0x6e, 0x22, 0x3a,
    0x22, 0x22, 0x2c, 0x22, 0x74, 0x65, 0x72, 0x6d, 0x69, 0x6e, 0x61, 0x6c,
    0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x6d, 0x65, 0x72, 0x63, 0x68, 0x61,
    0x6e, 0x74, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x63, 0x75, 0x72, 0x72,
    0x65, 0x6e, 0x63, 0x79, 0x22, 0x3a, 0x22, 0x39, 0x37, 0x38, 0x22, 0x2c,
    0x22, 0x65, 0x6e, 0x74, 0x72, 0x79, 0x5f, 0x6d, 0x6f, 0x64, 0x65, 0x22,
    0x3a, 0x22, 0x63, 0x68, 0x69, 0x70, 0x22, 0x2c, 0x22, 0x65, 0x6d, 0x76,
    0x22, 0x3a, 0x7b, 0x22, 0x39, 0x46, 0x32, 0x36, 0x22, 0x3a, 0x22, 0x22,
    0x2c, 0x22, 0x39, 0x46, 0x32, 0x37, 0x22, 0x3a, 0x22, 0x38, 0x30, 0x22,
    0x2c, 0x22, 0x39, 0x46, 0x33, 0x36, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22,
    0x39, 0x46, 0x33, 0x37, 0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x39, 0x41,
    0x22, 0x3a, 0x22, 0x22, 0x2c, 0x22, 0x39, 0x43, 0x22, 0x3a, 0x22, 0x30,
    0x30, 0x22, 0x7d, 0x7d, 0x9f, 0x26, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x9f, 0x27, 0x01, 0x80, 0x9f, 0x10, 0x07, 0x06, 0x01,
    0x0a, 0x03, 0xa0, 0x00, 0x00, 0x9f, 0x37, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x9f, 0x36, 0x02, 0x00, 0x01, 0x95, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9a, 0x03, 0x25, 0x01, 0x01, 0x9c, 0x01, 0x00, 0x5f, 0x2a, 0x02, 0x09,
    0x78, 0x82, 0x02, 0x5c, 0x00, 0x9f, 0x1a, 0x02, 0x09, 0x78, 0x9f, 0x34,
    0x03, 0x1e, 0x03, 0x00, 0x9f, 0x33, 0x03, 0x60, 0x40, 0x20, 0x9f, 0x35,
    0x01, 0x22, 0x84, 0x07, 0xa0, 0x00, 0x00, 0x00, 0x03, 0x10, 0x10, 0x02,
    0x00, 0x72, 0x38, 0x47, 0x81, 0x08, 0xe0, 0x82, 0x00, 0x10, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x09, 0x78, 0x39, 0x46, 0x32, 0x36, 0x30, 0x38,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x39, 0x46, 0x32, 0x37, 0x30, 0x31, 0x38, 0x30,
    0x39, 0x46, 0x31, 0x30, 0x30, 0x37, 0x30, 0x36, 0x30, 0x31, 0x39, 0x46,
    0x33, 0x37, 0x30, 0x34, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x39, 0x46, 0x33, 0x36, 0x30, 0x32, 0x30, 0x30, 0x30, 0x31, 0x39, 0x35,
    0x30, 0x35, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x39, 0x41, 0x30, 0x33, 0x32, 0x35, 0x30, 0x31, 0x30, 0x31, 0x39, 0x43,
    0x30, 0x31, 0x30, 0x30, 0x35, 0x46, 0x32, 0x41, 0x30, 0x32, 0x30, 0x39,
    0x37, 0x38, 0x38, 0x32, 0x30, 0x32, 0x35, 0x38, 0x30, 0x30, 0x39, 0x46,
    0x31, 0x41, 0x30, 0x32, 0x30, 0x39, 0x37, 0x38, 0x39, 0x46, 0x33, 0x34,
    0x30, 0x33, 0x31, 0x45, 0x30, 0x33, 0x30, 0x30, 0x39, 0x46, 0x33, 0x33,
    0x30, 0x33, 0x45, 0x30, 0x46, 0x38, 0x43, 0x38, 0x39, 0x46, 0x33, 0x35,
    0x30, 0x31, 0x32, 0x32, 0x38, 0x34, 0x30, 0x32, 0x30, 0x30, 0x37, 0x32,
    0x33, 0x38, 0x34, 0x34, 0x38, 0x31, 0x30, 0x38, 0x45, 0x30, 0x38, 0x32,
    0x30, 0x30, 0x31, 0x36, 0x34, 0x30, 0x30, 0x30, 0x30, 0x30, 0x2a, 0x2a,
    0x2a, 0x2a, 0x2a, 0x2a, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x31, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x31, 0x30, 0x31, 0x35, 0x34, 0x31, 0x31, 0x30, 0x35, 0x31, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x54, 0x49, 0x44, 0x30, 0x30, 0x30, 0x30, 0x30, 0x4d,
    0x49, 0x44, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x4d, 0x45, 0x52, 0x43, 0x48, 0x41, 0x4e, 0x54, 0x20, 0x4e,
    0x41, 0x4d, 0x45, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x43, 0x49, 0x54, 0x59, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x55, 0x53, 0x39, 0x37, 0x38, 0x30, 0x37, 0x30, 0x39,
    0x46, 0x32, 0x36, 0x30, 0x38, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x39, 0x46, 0x32,
    0x37, 0x30, 0x31, 0x38, 0x30, 0x39, 0x46, 0x33, 0x36, 0x30, 0x32, 0x30,
    0x30, 0x30, 0x30, 0x39, 0x46, 0x33, 0x37, 0x30, 0x34, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x30, 0x30, 0x39, 0x41, 0x30, 0x33, 0x30, 0x30, 0x30,
    0x30, 0x30, 0x30, 0x39, 0x43, 0x30, 0x31, 0x30, 0x30,
};

static const struct {
    const Bytef *bytes;
    uInt len;
} dicts[] = {{NULL, 0},
             {(const Bytef *)DICT_V1, sizeof DICT_V1 - 1},
             {DICT_V2, sizeof DICT_V2}};

#define POOL_MAX 8

/* Every block zlib allocates for a stream, newest first. The header keeps
 * the block's size for the wipe and is padded so the data stays aligned
 * as malloc's is. */
typedef union blk {
    struct {
        union blk *next;
        size_t size;
    } h;
    max_align_t align;
} blk;

typedef struct pooled {
    z_stream zs; /* first, so a z_stream * is a pooled * */
    blk *blocks;
    int deflating;
    /* Plaintext bytes (dictionary included) the stream handled since its
     * last wipe: they bound where its buffers can hold data. */
    size_t seen;
} pooled;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pooled *deflate_pool[POOL_MAX];
static int deflate_count;
static pooled *inflate_pool[POOL_MAX];
static int inflate_count;

void (*sfj__compress_free_hook)(const void *p, size_t size);

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    pthread_mutex_lock(&pool_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&pool_lock);
}

static void register_atfork(void)
{
    /* Cannot fail on glibc but for ENOMEM; without the handlers only a
     * fork taken while another thread holds the lock is at risk. */
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

static voidpf wiping_alloc(voidpf opaque, uInt items, uInt size)
{
    pooled *ps = opaque;
    blk *b;

    if (size != 0 && items > (SIZE_MAX - sizeof *b) / size)
        return Z_NULL;
    b = malloc(sizeof *b + (size_t)items * size);
    if (b == NULL)
        return Z_NULL;
    b->h.size = (size_t)items * size;
    b->h.next = ps->blocks;
    ps->blocks = b;
    return b + 1;
}

static void wiping_free(voidpf opaque, voidpf address)
{
    pooled *ps = opaque;
    blk *b = (blk *)address - 1, **at = &ps->blocks;

    while (*at != NULL && *at != b)
        at = &(*at)->h.next;
    if (*at != NULL)
        *at = b->h.next;
    sodium_memzero(b + 1, b->h.size);
    if (sfj__compress_free_hook != NULL)
        sfj__compress_free_hook(b + 1, b->h.size);
    free(b);
}

/* deflateInit2's memLevel. It sizes deflate's symbol buffer, which sits
 * 1 << (MEM_LEVEL + 6) bytes into its pending buffer (see wipe_buffers). */
#define MEM_LEVEL 8

/* Wipe [from, from + len) of a block, clipped to it. */
static void wipe_range(blk *b, size_t from, size_t len)
{
    if (from < b->h.size)
        sodium_memzero((uint8_t *)(b + 1) + from,
                       len < b->h.size - from ? len : b->h.size - from);
}

/* Wipe every buffer of an idle stream but the oldest block, zlib's state
 * (code tables and positions, no data): the next use starts with a reset,
 * so nothing reads the old contents.
 *
 * Only the parts of the buffers that `seen` bytes can have reached are
 * wiped: a record is a few hundred bytes, the buffers a few hundred KiB,
 * and writing all of them would cost time on every call and make every
 * page of every pooled stream resident. A reset restarts the inflate
 * window, a ring, at offset 0, so it holds data below `seen`. Deflate's
 * window holds the input from offset 0, its chain table two bytes per
 * position, its pending buffer the compressed output from offset 0 and,
 * from 1 << (MEM_LEVEL + 6), three bytes per symbol; its hash table holds
 * positions only and a reset clears it. So every deflate buffer is clean
 * outside [0, 2 * seen) and the symbols' run. That layout is zlib's, not
 * its API: test_compress scans every pooled block of the zlib linked for
 * the input, the symbols and the output of a canary plaintext at sizes up
 * to the largest record. */
static void wipe_buffers(pooled *ps)
{
    size_t syms = (size_t)1 << (MEM_LEVEL + 6);
    blk *b;

    for (b = ps->blocks; b != NULL && b->h.next != NULL; b = b->h.next) {
        if (!ps->deflating) {
            wipe_range(b, 0, ps->seen);
            continue;
        }
        if (2 * ps->seen >= syms) {
            wipe_range(b, 0, syms + 3 * ps->seen);
        } else {
            wipe_range(b, 0, 2 * ps->seen);
            wipe_range(b, syms, 3 * ps->seen);
        }
    }
    ps->seen = 0;
}

static void destroy(pooled *ps)
{
    if (ps->deflating)
        deflateEnd(&ps->zs);
    else
        inflateEnd(&ps->zs);
    free(ps);
}

static z_stream *take(pooled **pool, int *count, int deflating)
{
    pooled *ps = NULL;
    int zrc;

    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool_lock);
    if (*count > 0)
        ps = pool[--*count];
    pthread_mutex_unlock(&pool_lock);
    if (ps != NULL)
        return &ps->zs;
    ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return NULL;
    ps->deflating = deflating;
    ps->zs.zalloc = wiping_alloc;
    ps->zs.zfree = wiping_free;
    ps->zs.opaque = ps;
    /* Raw streams (negative window bits) carry no header or checksum: the
     * AEAD tag already authenticates every byte. */
    zrc = deflating ? deflateInit2(&ps->zs, 6, Z_DEFLATED, -15, MEM_LEVEL,
                                   Z_DEFAULT_STRATEGY)
                    : inflateInit2(&ps->zs, -15);
    if (zrc != Z_OK) {
        free(ps);
        return NULL;
    }
    return &ps->zs;
}

static void give_back(pooled **pool, int *count, z_stream *zs)
{
    pooled *ps = (pooled *)zs;

    /* Wiped before it is shared again, outside the lock. */
    wipe_buffers(ps);
    ps->zs.next_in = ps->zs.next_out = Z_NULL;
    pthread_mutex_lock(&pool_lock);
    if (*count < POOL_MAX) {
        pool[(*count)++] = ps;
        ps = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (ps != NULL)
        destroy(ps);
}

void sfj__compress_shutdown(void)
{
    pooled *all[2 * POOL_MAX];
    int i, n = 0;

    pthread_mutex_lock(&pool_lock);
    while (deflate_count > 0)
        all[n++] = deflate_pool[--deflate_count];
    while (inflate_count > 0)
        all[n++] = inflate_pool[--inflate_count];
    pthread_mutex_unlock(&pool_lock);
    for (i = 0; i < n; i++)
        destroy(all[i]);
}

static int contains(const uint8_t *hay, size_t n, const void *needle,
                    size_t len)
{
    size_t i;

    for (i = 0; len <= n && i <= n - len; i++) {
        if (memcmp(hay + i, needle, len) == 0)
            return 1;
    }
    return 0;
}

int sfj__compress_pool_find(const void *needle, size_t len)
{
    pooled *pools[2 * POOL_MAX];
    int i, n = 0, found = 0;
    blk *b;

    pthread_mutex_lock(&pool_lock);
    for (i = 0; i < deflate_count; i++)
        pools[n++] = deflate_pool[i];
    for (i = 0; i < inflate_count; i++)
        pools[n++] = inflate_pool[i];
    for (i = 0; i < n; i++) {
        for (b = pools[i]->blocks; b != NULL; b = b->h.next) {
            found += contains((const uint8_t *)(b + 1), b->h.size, needle, len);
        }
    }
    pthread_mutex_unlock(&pool_lock);
    return n == 0 ? -1 : found;
}

int sfj__dict_bytes(int dict, const uint8_t **bytes, size_t *len)
{
    if (dict != SFJ__DICT_V1 && dict != SFJ__DICT_V2)
        return SFJ_EINVAL;
    *bytes = dicts[dict].bytes;
    *len = dicts[dict].len;
    return SFJ_OK;
}

/* zlib decodes with its fast loop (inflate_fast) only while at least 258
 * bytes of output space remain; below that it falls back to a symbol-at-
 * a-time state machine. A record's plaintext is a few hundred bytes, so
 * inflating straight into a buffer of exactly raw_len spends most of the
 * record in the slow path. Small records are therefore inflated into a
 * stack buffer with that much slack and copied out. */
#define INFLATE_SLACK     258
#define INFLATE_STACK_MAX 2048

/* The built-in dictionaries hashed for the encoder, once per process. */
static uint16_t v1_prev[sizeof DICT_V1 - 1], v2_prev[sizeof DICT_V2];
static sfj__enc_dict enc_dicts[3];
static pthread_once_t enc_once = PTHREAD_ONCE_INIT;

static void enc_dicts_init(void)
{
    sfj__enc_dict_init(&enc_dicts[SFJ__DICT_V1], dicts[SFJ__DICT_V1].bytes,
                       dicts[SFJ__DICT_V1].len, v1_prev);
    sfj__enc_dict_init(&enc_dicts[SFJ__DICT_V2], dicts[SFJ__DICT_V2].bytes,
                       dicts[SFJ__DICT_V2].len, v2_prev);
}

void (*sfj__compress_enc_hook)(uint8_t *stream, size_t len);

/* zlib's deflate into out + 4, at most `limit` bytes in all. */
static int deflate_zlib(const uint8_t *dict, size_t dict_len, const uint8_t *in,
                        size_t in_len, uint8_t *out, size_t limit,
                        size_t *out_len)
{
    z_stream *zs;
    int zrc, rc = 0;

    zs = take(deflate_pool, &deflate_count, 1);
    if (zs == NULL)
        return SFJ_ENOMEM;
    if (deflateReset(zs) != Z_OK ||
        deflateSetDictionary(zs, dict, (uInt)dict_len) != Z_OK) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = out + 4;
    zs->avail_out = (uInt)(limit - 4);
    zrc = deflate(zs, Z_FINISH);
    if (zrc == Z_STREAM_END) {
        sfj__put_u32(out, (uint32_t)in_len);
        *out_len = 4 + zs->total_out;
        rc = 1;
    }
done:
    /* All of the input may have reached the window. */
    ((pooled *)zs)->seen = dict_len + in_len;
    give_back(deflate_pool, &deflate_count, zs);
    return rc;
}

/* The encoder into out + 4, at most `limit` bytes in all; its working
 * memory holds the plaintext and is wiped before it is freed. */
static int deflate_enc(const sfj__enc_dict *enc, const uint8_t *in,
                       size_t in_len, uint8_t *out, size_t limit,
                       size_t *out_len)
{
    size_t size = sfj__enc_work_bytes(in_len), n = 0;
    void *work = malloc(size);
    int rc;

    if (work == NULL)
        return SFJ_ENOMEM;
    rc = sfj__enc_deflate(enc, in, in_len, work, out + 4, limit - 4, &n);
    sodium_memzero(work, size);
    if (sfj__compress_free_hook != NULL)
        sfj__compress_free_hook(work, size);
    free(work);
    if (rc == 1) {
        sfj__put_u32(out, (uint32_t)in_len);
        *out_len = 4 + n;
    }
    return rc;
}

/* Inflate the stream of `in` (past its u32 length) into `out`, room for
 * `cap` bytes; *total is what it produced. SFJ_OK when the stream ended
 * and used all of `in`. */
static int inflate_stream(const uint8_t *dict, size_t dict_len,
                          const uint8_t *in, size_t in_len, uint8_t *out,
                          size_t cap, size_t *total)
{
    z_stream *zs;
    int zrc, rc = SFJ_ECORRUPT;

    *total = 0;
    zs = take(inflate_pool, &inflate_count, 0);
    if (zs == NULL)
        return SFJ_ENOMEM;
    if (inflateReset(zs) != Z_OK)
        goto done;
    /* Raw inflate takes the dictionary before the first call. */
    if (inflateSetDictionary(zs, dict, (uInt)dict_len) != Z_OK)
        goto done;
    zs->next_in = (Bytef *)in + 4;
    zs->avail_in = (uInt)(in_len - 4);
    zs->next_out = out;
    zs->avail_out = (uInt)cap;
    zrc = inflate(zs, Z_FINISH);
    *total = zs->total_out;
    if (zrc == Z_STREAM_END && zs->avail_in == 0)
        rc = SFJ_OK;
    ((pooled *)zs)->seen = dict_len + zs->total_out;
done:
    give_back(inflate_pool, &inflate_count, zs);
    return rc;
}

/* 1 when `packed` inflates to exactly in[0..in_len), 0 when it does not,
 * SFJ_ENOMEM when it cannot be told. */
static int inflates_to(const sfj__enc_dict *enc, const uint8_t *packed,
                       size_t packed_len, const uint8_t *in, size_t in_len)
{
    uint8_t tmp[INFLATE_STACK_MAX + INFLATE_SLACK], *buf = tmp;
    size_t cap = in_len + INFLATE_SLACK, total = 0;
    int rc;

    if (in_len > INFLATE_STACK_MAX && (buf = malloc(cap)) == NULL)
        return SFJ_ENOMEM;
    rc = inflate_stream(enc->bytes, enc->len, packed, packed_len, buf, cap,
                        &total);
    if (rc != SFJ_ENOMEM)
        rc = rc == SFJ_OK && total == in_len && memcmp(buf, in, in_len) == 0;
    sodium_memzero(buf, total);
    if (buf != tmp)
        free(buf);
    return rc;
}

/* Records that fit the encoder's window go through it, and its stream is
 * kept only once zlib's inflate has read it back to the same bytes: a
 * record that could not be read would be a transaction lost, and the
 * check costs under a microsecond. Longer records, and any stream that
 * fails the check, go through zlib. */
static int deflate_prepared(const sfj__enc_dict *enc, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    size_t limit;
    int rc;

    if (in_len < 16 || cap <= 4)
        return 0; /* too small to win */
    /* Anything not shorter than the input is useless: stop there. */
    limit = in_len - 1 < cap ? in_len - 1 : cap;
    if (sfj__enc_fits(enc, in_len)) {
        rc = deflate_enc(enc, in, in_len, out, limit, out_len);
        if (rc != 1)
            return rc;
        if (sfj__compress_enc_hook != NULL)
            sfj__compress_enc_hook(out + 4, *out_len - 4);
        rc = inflates_to(enc, out, *out_len, in, in_len);
        if (rc != 0)
            return rc;
        /* Its bytes past zlib's shorter stream would outlive the caller's
         * wipe, which stops at the stream it got. */
        sodium_memzero(out, *out_len);
    }
    return deflate_zlib(enc->bytes, enc->len, in, in_len, out, limit, out_len);
}

int sfj__deflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t cap, size_t *out_len)
{
    if (dict != SFJ__DICT_V1 && dict != SFJ__DICT_V2)
        return SFJ_EINVAL;
    pthread_once(&enc_once, enc_dicts_init);
    return deflate_prepared(&enc_dicts[dict], in, in_len, out, cap, out_len);
}

int sfj__deflate_dict(const sfj__dict *dict, const uint8_t *in, size_t in_len,
                      uint8_t *out, size_t cap, size_t *out_len)
{
    if (dict == NULL)
        return SFJ_EINVAL;
    return deflate_prepared(dict->enc, in, in_len, out, cap, out_len);
}

int sfj__inflate_len(const uint8_t *in, size_t in_len, size_t max,
                     size_t *raw_len)
{
    if (in_len < 5)
        return SFJ_ECORRUPT;
    *raw_len = sfj__get_u32(in);
    return *raw_len == 0 || *raw_len > max ? SFJ_ECORRUPT : SFJ_OK;
}

int sfj__inflate(int dict, const uint8_t *in, size_t in_len, uint8_t *out,
                 size_t raw_len)
{
    if (dict != SFJ__DICT_V1 && dict != SFJ__DICT_V2)
        return SFJ_EINVAL;
    return sfj__inflate_with(dicts[dict].bytes, dicts[dict].len, in, in_len,
                             out, raw_len);
}

int sfj__inflate_with(const uint8_t *dict, size_t dict_len, const uint8_t *in,
                      size_t in_len, uint8_t *out, size_t raw_len)
{
    uint8_t tmp[INFLATE_STACK_MAX + INFLATE_SLACK];
    size_t total = 0;
    int rc, use_tmp = raw_len <= INFLATE_STACK_MAX;

    if (dict == NULL || dict_len == 0 || dict_len > SFJ__DICT_MAX_BYTES)
        return SFJ_EINVAL;
    rc = inflate_stream(dict, dict_len, in, in_len, use_tmp ? tmp : out,
                        use_tmp ? raw_len + INFLATE_SLACK : raw_len, &total);
    /* The slack lets a stream run past raw_len: total catches it. */
    if (rc == SFJ_OK && total != raw_len)
        rc = SFJ_ECORRUPT;
    if (use_tmp) {
        if (rc == SFJ_OK)
            memcpy(out, tmp, raw_len);
        sodium_memzero(tmp, total);
    }
    return rc;
}

/* Round n up to whole alignment units. */
static size_t aligned(size_t n)
{
    return (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
           sizeof(max_align_t);
}

int sfj__dict_make(const uint8_t *payload, size_t len, sfj__dict **out)
{
    sfj__dict *d;
    size_t bytes_len = sizeof DICT_V2 + len, at_bytes = aligned(sizeof *d),
           at_enc = at_bytes + aligned(bytes_len),
           at_prev = at_enc + aligned(sizeof(sfj__enc_dict)),
           size = aligned(at_prev + bytes_len * sizeof(uint16_t));
    uint8_t *block;

    *out = NULL;
    if (payload == NULL || len == 0 || len > SFJ_DICTIONARY_MAX)
        return SFJ_EINVAL;
    /* One guarded block: the struct, the preset bytes, their hash chains.
     * sodium_malloc ends the block at a guard page: a size of whole
     * alignment units keeps its start aligned for the struct. */
    block = sodium_malloc(size);
    if (block == NULL)
        return SFJ_ENOMEM;
    d = (sfj__dict *)block;
    d->bytes = block + at_bytes;
    d->len = bytes_len;
    memcpy(d->bytes, DICT_V2, sizeof DICT_V2);
    memcpy(d->bytes + sizeof DICT_V2, payload, len);
    d->payload = d->bytes + sizeof DICT_V2;
    d->payload_len = len;
    crypto_generichash(d->id, sizeof d->id, payload, len, NULL, 0);
    d->enc = (sfj__enc_dict *)(block + at_enc);
    sfj__enc_dict_init(d->enc, d->bytes, d->len, (uint16_t *)(block + at_prev));
    *out = d;
    return SFJ_OK;
}

void sfj__dict_free(sfj__dict *d)
{
    sodium_free(d); /* wipes */
}
