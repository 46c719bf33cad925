/* The acquirer's references on events (event codec 2): round trip, what is
 * refused (a card number in clear above all), version-1 callers and
 * version-1 plaintexts; an OUTCOME checked against its sale (tip, partial
 * approval, currency); the acquirer's answer to a forwarded offline sale
 * and its settlement totals; the terminal id getter and short txn ids. */
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
#include "journal/format/event_codec.h"
#include "sfj/sys/internal.h"
#include "support/settletest.h"
#include "support/testutil.h"

#define T0 1700000000000ll

typedef sfj_test_fixture fixture;

static sfj_event sale(uint16_t kind, uint16_t status, const char *txn,
                      int64_t amount, const char *cur)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = cur;
    ev.wall_ms = T0;
    return ev;
}

static void test_refs_round_trip(void **state)
{
    fixture *f = *state;
    sfj_event ev = sale(SFJ_EV_TXN_INTENT, 0, "R1", 1250, "EUR");
    sfj_entry *e = NULL;
    uint64_t seq;

    sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "R1", 1400, "EUR");
    ev.auth_code = "A12345";
    ev.rrn = "123456789012";
    ev.stan = "000417";
    ev.response_code = "00";
    ev.merchant_ref = "R1";
    ev.card = "411111******1111";
    ev.tip = 150;
    ev.note = "tip on the slip";
    seq = sfj_test_put(f->j, &ev);
    assert_int_equal(sfj_read(f->j, seq, &e), SFJ_OK);
    assert_string_equal(e->rrn, "123456789012");
    assert_string_equal(e->stan, "000417");
    assert_string_equal(e->response_code, "00");
    assert_string_equal(e->merchant_ref, "R1");
    assert_string_equal(e->card, "411111******1111");
    assert_int_equal(e->tip, 150);
    assert_int_equal(e->flags, 0);
    assert_string_equal(e->note, "tip on the slip");
    assert_int_equal(e->amount, 1400);
    sfj_entry_free(e);
    /* An event without references reads back with them empty. */
    assert_int_equal(sfj_read(f->j, seq - 1, &e), SFJ_OK);
    assert_string_equal(e->rrn, "");
    assert_string_equal(e->card, "");
    assert_int_equal(e->tip, 0);
    sfj_entry_free(e);
}

/* Each malformed reference is refused and nothing is written; a card
 * number in clear, in the card field, as the merchant reference or inside
 * the note, is SFJ_EPAN. */
static void test_refs_refused(void **state)
{
    fixture *f = *state;
    sfj_event ev;
    uint64_t before;
    int i;

    ev = sale(SFJ_EV_TXN_INTENT, 0, "R2", 100, "EUR");
    sfj_test_put(f->j, &ev);
    before = sfj_test_last_seq(f->j);
    for (i = 0; i < 14; i++) {
        int want = SFJ_EINVAL;

        ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "R2", 100, "EUR");
        switch (i) {
        case 0:
            ev.card = "4111111111111111"; /* a PAN in clear */
            want = SFJ_EPAN;
            break;
        case 1:
            ev.card = "411111*****11111"; /* five digits at the end */
            want = SFJ_EPAN;
            break;
        case 2:
            ev.merchant_ref = "4111111111111111";
            want = SFJ_EPAN;
            break;
        case 3:
            ev.note = "card 4111 1111 1111 1111 by phone";
            want = SFJ_EPAN;
            break;
        case 4:
            ev.rrn = "1234567890123"; /* 13 characters */
            break;
        case 5:
            ev.stan = "12a";
            break;
        case 6:
            ev.response_code = "0000";
            break;
        case 7:
            ev.card = "4111**";
            break;
        case 8:
            ev.note = "line\nbreak";
            break;
        case 9:
            ev.tip = -1;
            break;
        case 10:
            ev.flags = 0x80;
            break;
        case 11:
            ev.flags = SFJ_EVF_MANUAL; /* manual is for OFFLINE */
            break;
        case 12:
            ev.kind = SFJ_EV_TXN_INTENT;
            ev.status = 0;
            ev.tip = 5; /* a tip belongs to the answer */
            break;
        default:
            ev.status = SFJ_ST_DECLINED;
            ev.flags = SFJ_EVF_PARTIAL;
            break;
        }
        if (sfj_append(f->j, &ev, NULL) != want)
            fail_msg("case %d: want %d", i, want);
    }
    assert_int_equal(sfj_test_last_seq(f->j), before);
    assert_int_equal(sfj_looks_like_pan("4111-1111-1111-1111"), 1);
    assert_int_equal(sfj_looks_like_pan("4111111111111112"), 0); /* Luhn */
    assert_int_equal(sfj_looks_like_pan("411111******1111"), 0);
    assert_int_equal(sfj_looks_like_pan(NULL), 0);
}

/* A caller built against version 1 of sfj_event: the struct ends at
 * payload_len, and whatever lies after it is never read. */
static void test_event_v1_caller(void **state)
{
    fixture *f = *state;
    struct {
        sfj_event ev;
    } *buf = malloc(sizeof *buf);
    sfj_entry *e = NULL;
    uint64_t seq;

    assert_non_null(buf);
    memset(buf, 0xA5, sizeof *buf); /* garbage past the v1 fields */
    memcpy(&buf->ev, &(sfj_event)SFJ_EVENT_INIT, offsetof(sfj_event, rrn));
    buf->ev.version = 1;
    buf->ev.kind = SFJ_EV_NOTE;
    buf->ev.amount = 5;
    assert_int_equal(sfj_append(f->j, &buf->ev, &seq), SFJ_OK);
    assert_int_equal(sfj_read(f->j, seq, &e), SFJ_OK);
    assert_string_equal(e->rrn, "");
    assert_int_equal(e->flags, 0);
    sfj_entry_free(e);
    free(buf);
}

/* A version-1 plaintext (written before codec 2) decodes with empty
 * references; one with references is version 2 and version 1 still is
 * what an event without them is written as. */
static void test_codec_versions(void **state)
{
    sfj_event ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "C1", 7, "EUR");
    sfj_entry e;
    uint8_t *pt = NULL, flags = 0, noise[4096];
    size_t len = 0;

    (void)state;
    randombytes_buf(noise, sizeof noise); /* keeps it uncompressed */
    ev.payload = noise;
    ev.payload_len = sizeof noise;
    assert_int_equal(sfj__event_pack(&ev, 3, &pt, &len, &flags), SFJ_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(pt[0], SFJ__EVENT_CODEC_V1);
    memset(&e, 0, sizeof e);
    memset(e.rrn, 'x', sizeof e.rrn - 1);
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_string_equal(e.rrn, "");
    sfj__secmem_free(e.payload);
    free(pt);
    ev.rrn = "RRN1";
    assert_int_equal(sfj__event_pack(&ev, 3, &pt, &len, &flags), SFJ_OK);
    assert_int_equal(pt[0], SFJ__EVENT_CODEC_V2);
    memset(&e, 0, sizeof e);
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_OK);
    assert_string_equal(e.rrn, "RRN1");
    sfj__secmem_free(e.payload);
    e.payload = NULL;
    /* A version-2 plaintext relabelled version 1: damaged. */
    pt[0] = SFJ__EVENT_CODEC_V1;
    assert_int_equal(sfj__event_unpack(pt, len, flags, &e), SFJ_ECORRUPT);
    free(pt);
}

/* An OUTCOME's amount and currency against its INTENT. */
static void test_outcome_amount(void **state)
{
    fixture *f = *state;
    sfj_event ev;
    uint64_t before;

    ev = sale(SFJ_EV_TXN_INTENT, 0, "A1", 10000, "EUR");
    sfj_test_put(f->j, &ev);
    before = sfj_test_last_seq(f->j);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A1", 150, "JPY");
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A1", 10000, "USD");
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A1", 10001, "EUR");
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev.tip = 2; /* 10000 + 2 != 10001 */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A1", 10000, "EUR");
    ev.flags = SFJ_EVF_PARTIAL; /* not less than asked */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    assert_int_equal(sfj_test_last_seq(f->j), before);
    ev.amount = 6000; /* a partial approval */
    sfj_test_put(f->j, &ev);

    ev = sale(SFJ_EV_TXN_INTENT, 0, "A2", 10000, "EUR");
    sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A2", 11000, "EUR");
    ev.tip = 1000;
    sfj_test_put(f->j, &ev);
    /* No amount at all: the intent's stands (as before codec 2). */
    ev = sale(SFJ_EV_TXN_INTENT, 0, "A3", 10000, "EUR");
    sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "A3", 0, NULL);
    sfj_test_put(f->j, &ev);
    /* A decline may carry no amount, but not another currency. */
    ev = sale(SFJ_EV_TXN_INTENT, 0, "A4", 10000, "EUR");
    sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "A4", 0, "USD");
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev.currency = "EUR";
    sfj_test_put(f->j, &ev);
}

/* The acquirer's answer to an offline sale: refused until the OFFLINE
 * entry is acknowledged upstream, then DONE; an approval counts once in
 * the totals, a decline takes the sale out of them. */
static void test_outcome_on_offline(void **state)
{
    fixture *f = *state;
    sfj_event ev;
    sfj_txn t = SFJ_TXN_INIT;
    sfj_batch *b = NULL;
    uint64_t s1, s2;
    size_t i;
    int64_t offline_sum = 0, outcome_sum = 0;

    ev = sale(SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OF1", 500, "EUR");
    s1 = sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "OF2", 700, "EUR");
    s2 = sfj_test_put(f->j, &ev);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "OF1", 500, "EUR");
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_ESTATE);
    assert_int_equal(sfj__journal_ack(f->j, s2, NULL, 0), SFJ_OK);
    ev.status = SFJ_ST_ERROR;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_ESTATE);
    ev.status = SFJ_ST_APPROVED;
    ev.amount = 400;
    ev.flags = SFJ_EVF_PARTIAL; /* an offline sale is taken whole */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_EAMOUNT);
    ev.amount = 500;
    ev.flags = SFJ_EVF_RECONCILED;
    ev.note = "report.csv:2";
    sfj_test_put(f->j, &ev);
    assert_int_equal(sfj_txn_get(f->j, "OF1", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_APPROVED);
    assert_int_equal(t.offline_seq, s1);
    ev = sale(SFJ_EV_TXN_OUTCOME, SFJ_ST_DECLINED, "OF2", 700, "EUR");
    sfj_test_put(f->j, &ev);
    assert_int_equal(sfj_txn_get(f->j, "OF2", &t), SFJ_OK);
    assert_int_equal(t.state, SFJ_TXN_DONE);
    assert_int_equal(t.outcome, SFJ_ST_DECLINED);
    /* A second answer is refused. */
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_ESTATE);

    assert_int_equal(sfj_batch_totals(f->j, &b), SFJ_OK);
    for (i = 0; i < b->n; i++) {
        if (b->totals[i].kind == SFJ_EV_TXN_OFFLINE)
            offline_sum += b->totals[i].amount;
        if (b->totals[i].kind == SFJ_EV_TXN_OUTCOME)
            outcome_sum += b->totals[i].amount;
    }
    sfj_batch_free(b);
    assert_int_equal(offline_sum, 500);
    assert_int_equal(outcome_sum, 0);
}

static void test_terminal_id_and_short_ids(void **state)
{
    fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    char tid[SFJ_TERMINAL_ID_MAX + 1], small[4];
    char a[SFJ_TXN_ID_SHORT_LEN + 1], b[SFJ_TXN_ID_SHORT_LEN + 1];
    sfj_event ev;
    char *p = sfj_test_path(f->dir, "t2");

    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    o.terminal_id = "TERM-0042";
    assert_int_equal(sfj_journal_open(p, f->keys, &o, &f->j), SFJ_OK);
    assert_int_equal(sfj_journal_terminal_id(f->j, tid, sizeof tid), SFJ_OK);
    assert_string_equal(tid, "TERM-0042");
    assert_int_equal(sfj_journal_terminal_id(f->j, small, sizeof small),
                     SFJ_EBUFS);
    free(p);

    assert_int_equal(sfj_txn_id_short(a, sizeof a), SFJ_OK);
    assert_int_equal(sfj_txn_id_short(b, sizeof b), SFJ_OK);
    assert_int_equal(strlen(a), 12);
    assert_int_equal(strspn(a, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 12);
    assert_string_not_equal(a, b);
    assert_int_equal(sfj_txn_id_short(small, sizeof small), SFJ_EBUFS);
    ev = sale(SFJ_EV_TXN_INTENT, 0, a, 100, "EUR");
    ev.merchant_ref = a;
    sfj_test_put(f->j, &ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refs_round_trip,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_refs_refused, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_event_v1_caller,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test(test_codec_versions),
        cmocka_unit_test_setup_teardown(test_outcome_amount,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_outcome_on_offline,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_terminal_id_and_short_ids,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
