/* Raw deflate with preset dictionary v1, over a small pool of streams.
 *
 * deflateInit2 allocates a few hundred KiB, far more than compressing one
 * record costs, so streams are kept in a pool and reset between uses. The
 * pool is shared by all handles and threads and guarded by one mutex held
 * only to take or return a stream.
 *
 * Fork: a process may fork while another thread holds that mutex; the
 * child, whose only thread is the forking one, would then block forever
 * on its first record. pthread_atfork handlers (registered on first use)
 * take the mutex around fork() and release it in both processes. A stream
 * that another thread had taken is simply missing from the child's pool;
 * the pooled ones are idle and private to the child after the fork. */
#include "journal/compress.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "journal/bytes.h"
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

#define POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static z_stream *deflate_pool[POOL_MAX];
static int deflate_count;
static z_stream *inflate_pool[POOL_MAX];
static int inflate_count;

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

static z_stream *take(z_stream **pool, int *count, int deflating)
{
    z_stream *zs = NULL;

    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&pool_lock);
    if (*count > 0)
        zs = pool[--*count];
    pthread_mutex_unlock(&pool_lock);
    if (zs != NULL)
        return zs;
    zs = calloc(1, sizeof *zs);
    if (zs == NULL)
        return NULL;
    /* Raw streams (negative window bits) carry no header or checksum: the
     * AEAD tag already authenticates every byte. */
    if ((deflating ? deflateInit2(zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
                   : inflateInit2(zs, -15)) != Z_OK) {
        free(zs);
        return NULL;
    }
    return zs;
}

static void give_back(z_stream **pool, int *count, z_stream *zs, int deflating)
{
    pthread_mutex_lock(&pool_lock);
    if (*count < POOL_MAX) {
        pool[(*count)++] = zs;
        zs = NULL;
    }
    pthread_mutex_unlock(&pool_lock);
    if (zs != NULL) {
        if (deflating)
            deflateEnd(zs);
        else
            inflateEnd(zs);
        free(zs);
    }
}

int sfj__deflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap,
                 size_t *out_len)
{
    z_stream *zs;
    size_t limit;
    int zrc, rc = 0;

    if (in_len < 16 || cap <= 4)
        return 0; /* too small to win */
    zs = take(deflate_pool, &deflate_count, 1);
    if (zs == NULL)
        return SFJ_ENOMEM;
    if (deflateReset(zs) != Z_OK ||
        deflateSetDictionary(zs, (const Bytef *)DICT_V1, sizeof DICT_V1 - 1) !=
            Z_OK) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    zs->next_in = (Bytef *)in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = out + 4;
    /* Anything not shorter than the input is useless: stop there. */
    limit = in_len - 1 < cap ? in_len - 1 : cap;
    zs->avail_out = (uInt)(limit - 4);
    zrc = deflate(zs, Z_FINISH);
    if (zrc == Z_STREAM_END) {
        sfj__put_u32(out, (uint32_t)in_len);
        *out_len = 4 + zs->total_out;
        rc = 1;
    }
done:
    give_back(deflate_pool, &deflate_count, zs, 1);
    return rc;
}

int sfj__inflate_len(const uint8_t *in, size_t in_len, size_t max,
                     size_t *raw_len)
{
    if (in_len < 5)
        return SFJ_ECORRUPT;
    *raw_len = sfj__get_u32(in);
    return *raw_len == 0 || *raw_len > max ? SFJ_ECORRUPT : SFJ_OK;
}

/* zlib decodes with its fast loop (inflate_fast) only while at least 258
 * bytes of output space remain; below that it falls back to a symbol-at-
 * a-time state machine. A record's plaintext is a few hundred bytes, so
 * inflating straight into a buffer of exactly raw_len spends most of the
 * record in the slow path. Small records are therefore inflated into a
 * stack buffer with that much slack and copied out. */
#define INFLATE_SLACK     258
#define INFLATE_STACK_MAX 2048

int sfj__inflate(const uint8_t *in, size_t in_len, uint8_t *out, size_t raw_len)
{
    z_stream *zs = take(inflate_pool, &inflate_count, 0);
    uint8_t tmp[INFLATE_STACK_MAX + INFLATE_SLACK];
    int zrc, rc = SFJ_ECORRUPT, use_tmp = raw_len <= INFLATE_STACK_MAX;

    if (zs == NULL)
        return SFJ_ENOMEM;
    if (inflateReset(zs) != Z_OK)
        goto done;
    /* Raw inflate takes the dictionary before the first call. */
    if (inflateSetDictionary(zs, (const Bytef *)DICT_V1, sizeof DICT_V1 - 1) !=
        Z_OK)
        goto done;
    zs->next_in = (Bytef *)in + 4;
    zs->avail_in = (uInt)(in_len - 4);
    zs->next_out = use_tmp ? tmp : out;
    zs->avail_out = (uInt)(use_tmp ? raw_len + INFLATE_SLACK : raw_len);
    zrc = inflate(zs, Z_FINISH);
    /* The slack lets a stream run past raw_len: total_out catches it. */
    if (zrc == Z_STREAM_END && zs->total_out == raw_len && zs->avail_in == 0)
        rc = SFJ_OK;
    if (use_tmp) {
        if (rc == SFJ_OK)
            memcpy(out, tmp, raw_len);
        sodium_memzero(tmp,
                       zs->total_out < sizeof tmp ? zs->total_out : sizeof tmp);
    }
done:
    give_back(inflate_pool, &inflate_count, zs, 0);
    return rc;
}
