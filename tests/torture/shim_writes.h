/* Shared by the test shims: see shim_writes.c. */
#ifndef SFJ_TESTS_SHIM_WRITES_H
#define SFJ_TESTS_SHIM_WRITES_H

#include <sys/types.h>
#include <sys/uio.h>

/* One write of `n` iovecs at `off` (when `positional`) or at the file
 * position; what the shim does with it is its own. Offsets are 64-bit
 * whatever off_t is: a 32-bit library built with _FILE_OFFSET_BITS=64
 * calls the *64 names. */
__attribute__((visibility("hidden"))) ssize_t
sfj__shim_write(int fd, const struct iovec *iov, int n, off64_t off,
                int positional);

#endif
