/* libserialport backend with its sp_* calls wrapped at link time
 * (tests/test_serial_sp.cmake): open failures, configuration, short
 * writes, timeouts, read errors, and a COBS frame through the port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libserialport.h>

#include "sfj/sys/transport.h"
#include "sfj/sys/wire.h"
#include "support/testutil.h"

/* ---- fakes ---- */

static struct fake {
    enum sp_return by_name_rc, open_rc, set_config_rc;
    int opened, closed, freed;
    int baud, bits, stopbits;
    enum sp_parity parity;
    enum sp_flowcontrol flow_rts;
    size_t write_chunk; /* most bytes a write call takes */
    int write_fail;     /* return SP_ERR_FAIL from writes */
    unsigned last_write_timeout;
    int blocking_writes, nonblocking_writes;
    uint8_t written[4096];
    size_t written_len;
    const uint8_t *rx; /* bytes the port will deliver */
    size_t rx_len, rx_pos;
    enum sp_return read_rc; /* when nonzero: reads fail with it */
    int blocking_reads, nonblocking_reads;
    unsigned last_read_timeout;
} fk;

static int fake_port_storage;
#define FAKE_PORT ((struct sp_port *)&fake_port_storage)

enum sp_return __wrap_sp_get_port_by_name(const char *name,
                                          struct sp_port **out);
enum sp_return __wrap_sp_open(struct sp_port *p, enum sp_mode m);
enum sp_return __wrap_sp_close(struct sp_port *p);
void __wrap_sp_free_port(struct sp_port *p);
enum sp_return __wrap_sp_set_config(struct sp_port *p,
                                    const struct sp_port_config *c);
enum sp_return __wrap_sp_flush(struct sp_port *p, enum sp_buffer b);
enum sp_return __wrap_sp_blocking_write(struct sp_port *p, const void *buf,
                                        size_t n, unsigned timeout);
enum sp_return __wrap_sp_nonblocking_write(struct sp_port *p, const void *buf,
                                           size_t n);
enum sp_return __wrap_sp_blocking_read_next(struct sp_port *p, void *buf,
                                            size_t n, unsigned timeout);
enum sp_return __wrap_sp_nonblocking_read(struct sp_port *p, void *buf,
                                          size_t n);
enum sp_return __wrap_sp_get_port_handle(const struct sp_port *p, void *out);

enum sp_return __wrap_sp_get_port_by_name(const char *name,
                                          struct sp_port **out)
{
    (void)name;
    if (fk.by_name_rc != SP_OK)
        return fk.by_name_rc;
    *out = FAKE_PORT;
    return SP_OK;
}

enum sp_return __wrap_sp_open(struct sp_port *p, enum sp_mode m)
{
    assert_ptr_equal(p, FAKE_PORT);
    assert_int_equal(m, SP_MODE_READ_WRITE);
    if (fk.open_rc == SP_OK)
        fk.opened++;
    return fk.open_rc;
}

enum sp_return __wrap_sp_close(struct sp_port *p)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.closed++;
    return SP_OK;
}

void __wrap_sp_free_port(struct sp_port *p)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.freed++;
}

enum sp_return __wrap_sp_set_config(struct sp_port *p,
                                    const struct sp_port_config *c)
{
    assert_ptr_equal(p, FAKE_PORT);
    /* The real getters read back what the backend configured. */
    sp_get_config_baudrate(c, &fk.baud);
    sp_get_config_bits(c, &fk.bits);
    sp_get_config_stopbits(c, &fk.stopbits);
    sp_get_config_parity(c, &fk.parity);
    {
        enum sp_rts rts;
        sp_get_config_rts(c, &rts);
        fk.flow_rts = rts == SP_RTS_FLOW_CONTROL ? SP_FLOWCONTROL_RTSCTS
                                                 : SP_FLOWCONTROL_NONE;
    }
    return fk.set_config_rc;
}

enum sp_return __wrap_sp_flush(struct sp_port *p, enum sp_buffer b)
{
    (void)p;
    (void)b;
    return SP_OK;
}

static enum sp_return take_write(const void *buf, size_t n)
{
    size_t k = n < fk.write_chunk ? n : fk.write_chunk;

    if (fk.write_fail)
        return SP_ERR_FAIL;
    if (fk.written_len + k > sizeof fk.written)
        k = sizeof fk.written - fk.written_len;
    memcpy(fk.written + fk.written_len, buf, k);
    fk.written_len += k;
    return (enum sp_return)k;
}

enum sp_return __wrap_sp_blocking_write(struct sp_port *p, const void *buf,
                                        size_t n, unsigned timeout)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.blocking_writes++;
    fk.last_write_timeout = timeout;
    return take_write(buf, n);
}

enum sp_return __wrap_sp_nonblocking_write(struct sp_port *p, const void *buf,
                                           size_t n)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.nonblocking_writes++;
    return take_write(buf, n);
}

static enum sp_return give_read(void *buf, size_t n)
{
    size_t k = fk.rx_len - fk.rx_pos;

    if (fk.read_rc != SP_OK)
        return fk.read_rc;
    if (k > n)
        k = n;
    /* Nothing queued means fk.rx may still be NULL, which memcpy forbids
     * even for a zero length. */
    if (k > 0)
        memcpy(buf, fk.rx + fk.rx_pos, k);
    fk.rx_pos += k;
    return (enum sp_return)k;
}

enum sp_return __wrap_sp_blocking_read_next(struct sp_port *p, void *buf,
                                            size_t n, unsigned timeout)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.blocking_reads++;
    fk.last_read_timeout = timeout;
    return give_read(buf, n);
}

enum sp_return __wrap_sp_nonblocking_read(struct sp_port *p, void *buf,
                                          size_t n)
{
    assert_ptr_equal(p, FAKE_PORT);
    fk.nonblocking_reads++;
    return give_read(buf, n);
}

enum sp_return __wrap_sp_get_port_handle(const struct sp_port *p, void *out)
{
    (void)p;
    *(int *)out = 42;
    return SP_OK;
}

static int reset(void **state)
{
    (void)state;
    memset(&fk, 0, sizeof fk);
    fk.write_chunk = 1 << 20;
    return 0;
}

static sfj_transport *open_ok(const sfj_serial_opts *o)
{
    sfj_transport *t = NULL;

    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", o, &t), 0);
    assert_non_null(t);
    assert_int_equal(t->framing, SFJ_FRAMING_COBS);
    return t;
}

/* ---- tests ---- */

static void test_open_failures(void **state)
{
    sfj_transport *t = (sfj_transport *)1;
    sfj_serial_opts o = SFJ_SERIAL_OPTS_INIT;

    (void)state;
    fk.by_name_rc = SP_ERR_ARG;
    assert_int_equal(sfj_transport_serial_open("/dev/nope", NULL, &t),
                     SFJ_ENOTFOUND);
    assert_null(t);
    assert_int_equal(fk.freed, 0);

    fk.by_name_rc = SP_OK;
    fk.open_rc = SP_ERR_FAIL;
    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", NULL, &t),
                     SFJ_ELINK);
    assert_null(t);
    assert_int_equal(fk.closed, 0); /* never opened, never closed */
    assert_int_equal(fk.freed, 1);

    fk.open_rc = SP_OK;
    fk.set_config_rc = SP_ERR_FAIL;
    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", NULL, &t),
                     SFJ_ELINK);
    assert_int_equal(fk.opened, 1);
    assert_int_equal(fk.closed, 1);
    assert_int_equal(fk.freed, 2);

    /* Bad settings are refused before the port is touched. */
    o.data_bits = 9;
    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", &o, &t),
                     SFJ_EINVAL);
    o = (sfj_serial_opts)SFJ_SERIAL_OPTS_INIT;
    o.stop_bits = 3;
    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", &o, &t),
                     SFJ_EINVAL);
    o = (sfj_serial_opts)SFJ_SERIAL_OPTS_INIT;
    o.flow = 7;
    assert_int_equal(sfj_transport_serial_open("/dev/ttyS9", &o, &t),
                     SFJ_EINVAL);
    assert_int_equal(fk.opened, 1);
}

static void test_configuration(void **state)
{
    sfj_serial_opts o = SFJ_SERIAL_OPTS_INIT;
    sfj_transport *t;

    (void)state;
    o.baud = 9600;
    o.data_bits = 7;
    o.parity = SFJ_PARITY_EVEN;
    o.stop_bits = 2;
    o.flow = SFJ_FLOW_RTSCTS;
    t = open_ok(&o);
    assert_int_equal(fk.baud, 9600);
    assert_int_equal(fk.bits, 7);
    assert_int_equal(fk.parity, SP_PARITY_EVEN);
    assert_int_equal(fk.stopbits, 2);
    assert_int_equal(fk.flow_rts, SP_FLOWCONTROL_RTSCTS);
    assert_int_equal(sfj_transport_fd(t), 42);
    sfj_transport_close(t);
    assert_int_equal(fk.closed, 1);
    assert_int_equal(fk.freed, 1);

    t = open_ok(NULL); /* defaults: 115200 8N1, no flow control */
    assert_int_equal(fk.baud, 115200);
    assert_int_equal(fk.bits, 8);
    assert_int_equal(fk.parity, SP_PARITY_NONE);
    assert_int_equal(fk.stopbits, 1);
    assert_int_equal(fk.flow_rts, SP_FLOWCONTROL_NONE);
    sfj_transport_close(t);
}

static void test_short_writes(void **state)
{
    uint8_t data[1000];
    sfj_transport *t = open_ok(NULL);
    size_t sent = 0, i;

    (void)state;
    for (i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    fk.write_chunk = 3;
    assert_int_equal(sfj_transport_send(t, data, sizeof data, 5000, &sent), 0);
    assert_int_equal(sent, sizeof data);
    assert_int_equal(fk.written_len, sizeof data);
    assert_memory_equal(fk.written, data, sizeof data);
    assert_true(fk.blocking_writes >= 334);
    assert_true(fk.last_write_timeout > 0 && fk.last_write_timeout <= 5000);
    sfj_transport_close(t);
}

static void test_write_timeout_and_error(void **state)
{
    uint8_t data[64] = {1};
    sfj_transport *t = open_ok(NULL);
    size_t sent = 99;

    (void)state;
    fk.write_chunk = 0; /* the line never drains */
    assert_int_equal(sfj_transport_send(t, data, sizeof data, 50, &sent),
                     SFJ_ETIMEDOUT);
    assert_int_equal(sent, 0);
    /* A 0 ms poll never blocks (libserialport's 0 means forever). */
    fk.blocking_writes = 0;
    assert_int_equal(sfj_transport_send(t, data, sizeof data, 0, &sent),
                     SFJ_ETIMEDOUT);
    assert_int_equal(fk.blocking_writes, 0);
    assert_true(fk.nonblocking_writes >= 1);
    /* Part of it went before the time ran out. */
    fk.write_chunk = 10;
    assert_int_equal(sfj_transport_send(t, data, sizeof data, 0, &sent),
                     SFJ_ETIMEDOUT);
    assert_int_equal(sent, 10);
    fk.write_fail = 1;
    assert_int_equal(sfj_transport_send(t, data, sizeof data, 100, &sent),
                     SFJ_ELINK);
    sfj_transport_close(t);
}

static void test_reads(void **state)
{
    static const uint8_t line[] = {1, 2, 3, 4, 5};
    sfj_transport *t = open_ok(NULL);
    uint8_t buf[8];
    size_t got = 9;

    (void)state;
    assert_int_equal(sfj_transport_recv(t, buf, sizeof buf, 20, &got),
                     SFJ_ETIMEDOUT);
    assert_int_equal(got, 0);
    assert_int_equal(fk.last_read_timeout, 20);
    fk.rx = line;
    fk.rx_len = sizeof line;
    assert_int_equal(sfj_transport_recv(t, buf, 2, 20, &got), 0);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, line, 2);
    /* 0 ms polls without blocking; -1 waits forever (libserialport 0). */
    assert_int_equal(sfj_transport_recv(t, buf, 2, 0, &got), 0);
    assert_int_equal(fk.nonblocking_reads, 1);
    assert_memory_equal(buf, line + 2, 2);
    assert_int_equal(sfj_transport_recv(t, buf, 8, -1, &got), 0);
    assert_int_equal(fk.last_read_timeout, 0);
    assert_int_equal(got, 1);
    fk.read_rc = SP_ERR_FAIL;
    assert_int_equal(sfj_transport_recv(t, buf, 8, 20, &got), SFJ_ELINK);
    sfj_transport_close(t);
}

/* A frame sent through the port decodes on the other side, even when the
 * driver takes it a few bytes at a time. */
static void test_frame_through_port(void **state)
{
    sfj_transport *t = open_ok(NULL);
    sfj__wire tx, rx;
    sfj__frame f;
    uint8_t *body;
    int rc;

    (void)state;
    assert_int_equal(sfj__wire_init(&tx, SFJ_FRAMING_COBS), 0);
    assert_int_equal(sfj__wire_init(&rx, SFJ_FRAMING_COBS), 0);
    body = sfj__wire_body(&tx);
    memset(body, 0, 300); /* zeros: the worst case for COBS */
    body[299] = 0x55;
    fk.write_chunk = 7;
    assert_int_equal(sfj__wire_send(&tx, t, SFJ_MSG_ENTRY, 300, 1000), 0);
    assert_int_equal(fk.written[0], 0);
    assert_int_equal(fk.written[fk.written_len - 1], 0);
    fk.rx = fk.written;
    fk.rx_len = fk.written_len;
    rc = 0;
    while (rc == 0) {
        assert_int_equal(sfj__wire_fill(&rx, t, 10), 0);
        rc = sfj__wire_next(&rx, &f);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(f.type, SFJ_MSG_ENTRY);
    assert_int_equal(f.len, 300);
    assert_int_equal(f.body[299], 0x55);
    assert_int_equal(f.body[0], 0);
    sfj__wire_free(&tx);
    sfj__wire_free(&rx);
    sfj_transport_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_open_failures, reset),
        cmocka_unit_test_setup(test_configuration, reset),
        cmocka_unit_test_setup(test_short_writes, reset),
        cmocka_unit_test_setup(test_write_timeout_and_error, reset),
        cmocka_unit_test_setup(test_reads, reset),
        cmocka_unit_test_setup(test_frame_through_port, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
