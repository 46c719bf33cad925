/* The write-family entry points both test shims interpose. Each shim
 * defines sfj__shim_write, which sees every write as an iovec list with or
 * without a position, so that write, pwrite, writev, pwritev and their
 * 64-bit names all reach one place. The 64-bit names are functions of
 * their own: on a 32-bit processor their offset is wider than off_t. */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim_writes.h"

ssize_t write(int fd, const void *buf, size_t len)
{
    struct iovec v = {(void *)buf, len};

    return sfj__shim_write(fd, &v, 1, 0, 0);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    struct iovec v = {(void *)buf, len};

    return sfj__shim_write(fd, &v, 1, off, 1);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    struct iovec v = {(void *)buf, len};

    return sfj__shim_write(fd, &v, 1, off, 1);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    return sfj__shim_write(fd, iov, n, 0, 0);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return sfj__shim_write(fd, iov, n, off, 1);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
    return sfj__shim_write(fd, iov, n, off, 1);
}
