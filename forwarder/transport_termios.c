/* termios transport: a tty (pty pair from socat, simple UART) in raw mode.
 *
 * States: a handle exists only open (fd >= 0) until close restores
 * nothing (the line stays raw) and frees it. I/O is non-blocking with
 * poll, like TCP; framing is COBS. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "forwarder/fdio.h"
#include "common/abi.h"
#include "sfj/errors.h"
#include "sfj/sys/transport.h"

static int baud_const(int baud, speed_t *out)
{
    static const struct {
        int baud;
        speed_t sp;
    } map[] = {{1200, B1200},     {2400, B2400},     {4800, B4800},
               {9600, B9600},     {19200, B19200},   {38400, B38400},
               {57600, B57600},   {115200, B115200}, {230400, B230400},
               {460800, B460800}, {921600, B921600}};
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (map[i].baud == baud) {
            *out = map[i].sp;
            return SFJ_OK;
        }
    }
    return SFJ_EINVAL;
}

static int configure(int fd, const sfj_serial_opts *o)
{
    struct termios tio;
    speed_t sp;
    int bits = o->data_bits ? o->data_bits : 8;

    if (baud_const(o->baud ? o->baud : 115200, &sp) != SFJ_OK || bits < 5 ||
        bits > 8 ||
        (o->stop_bits != 0 && o->stop_bits != 1 && o->stop_bits != 2) ||
        o->parity < SFJ_PARITY_NONE || o->parity > SFJ_PARITY_EVEN ||
        (o->flow != SFJ_FLOW_NONE && o->flow != SFJ_FLOW_RTSCTS))
        return SFJ_EINVAL;
    if (tcgetattr(fd, &tio) != 0)
        return SFJ_ELINK;
    cfmakeraw(&tio);
    cfsetispeed(&tio, sp);
    cfsetospeed(&tio, sp);
    tio.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag |= bits == 5 ? CS5 : bits == 6 ? CS6 : bits == 7 ? CS7 : CS8;
    if (o->parity != SFJ_PARITY_NONE)
        tio.c_cflag |= PARENB | (o->parity == SFJ_PARITY_ODD ? PARODD : 0);
    if (o->stop_bits == 2)
        tio.c_cflag |= CSTOPB;
    if (o->flow == SFJ_FLOW_RTSCTS)
        tio.c_cflag |= CRTSCTS;
    tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &tio) != 0)
        return SFJ_ELINK;
    (void)tcflush(fd, TCIOFLUSH);
    return SFJ_OK;
}

int sfj_transport_termios_open(const char *path, const sfj_serial_opts *opts,
                               sfj_transport **out)
{
    sfj_serial_opts defaults = SFJ_SERIAL_OPTS_INIT;
    int fd = -1, rc;

    if (out == NULL || path == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (opts != NULL &&
        !SFJ__VERSION_OK(opts->version, SFJ_SERIAL_OPTS_VERSION))
        return SFJ_EVERSION;
    fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT ? SFJ_ENOTFOUND : SFJ_ELINK;
        goto done;
    }
    if (!isatty(fd)) {
        rc = SFJ_EINVAL;
        goto done;
    }
    rc = configure(fd, opts != NULL ? opts : &defaults);
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__fd_transport_new(out, fd, 0, SFJ_FRAMING_COBS);
    fd = -1; /* owned by the transport now */
done:
    if (fd >= 0)
        close(fd);
    return rc;
}
