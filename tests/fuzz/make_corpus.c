/* Seed corpus generator for the fuzz targets: writes real sealed records,
 * checkpoints, event plaintexts, link frames, COBS packets, evidence
 * bundles and tool arguments, made by the library under the fixed keys
 * of fuzz_keys.h, plus a few malformed variants of each.
 *
 *   make_corpus OUT_DIR      (writes OUT_DIR/<target>/<name>)
 *
 * Run once and commit the output (tests/fuzz/corpus). Nonces are random,
 * so the bytes differ from run to run; what they exercise does not. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/bytes.h"
#include "journal/format/compress.h"
#include "journal/format/event_codec.h"
#include "journal/format/record.h"
#include "sfj/sfj.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/cobs.h"
#include "sfj/sys/frame.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/proto_v2.h"
#include "support/testutil.h"
#include "tests/fuzz/fuzz_keys.h"

static const char *out_dir;

static void put(const char *target, const char *name, const void *a, size_t an,
                const void *b, size_t bn)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        goto fail;
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    f = fopen(path, "wb");
    if (f == NULL || (an > 0 && fwrite(a, 1, an, f) != an) ||
        (bn > 0 && fwrite(b, 1, bn, f) != bn) || fclose(f) != 0)
        goto fail;
    return;
fail:
    fprintf(stderr, "make_corpus: cannot write %s\n", path);
    exit(1);
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "make_corpus: %s failed\n", what);
        exit(1);
    }
}

/* Events of every kind and size class, including a compressible payload
 * (so that SFJ_REC_F_DEFLATE is set) and an incompressible one. */
#define N_EVENTS 8
static void event_at(size_t i, sfj_event *ev, uint8_t *payload)
{
    static const uint16_t kinds[N_EVENTS] = {
        SFJ_EV_TXN_INTENT, SFJ_EV_TXN_OUTCOME, SFJ_EV_TXN_OFFLINE,
        SFJ_EV_REVERSAL,   SFJ_EV_RECEIPT,     SFJ_EV_SETTLEMENT,
        SFJ_EV_NOTE,       SFJ_EV_APP};
    static const uint16_t status[N_EVENTS] = {0,
                                              SFJ_ST_APPROVED,
                                              SFJ_ST_APPROVED,
                                              SFJ_ST_REV_DECIDED,
                                              SFJ_ST_PRINTED,
                                              0,
                                              0,
                                              0};
    static const size_t sizes[N_EVENTS] = {0, 40, 300, 12, 2000, 1, 5000, 90};
    uint32_t x = 0x9e3779b9u * (uint32_t)(i + 1);
    size_t k;

    *ev = (sfj_event)SFJ_EVENT_INIT;
    ev->kind = kinds[i];
    ev->status = status[i];
    ev->txn_id = i < 5 ? "T-0001" : NULL;
    ev->amount = (int64_t)(1250 * (i + 1));
    ev->currency = i % 2 == 0 ? "EUR" : NULL;
    ev->auth_code = i == 1 ? "A1B2C3" : NULL;
    ev->copy = i == 4 ? 2 : 0;
    ev->wall_ms = 1790000000000LL + (int64_t)i * 1000;
    for (k = 0; k < sizes[i]; k++) {
        x = x * 1103515245u + 12345u;
        /* Even events get text-like (compressible) payloads. */
        payload[k] = i % 2 == 0 ? (uint8_t)("ISO8583 0200 "[k % 13])
                                : (uint8_t)(x >> 16);
    }
    ev->payload = sizes[i] > 0 ? payload : NULL;
    ev->payload_len = sizes[i];
}

static void frame_seed(const char *name, uint8_t ctl, uint8_t type,
                       const uint8_t *body, size_t n)
{
    uint8_t *fr = malloc(SFJ_FRAME_OVERHEAD + n);
    size_t len;

    check(fr != NULL, "malloc");
    len = sfj__frame_encode(fr, SFJ_FRAME_OVERHEAD + n, type, 0, body,
                            (uint32_t)n);
    check(len > 0, "frame_encode");
    put("frame", name, &ctl, 1, fr, len);
    free(fr);
}

static void cobs_seed(const char *name, const uint8_t *in, size_t n)
{
    uint8_t *enc = malloc(SFJ_COBS_MAX(n) + 2);
    size_t len;

    check(enc != NULL, "malloc");
    len = sfj__cobs_encode(in, n, enc, SFJ_COBS_MAX(n));
    check(len > 0, "cobs_encode");
    enc[len] = 0; /* the delimiter, for the stream decoder */
    put("cobs", name, enc, len + 1, NULL, 0);
    free(enc);
}

static void records_events_frames(const sfj_fuzz_keys *k)
{
    static uint8_t payload[8192], rec[SFJ_REC_MAX_BYTES];
    uint8_t body[SFJ_HELLO_ACK_MAX_BODY + SFJ_HELLO_MAX_BODY], flag;
    uint8_t ckpt[SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES];
    uint8_t stream[4096], chain[32];
    size_t i, n, rec_len, slen = 0;
    char name[64];
    sfj__rec_hdr h;

    memset(chain, 0, sizeof chain);
    for (i = 0; i < N_EVENTS; i++) {
        sfj_event ev;
        uint8_t *pt = NULL;
        size_t pt_len = 0;

        event_at(i, &ev, payload);
        flag = 0;
        check(sfj__event_pack(&ev, 3, &pt, &pt_len, &flag) == SFJ_OK, "pack");
        /* fuzz_event: flag selector byte, then the plaintext. */
        {
            uint8_t sel = (uint8_t)(((flag & SFJ_REC_F_DEFLATE) ? 1 : 0) |
                                    ((flag & SFJ_REC_F_DICT2) ? 2 : 0));

            snprintf(name, sizeof name, "event-%zu%s", i,
                     sel ? "-deflate" : "");
            put("event", name, &sel, 1, pt, pt_len);
            if (i == 1 && sel) {
                /* The same stream flagged as made with a journal's
                 * dictionary, for a reader without one: never decodes. */
                uint8_t nodict = sel | 4 | 8;

                put("event", "dictj-without-dictionary", &nodict, 1, pt,
                    pt_len);
            }
            if (sel) {
                /* The same event uncompressed. */
                size_t raw_len = 0;
                uint8_t *raw = NULL;

                check(sfj__inflate_len(pt, pt_len, 1u << 20, &raw_len) ==
                          SFJ_OK,
                      "inflate_len");
                raw = malloc(raw_len);
                check(raw != NULL &&
                          sfj__inflate((flag & SFJ_REC_F_DICT2) ? SFJ__DICT_V2
                                                                : SFJ__DICT_V1,
                                       pt, pt_len, raw, raw_len) == SFJ_OK,
                      "inflate");
                sel = 0;
                snprintf(name, sizeof name, "event-%zu-raw", i);
                put("event", name, &sel, 1, raw, raw_len);
                free(raw);
            }
        }
        if (i < 4) {
            /* fuzz_event: the same event against the journal dictionary
             * of the target (SFJ_FUZZ_DICT). */
            sfj__dict *d = NULL;
            uint8_t *dpt = NULL, dflag = 0, sel;
            size_t dpt_len = 0;

            check(sfj__dict_make((const uint8_t *)SFJ_FUZZ_DICT,
                                 sizeof SFJ_FUZZ_DICT - 1, &d) == SFJ_OK &&
                      sfj__event_pack_dict(&ev, 3, d, &dpt, &dpt_len, &dflag) ==
                          SFJ_OK,
                  "pack_dict");
            sel = (uint8_t)(((dflag & SFJ_REC_F_DEFLATE) ? 1 : 0) |
                            ((dflag & SFJ_REC_F_DICTJ) ? 4 : 0));
            snprintf(name, sizeof name, "event-%zu-dictj", i);
            put("event", name, &sel, 1, dpt, dpt_len);
            sodium_memzero(dpt, dpt_len);
            free(dpt);
            sfj__dict_free(d);
        }
        memset(&h, 0, sizeof h);
        h.format = SFJ_REC_FORMAT;
        h.flags = flag;
        h.kind = ev.kind;
        h.epoch = 1;
        h.seq = i + 1;
        h.wall_ms = ev.wall_ms;
        memcpy(h.prev_chain, chain, sizeof chain);
        sfj__rec_seal(k->journal_id, k->epoch_key, &h, NULL, pt, pt_len, rec);
        rec_len = SFJ_REC_HDR_BYTES + pt_len + SFJ_REC_TAG_BYTES;
        snprintf(name, sizeof name, "record-%zu", i);
        put("record", name, rec, rec_len, NULL, 0);
        memset(chain, (int)i + 1, sizeof chain);
        if (i == 1) {
            /* Malformed: tag flipped, truncated, unknown flag, format 2. */
            rec[rec_len - 1] ^= 1;
            put("record", "bad-tag", rec, rec_len, NULL, 0);
            rec[rec_len - 1] ^= 1;
            put("record", "bad-short", rec, SFJ_REC_HDR_BYTES + 3, NULL, 0);
            rec[1] |= 0x80;
            put("record", "bad-flags", rec, rec_len, NULL, 0);
            rec[1] &= 0x7f;
            rec[0] = 2;
            put("record", "bad-format", rec, rec_len, NULL, 0);
            rec[0] = SFJ_REC_FORMAT;
            /* Malformed events: truncated and a wrong version byte. */
            flag = 0;
            put("event", "bad-short", &flag, 1, pt, pt_len / 2);
        }
        /* An ENTRY frame carries the sealed record. */
        if (i < 4) {
            snprintf(name, sizeof name, "entry-%zu", i);
            frame_seed(name, 0x80 | (uint8_t)(i * 13), SFJ_MSG_ENTRY, rec,
                       rec_len);
        }
        if (i == 2)
            cobs_seed("record", rec, rec_len);
        sodium_memzero(pt, pt_len);
        free(pt);
    }

    /* Checkpoints: good, wrong signature, wrong kind. */
    memset(&h, 0, sizeof h);
    h.epoch = 1;
    h.seq = N_EVENTS + 1;
    h.wall_ms = 1790000009000LL;
    memcpy(h.prev_chain, chain, sizeof chain);
    sfj__rec_checkpoint(k->journal_id, k->sign_sk, &h, 3, ckpt);
    check(sfj__rec_checkpoint_verify(k->journal_id, k->sign_pk, ckpt,
                                     sizeof ckpt, NULL) == SFJ_OK,
          "checkpoint");
    put("record", "checkpoint", ckpt, sizeof ckpt, NULL, 0);
    ckpt[sizeof ckpt - 1] ^= 0x40;
    put("record", "bad-checkpoint-sig", ckpt, sizeof ckpt, NULL, 0);
    ckpt[sizeof ckpt - 1] ^= 0x40;
    ckpt[3] = SFJ_EV_NOTE;
    put("record", "bad-checkpoint-kind", ckpt, sizeof ckpt, NULL, 0);

    {
        uint8_t raw_bad[] = {2, 0, 0};

        flag = 0;
        put("event", "bad-version", &flag, 1, raw_bad, sizeof raw_bad);
        flag = 1;
        put("event", "bad-deflate", &flag, 1, raw_bad, sizeof raw_bad);
    }

    /* Message bodies, framed, and a stream of several frames. */
    {
        sfj__hello hello;
        sfj__hello_ack hack;
        sfj__ack ack;
        sfj__nak nak;
        uint8_t ping[SFJ_PING_BODY] = {0, 0, 0, 0, 0, 0, 0, 42};

        memset(&hello, 0, sizeof hello);
        hello.version = SFJ_PROTO_VERSION;
        memcpy(hello.journal_id, k->journal_id, SFJ_JOURNAL_ID_BYTES);
        strcpy(hello.terminal_id, "TERM-0042");
        hello.first_unacked = 3;
        hello.last_seq = 9;
        memset(hello.nonce, 0x5c, sizeof hello.nonce);
        n = sfj__hello_encode(&hello, body);
        sfj__hello_sign(k->link_key, body, n);
        check(sfj__hello_verify(k->link_key, body, n) == SFJ_OK, "hello");
        frame_seed("hello", 0x80, SFJ_MSG_HELLO, body, n);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_HELLO, 0, body, (uint32_t)n);
        cobs_seed("hello", stream, slen);

        memset(&hack, 0, sizeof hack);
        hack.version = SFJ_PROTO_VERSION;
        hack.status = SFJ_HELLO_OK;
        hack.window = 256;
        hack.next_seq = 3;
        memset(hack.chain, 0x77, sizeof hack.chain);
        strcpy(hack.text, "welcome");
        n = sfj__hello_ack_encode(&hack, body);
        frame_seed("hello-ack", 0x80, SFJ_MSG_HELLO_ACK, body, n);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_HELLO_ACK, 0, body, (uint32_t)n);
        hack.status = SFJ_HELLO_DIVERGED;
        strcpy(hack.text, "journal diverged at seq 7");
        n = sfj__hello_ack_encode(&hack, body);
        frame_seed("hello-ack-diverged", 0x05, SFJ_MSG_HELLO_ACK, body, n);

        memset(&ack, 0, sizeof ack);
        ack.seq = 8;
        memset(ack.chain, 0x31, sizeof ack.chain);
        memset(ack.mac, 0x32, sizeof ack.mac);
        n = sfj__ack_encode(&ack, body);
        frame_seed("ack", 0x01, SFJ_MSG_ACK, body, n);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_ACK, 0, body, (uint32_t)n);
        cobs_seed("ack", body, n);

        memset(&nak, 0, sizeof nak);
        nak.seq = 9;
        nak.reason = SFJ_NAK_OUT_OF_ORDER;
        strcpy(nak.text, "expected 8");
        n = sfj__nak_encode(&nak, body);
        frame_seed("nak", 0x02, SFJ_MSG_NAK, body, n);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_NAK, 0, body, (uint32_t)n);

        frame_seed("ping", 0x03, SFJ_MSG_PING, ping, sizeof ping);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_PING, 0, ping, sizeof ping);
        slen += sfj__frame_encode(stream + slen, sizeof stream - slen,
                                  SFJ_MSG_PONG, 0, ping, sizeof ping);
        flag = 0x84;
        put("frame", "stream", &flag, 1, stream, slen);
        flag = 0x00;
        put("frame", "stream-1byte", &flag, 1, stream, slen);
        /* Malformed: CRC flipped in the second frame, an oversize length,
         * a frame cut short. */
        stream[slen / 3] ^= 0x10;
        flag = 0x87;
        put("frame", "bad-crc-stream", &flag, 1, stream, slen);
        stream[slen / 3] ^= 0x10;
        {
            uint8_t big[] = {SFJ_MSG_ENTRY, 0, 0x00, 0x10, 0x00, 0x00, 1, 2};

            flag = 0x80;
            put("frame", "bad-oversize", &flag, 1, big, sizeof big);
            flag = 0x10;
            put("frame", "bad-oversize-small", &flag, 1, big, sizeof big);
        }
        flag = 0x80;
        put("frame", "bad-cut", &flag, 1, stream, 11);
    }

    /* COBS: runs around the 254-byte block boundary, zeros everywhere. */
    {
        static const size_t sizes[] = {0, 1, 253, 254, 255, 508, 600};
        uint8_t buf[600];

        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (n = 0; n < sizes[i]; n++)
                buf[n] = (uint8_t)(i % 2 ? n % 7 : n % 251 + 1);
            snprintf(name, sizeof name, "run-%zu", sizes[i]);
            cobs_seed(name, buf, sizes[i]);
        }
        put("cobs", "bad-zero", "\x03\x01\x00\x05", 4, NULL, 0);
        put("cobs", "bad-truncated", "\x05\x01\x02", 3, NULL, 0);
        put("cobs", "delimiters", "\x00\x00\x02\x41\x00\x01\x00", 7, NULL, 0);
    }
}

static void bundles(void)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t master[SFJ_KEY_BYTES], *b = NULL, payload[8192];
    char *dir = sfj_test_tmpdir(), *path = sfj_test_path(dir, "j");
    char reason[256], name[64];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    size_t i, len = 0;
    int rc;

    memset(master, SFJ_FUZZ_BUNDLE_SEED, sizeof master);
    check(sfj_keys_from_bytes(master, sizeof master, &keys) == SFJ_OK, "keys");
    opts.checkpoint_every = 5;
    check(sfj_journal_open(path, keys, &opts, &j) == SFJ_OK, "open");
    /* Two transactions through their legal states, interleaved with
     * notes and an offline sale, so that the bundles hide some records. */
    static const struct {
        uint16_t kind, status;
        const char *txn;
    } plan[] = {
        {SFJ_EV_TXN_INTENT, 0, "T-0001"},
        {SFJ_EV_TXN_INTENT, 0, "T-0002"},
        {SFJ_EV_NOTE, 0, NULL},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T-0001"},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T-0003"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "T-0002"},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T-0001"},
        {SFJ_EV_NOTE, 0, NULL},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T-0002"},
        {SFJ_EV_NOTE, 0, NULL},
    };

    for (i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = plan[i].kind;
        ev.status = plan[i].status;
        ev.txn_id = plan[i].txn;
        ev.amount = 1999;
        ev.currency = "EUR";
        ev.payload = payload;
        ev.payload_len = 30 + i * 40;
        memset(payload, 'A' + (int)i, ev.payload_len);
        rc = sfj_append(j, &ev, NULL);
        if (rc != SFJ_OK)
            fprintf(stderr, "append %zu: %s\n", i, sfj_strerror(rc));
        check(rc == SFJ_OK, "append");
    }
    /* Close and reopen, so that a checkpoint seals the last records. */
    check(sfj_journal_close(j) == SFJ_OK, "close");
    j = NULL;
    check(sfj_journal_open(path, keys, &opts, &j) == SFJ_OK, "reopen");
    for (i = 0; i < 2; i++) {
        const char *txn = i == 0 ? "T-0001" : "T-0002";

        check(sfj__bundle_build(j, txn, &b, &len, reason, sizeof reason) ==
                  SFJ_OK,
              reason);
        snprintf(name, sizeof name, "bundle-%zu", i);
        put("bundle", name, b, len, NULL, 0);
        if (i == 0) {
            /* Malformed: truncated, a flipped byte in the records, a wrong
             * version. */
            put("bundle", "bad-truncated", b, len - 40, NULL, 0);
            b[len / 2] ^= 0x08;
            put("bundle", "bad-flip", b, len, NULL, 0);
            b[len / 2] ^= 0x08;
            b[9] = 9;
            put("bundle", "bad-version", b, len, NULL, 0);
        }
        sodium_memzero(b, len);
        free(b);
        b = NULL;
    }
    put("bundle", "bad-magic", "SFJBUNDX\x00\x01", 10, NULL, 0);
    check(sfj_journal_close(j) == SFJ_OK, "close");
    sfj_keys_free(keys);
    sfj_test_rmrf(dir);
    free(path);
    free(dir);
}

/* A bundle of a journal with its own dictionary (flag 1, the dictionary
 * item after the txn id), and the same with the item stripped and the
 * flag cleared. */
static void dict_bundles(void)
{
    static const char tmpl[] = "merchant=SEED STORE 0001;terminal=T-0001;"
                               "acquirer=SEED BANK;mcc=5411;country=DE;";
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t master[SFJ_KEY_BYTES], *b = NULL, payload[256];
    char *dir = sfj_test_tmpdir(), *path = sfj_test_path(dir, "j");
    char reason[256];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    size_t i, len = 0, item;

    memset(master, SFJ_FUZZ_BUNDLE_SEED, sizeof master);
    check(sfj_keys_from_bytes(master, sizeof master, &keys) == SFJ_OK, "keys");
    opts.dictionary = tmpl;
    opts.dictionary_len = sizeof tmpl - 1;
    check(sfj_journal_open(path, keys, &opts, &j) == SFJ_OK, "open");
    for (i = 0; i < 3; i++) {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = i == 1 ? SFJ_EV_NOTE : SFJ_EV_TXN_INTENT;
        ev.txn_id = i == 1 ? NULL : i == 0 ? "T-0001" : "T-0002";
        ev.amount = 1999;
        ev.currency = "EUR";
        ev.payload_len = (size_t)snprintf((char *)payload, sizeof payload,
                                          "MSG-%zu %s", i, tmpl);
        ev.payload = payload;
        check(sfj_append(j, &ev, NULL) == SFJ_OK, "append");
    }
    check(sfj_journal_close(j) == SFJ_OK, "close");
    j = NULL;
    check(sfj_journal_open(path, keys, &opts, &j) == SFJ_OK, "reopen");
    check(sfj__bundle_build(j, "T-0001", &b, &len, reason, sizeof reason) ==
              SFJ_OK,
          reason);
    check(sfj__get_u16(b + 10) == SFJ_BUNDLE_F_DICT, "dictionary item");
    put("bundle", "bundle-dict", b, len, NULL, 0);
    /* The item follows "T-0001": key, length, sealed record. */
    item = 77 + 6;
    b[11] = 0;
    put("bundle", "bad-dict-stripped", b, item,
        b + item + SFJ_KEY_BYTES + 4 + sfj__get_u32(b + item + SFJ_KEY_BYTES),
        len - item - SFJ_KEY_BYTES - 4 -
            sfj__get_u32(b + item + SFJ_KEY_BYTES));
    sodium_memzero(b, len);
    free(b);
    check(sfj_journal_close(j) == SFJ_OK, "close");
    sfj_keys_free(keys);
    sfj_test_rmrf(dir);
    free(path);
    free(dir);
}

static void cli(void)
{
    static const char args[] =
        "0\0"
        "18446744073709551605\0"
        "18446744073709551616\0"
        "00042\0"
        "2026-11-23\0"
        "2024-02-29T23:59:59.999Z\0"
        "2026-11-23T14:50:00+01:00\0"
        "0000-01-01T00:00-23:59\0"
        "9999-12-31T23:59:59.1234567Z\0"
        "2023-02-29\0"
        "2026-11-23T14:50\0"
        "hex\0"
        "base64\0"
        "text\0"
        "raw\0"
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\0"
        "zz\0"
        "--from-seq\0"
        "-k\0";

    static const char kinds[] = "note\0checkpoint\0approved\0none\0"
                                "4096\0"
                                "65536\0intent";
    static const char pans[] = "PAN=4111111111111111;X=1234567890123\x01"
                               "99999999999999999999999\\n\t\xff";

    put("cli", "args", args, sizeof args - 1, NULL, 0);
    put("cli", "time-offset", "1970-01-01T00:00+00:01", 22, NULL, 0);
    put("cli", "empty", "", 0, NULL, 0);
    put("cli", "kinds", kinds, sizeof kinds - 1, NULL, 0);
    /* A payload with card numbers of several lengths, for the masking. */
    put("cli", "payload-pans", pans, sizeof pans - 1, NULL, 0);
}

/* The encoder: an event's plaintext against each dictionary, a run long
 * enough for 258-byte matches, bytes that do not compress, and a repeat
 * of the dictionary's start from farther away than any other match. */
static void deflate_seeds(void)
{
    uint8_t which, buf[8192];
    const uint8_t *v1;
    size_t i, v1_len;
    static const char iso[] =
        "0200723A4401288180001640000000000******1111000000000000012500"
        "1127143000000123143000112712345678901212345678TID00042MID0000000"
        "00042MERCHANT NAME          CITY         US978";

    for (which = 0; which < 3; which++) {
        char name[32];

        snprintf(name, sizeof name, "iso-%u", (unsigned)which);
        put("deflate", name, &which, 1, iso, sizeof iso - 1);
    }
    which = 0;
    memset(buf, 'a', 1000);
    put("deflate", "run", &which, 1, buf, 1000);
    for (i = 0; i < 600; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 24);
    put("deflate", "noise", &which, 1, buf, 600);
    check(sfj__dict_bytes(SFJ__DICT_V1, &v1, &v1_len) == SFJ_OK, "dict v1");
    memset(buf, '.', sizeof buf);
    memcpy(buf + sizeof buf - 64, v1, 64);
    put("deflate", "far", &which, 1, buf, sizeof buf);
}

/* Version 2: handshake messages made with the fixed ephemerals, and
 * sealed frames of each message type at counters 0..3. */
typedef struct seal_cap {
    sfj_transport base;
    uint8_t buf[1024];
    size_t len;
} seal_cap;

static int seal_cap_send(sfj_transport *t, const void *buf, size_t len,
                         int timeout_ms, size_t *sent)
{
    seal_cap *c = (seal_cap *)t;

    (void)timeout_ms;
    check(len <= sizeof c->buf, "sealed seed size");
    memcpy(c->buf, buf, len);
    c->len = len;
    *sent = len;
    return 0;
}

static const sfj_transport_ops seal_cap_ops = {SFJ_TRANSPORT_OPS_VERSION,
                                               seal_cap_send, NULL, NULL, NULL};

static void link_v2(const sfj_fuzz_keys *k)
{
    uint8_t e[SFJ_NOISE_DHLEN], pl[512], m1[512], m2[512], body[600], ctl;
    sfj__lsess i = {0}, r = {0};
    sfj__hello2 h;
    sfj__hello_ack ha;
    size_t pn, n1 = 0, n2 = 0, got = 0, n;
    sfj__wire w;
    sfj__cipher c;
    seal_cap cap;
    static const uint8_t types[] = {SFJ_MSG_ENTRY, SFJ_MSG_ACK, SFJ_MSG_NAK,
                                    SFJ_MSG_PING};
    char name[64];
    int t, cn;

    memset(&h, 0, sizeof h);
    strcpy(h.terminal_id, SFJ_FUZZ_TID);
    h.first_unacked = 1;
    h.last_seq = 10;
    check(sfj__lsess_start(&i, 1, k->journal_id, k->link_key) == SFJ_OK,
          "lsess_start");
    memset(e, SFJ_FUZZ_INIT_E, sizeof e);
    sfj__noise_set_ephemeral(i.hs, e);
    pn = sfj__hello2_payload_encode(&h, pl);
    check(sfj__lsess_write(&i, pl, pn, m1, sizeof m1, &n1) == SFJ_OK, "msg1");
    sfj__put_u16(body, 2);
    memcpy(body + 2, k->journal_id, SFJ_JOURNAL_ID_BYTES);
    memcpy(body + SFJ_HELLO2_HDR, m1, n1);
    ctl = 0;
    put("handshake", "hello", &ctl, 1, body, SFJ_HELLO2_HDR + n1);
    check(sfj__lsess_start(&r, 0, k->journal_id, k->link_key) == SFJ_OK,
          "lsess_start");
    memset(e, SFJ_FUZZ_RESP_E, sizeof e);
    sfj__noise_set_ephemeral(r.hs, e);
    check(sfj__lsess_read(&r, m1, n1, pl, sizeof pl, &got) == SFJ_OK, "read1");
    memset(&ha, 0, sizeof ha);
    ha.window = 64;
    ha.next_seq = 1;
    memset(ha.chain, 0x77, sizeof ha.chain);
    strcpy(ha.text, "welcome");
    pn = sfj__hello_ack2_payload_encode(&ha, pl);
    check(sfj__lsess_write(&r, pl, pn, m2, sizeof m2, &n2) == SFJ_OK, "msg2");
    sfj__put_u16(body, 2);
    body[2] = 0;
    memcpy(body + 3, m2, n2);
    ctl = 1;
    put("handshake", "hello-ack", &ctl, 1, body, 3 + n2);
    body[2] = SFJ_HELLO_BAD_AUTH;
    body[3] = 4;
    memcpy(body + 4, "nope", 4);
    put("handshake", "hello-ack-refused", &ctl, 1, body, 8);
    sfj__lsess_end(&i);
    sfj__lsess_end(&r);

    check(sfj__wire_init(&w, SFJ_FRAMING_STREAM) == SFJ_OK, "wire_init");
    cap.base.ops = &seal_cap_ops;
    cap.base.framing = SFJ_FRAMING_STREAM;
    for (cn = 0; cn < 4; cn++) {
        for (t = 0; t < 4; t++) {
            uint8_t *b = sfj__wire_body(&w);

            memset(c.k, SFJ_FUZZ_SEAL_K, sizeof c.k);
            c.n = (uint64_t)cn;
            sfj__put_u64(b, 5);
            if (types[t] == SFJ_MSG_ENTRY) {
                memset(b + 8, 0xab, 64);
                n = 72;
            } else if (types[t] == SFJ_MSG_ACK) {
                memset(b + 8, 0x77, SFJ_HASH_BYTES);
                n = SFJ_ACK2_BODY;
            } else if (types[t] == SFJ_MSG_NAK) {
                b[8] = SFJ_NAK_BAD_FRAME;
                b[9] = 3;
                memcpy(b + 10, "bad", 3);
                n = 13;
            } else {
                n = SFJ_PING_BODY;
            }
            check(sfj__wire_send_sealed(&w, &cap.base, &c, types[t], n, 0) ==
                      SFJ_OK,
                  "seal");
            ctl = (uint8_t)cn;
            snprintf(name, sizeof name, "type%u-n%d", types[t], cn);
            put("sealed", name, &ctl, 1, cap.buf, cap.len);
        }
    }
    sfj__wire_free(&w);
}

int main(int argc, char **argv)
{
    sfj_fuzz_keys k;

    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUT_DIR\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    check(sfj_init() == SFJ_OK, "sfj_init");
    sfj_fuzz_keys_init(&k);
    records_events_frames(&k);
    bundles();
    dict_bundles();
    cli();
    link_v2(&k);
    deflate_seeds();
    return 0;
}
