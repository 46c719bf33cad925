/* libserialport transport for real serial ports.
 *
 * States: a handle exists only with the port open and configured, until
 * close frees it. libserialport's blocking calls treat a timeout of 0 as
 * "forever", so a 0 ms poll goes through the non-blocking calls and -1
 * through 0. A short write (the driver took part of the buffer before the
 * timeout) is continued until the deadline. Framing is COBS. */
#include <libserialport.h>
#include <stdlib.h>

#include "common/clock.h"
#include "forwarder/fdio.h"
#include "common/abi.h"
#include "sfj/errors.h"
#include "sfj/sys/transport.h"

typedef struct spl_transport {
    sfj_transport base;
    struct sp_port *port;
} spl_transport;

static int sp_rc(enum sp_return r)
{
    return r == SP_ERR_MEM   ? SFJ_ENOMEM
           : r == SP_ERR_ARG ? SFJ_EINVAL
                             : SFJ_ELINK;
}

static int spt_send(sfj_transport *t, const void *buf, size_t len,
                    int timeout_ms, size_t *sent)
{
    struct sp_port *port = ((spl_transport *)t)->port;
    const char *p = buf;
    long long deadline =
        timeout_ms < 0 ? -1 : (long long)sfj__mono_ms() + timeout_ms;
    size_t done = 0;
    enum sp_return r;
    int left, rc = SFJ_OK;

    while (done < len) {
        left = sfj__ms_left(deadline);
        if (left == 0) {
            /* Out of time (or a 0 ms poll): one last non-blocking try. */
            r = sp_nonblocking_write(port, p + done, len - done);
            if (r < 0) {
                rc = sp_rc(r);
                break;
            }
            done += (size_t)r;
            if (done < len)
                rc = SFJ_ETIMEDOUT;
            break;
        }
        r = sp_blocking_write(port, p + done, len - done,
                              left < 0 ? 0u : (unsigned)left);
        if (r < 0) {
            rc = sp_rc(r);
            break;
        }
        done += (size_t)r;
        /* As sfj__fd_send_all: the time runs from the last progress. */
        if (r > 0 && timeout_ms >= 0)
            deadline = (long long)sfj__mono_ms() + timeout_ms;
    }
    *sent = done;
    return rc;
}

static int spt_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                    size_t *got)
{
    struct sp_port *port = ((spl_transport *)t)->port;
    enum sp_return r;

    *got = 0;
    if (timeout_ms == 0)
        r = sp_nonblocking_read(port, buf, cap);
    else
        r = sp_blocking_read_next(port, buf, cap,
                                  timeout_ms < 0 ? 0u : (unsigned)timeout_ms);
    if (r < 0)
        return sp_rc(r);
    if (r == 0)
        return SFJ_ETIMEDOUT;
    *got = (size_t)r;
    return SFJ_OK;
}

static int spt_fd(sfj_transport *t)
{
    int fd = -1;

    if (sp_get_port_handle(((spl_transport *)t)->port, &fd) != SP_OK)
        return -1;
    return fd;
}

static void spt_close(sfj_transport *t)
{
    spl_transport *st = (spl_transport *)t;

    if (st->port != NULL) {
        sp_close(st->port);
        sp_free_port(st->port);
    }
    free(st);
}

static const sfj_transport_ops sp_ops = {SFJ_TRANSPORT_OPS_VERSION, spt_send,
                                         spt_recv, spt_fd, spt_close};

static int check_opts(const sfj_serial_opts *o)
{
    if (!SFJ__VERSION_OK(o->version, SFJ_SERIAL_OPTS_VERSION))
        return SFJ_EVERSION;
    if (o->baud < 0 ||
        (o->data_bits != 0 && (o->data_bits < 5 || o->data_bits > 8)) ||
        (o->stop_bits != 0 && o->stop_bits != 1 && o->stop_bits != 2) ||
        (int)o->parity < SFJ_PARITY_NONE || o->parity > SFJ_PARITY_EVEN ||
        (int)o->flow < SFJ_FLOW_NONE || o->flow > SFJ_FLOW_DTRDSR)
        return SFJ_EINVAL;
    return SFJ_OK;
}

static int configure(struct sp_port *port, const sfj_serial_opts *o)
{
    struct sp_port_config *cfg = NULL;
    enum sp_parity par = o->parity == SFJ_PARITY_ODD    ? SP_PARITY_ODD
                         : o->parity == SFJ_PARITY_EVEN ? SP_PARITY_EVEN
                                                        : SP_PARITY_NONE;
    enum sp_flowcontrol flow =
        o->flow == SFJ_FLOW_RTSCTS   ? SP_FLOWCONTROL_RTSCTS
        : o->flow == SFJ_FLOW_DTRDSR ? SP_FLOWCONTROL_DTRDSR
                                     : SP_FLOWCONTROL_NONE;
    enum sp_return r;
    int rc = SFJ_OK;

    r = sp_new_config(&cfg);
    if (r != SP_OK) {
        rc = sp_rc(r);
        goto done;
    }
    if (sp_set_config_baudrate(cfg, o->baud ? o->baud : 115200) != SP_OK ||
        sp_set_config_bits(cfg, o->data_bits ? o->data_bits : 8) != SP_OK ||
        sp_set_config_parity(cfg, par) != SP_OK ||
        sp_set_config_stopbits(cfg, o->stop_bits ? o->stop_bits : 1) != SP_OK ||
        sp_set_config_flowcontrol(cfg, flow) != SP_OK) {
        rc = SFJ_EINVAL;
        goto done;
    }
    r = sp_set_config(port, cfg);
    if (r != SP_OK)
        rc = sp_rc(r);
done:
    if (cfg != NULL)
        sp_free_config(cfg);
    return rc;
}

int sfj_transport_serial_open(const char *path, const sfj_serial_opts *opts,
                              sfj_transport **out)
{
    sfj_serial_opts defaults = SFJ_SERIAL_OPTS_INIT;
    struct sp_port *port = NULL;
    spl_transport *st = NULL;
    int rc, opened = 0;

    if (out == NULL || path == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    rc = check_opts(opts);
    if (rc != SFJ_OK)
        goto done;
    if (sp_get_port_by_name(path, &port) != SP_OK) {
        port = NULL;
        rc = SFJ_ENOTFOUND;
        goto done;
    }
    if (sp_open(port, SP_MODE_READ_WRITE) != SP_OK) {
        rc = SFJ_ELINK;
        goto done;
    }
    opened = 1;
    rc = configure(port, opts);
    if (rc != SFJ_OK)
        goto done;
    (void)sp_flush(port, SP_BUF_BOTH);
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    st->base.ops = &sp_ops;
    st->base.framing = SFJ_FRAMING_COBS;
    st->port = port;
    port = NULL;
    *out = &st->base;
done:
    if (port != NULL) {
        if (opened)
            sp_close(port);
        sp_free_port(port);
    }
    return rc;
}
