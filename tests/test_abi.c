/* Versioned public structs: every entry point that takes one accepts the
 * versions 1..current and refuses 0 (never initialised) and current + 1 (a
 * caller built against a newer header) with SFJ_EVERSION, leaving nothing
 * written; the range rule itself is checked with a larger current. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/abi.h"
#include "sfj/sfj.h"
#include "support/testutil.h"

/* The rule, with a current version of 3: older and current accepted. */
static void test_range_rule(void **state)
{
    unsigned v;

    (void)state;
    for (v = 0; v < 6; v++)
        assert_int_equal(SFJ__VERSION_OK(v, 3u), v >= 1 && v <= 3);
    assert_false(SFJ__VERSION_OK(0u, 1u));
    assert_true(SFJ__VERSION_OK(1u, 1u));
    assert_false(SFJ__VERSION_OK(2u, 1u));
}

static void test_journal_opts(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;

    o.version = 0;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_EVERSION);
    assert_null(j);
    o.version = SFJ_JOURNAL_OPTS_VERSION + 1;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_EVERSION);
    assert_null(j);
    o.version = SFJ_JOURNAL_OPTS_VERSION;
    assert_int_equal(sfj_journal_open(f->path, f->keys, &o, &j), SFJ_OK);
    assert_non_null(j);
    f->j = j;
}

static void test_event(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_stats st = SFJ_STATS_INIT;
    uint64_t seq = 99;

    ev.kind = SFJ_EV_NOTE;
    ev.version = 0;
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_EVERSION);
    assert_int_equal(seq, 0);
    ev.version = SFJ_EVENT_VERSION + 1;
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_EVERSION);
    /* Nothing was written by the refusals. */
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.last_seq, 0);
    ev.version = SFJ_EVENT_VERSION;
    assert_int_equal(sfj_append(f->j, &ev, &seq), SFJ_OK);
    assert_int_equal(seq, 1);
}

static void test_stats(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_stats st = SFJ_STATS_INIT;

    ev.kind = SFJ_EV_NOTE;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    memset(&st, 0x5a, sizeof st);
    st.version = 0;
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_EVERSION);
    assert_int_equal(st.last_seq, 0x5a5a5a5a5a5a5a5aull); /* untouched */
    st.version = SFJ_STATS_VERSION + 1;
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_EVERSION);
    assert_int_equal(st.last_seq, 0x5a5a5a5a5a5a5a5aull);
    st.version = SFJ_STATS_VERSION;
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.version, SFJ_STATS_VERSION);
    assert_int_equal(st.last_seq, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.limit_hit, SFJ_LIMIT_NONE);
    assert_int_equal(st.journal_format, sfj_test_format1() ? 1 : 2);
    /* A caller built against version 1 gets the fields of version 1 and
     * nothing past them. */
    memset(&st, 0x5a, sizeof st);
    st.version = 1;
    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    assert_int_equal(st.version, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.journal_format, 0x5a5a5a5au);
}

static void test_pending(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_pending p = SFJ_PENDING_INIT;

    ev.kind = SFJ_EV_TXN_OFFLINE;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = "abi-1";
    ev.amount = 12850;
    ev.currency = "EUR";
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    memset(&p, 0x5a, sizeof p);
    p.version = 0;
    assert_int_equal(sfj_pending_get(f->j, &p), SFJ_EVERSION);
    assert_int_equal(p.sales, 0x5a5a5a5a5a5a5a5aull); /* untouched */
    p.version = SFJ_PENDING_VERSION + 1;
    assert_int_equal(sfj_pending_get(f->j, &p), SFJ_EVERSION);
    assert_int_equal(p.sales, 0x5a5a5a5a5a5a5a5aull);
    p.version = SFJ_PENDING_VERSION;
    assert_int_equal(sfj_pending_get(f->j, &p), SFJ_OK);
    assert_int_equal(p.version, SFJ_PENDING_VERSION);
    assert_int_equal(p.sales, 1);
    assert_int_equal(p.currencies[0].amount, 12850);
}

static void test_txn(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_event ev = SFJ_EVENT_INIT;
    sfj_txn t = SFJ_TXN_INIT;

    ev.kind = SFJ_EV_TXN_INTENT;
    ev.txn_id = "ABI-1";
    ev.amount = 100;
    ev.currency = "EUR";
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    memset(&t, 0x5a, sizeof t);
    t.version = 0;
    assert_int_equal(sfj_txn_get(f->j, "ABI-1", &t), SFJ_EVERSION);
    assert_int_equal(t.intent_seq, 0x5a5a5a5a5a5a5a5aull);
    t.version = SFJ_TXN_VERSION + 1;
    assert_int_equal(sfj_txn_get(f->j, "ABI-1", &t), SFJ_EVERSION);
    assert_int_equal(t.intent_seq, 0x5a5a5a5a5a5a5a5aull);
    t.version = SFJ_TXN_VERSION;
    assert_int_equal(sfj_txn_get(f->j, "ABI-1", &t), SFJ_OK);
    assert_int_equal(t.version, SFJ_TXN_VERSION);
    assert_int_equal(t.state, SFJ_TXN_INTENT);
    assert_int_equal(t.intent_seq, 1);
    assert_int_equal(t.flags, 0);
}

static void test_query(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = (sfj_iter *)&q;
    sfj_entry *e = NULL;
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = SFJ_EV_NOTE;
    assert_int_equal(sfj_append(f->j, &ev, NULL), SFJ_OK);
    q.version = 0;
    assert_int_equal(sfj_iter_open(f->j, &q, &it), SFJ_EVERSION);
    assert_null(it);
    q.version = SFJ_QUERY_VERSION + 1;
    assert_int_equal(sfj_iter_open(f->j, &q, &it), SFJ_EVERSION);
    assert_null(it);
    q.version = SFJ_QUERY_VERSION;
    q.kind = SFJ_EV_NOTE;
    assert_int_equal(sfj_iter_open(f->j, &q, &it), SFJ_OK);
    assert_int_equal(sfj_iter_next(it, &e), SFJ_OK);
    assert_int_equal(e->kind, SFJ_EV_NOTE);
    sfj_entry_free(e);
    sfj_iter_free(it);
}

static int deliver_ack(const sfj_entry *e, void *payload)
{
    (void)e;
    (void)payload;
    return SFJ_DELIVER_ACK;
}

static void test_forwarder_opts(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;

    o.sink = SFJ_SINK_CALLBACK;
    o.deliver = deliver_ack;
    o.version = 0;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EVERSION);
    assert_null(fw);
    o.version = SFJ_FORWARDER_OPTS_VERSION + 1;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EVERSION);
    assert_null(fw);
    o.version = SFJ_FORWARDER_OPTS_VERSION;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    assert_non_null(fw);
    sfj_forwarder_free(fw);
    fw = NULL;

    /* The serial line settings inside are checked as well. */
    o.sink = SFJ_SINK_SERIAL;
    o.serial_backend = SFJ_SERIAL_TERMIOS;
    o.address = "/dev/null";
    o.serial.version = 0;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EVERSION);
    assert_null(fw);
    o.serial.version = SFJ_SERIAL_OPTS_VERSION + 1;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_EVERSION);
    assert_null(fw);
    o.serial.version = SFJ_SERIAL_OPTS_VERSION;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    sfj_forwarder_free(fw);
}

static void test_forwarder_info(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_forwarder *fw = NULL;

    o.sink = SFJ_SINK_CALLBACK;
    o.deliver = deliver_ack;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    memset(&info, 0x5a, sizeof info);
    info.version = 0;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_EVERSION);
    assert_int_equal(info.acknowledged, 0x5a5a5a5a5a5a5a5aull); /* untouched */
    info.version = SFJ_FORWARDER_INFO_VERSION + 1;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_EVERSION);
    assert_int_equal(info.acknowledged, 0x5a5a5a5a5a5a5a5aull);
    info.version = SFJ_FORWARDER_INFO_VERSION;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_OK);
    assert_int_equal(info.version, SFJ_FORWARDER_INFO_VERSION);
    assert_int_equal(info.state, SFJ_LINK_IDLE);
    assert_int_equal(info.acknowledged, 0);
    assert_int_equal(sfj_forwarder_info_get(NULL, &info), SFJ_EINVAL);
    sfj_forwarder_free(fw);
}

static void test_serial_opts(void **state)
{
    sfj_serial_opts o = SFJ_SERIAL_OPTS_INIT;
    sfj_transport *t = NULL;
    int rc;

    (void)state;
    /* termios: the version is checked before the path is opened, so a
     * good version reaches the next check (/dev/null is not a tty). */
    o.version = 0;
    assert_int_equal(sfj_transport_termios_open("/dev/null", &o, &t),
                     SFJ_EVERSION);
    o.version = SFJ_SERIAL_OPTS_VERSION + 1;
    assert_int_equal(sfj_transport_termios_open("/dev/null", &o, &t),
                     SFJ_EVERSION);
    o.version = SFJ_SERIAL_OPTS_VERSION;
    assert_int_equal(sfj_transport_termios_open("/dev/null", &o, &t),
                     SFJ_EINVAL);
    assert_null(t);
    /* libserialport: likewise, when the library has it. */
    rc = sfj_transport_serial_open("/nonexistent/tty", &o, &t);
    if (rc == SFJ_ESTATE)
        return; /* built without libserialport */
    assert_int_equal(rc, SFJ_ENOTFOUND);
    o.version = 0;
    assert_int_equal(sfj_transport_serial_open("/nonexistent/tty", &o, &t),
                     SFJ_EVERSION);
    o.version = SFJ_SERIAL_OPTS_VERSION + 1;
    assert_int_equal(sfj_transport_serial_open("/nonexistent/tty", &o, &t),
                     SFJ_EVERSION);
    assert_null(t);
}

/* A do-nothing backend whose ops version the test sets. */
typedef struct mock {
    sfj_transport head;
    int sends, closes;
} mock;

static int m_send(sfj_transport *t, const void *buf, size_t len, int timeout_ms,
                  size_t *sent)
{
    (void)buf;
    (void)timeout_ms;
    ((mock *)t)->sends++;
    *sent = len;
    return SFJ_OK;
}

static int m_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                  size_t *got)
{
    (void)t;
    (void)buf;
    (void)cap;
    (void)got;
    (void)timeout_ms;
    return SFJ_ETIMEDOUT;
}

static int m_fd(sfj_transport *t)
{
    (void)t;
    return 7;
}

static void m_close(sfj_transport *t)
{
    ((mock *)t)->closes++;
}

static void test_transport_ops(void **state)
{
    sfj_transport_ops ops = {0, m_send, m_recv, m_fd, m_close};
    mock m;
    size_t sent = 0, got = 0;
    char buf[4];

    (void)state;
    memset(&m, 0, sizeof m);
    m.head.ops = &ops;
    m.head.framing = SFJ_FRAMING_STREAM;
    ops.version = 0;
    assert_int_equal(sfj_transport_send(&m.head, "abc", 3, 0, &sent),
                     SFJ_EVERSION);
    assert_int_equal(sfj_transport_recv(&m.head, buf, sizeof buf, 0, &got),
                     SFJ_EVERSION);
    assert_int_equal(sfj_transport_fd(&m.head), -1);
    sfj_transport_close(&m.head); /* version 0: its layout is unknown */
    assert_int_equal(m.closes, 0);
    ops.version = SFJ_TRANSPORT_OPS_VERSION + 1;
    assert_int_equal(sfj_transport_send(&m.head, "abc", 3, 0, &sent),
                     SFJ_EVERSION);
    assert_int_equal(sfj_transport_fd(&m.head), -1);
    assert_int_equal(m.sends, 0);
    /* A newer backend still closes: close keeps its place. */
    sfj_transport_close(&m.head);
    assert_int_equal(m.closes, 1);
    ops.version = SFJ_TRANSPORT_OPS_VERSION;
    assert_int_equal(sfj_transport_send(&m.head, "abc", 3, 0, &sent), SFJ_OK);
    assert_int_equal(sent, 3);
    assert_int_equal(m.sends, 1);
    assert_int_equal(sfj_transport_recv(&m.head, buf, sizeof buf, 0, &got),
                     SFJ_ETIMEDOUT);
    assert_int_equal(sfj_transport_fd(&m.head), 7);
}

/* Through the forwarder: a connect callback handing back a backend of an
 * unknown version is refused at once, and the backend closed. */
typedef struct conn {
    sfj_transport_ops ops;
    mock m;
    int calls, last_error;
} conn;

static int connect_mock(sfj_transport **out, void *payload)
{
    conn *c = payload;

    c->calls++;
    c->m.head.ops = &c->ops;
    *out = &c->m.head;
    return SFJ_OK;
}

static void on_status(const sfj_forwarder_status *st, void *payload)
{
    conn *c = payload;

    if (st->event == SFJ_FWD_OFFLINE)
        c->last_error = st->error;
}

static void test_connect_ops_version(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder *fw = NULL;
    conn c;

    memset(&c, 0, sizeof c);
    c.ops = (sfj_transport_ops){SFJ_TRANSPORT_OPS_VERSION + 1, m_send, m_recv,
                                m_fd, m_close};
    o.sink = SFJ_SINK_TRANSPORT;
    o.connect = connect_mock;
    o.connect_payload = &c;
    o.status = on_status;
    o.status_payload = &c;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    assert_int_equal(sfj_forwarder_poll(fw, 0), SFJ_OK);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_error, SFJ_EVERSION);
    assert_int_equal(c.m.closes, 1);
    assert_int_equal(c.m.sends, 0); /* no HELLO went to it */
    sfj_forwarder_free(fw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_rule),
        cmocka_unit_test_setup_teardown(test_forwarder_info,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_journal_opts, sfj_test_setup,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_event, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_stats, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_pending, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_txn, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_query, sfj_test_setup_open,
                                        sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_opts,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test(test_serial_opts),
        cmocka_unit_test(test_transport_ops),
        cmocka_unit_test_setup_teardown(test_connect_ops_version,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
