/* Calls through a transport's operations. */
#include "sfj/sys/transport.h"

#include <stddef.h>

#include "common/abi.h"
#include "sfj/errors.h"

/* A backend built against a newer header may have a layout this library
 * does not know; one never initialised has version 0. */
static int ops_ok(const sfj_transport *t)
{
    return t->ops != NULL &&
           SFJ__VERSION_OK(t->ops->version, SFJ_TRANSPORT_OPS_VERSION);
}

int sfj_transport_send(sfj_transport *t, const void *buf, size_t len,
                       int timeout_ms, size_t *sent)
{
    size_t dummy;

    if (t == NULL || (buf == NULL && len > 0))
        return SFJ_EINVAL;
    if (!ops_ok(t))
        return SFJ_EVERSION;
    return t->ops->send(t, buf, len, timeout_ms, sent != NULL ? sent : &dummy);
}

int sfj_transport_recv(sfj_transport *t, void *buf, size_t cap, int timeout_ms,
                       size_t *got)
{
    if (t == NULL || buf == NULL || cap == 0 || got == NULL)
        return SFJ_EINVAL;
    if (!ops_ok(t))
        return SFJ_EVERSION;
    return t->ops->recv(t, buf, cap, timeout_ms, got);
}

int sfj_transport_fd(sfj_transport *t)
{
    if (t == NULL || !ops_ok(t) || t->ops->fd == NULL)
        return -1;
    return t->ops->fd(t);
}

void sfj_transport_close(sfj_transport *t)
{
    /* close sits at the same place in every version but 0. */
    if (t != NULL && t->ops != NULL && t->ops->version > 0)
        t->ops->close(t);
}

#ifndef SFJ_WITH_SERIAL
int sfj_transport_serial_open(const char *path, const sfj_serial_opts *opts,
                              sfj_transport **out)
{
    (void)path;
    (void)opts;
    if (out != NULL)
        *out = NULL;
    return SFJ_ESTATE;
}
#endif
