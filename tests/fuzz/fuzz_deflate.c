/* Fuzz target: sfj's own deflate encoder on arbitrary plaintext. The
 * first input byte picks the dictionary (0: v1, 1: v2, else a journal's
 * own, SFJ_FUZZ_DICT); the rest is the plaintext. zlib's inflate must give
 * back exactly the plaintext from every stream the encoder makes: compress.c
 * checks each stream too, but a stream that failed that check would only
 * fall back to zlib, so this target calls the encoder directly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "journal/format/compress.h"
#include "journal/format/deflate_enc.h"
#include "sfj/errors.h"
#include "tests/fuzz/fuzz_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Hashed once; kept for the process's life. */
static const sfj__enc_dict *enc_dict(int which)
{
    static sfj__enc_dict *d[3];
    static sfj__dict *journal;

    if (d[which] == NULL) {
        const uint8_t *bytes;
        size_t len;

        if (which < 2) {
            if (sfj__dict_bytes(which + 1, &bytes, &len) != SFJ_OK)
                abort();
            d[which] = malloc(sizeof *d[which]);
            if (d[which] == NULL)
                abort();
            sfj__enc_dict_init(d[which], bytes, len,
                               malloc(len * sizeof(uint16_t)));
        } else {
            if (sodium_init() < 0 ||
                sfj__dict_make((const uint8_t *)SFJ_FUZZ_DICT,
                               sizeof SFJ_FUZZ_DICT - 1, &journal) != SFJ_OK)
                abort();
            d[which] = journal->enc;
        }
    }
    return d[which];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const sfj__enc_dict *d;
    uint8_t *work, *out, *back;
    size_t in_len, cap, out_len = 0;
    z_stream zs;
    int rc;

    if (size < 2)
        return 0;
    d = enc_dict(data[0] < 2 ? data[0] : 2);
    in_len = size - 1;
    if (!sfj__enc_fits(d, in_len))
        return 0;
    /* Room for a stream of stored-size literals: every input fits. */
    cap = in_len * 2 + 64;
    work = malloc(sfj__enc_work_bytes(in_len));
    out = malloc(cap);
    back = malloc(in_len + 1);
    if (work == NULL || out == NULL || back == NULL)
        abort();
    rc = sfj__enc_deflate(d, data + 1, in_len, work, out, cap, &out_len);
    if (rc != 1 || out_len > cap)
        abort();
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK ||
        inflateSetDictionary(&zs, d->bytes, (uInt)d->len) != Z_OK)
        abort();
    zs.next_in = out;
    zs.avail_in = (uInt)out_len;
    zs.next_out = back;
    zs.avail_out = (uInt)(in_len + 1);
    if (inflate(&zs, Z_FINISH) != Z_STREAM_END || zs.avail_in != 0 ||
        zs.total_out != in_len || memcmp(back, data + 1, in_len) != 0)
        abort();
    inflateEnd(&zs);
    /* Too little room is reported, never overrun. */
    if (out_len > 1 && sfj__enc_deflate(d, data + 1, in_len, work, out,
                                        out_len - 1, &out_len) != 0)
        abort();
    free(work);
    free(out);
    free(back);
    return 0;
}
