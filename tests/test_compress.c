/* Raw deflate with dictionary v1: round trips at the size edges (empty,
 * one byte, the 16-byte floor, the inflate stack buffer, the dictionary
 * length, the 32 KiB window, the largest plaintext an event can have),
 * incompressible input stored raw, refusal of damaged streams, and no
 * plaintext left in pooled or freed streams; dictionary v2 as FORMAT.md
 * lists it; sfj's own encoder: streams zlib reads back, as short as
 * zlib's, checked before use, its memory wiped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <zlib.h>

#include "common/bytes.h"
#include "journal/format/compress.h"
#include "journal/format/deflate_enc.h"
#include "journal/format/event_codec.h"
#include "sfj/sfj.h"
#include "support/stackscan.h"

/* The largest plaintext sfj__event_unpack accepts. */
#define MAX_RAW (SFJ_EVENT_FIXED_BYTES + 2 * 255 + SFJ_PAYLOAD_MAX)

/* Terminal-like text: JSON fragments from the dictionary with a counter, so
 * it compresses but is not one repeated byte. */
static void fill_text(uint8_t *p, size_t n, unsigned seed)
{
    static const char *frag[] = {"\"response_code\":\"00\"",
                                 "\"emv\":{\"9F26\":\"", "\"amount\":\"",
                                 "\"APPROVED\"", "\"currency\":\"EUR\""};
    size_t off = 0;
    unsigned i = seed;

    while (off < n) {
        char piece[64];
        size_t len;

        len = (size_t)snprintf(piece, sizeof piece, "%s%u,", frag[i % 5],
                               i * 7919u % 1000u);
        if (len > n - off)
            len = n - off;
        memcpy(p + off, piece, len);
        off += len;
        i++;
    }
}

static uint8_t *xmalloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    return p;
}

/* Compress, check the result is shorter and carries its length, expand and
 * compare; also expand through the length check event_unpack uses. */
static void roundtrip(const uint8_t *in, size_t n)
{
    uint8_t *packed = xmalloc(n), *back = xmalloc(n);
    size_t packed_len = 0, raw_len = 0;

    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, n, packed, n, &packed_len),
                     1);
    assert_true(packed_len < n);
    assert_true(packed_len > 4);
    assert_int_equal(sfj__get_u32(packed), n);
    assert_int_equal(sfj__inflate_len(packed, packed_len, MAX_RAW, &raw_len),
                     SFJ_OK);
    assert_int_equal(raw_len, n);
    memset(back, 0, n);
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, raw_len), SFJ_OK);
    assert_memory_equal(back, in, n);
    /* The wrong expected length is refused, shorter or longer. */
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, n - 1),
        SFJ_ECORRUPT);
    free(back);
    back = xmalloc(n + 1);
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, n + 1),
        SFJ_ECORRUPT);
    free(packed);
    free(back);
}

static void test_too_small_stays_raw(void **state)
{
    uint8_t in[16], out[64];
    size_t n, out_len = 12345;

    (void)state;
    memset(in, 'a', sizeof in);
    /* 0..15 bytes never win: stored raw, *out_len untouched. */
    for (n = 0; n < 16; n++) {
        assert_int_equal(
            sfj__deflate(SFJ__DICT_V1, in, n, out, sizeof out, &out_len), 0);
        assert_int_equal(out_len, 12345);
    }
    /* 16 equal bytes do compress. */
    assert_int_equal(
        sfj__deflate(SFJ__DICT_V1, in, 16, out, sizeof out, &out_len), 1);
    assert_true(out_len < 16);
    /* A capacity of 4 or less leaves no room for a stream. */
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, 16, out, 4, &out_len), 0);
}

static void test_roundtrip_edges(void **state)
{
    static const size_t sizes[] = {
        16,    17,    100,   2047,  2048,  2049,  2306,        2307,   4096,
        32767, 32768, 32769, 65535, 65536, 65537, MAX_RAW - 1, MAX_RAW};
    uint8_t *in = xmalloc(MAX_RAW);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(in, 'x', sizes[i]);
        roundtrip(in, sizes[i]);
        fill_text(in, sizes[i], (unsigned)i);
        roundtrip(in, sizes[i]);
    }
    free(in);
}

/* A short run of dictionary material shrinks well below its length, which
 * only the preset dictionary can explain (the text has no repeats). */
static void test_dictionary_used(void **state)
{
    static const char text[] =
        "\"processing_code\":\"000000\"\"amount\":\"000000000000\"";
    uint8_t out[sizeof text];
    size_t out_len = 0;

    (void)state;
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, (const uint8_t *)text,
                                  sizeof text - 1, out, sizeof out, &out_len),
                     1);
    assert_true(out_len < (sizeof text - 1) / 2);
    roundtrip((const uint8_t *)text, sizeof text - 1);
}

/* Random bytes never compress: stored raw, at each size. */
static void test_incompressible(void **state)
{
    static const size_t sizes[] = {16, 17, 300, 2048, 32768, MAX_RAW};
    uint8_t *in = xmalloc(MAX_RAW), *out = xmalloc(MAX_RAW);
    size_t i, out_len;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        randombytes_buf(in, sizes[i]);
        out_len = 0;
        assert_int_equal(
            sfj__deflate(SFJ__DICT_V1, in, sizes[i], out, sizes[i], &out_len),
            0);
        assert_int_equal(out_len, 0);
    }
    /* Compressible text whose stream would not fit the capacity: raw. */
    fill_text(in, 4096, 1);
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, 4096, out, 8, &out_len), 0);
    free(in);
    free(out);
}

static void test_damaged_refused(void **state)
{
    uint8_t in[3000], packed[3000], back[3000];
    size_t packed_len = 0, raw_len = 0, i;
    unsigned refused = 0, same = 0;
    int rc;

    (void)state;
    fill_text(in, sizeof in, 3);
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, sizeof in, packed,
                                  sizeof packed, &packed_len),
                     1);
    /* The length prefix: 0, above the maximum, or a stream under 5 bytes. */
    assert_int_equal(sfj__inflate_len(packed, 4, MAX_RAW, &raw_len),
                     SFJ_ECORRUPT);
    assert_int_equal(
        sfj__inflate_len(packed, packed_len, sizeof in - 1, &raw_len),
        SFJ_ECORRUPT);
    assert_int_equal(sfj__inflate_len(packed, packed_len, sizeof in, &raw_len),
                     SFJ_OK);
    sfj__put_u32(packed, 0);
    assert_int_equal(sfj__inflate_len(packed, packed_len, MAX_RAW, &raw_len),
                     SFJ_ECORRUPT);
    sfj__put_u32(packed, sizeof in);
    /* Truncated anywhere, or with trailing bytes: refused. */
    for (i = 5; i < packed_len; i += 7)
        assert_int_equal(sfj__inflate(SFJ__DICT_V1, packed, i, back, sizeof in),
                         SFJ_ECORRUPT);
    packed[packed_len] = 0;
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len + 1, back, sizeof in),
        SFJ_ECORRUPT);
    /* Flipped bits in the stream: refused by zlib, or expanded to other
     * bytes (the AEAD tag is what catches every one in a record). Only
     * the last byte has bits past the end of the block, which no reader
     * looks at. */
    for (i = 4; i < packed_len; i++) {
        packed[i] ^= 0x10;
        rc = sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, sizeof in);
        if (rc != SFJ_OK)
            refused++;
        else if (memcmp(back, in, sizeof in) == 0 && i != packed_len - 1)
            same++;
        packed[i] ^= 0x10;
    }
    assert_int_equal(same, 0);
    assert_true(refused > 0);
    /* Undamaged, it still expands: the pool hands back clean streams. */
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, sizeof in),
        SFJ_OK);
    assert_memory_equal(back, in, sizeof in);
}

/* ---- sfj's own encoder (deflate_enc.c) ---- */

/* Dictionary v1 hashed for the encoder, as compress.c hashes it. */
static const sfj__enc_dict *v1_enc(void)
{
    static sfj__enc_dict d;
    static uint16_t prev[SFJ__DICT_MAX_BYTES];
    const uint8_t *bytes;
    size_t len;

    if (d.bytes == NULL) {
        assert_int_equal(sfj__dict_bytes(SFJ__DICT_V1, &bytes, &len), SFJ_OK);
        sfj__enc_dict_init(&d, bytes, len, prev);
    }
    return &d;
}

/* zlib, given only the dictionary, expands the raw stream s to in. */
static void zlib_reads_back(const sfj__enc_dict *d, const uint8_t *s,
                            size_t len, const uint8_t *in, size_t n)
{
    uint8_t *back = xmalloc(n + 1);
    z_stream zs;

    memset(&zs, 0, sizeof zs);
    assert_int_equal(inflateInit2(&zs, -15), Z_OK);
    assert_int_equal(inflateSetDictionary(&zs, d->bytes, (uInt)d->len), Z_OK);
    zs.next_in = (Bytef *)s;
    zs.avail_in = (uInt)len;
    zs.next_out = back;
    zs.avail_out = (uInt)(n + 1);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    assert_int_equal(zs.total_out, n);
    assert_memory_equal(back, in, n);
    inflateEnd(&zs);
    free(back);
}

/* zlib's level 6 alone: the raw stream of in[0..n) against dictionary
 * v1, as compress.c's zlib path makes it. */
static size_t zlib_v1(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    const uint8_t *dict;
    size_t dict_len, len;
    z_stream zs;

    assert_int_equal(sfj__dict_bytes(SFJ__DICT_V1, &dict, &dict_len), SFJ_OK);
    memset(&zs, 0, sizeof zs);
    assert_int_equal(
        deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    assert_int_equal(deflateSetDictionary(&zs, dict, (uInt)dict_len), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    len = zs.total_out;
    deflateEnd(&zs);
    return len;
}

/* The encoder alone on in[0..n) against d: zlib reads its stream back,
 * and with one byte less of room it reports that and writes nothing past
 * the room. Returns the block type (1 fixed codes, 2 dynamic). */
static int enc_roundtrip_with(const sfj__enc_dict *d, const uint8_t *in,
                              size_t n, size_t *out_len)
{
    size_t cap = 2 * n + 64, len = 0, short_len = 0, i;
    uint8_t *work = xmalloc(sfj__enc_work_bytes(n)), *out = xmalloc(cap);
    int type;

    assert_true(sfj__enc_fits(d, n));
    assert_int_equal(sfj__enc_deflate(d, in, n, work, out, cap, &len), 1);
    assert_true(len > 0 && len <= cap);
    zlib_reads_back(d, out, len, in, n);
    type = (out[0] >> 1) & 3;
    memset(out, 0xa5, cap);
    assert_int_equal(sfj__enc_deflate(d, in, n, work, out, len - 1, &short_len),
                     0);
    for (i = len - 1; i < cap; i++)
        assert_int_equal(out[i], 0xa5);
    free(work);
    free(out);
    if (out_len != NULL)
        *out_len = len;
    return type;
}

/* The same against dictionary v1. */
static int enc_roundtrip(const uint8_t *in, size_t n, size_t *out_len)
{
    return enc_roundtrip_with(v1_enc(), in, n, out_len);
}

/* Streams of every shape zlib reads back: sizes from one byte to the
 * largest the window takes, runs (258-byte matches), text, noise, a
 * two-letter alphabet, dictionary excerpts; both kinds of block; a match
 * from the far end of the window. */
static void test_encoder_streams(void **state)
{
    const sfj__enc_dict *d = v1_enc();
    const size_t fit = SFJ__ENC_WINDOW - d->len - 1;
    const size_t sizes[] = {1,    2,    3,          4,       15,  16,
                            17,   100,  257,        258,     259, 1000,
                            4096, 8191, fit - 1000, fit - 1, fit};
    uint8_t *in = xmalloc(SFJ__ENC_WINDOW);
    int seen[4] = {0, 0, 0, 0};
    uint32_t x = 12345;
    size_t i, k, len = 0, dots = 0;

    (void)state;
    assert_false(sfj__enc_fits(d, fit + 1));
    assert_false(sfj__enc_fits(d, 0));
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];

        memset(in, 'x', n);
        seen[enc_roundtrip(in, n, NULL)]++;
        fill_text(in, n, (unsigned)i);
        seen[enc_roundtrip(in, n, NULL)]++;
        for (k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            in[k] = (uint8_t)(x >> 16);
        }
        seen[enc_roundtrip(in, n, NULL)]++;
        for (k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            in[k] = (x >> 16) & 1 ? 'a' : 'b';
        }
        seen[enc_roundtrip(in, n, NULL)]++;
        for (k = 0; k < n; k++) {
            x = x * 1103515245u + 12345u;
            in[k] = d->bytes[(k * 7 + (x >> 20) % 3) % d->len];
        }
        seen[enc_roundtrip(in, n, NULL)]++;
    }
    assert_true(seen[1] > 0 && seen[2] > 0);
    assert_int_equal(seen[0] + seen[3], 0);
    /* The dictionary's first 64 bytes at the window's end, after dots:
     * they cost a few bytes more than the dots alone only as a match that
     * reaches back 32 KiB, and zlib reads it back. */
    memset(in, '.', fit);
    enc_roundtrip(in, fit, &dots);
    memcpy(in + fit - 64, d->bytes, 64);
    enc_roundtrip(in, fit, &len);
    assert_true(len < dots + 16);
    free(in);
}

/* Pseudo-random bytes: no string of them repeats by chance. */
static void fill_noise(uint8_t *p, size_t n, uint32_t x)
{
    size_t k;

    for (k = 0; k < n; k++) {
        x = x * 1103515245u + 12345u;
        p[k] = (uint8_t)(x >> 16);
    }
}

static unsigned enc_streams;

static void count_stream(uint8_t *stream, size_t len)
{
    (void)stream;
    (void)len;
    enc_streams++;
}

/* The encoder reads the dictionary where it lies, and a match may start
 * in it and run on into the input: the dictionary's last k bytes, then
 * the input that repeats them, are one 258-byte match of distance k,
 * which takes at most 4 bytes (3 header bits, 8 for the length, 5 and up
 * to 6 extra bits for the distance, 7 for the end); a match that stopped
 * at the dictionary's end would need a second one, 5 bytes or more.
 * Dictionaries of 1 byte, of the longest a journal has and of the
 * longest the encoder takes; inputs of 1 byte and of the longest each
 * one fits. */
static void test_encoder_dict_edges(void **state)
{
    static const size_t tails[] = {3, 4, 8, 100, 257};
    static uint16_t prev[SFJ__ENC_WINDOW];
    uint8_t *dict = xmalloc(SFJ__ENC_WINDOW), *in = xmalloc(SFJ__ENC_WINDOW);
    uint8_t out[600], direct[600];
    sfj__enc_dict d;
    sfj__dict *jd = NULL;
    size_t i, k, len = 0, dlen, fit, direct_len = 0;
    uint8_t *work;

    (void)state;
    fill_noise(dict, 1000, 7);
    sfj__enc_dict_init(&d, dict, 1000, prev);
    for (i = 0; i < sizeof tails / sizeof tails[0]; i++) {
        size_t t = tails[i];

        for (k = 0; k < 258; k++)
            in[k] = dict[1000 - t + k % t];
        assert_int_equal(enc_roundtrip_with(&d, in, 258, &len), 1);
        assert_true(len <= 4);
        /* Longer, and a match that ends in the input a byte early. */
        for (k = 258; k < 1000; k++)
            in[k] = dict[1000 - t + k % t];
        enc_roundtrip_with(&d, in, 1000, NULL);
        in[t + 5] ^= 0x55;
        enc_roundtrip_with(&d, in, 1000, NULL);
    }

    /* One byte of dictionary: the input's own matches only. */
    dict[0] = 'x';
    sfj__enc_dict_init(&d, dict, 1, prev);
    fit = SFJ__ENC_WINDOW - 2;
    assert_false(sfj__enc_fits(&d, fit + 1));
    in[0] = 'x';
    enc_roundtrip_with(&d, in, 1, NULL);
    memset(in, 'x', fit);
    enc_roundtrip_with(&d, in, fit, NULL);
    fill_text(in, fit, 4);
    enc_roundtrip_with(&d, in, fit, NULL);

    /* The longest dictionary the encoder takes leaves room for 1 byte,
     * and reaches back the whole window. */
    dlen = SFJ__ENC_WINDOW - 2;
    fill_noise(dict, dlen, 11);
    sfj__enc_dict_init(&d, dict, dlen, prev);
    assert_false(sfj__enc_fits(&d, 2));
    in[0] = dict[0];
    enc_roundtrip_with(&d, in, 1, NULL);

    /* A journal's longest dictionary, through compress.c: the stream kept
     * is the encoder's, byte for byte. Inputs from 1 byte to the longest
     * that fits, made of its material (near and far) and of text. */
    fill_noise(dict, SFJ_DICTIONARY_MAX, 13);
    assert_int_equal(sfj__dict_make(dict, SFJ_DICTIONARY_MAX, &jd), SFJ_OK);
    dlen = jd->enc->len;
    fit = SFJ__ENC_WINDOW - dlen - 1;
    assert_true(sfj__enc_fits(jd->enc, fit));
    assert_false(sfj__enc_fits(jd->enc, fit + 1));
    in[0] = jd->bytes[0];
    enc_roundtrip_with(jd->enc, in, 1, NULL);
    for (k = 0; k < fit; k++)
        in[k] = jd->bytes[(k * 7919) % dlen];
    enc_roundtrip_with(jd->enc, in, fit, NULL);
    fill_text(in, fit, 5);
    enc_roundtrip_with(jd->enc, in, fit, NULL);
    for (k = 0; k < 300; k++)
        in[k] = k % 50 < 40 ? jd->bytes[dlen - 200 + k % 200] : (uint8_t)k;
    work = xmalloc(sfj__enc_work_bytes(300));
    assert_int_equal(sfj__enc_deflate(jd->enc, in, 300, work, direct,
                                      sizeof direct, &direct_len),
                     1);
    free(work);
    enc_streams = 0;
    sfj__compress_enc_hook = count_stream;
    assert_int_equal(sfj__deflate_dict(jd, in, 300, out, 300, &len), 1);
    sfj__compress_enc_hook = NULL;
    assert_int_equal(enc_streams, 1);
    assert_int_equal(len, 4 + direct_len);
    assert_memory_equal(out + 4, direct, direct_len);
    assert_int_equal(sfj__inflate_with(jd->bytes, dlen, out, len, direct, 300),
                     SFJ_OK);
    assert_memory_equal(direct, in, 300);
    sfj__dict_free(jd);
    free(dict);
    free(in);
}

/* The encoder's streams are as short as zlib's level 6 within 3%, on the
 * text and payment messages of this suite. */
static void test_encoder_size(void **state)
{
    static const char iso[] =
        "02007238448108E08200164000******1234000000000000012345"
        "0314101530000123101530031459110510001000000000000012"
        "TID00042MID000000000042SHOP 42                 CITY  US840"
        "0709F26081122334455667788";
    uint8_t in[3000], out[3100];
    size_t n, sizes[] = {60, 150, 300, 700, 1500, 3000}, i, mine = 0, zlib;

    (void)state;
    for (i = 0; i <= sizeof sizes / sizeof sizes[0]; i++) {
        if (i < sizeof sizes / sizeof sizes[0]) {
            n = sizes[i];
            fill_text(in, n, (unsigned)i);
        } else {
            n = sizeof iso - 1;
            memcpy(in, iso, n);
        }
        assert_int_equal(
            sfj__deflate(SFJ__DICT_V1, in, n, out, sizeof out, &mine), 1);
        mine -= 4; /* the length prefix */
        zlib = zlib_v1(in, n, out, sizeof out);
        /* 3%, or one byte on the shortest. */
        assert_true(mine * 100 <= zlib * 103 + 100);
    }
}

static unsigned damaged;
static size_t damaged_len;

/* Clears BFINAL: the stream no longer ends, so it cannot read back. */
static void damage(uint8_t *stream, size_t len)
{
    assert_true(len > 0);
    stream[0] ^= 1;
    damaged++;
    damaged_len = len;
}

/* sfj__deflate with dictionary v1 and the encoder's stream damaged: zlib
 * must compress `in` instead. */
static size_t deflate_damaged(const uint8_t *in, size_t n, uint8_t *out,
                              size_t cap)
{
    size_t len = 0;

    damaged = 0;
    sfj__compress_enc_hook = damage;
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, n, out, cap, &len), 1);
    sfj__compress_enc_hook = NULL;
    assert_int_equal(damaged, 1);
    return len;
}

/* A stream of the encoder that does not read back is never kept: the
 * record is compressed by zlib instead, byte for byte what zlib makes. */
static void test_encoder_checked(void **state)
{
    uint8_t in[500], packed[500], ref[500], back[500];
    size_t packed_len = 0, ref_len;

    (void)state;
    fill_text(in, sizeof in, 9);
    packed_len = deflate_damaged(in, sizeof in, packed, sizeof packed);
    assert_int_equal(
        sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, sizeof in),
        SFJ_OK);
    assert_memory_equal(back, in, sizeof in);
    ref_len = zlib_v1(in, sizeof in, ref, sizeof ref);
    assert_int_equal(packed_len, 4 + ref_len);
    assert_memory_equal(packed + 4, ref, ref_len);
}

/* The rejected stream is compressed plaintext: where zlib's stream is
 * shorter, what lay past its end is wiped, not left in the buffer that
 * the caller wipes only up to the stream it got. */
static void test_rejected_stream_wiped(void **state)
{
    uint8_t in[500], packed[500];
    size_t packed_len = 0, n, i;
    unsigned seed, longer = 0;

    (void)state;
    for (seed = 0; seed < 400; seed++) {
        n = 40 + seed % 23 * 20;
        fill_text(in, n, seed);
        memset(packed, 0, sizeof packed);
        packed_len = deflate_damaged(in, n, packed, n);
        if (4 + damaged_len <= packed_len)
            continue;
        longer++;
        for (i = packed_len; i < 4 + damaged_len; i++)
            assert_int_equal(packed[i], 0);
    }
    /* Some of these texts make the encoder's stream the longer one. */
    assert_true(longer > 0);
}

static const char CANARY[] = "CANARY-4111111111111111-do-not-keep";

static unsigned freed_blocks, freed_not_zero;

/* Runs between the wipe and free(): every byte must be zero. */
static void scan_freed(const void *p, size_t size)
{
    const uint8_t *b = p;
    size_t i;

    freed_blocks++;
    for (i = 0; i < size; i++) {
        if (b[i] != 0) {
            freed_not_zero++;
            break;
        }
    }
}

/* `n` bytes of the canary over and over, then dots. */
static void fill_canary(uint8_t *in, size_t n)
{
    size_t i;

    for (i = 0; i + sizeof CANARY - 1 <= n; i += sizeof CANARY - 1)
        memcpy(in + i, CANARY, sizeof CANARY - 1);
    memset(in + i, '.', n - i);
}

/* Compress and expand `n` bytes full of the canary; the streams go back to
 * the pool with no trace of it. */
static void canary_roundtrip(size_t n)
{
    uint8_t *in = xmalloc(n), *packed = xmalloc(n), *back = xmalloc(n);
    uint8_t spread[3 * 7];
    size_t i, packed_len = 0;

    for (i = 0; i < 7; i++) { /* "CANARY-": all literals */
        spread[3 * i] = spread[3 * i + 1] = 0;
        spread[3 * i + 2] = (uint8_t)CANARY[i];
    }

    fill_canary(in, n);
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, n, packed, n, &packed_len),
                     1);
    /* The pool holds the deflate stream, wiped: no canary as input, none
     * as the literal symbols deflate keeps (a zero distance, then the
     * byte), none of the compressed output. */
    assert_int_equal(sfj__compress_pool_find(CANARY, sizeof CANARY - 1), 0);
    assert_int_equal(sfj__compress_pool_find(spread, sizeof spread), 0);
    assert_int_equal(sfj__compress_pool_find(packed + 4, 12), 0);
    memset(back, 0, n);
    assert_int_equal(sfj__inflate(SFJ__DICT_V1, packed, packed_len, back, n),
                     SFJ_OK);
    assert_memory_equal(back, in, n);
    assert_int_equal(sfj__compress_pool_find(CANARY, sizeof CANARY - 1), 0);
    /* Our own copies are wiped too, or a later stream could be handed
     * their memory and the scan find the canary that zlib never saw. */
    sodium_memzero(in, n);
    sodium_memzero(back, n);
    free(in);
    free(packed);
    free(back);
}

/* Small records (through inflate's stack buffer), larger ones, and ones
 * past the 32 KiB window: nothing stays in the pool, shutdown frees it
 * wiped, and the library works on afterwards. */
static void test_streams_wiped(void **state)
{
    static const size_t sizes[] = {100, 2048, 4096, 32768, 40000, MAX_RAW};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        canary_roundtrip(sizes[i]);
    /* Shutdown frees every pooled block (zlib's state included), each
     * wiped before free(). */
    freed_blocks = freed_not_zero = 0;
    sfj__compress_free_hook = scan_freed;
    sfj_shutdown();
    sfj__compress_free_hook = NULL;
    assert_true(freed_blocks >= 3); /* deflate state + buffers, inflate */
    assert_int_equal(freed_not_zero, 0);
    assert_int_equal(sfj__compress_pool_find(CANARY, 1), -1);
    canary_roundtrip(1000);
    sfj_shutdown();
    assert_int_equal(sfj__compress_pool_find(CANARY, 1), -1);
}

/* The encoder's working memory (the input, its literals) is wiped before
 * it is freed. */
static void test_encoder_wiped(void **state)
{
    uint8_t in[1000], packed[1000];
    size_t packed_len = 0;

    (void)state;
    fill_canary(in, sizeof in);
    assert_true(sfj__enc_fits(v1_enc(), sizeof in));
    freed_blocks = freed_not_zero = 0;
    sfj__compress_free_hook = scan_freed;
    assert_int_equal(sfj__deflate(SFJ__DICT_V1, in, sizeof in, packed,
                                  sizeof packed, &packed_len),
                     1);
    sfj__compress_free_hook = NULL;
    assert_int_equal(freed_blocks, 1);
    assert_int_equal(freed_not_zero, 0);
}

/* Dictionary v2: the bytes FORMAT.md lists (by their BLAKE2b-256), a
 * round trip, a stream made with it not read back by v1, an unknown
 * dictionary refused, and a payment message shrinking more with v2 than
 * with v1. */
static void test_dictionary_v2(void **state)
{
    static const char digest_hex[] = "b44ab893d867f8b99c3a17aeb79d4383"
                                     "7093a62a0f7d4f8f27cd38164bd4cb2d";
    static const char iso[] =
        "02007238448108E08200164000******1234000000000000012345"
        "0314101530000123101530031459110510001000000000000012"
        "TID00042MID000000000042SHOP 42                 CITY  US840"
        "0709F26081122334455667788";
    uint8_t digest[32], v1[sizeof iso], v2[sizeof iso], back[sizeof iso];
    char hex[65];
    const uint8_t *d;
    size_t len = 0, n1 = 0, n2 = 0;

    (void)state;
    assert_int_equal(sfj__dict_bytes(SFJ__DICT_V2, &d, &len), SFJ_OK);
    assert_int_equal(len, 741);
    crypto_generichash(digest, sizeof digest, d, len, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    assert_string_equal(hex, digest_hex);
    assert_int_equal(sfj__dict_bytes(3, &d, &len), SFJ_EINVAL);

    assert_int_equal(sfj__deflate(SFJ__DICT_V1, (const uint8_t *)iso,
                                  sizeof iso - 1, v1, sizeof v1, &n1),
                     1);
    assert_int_equal(sfj__deflate(SFJ__DICT_V2, (const uint8_t *)iso,
                                  sizeof iso - 1, v2, sizeof v2, &n2),
                     1);
    assert_true(n2 < n1);
    assert_int_equal(sfj__inflate(SFJ__DICT_V2, v2, n2, back, sizeof iso - 1),
                     SFJ_OK);
    assert_memory_equal(back, iso, sizeof iso - 1);
    /* A raw stream names no dictionary: read with the other one, a
     * stream that refers into its own comes back wrong or not at all (the
     * record's flags, under its tag, say which one it takes). */
    if (sfj__inflate(SFJ__DICT_V1, v2, n2, back, sizeof iso - 1) == SFJ_OK)
        assert_memory_not_equal(back, iso, sizeof iso - 1);
    assert_int_equal(sfj__inflate(0, v2, n2, back, sizeof iso - 1), SFJ_EINVAL);
    assert_int_equal(sfj__deflate(3, (const uint8_t *)iso, sizeof iso - 1, v2,
                                  sizeof v2, &n2),
                     SFJ_EINVAL);
}

/* The encoder's own stack frame: its symbol counts and the code lengths
 * made from them describe the record, so they are wiped like its heap.
 * Each call runs on a stack of the test's own (support/stackscan.h),
 * scanned once the thread is gone. */
typedef struct stack_call {
    const uint8_t *in;
    size_t in_len;
    uint8_t out[1024];
    size_t out_len;
    int rc;
} stack_call;

static void *deflate_on_stack(void *arg)
{
    stack_call *c = arg;

    c->rc = sfj__deflate(SFJ__DICT_V1, c->in, c->in_len, c->out, sizeof c->out,
                         &c->out_len);
    return NULL;
}

/* The longest run of `what` (a `width`-byte value, `alt` also counting)
 * at `width`-aligned offsets of b[0..n). */
static size_t longest_run(const uint8_t *b, size_t n, size_t width,
                          uint32_t what, uint32_t alt)
{
    size_t i, run = 0, best = 0;

    for (i = 0; i + width <= n; i += width) {
        uint32_t v = 0;

        memcpy(&v, b + i, width);
        run = v == what || v == alt ? run + 1 : 0;
        best = run > best ? run : best;
    }
    return best;
}

static void stack_scan(const uint8_t *in, size_t in_len, int want_rc)
{
    size_t size = 256 * 1024;
    uint8_t *stack = aligned_alloc(4096, size);
    stack_call *c = malloc(sizeof *c);

    assert_non_null(stack);
    assert_non_null(c);
    c->in = in;
    c->in_len = in_len;
    assert_int_equal(sfj_test_on_stack(stack, size, deflate_on_stack, c, 0), 0);
    assert_int_equal(c->rc, want_rc);
    /* A run of symbol counts of 1 (u32), of code lengths 8 and 9. */
    assert_true(longest_run(stack, size, 4, 1, 1) < 32);
    assert_true(longest_run(stack, size, 1, 8, 9) < 32);
    /* No 8 bytes of the plaintext. */
    assert_int_equal(sfj_test_windows(stack, size, in, in_len), 0);
    free(c);
    free(stack);
}

static void test_encoder_stack_wiped(void **state)
{
    uint8_t once[256], text[1000];
    int x;

    (void)state;
    /* Every byte value once, none in a 3-byte string of the dictionary's
     * (each pair has a byte above 0x7f): 256 literals counted 1 each,
     * too few bytes saved to keep the stream. */
    for (x = 0; x < 128; x++) {
        once[2 * x] = (uint8_t)x;
        once[2 * x + 1] = (uint8_t)(128 + ((x * 37) & 127));
    }
    stack_scan(once, sizeof once, 0);
    fill_canary(text, sizeof text);
    stack_scan(text, sizeof text, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_small_stays_raw),
        cmocka_unit_test(test_roundtrip_edges),
        cmocka_unit_test(test_dictionary_used),
        cmocka_unit_test(test_dictionary_v2),
        cmocka_unit_test(test_incompressible),
        cmocka_unit_test(test_damaged_refused),
        cmocka_unit_test(test_streams_wiped),
        cmocka_unit_test(test_rejected_stream_wiped),
        cmocka_unit_test(test_encoder_streams),
        cmocka_unit_test(test_encoder_dict_edges),
        cmocka_unit_test(test_encoder_size),
        cmocka_unit_test(test_encoder_checked),
        cmocka_unit_test(test_encoder_wiped),
        cmocka_unit_test(test_encoder_stack_wiped),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
