/* The benchmark payload: an ISO 8583:1987 0200 financial request in the
 * ASCII encoding many terminal hosts use (hex primary bitmap, numeric
 * fields as digits, LLVAR/LLLVAR lengths as digits), with a masked PAN
 * (PCI DSS 3.3.1: no full PAN, track data, CVV or PIN block) and EMV
 * data in field 55. Counters, amounts, times and the cryptogram change
 * from message to message as they do at a real till; nothing is padded
 * with zeros. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* splitmix64: a small deterministic generator, so that runs compare. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct msg {
    char buf[BENCH_PAYLOAD_BYTES + 64];
    size_t len;
    uint8_t bitmap[8];
} msg;

static void field(msg *m, int no, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field(msg *m, int no, const char *fmt, ...)
{
    va_list ap;
    int n;

    m->bitmap[(no - 1) / 8] |= (uint8_t)(0x80u >> ((no - 1) % 8));
    va_start(ap, fmt);
    n = vsnprintf(m->buf + m->len, sizeof m->buf - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t k;

    for (k = 0; k < n; k++) {
        out[2 * k] = digits[b[k] >> 4];
        out[2 * k + 1] = digits[b[k] & 15];
    }
    out[2 * n] = '\0';
}

/* Message i, or (template) the terminal's template: the same layout and
 * the terminal's own fixed fields (acquirer, MCC, entry mode, terminal
 * and merchant ids, name and location, currency), every value that
 * changes from message to message zero, no card data. */
static void compose(uint8_t *out, uint64_t i, int template)
{
    static const char *const last4[] = {"0119", "4242", "7781", "3096",
                                        "5527", "0010", "8843", "2265"};
    uint64_t r = template ? 0 : mix(i),
             r2 = template ? 0 : mix(i ^ 0x5bd1e995u);
    /* A till in the morning rush: one message every few seconds. */
    uint64_t t = template ? 0 : 8 * 3600 + (i * 7) % (10 * 3600);
    unsigned hh = (unsigned)(t / 3600), mi = (unsigned)(t / 60 % 60),
             ss = (unsigned)(t % 60);
    unsigned mon = template ? 0 : 3,
             day = template ? 0 : 14 + (unsigned)(i / 5000 % 14);
    unsigned long long amount =
        template ? 0 : 100 + r % 25000; /* 1.00 .. 250.99 */
    unsigned stan = template ? 0 : (unsigned)(i % 999999) + 1;
    uint8_t icc[35], *p = icc;
    char icc_hex[2 * sizeof icc + 1], bm[17];
    msg m;

    memset(&m, 0, sizeof m);
    /* EMV data (field 55): ARQC, CID, ATC, unpredictable number, date and
     * transaction type, as a chip card returns them. */
    *p++ = 0x9f, *p++ = 0x26, *p++ = 8;
    for (int k = 0; k < 8; k++)
        *p++ = (uint8_t)(r2 >> (8 * k));
    *p++ = 0x9f, *p++ = 0x27, *p++ = 1, *p++ = 0x80;
    *p++ = 0x9f, *p++ = 0x36, *p++ = 2;
    *p++ = template ? 0 : (uint8_t)(i >> 8), *p++ = template ? 0 : (uint8_t)i;
    *p++ = 0x9f, *p++ = 0x37, *p++ = 4;
    for (int k = 0; k < 4; k++)
        *p++ = (uint8_t)(r >> (32 + 8 * k));
    *p++ = 0x9a, *p++ = 3, *p++ = template ? 0 : 0x25, *p++ = (uint8_t)mon;
    *p++ = (uint8_t)(((day / 10) << 4) | (day % 10));
    *p++ = 0x9c, *p++ = 1, *p++ = 0x00;
    hex(icc_hex, icc, (size_t)(p - icc));

    m.len = 4 + 16; /* MTI and bitmap, filled in last */
    if (template)
        field(&m, 2, "160000000000000000");
    else
        field(&m, 2, "16476173******%s", last4[r % 8]);
    field(&m, 3, "000000");
    field(&m, 4, "%012llu", amount);
    field(&m, 7, "%02u%02u%02u%02u%02u", mon, day, hh, mi, ss);
    field(&m, 11, "%06u", stan);
    field(&m, 12, "%02u%02u%02u", hh, mi, ss);
    field(&m, 13, "%02u%02u", mon, day);
    field(&m, 18, "5812");
    field(&m, 22, "051");
    field(&m, 23, "001");
    field(&m, 24, "003");
    field(&m, 25, "00");
    field(&m, 32, "06%06u", 428517u);
    field(&m, 37, "5%03u%02u%06u", 60 + day, hh, stan);
    field(&m, 41, "TID00042");
    field(&m, 42, "MID000004410871");
    field(&m, 43, "%-23s%-13s  %2s", "CAFE CENTRAL HERRENG 14", "WIEN", "AT");
    field(&m, 49, "978");
    field(&m, 55, "%03zu%s", strlen(icc_hex), icc_hex);
    memcpy(m.buf, "0200", 4);
    hex(bm, m.bitmap, 8);
    memcpy(m.buf + 4, bm, 16);
    if (m.len != BENCH_PAYLOAD_BYTES) {
        /* A change to the layout above must keep the size. */
        fprintf(stderr, "sfj-bench: payload is %zu bytes, not %d\n", m.len,
                BENCH_PAYLOAD_BYTES);
        abort();
    }
    memcpy(out, m.buf, BENCH_PAYLOAD_BYTES);
}

void bench_payload(uint8_t *out, uint64_t i)
{
    compose(out, i, 0);
}

int bench_dictionary = BENCH_DICT_SALE;

static const char *const dict_names[] = {"none", "template", "test-sale"};

const char *bench_dictionary_name(void)
{
    return dict_names[bench_dictionary];
}

int bench_dictionary_parse(const char *s)
{
    int k;

    for (k = 0; k < 3; k++) {
        if (strcmp(s, dict_names[k]) == 0) {
            bench_dictionary = k;
            return 0;
        }
    }
    return -1;
}

/* The dictionary the bench's terminal gives its journals at creation
 * (--dictionary), built as an app would build it (sfj_dictionary_build)
 * from the three events of a sale (intent, approved outcome, printed
 * receipt): "test-sale" is the test sale a terminal makes at
 * installation, of message numbers no run reaches; "template" the same
 * events with the terminal's template as payload, every value that
 * changes from sale to sale zero. */
static uint8_t dict_bytes[SFJ_DICTIONARY_MAX];

static size_t bench_dict(void)
{
    static const uint16_t kinds[3] = {SFJ_EV_TXN_INTENT, SFJ_EV_TXN_OUTCOME,
                                      SFJ_EV_RECEIPT};
    uint8_t payloads[3][BENCH_PAYLOAD_BYTES];
    char txns[3][32];
    sfj_event ev[3];
    const sfj_event *evp[3] = {&ev[0], &ev[1], &ev[2]};
    size_t len = 0;
    int k;

    if (bench_dictionary == BENCH_DICT_NONE)
        return 0;
    for (k = 0; k < 3; k++) {
        bench_event(&ev[k], kinds[k], 0, (uint64_t)1 << 40, txns[k],
                    payloads[k]);
        if (bench_dictionary == BENCH_DICT_TEMPLATE) {
            snprintf(txns[k], sizeof txns[k], "T00-0000000000");
            ev[k].amount = 0;
            if (ev[k].auth_code != NULL)
                ev[k].auth_code = "000000";
            compose(payloads[k], 0, 1);
        }
    }
    if (sfj_dictionary_build(evp, 3, dict_bytes, sizeof dict_bytes, &len) !=
        SFJ_OK) {
        fprintf(stderr, "sfj-bench: cannot build the journal dictionary\n");
        abort();
    }
    return len;
}

void bench_event(sfj_event *ev, uint16_t kind, uint64_t stream, uint64_t i,
                 char *txn, uint8_t *payload)
{
    sfj_event e = SFJ_EVENT_INIT;

    snprintf(txn, 32, "T%02llu-%010llu", (unsigned long long)stream,
             (unsigned long long)i);
    e.kind = kind;
    e.txn_id = txn;
    e.currency = "EUR";
    e.amount = (int64_t)(100 + mix(stream << 40 ^ i) % 25000);
    switch (kind) {
    case SFJ_EV_TXN_OUTCOME:
        e.status = SFJ_ST_APPROVED;
        e.auth_code = "A1B2C3";
        break;
    case SFJ_EV_RECEIPT:
        e.status = SFJ_ST_PRINTED;
        e.copy = 1;
        break;
    default:
        break;
    }
    bench_payload(payload, stream * 1000003u + i);
    e.payload = payload;
    e.payload_len = BENCH_PAYLOAD_BYTES;
    *ev = e;
}

int bench_journal_opts(sfj_journal_opts *opts)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;

    o.terminal_id = "TID00042";
    o.dictionary_len = bench_dict();
    o.dictionary = o.dictionary_len > 0 ? dict_bytes : NULL;
    /* Room for a million entries and their index. */
    o.max_bytes = (uint64_t)2 << 30;
    *opts = o;
    return SFJ_OK;
}
