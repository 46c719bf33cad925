/* Why the link is down, told apart (sfj_forwarder_info.cause_code), and
 * the forwarder's counters. Loopback only: a name that cannot resolve, a
 * port nobody listens on, a listener that never answers, one that answers
 * with a HELLO_ACK that does not authenticate; the host's own refusals are
 * checked against a real sfj-host in test_host. Each case is bounded by a
 * few seconds. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sfj/sys/frame.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/proto_v2.h"
#include "support/hosttest.h"
#include "support/testutil.h"

/* A loopback listener on a free port; `fd` -1 when none. */
static int listen_any(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Drive the forwarder until its info names an error, for at most 5 s. */
static void wait_error(sfj_forwarder *fw, sfj_forwarder_info *info)
{
    int i;

    for (i = 0; i < 100; i++) {
        assert_int_equal(sfj_forwarder_poll(fw, 50), SFJ_OK);
        info->version = SFJ_FORWARDER_INFO_VERSION;
        assert_int_equal(sfj_forwarder_info_get(fw, info), SFJ_OK);
        if (info->last_error != 0)
            return;
    }
    fail_msg("no error reported within 5 s");
}

static sfj_forwarder *tcp_fwd(sfj_journal *j, const char *addr,
                              sfj_test_status *st)
{
    char unused[64];
    sfj_forwarder_opts o = sfj_test_tcp_opts(unused, sizeof unused, 1, st);
    sfj_forwarder *fw = NULL;

    o.address = addr;
    o.ack_timeout_ms = 300;
    assert_int_equal(sfj_forwarder_new(j, &o, &fw), SFJ_OK);
    return fw;
}

static void expect_cause(sfj_journal *j, const char *addr, sfj_link_cause cause,
                         int error)
{
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_forwarder *fw;
    sfj_test_status st;

    sfj_test_status_init(&st);
    sfj_test_append(j, 3);
    fw = tcp_fwd(j, addr, &st);
    wait_error(fw, &info);
    if (info.cause_code != cause)
        fail_msg("cause %d (%s), expected %d", (int)info.cause_code, info.cause,
                 (int)cause);
    assert_int_equal(info.last_error, error);
    assert_int_equal(info.host_status, 0);
    assert_int_equal(info.acknowledged, 0);
    sfj_forwarder_free(fw);
    assert_int_equal(sfj_test_counted(&st, &st.online), 0);
    sfj_test_status_destroy(&st);
}

/* A name getaddrinfo refuses on the spot (an empty label): no query
 * leaves the machine. */
static void test_resolve_failure(void **state)
{
    sfj_test_fixture *f = *state;

    expect_cause(f->j, "no..such.invalid:4464", SFJ_CAUSE_RESOLVE, SFJ_ELINK);
}

static void test_connection_refused(void **state)
{
    sfj_test_fixture *f = *state;
    char addr[64];
    int port, fd = listen_any(&port);

    close(fd); /* nobody listens there now */
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    expect_cause(f->j, addr, SFJ_CAUSE_REFUSED, SFJ_ELINK);
}

/* The kernel completes the connection, nobody ever answers the HELLO. */
static void test_handshake_timeout(void **state)
{
    sfj_test_fixture *f = *state;
    char addr[64];
    int port, fd = listen_any(&port);

    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    expect_cause(f->j, addr, SFJ_CAUSE_TIMEOUT, SFJ_ETIMEDOUT);
    close(fd);
}

/* A listener answering every connection with a version 2 HELLO_ACK
 * "OK" whose Noise message is random: not the provisioned upstream. */
typedef struct fake {
    int fd;
    pthread_t th;
} fake;

static void *fake_run(void *arg)
{
    fake *k = arg;
    uint8_t frame[256], in[4096];
    uint8_t *body = frame + SFJ_FRAME_HDR_BYTES;
    size_t n;
    int c, i;

    for (;;) {
        c = accept(k->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        (void)!read(c, in, sizeof in); /* the HELLO */
        body[0] = 0;
        body[1] = SFJ_PROTO_V2;
        body[2] = 0; /* SFJ_HELLO_OK */
        for (i = SFJ_HELLO_ACK2_HDR; i < 120; i++)
            body[i] = (uint8_t)(i * 37 + 11);
        n = sfj__frame_encode(frame, sizeof frame, SFJ_MSG_HELLO_ACK, 0, body,
                              120);
        (void)!write(c, frame, n);
        usleep(100000);
        close(c);
    }
}

static void test_handshake_failure(void **state)
{
    sfj_test_fixture *f = *state;
    fake k;
    char addr[64];
    int port;

    k.fd = listen_any(&port);
    assert_int_equal(pthread_create(&k.th, NULL, fake_run, &k), 0);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    expect_cause(f->j, addr, SFJ_CAUSE_HANDSHAKE, SFJ_EAUTH);
    shutdown(k.fd, SHUT_RDWR);
    close(k.fd);
    pthread_join(k.th, NULL);
}

/* The callback sink: what was offered, offered again after a RETRY, and a
 * caller of version 1 gets only its fields. */
static int retry_seq = 2, retries = 2;

static int deliver(const sfj_entry *e, void *payload)
{
    (void)payload;
    if (e->seq == (uint64_t)retry_seq && retries > 0) {
        retries--;
        return SFJ_DELIVER_RETRY;
    }
    return SFJ_DELIVER_ACK;
}

static void test_callback_counters(void **state)
{
    sfj_test_fixture *f = *state;
    sfj_forwarder_opts o = SFJ_FORWARDER_OPTS_INIT;
    sfj_forwarder_info info = SFJ_FORWARDER_INFO_INIT;
    sfj_forwarder *fw = NULL;
    uint64_t last = 0;

    sfj_test_append(f->j, 5);
    o.sink = SFJ_SINK_CALLBACK;
    o.deliver = deliver;
    o.backoff_min_ms = 10;
    o.backoff_max_ms = 20;
    assert_int_equal(sfj_forwarder_new(f->j, &o, &fw), SFJ_OK);
    assert_int_equal(sfj_forwarder_flush(fw, 5000), SFJ_OK);
    assert_int_equal(sfj__journal_head(f->j, &last, NULL), SFJ_OK);
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_OK);
    /* Checkpoints are acked unseen, so sent counts the offered ones. */
    assert_true(info.sent >= 5 + 2);
    assert_int_equal(info.resent, 2);
    assert_int_equal(info.acknowledged, last);
    assert_int_equal(info.cause_code, SFJ_CAUSE_LINK); /* "retry later" */
    assert_true(info.last_ack_ms > 0);
    assert_int_equal(info.bytes_sent, 0);
    /* Version 1 ends at last_change_ms: nothing after it is written. */
    memset(&info, 0x5a, sizeof info);
    info.version = 1;
    assert_int_equal(sfj_forwarder_info_get(fw, &info), SFJ_OK);
    assert_int_equal(info.version, 1);
    assert_int_equal(info.acknowledged, last);
    assert_int_equal(info.sent, 0x5a5a5a5a5a5a5a5aull);
    sfj_forwarder_free(fw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolve_failure,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_connection_refused,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_failure,
                                        sfj_test_setup_open, sfj_test_teardown),
        cmocka_unit_test_setup_teardown(test_callback_counters,
                                        sfj_test_setup_open, sfj_test_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
