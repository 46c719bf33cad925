/* Settlement per currency: a SETTLEMENT's per-currency totals (event codec
 * 3) round trip, what the writer refuses and every reader refuses alike,
 * which codec version is written, a version-2 caller; the batch's lines
 * (sfj_batch_lines) and their comparison with the host's (sfj_settle_compare)
 * explained per currency. The comparison with a reconciliation is in
 * test_reconcile, beside the generator of journal and report pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/bytes.h"
#include "common/secmem.h"
#include "journal/format/compress.h"
#include "journal/format/event_codec.h"
#include "sfj/sys/internal.h"
#include "support/settletest.h"
#include "support/testutil.h"

#define T0 1700000000000ll

/* An event at T0. */
#define EV(kind, status, txn, amount, cur)                                     \
    sfj_test_event(kind, status, txn, amount, cur, T0)

typedef sfj_test_fixture fixture;

static void reopen(fixture *f)
{
    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
}

/* Three currencies journaled, read back in order, also after a reopen;
 * a settlement without a list reads back with none. */
static void test_totals_round_trip(void **state)
{
    fixture *f = *state;
    sfj_settle_line l[3];
    sfj_event ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 0, NULL);
    sfj_entry *e = NULL;
    uint64_t s1, s2;

    l[0] = sfj_test_settle_line("EUR", 12, 34550);
    l[1] = sfj_test_settle_line("JPY", 3, 120000);
    l[2] = sfj_test_settle_line("KWD", 1,
                                -1250); /* a net that reversals made negative */
    ev.totals = l;
    ev.n_totals = 3;
    s1 = sfj_test_put(f->j, &ev);
    ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL, 0, NULL);
    s2 = sfj_test_put(f->j, &ev);
    reopen(f);
    assert_int_equal(sfj_read(f->j, s1, &e), SFJ_OK);
    assert_int_equal(e->n_totals, 3);
    assert_string_equal(e->totals[0].currency, "EUR");
    assert_int_equal(e->totals[0].count, 12);
    assert_int_equal(e->totals[0].amount, 34550);
    assert_string_equal(e->totals[1].currency, "JPY");
    assert_int_equal(e->totals[1].amount, 120000);
    assert_string_equal(e->totals[2].currency, "KWD");
    assert_int_equal(e->totals[2].count, 1);
    assert_int_equal(e->totals[2].amount, -1250);
    sfj_entry_free(e);
    assert_int_equal(sfj_read(f->j, s2, &e), SFJ_OK);
    assert_int_equal(e->n_totals, 0);
    sfj_entry_free(e);
}

/* Each malformed list is refused with SFJ_EINVAL and nothing is written. */
static void test_totals_refused(void **state)
{
    fixture *f = *state;
    sfj_settle_line l[SFJ_SETTLE_LINES_MAX + 1];
    static uint8_t big[SFJ_PAYLOAD_MAX];
    uint64_t before = sfj_test_last_seq(f->j);
    size_t i;
    int c;

    for (i = 0; i < SFJ_SETTLE_LINES_MAX + 1; i++) {
        char cur[4] = {'A', (char)('A' + i / 26), (char)('A' + i % 26), 0};

        l[i] = sfj_test_settle_line(cur, 1, 100);
    }
    for (c = 0; c < 9; c++) {
        sfj_event ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 0, NULL);
        sfj_settle_line bad[2] = {sfj_test_settle_line("EUR", 1, 100),
                                  sfj_test_settle_line("USD", 2, 200)};

        ev.totals = bad;
        ev.n_totals = 2;
        switch (c) {
        case 0:
            strcpy(bad[1].currency, "EUR"); /* a currency twice */
            break;
        case 1:
            strcpy(bad[1].currency, "usd");
            break;
        case 2:
            strcpy(bad[1].currency, "");
            break;
        case 3:
            bad[1].count = SFJ_SETTLE_COUNT_MAX + 1ull;
            break;
        case 4:
            ev.totals = l; /* too many lines */
            ev.n_totals = SFJ_SETTLE_LINES_MAX + 1;
            break;
        case 5:
            ev.totals = NULL;
            break;
        case 6:
            ev.kind = SFJ_EV_NOTE; /* SETTLEMENT only */
            break;
        case 7:
            ev.payload = big; /* the list shares the payload's room */
            ev.payload_len = sizeof big;
            break;
        case 8:
            memcpy(bad[0].currency, "EURO", 4); /* not NUL-terminated */
            break;
        }
        if (sfj_append(f->j, &ev, NULL) != SFJ_EINVAL)
            fail_msg("case %d accepted", c);
    }
    assert_int_equal(sfj_test_last_seq(f->j), before);
    /* The limits themselves pass. */
    {
        sfj_event ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 0, NULL);

        l[0].count = SFJ_SETTLE_COUNT_MAX;
        ev.totals = l;
        ev.n_totals = SFJ_SETTLE_LINES_MAX;
        ev.payload = big;
        ev.payload_len =
            SFJ_PAYLOAD_MAX - SFJ__SETTLE_LIST_BYTES(SFJ_SETTLE_LINES_MAX);
        sfj_test_put(f->j, &ev);
    }
}

/* Version 3 only with a list (older readers keep reading journals that
 * never use it); version 2 with references alone. A reader refuses a
 * list a writer would have refused. */
/* A packed event as its encoder wrote it: when the empty references (and
 * so some of the random payload's neighbours) deflated, inflate it. */
static void raw_event(uint8_t **pt, size_t *len, uint8_t *flags)
{
    uint8_t *raw;
    size_t raw_len;

    if (*flags == 0)
        return;
    assert_int_equal(
        sfj__inflate_len(*pt, *len, SFJ__EVENT_MAX_BYTES, &raw_len), SFJ_OK);
    raw = malloc(raw_len);
    assert_non_null(raw);
    assert_int_equal(sfj__inflate(SFJ__DICT_V2, *pt, *len, raw, raw_len),
                     SFJ_OK);
    free(*pt);
    *pt = raw;
    *len = raw_len;
    *flags = 0;
}

static void test_codec_v3(void **state)
{
    sfj_settle_line l[2] = {sfj_test_settle_line("EUR", 1, 100),
                            sfj_test_settle_line("USD", 2, 200)};
    sfj_event ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 0, NULL);
    uint8_t *pt = NULL, flags = 0, noise[512];
    size_t len = 0, off;
    sfj_entry e;

    (void)state;
    randombytes_buf(noise, sizeof noise); /* keeps it uncompressed */
    ev.payload = noise;
    ev.payload_len = sizeof noise;
    assert_int_equal(sfj__event_pack(&ev, 1, &pt, &len, &flags), SFJ_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(pt[0], SFJ__EVENT_CODEC_V1);
    free(pt);
    ev.note = "batch 7";
    assert_int_equal(sfj__event_pack(&ev, 1, &pt, &len, &flags), SFJ_OK);
    raw_event(&pt, &len, &flags);
    assert_int_equal(pt[0], SFJ__EVENT_CODEC_V2);
    free(pt);
    ev.totals = l;
    ev.n_totals = 2;
    assert_int_equal(sfj__event_pack(&ev, 1, &pt, &len, &flags), SFJ_OK);
    raw_event(&pt, &len, &flags);
    assert_int_equal(pt[0], SFJ__EVENT_CODEC_V3);
    memset(&e, 0, sizeof e);
    e.kind = SFJ_EV_SETTLEMENT;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_int_equal(sfj__entry_validate(&e), SFJ_OK);
    assert_int_equal(e.n_totals, 2);
    assert_string_equal(e.note, "batch 7");
    assert_int_equal(e.totals[1].count, 2);
    sfj__secmem_free(e.payload);
    /* The list sits right before copy and payload_len: the second line's
     * currency is 8 + 512 + 15 bytes from the end. */
    off = len - 8 - sizeof noise - SFJ__SETTLE_LINE_BYTES;
    assert_memory_equal(pt + off, "USD", 3);
    memcpy(pt + off, "EUR", 3); /* a currency twice */
    memset(&e, 0, sizeof e);
    e.kind = SFJ_EV_SETTLEMENT;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_int_equal(sfj__entry_validate(&e), SFJ_ECORRUPT);
    sfj__secmem_free(e.payload);
    memcpy(pt + off, "US1", 3); /* not A-Z */
    memset(&e, 0, sizeof e);
    e.kind = SFJ_EV_SETTLEMENT;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_int_equal(sfj__entry_validate(&e), SFJ_ECORRUPT);
    sfj__secmem_free(e.payload);
    memcpy(pt + off, "USD", 3);
    e.kind = SFJ_EV_NOTE; /* a list on another kind */
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_int_equal(sfj__entry_validate(&e), SFJ_ECORRUPT);
    sfj__secmem_free(e.payload);
    /* A list of 0 lines, or one that runs past the end: damaged. */
    pt[off - 1 - SFJ__SETTLE_LINE_BYTES] = 0;
    memset(&e, 0, sizeof e);
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_ECORRUPT);
    pt[off - 1 - SFJ__SETTLE_LINE_BYTES] = 200;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_ECORRUPT);
    /* Version 4 is unknown. */
    pt[off - 1 - SFJ__SETTLE_LINE_BYTES] = 2;
    pt[0] = SFJ__EVENT_CODEC_V3 + 1;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_ECORRUPT);
    free(pt);
}

/* A version-2 caller's struct ends at note: whatever follows it in memory
 * is never read as a list. */
static void test_event_v2_caller(void **state)
{
    fixture *f = *state;
    sfj_event ev = EV(SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 0, NULL);
    sfj_settle_line l = sfj_test_settle_line("EUR", 1, 100);
    sfj_entry *e = NULL;
    uint64_t seq;

    ev.version = 2;
    ev.totals = &l; /* beyond a version-2 struct */
    ev.n_totals = 1;
    seq = sfj_test_put(f->j, &ev);
    assert_int_equal(sfj_read(f->j, seq, &e), SFJ_OK);
    assert_int_equal(e->n_totals, 0);
    sfj_entry_free(e);
}

/* The batch's lines per currency: approved sales counted, reversals
 * taken off the amount; in-doubt intents and declines left out. */
static void test_batch_lines(void **state)
{
    fixture *f = *state;
    sfj_event ev;
    sfj_batch *b = NULL;
    sfj_settle_line out[4], one[1];
    size_t n = 99, i;
    static const struct {
        uint16_t kind, status;
        const char *txn;
        int64_t amount;
        const char *cur;
    } evs[] = {
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "L1", 1000, "EUR"},
        {SFJ_EV_TXN_INTENT, 0, "L2", 500, "USD"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "L2", 500, "USD"},
        {SFJ_EV_TXN_INTENT, 0, "L3", 250, "EUR"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "L3", 250, "EUR"},
        {SFJ_EV_REVERSAL, SFJ_ST_REV_SENT, "L3", 250, "EUR"},
        {SFJ_EV_TXN_INTENT, 0, "L4", 700, "EUR"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "L4", 700, "EUR"},
        {SFJ_EV_TXN_INTENT, 0, "L5", 900, "EUR"},
    };

    for (i = 0; i < sizeof evs / sizeof evs[0]; i++) {
        ev = EV(evs[i].kind, evs[i].status, evs[i].txn, evs[i].amount,
                evs[i].cur);
        sfj_test_put(f->j, &ev);
    }
    assert_int_equal(sfj_batch_totals(f->j, &b), SFJ_OK);
    assert_int_equal(sfj_batch_lines(b, out, 4, &n), SFJ_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].currency, "EUR");
    assert_int_equal(out[0].count, 2);
    assert_int_equal(out[0].amount, 1000);
    assert_string_equal(out[1].currency, "USD");
    assert_int_equal(out[1].count, 1);
    assert_int_equal(out[1].amount, 500);
    assert_int_equal(sfj_batch_lines(b, one, 1, &n), SFJ_EBUFS);
    assert_int_equal(sfj_batch_lines(NULL, out, 4, &n), SFJ_EINVAL);
    assert_int_equal(n, 0);
    sfj_batch_free(b);
}

/* Per currency: balanced; a sale the host lacks and an intent in doubt the
 * host charged explain their currencies; nothing fits; the acknowledged
 * sale whose amount is the difference; bad host lines. */
static void test_settle_compare(void **state)
{
    fixture *f = *state;
    sfj_settle_opts o = SFJ_SETTLE_OPTS_INIT;
    sfj_settle_line host[3];
    sfj_settle_diff *d = NULL;
    sfj_event ev;
    uint64_t s_f2, s_doubt, s_n1;

    ev = EV(SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "F1", 100, "EUR");
    sfj_test_put(f->j, &ev);
    ev = EV(SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "F2", 200, "EUR");
    s_f2 = sfj_test_put(f->j, &ev);
    ev = EV(SFJ_EV_TXN_INTENT, 0, "N1", 500, "USD");
    sfj_test_put(f->j, &ev);
    ev = EV(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "N1", 500, "USD");
    s_n1 = sfj_test_put(f->j, &ev);
    ev = EV(SFJ_EV_TXN_INTENT, 0, "N2", 800, "USD");
    s_doubt = sfj_test_put(f->j, &ev);
    reopen(f); /* N2 is now in doubt */
    assert_int_equal(sfj__journal_ack(f->j, 1, NULL, 0), SFJ_OK);
    assert_int_equal(sfj__journal_ack(f->j, 1, &s_n1, 1), SFJ_OK);

    host[0] = sfj_test_settle_line("EUR", 2, 300);
    host[1] = sfj_test_settle_line("USD", 1, 500);
    assert_int_equal(sfj_settle_compare(f->j, host, 2, &o, &d), SFJ_OK);
    assert_true(d->balanced);
    assert_int_equal(d->n_lines, 0);
    assert_int_equal(d->n_why, 0);
    sfj_settle_diff_free(d);

    host[0] =
        sfj_test_settle_line("EUR", 1, 100); /* F2 never reached the host */
    host[1] = sfj_test_settle_line("USD", 2, 1300); /* the host approved N2 */
    assert_int_equal(sfj_settle_compare(f->j, host, 2, NULL, &d), SFJ_OK);
    assert_false(d->balanced);
    assert_int_equal(d->n_lines, 2);
    assert_string_equal(d->lines[0].currency, "EUR");
    assert_int_equal(d->lines[0].local_amount, 300);
    assert_int_equal(d->lines[0].host_amount, 100);
    assert_int_equal(d->lines[0].explained, 1);
    assert_string_equal(d->lines[1].currency, "USD");
    assert_int_equal(d->lines[1].explained, 1);
    assert_int_equal(d->n_why, 2);
    assert_int_equal(sfj_test_why(d, "F2", 0)->seq, s_f2);
    assert_int_equal(sfj_test_why(d, "F2", 0)->reason, SFJ_DIFF_UNFORWARDED);
    assert_int_equal(sfj_test_why(d, "F2", 0)->delta, 200);
    assert_int_equal(sfj_test_why(d, "F2", 0)->count_delta, 1);
    assert_int_equal(sfj_test_why(d, "F2", 0)->recon_class, -1);
    assert_null(sfj_test_why(d, "F2", 0)->report);
    assert_int_equal(sfj_test_why(d, "N2", 0)->seq, s_doubt);
    assert_int_equal(sfj_test_why(d, "N2", 0)->reason, SFJ_DIFF_IN_DOUBT);
    assert_int_equal(sfj_test_why(d, "N2", 0)->delta, -800);
    assert_string_equal(sfj_test_why(d, "N2", 0)->currency, "USD");
    sfj_settle_diff_free(d);

    /* The host has another amount in EUR and a currency the batch lacks:
     * nothing fits either. */
    host[0] = sfj_test_settle_line("EUR", 2, 310);
    host[1] = sfj_test_settle_line("USD", 1, 500);
    host[2] = sfj_test_settle_line("GBP", 1, 50);
    assert_int_equal(sfj_settle_compare(f->j, host, 3, NULL, &d), SFJ_OK);
    assert_int_equal(d->n_lines, 2);
    assert_string_equal(d->lines[0].currency, "EUR");
    assert_int_equal(d->lines[0].explained, 0);
    assert_string_equal(d->lines[1].currency, "GBP");
    assert_int_equal(d->lines[1].local_count, 0);
    assert_int_equal(d->lines[1].host_count, 1);
    assert_int_equal(d->lines[1].explained, 0);
    sfj_settle_diff_free(d);

    /* The host lacks a sale it did acknowledge: the one whose amount is
     * the difference is named. */
    host[0] = sfj_test_settle_line("EUR", 1, 200);
    host[1] = sfj_test_settle_line("USD", 2, 1300);
    assert_int_equal(sfj_settle_compare(f->j, host, 2, NULL, &d), SFJ_OK);
    assert_int_equal(d->lines[0].explained, 1);
    assert_int_equal(sfj_test_why(d, "F1", 0)->reason, SFJ_DIFF_AMOUNT);
    assert_int_equal(sfj_test_why(d, "F1", 0)->delta, 100);
    sfj_settle_diff_free(d);

    /* Bad host lines, bad options. */
    host[1] = sfj_test_settle_line("EUR", 1, 1);
    assert_int_equal(sfj_settle_compare(f->j, host, 2, NULL, &d), SFJ_EINVAL);
    assert_null(d);
    host[1] = sfj_test_settle_line("eur", 1, 1);
    assert_int_equal(sfj_settle_compare(f->j, host, 2, NULL, &d), SFJ_EINVAL);
    o.version = SFJ_SETTLE_OPTS_VERSION + 1;
    assert_int_equal(sfj_settle_compare(f->j, host, 1, &o, &d), SFJ_EVERSION);
    o.version = 0;
    assert_int_equal(sfj_settle_compare(f->j, host, 1, &o, &d), SFJ_EVERSION);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_totals_round_trip,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_totals_refused,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test(test_codec_v3),
        cmocka_unit_test_setup_teardown(test_event_v2_caller,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_batch_lines, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_settle_compare,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
