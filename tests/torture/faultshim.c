/* Fault-injection shim; see faultshim.h.
 *
 * States: allocation wrappers resolving (dlsym may allocate: served from a
 * static arena), then passing through, counting and, while armed, failing.
 * I/O wrappers pass through for untracked descriptors; for tracked ones
 * they count the call and, at the armed count, fail it with the chosen
 * errno (or make a write short) instead of running it. */
#define _GNU_SOURCE
#include "shim_writes.h"
#include "faultshim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 4096

static sfj_fault_ctl ctl;
static uint8_t fd_tracked[MAX_FDS];

sfj_fault_ctl *sfj_fault_control(void);

sfj_fault_ctl *sfj_fault_control(void)
{
    return &ctl;
}

/* ---- Allocation ---- */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static int resolving;

static _Alignas(64) char arena[1 << 16];
static size_t arena_used;

static void *arena_alloc(size_t n)
{
    size_t at = (arena_used + 63) & ~(size_t)63;

    if (at + n > sizeof arena)
        abort();
    arena_used = at + n;
    return arena + at;
}

static int in_arena(const void *p)
{
    return (const char *)p >= arena && (const char *)p < arena + sizeof arena;
}

static void resolve_alloc(void)
{
    resolving = 1;
    next_malloc = dlsym(RTLD_NEXT, "malloc");
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_free = dlsym(RTLD_NEXT, "free");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    resolving = 0;
}

/* 1 when this allocation must fail. */
static int alloc_fails(void)
{
    long nth = __atomic_load_n(&ctl.alloc_nth, __ATOMIC_RELAXED), c;

    if (nth == 0)
        return 0;
    c = __atomic_add_fetch(&ctl.alloc_count, 1, __ATOMIC_RELAXED);
    if (c == nth || (ctl.alloc_sticky && c > nth)) {
        __atomic_add_fetch(&ctl.alloc_hits, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

static void *counted(void *p)
{
    if (p != NULL)
        __atomic_add_fetch(&ctl.live, 1, __ATOMIC_RELAXED);
    return p;
}

void *malloc(size_t n)
{
    if (next_malloc == NULL) {
        if (resolving)
            return arena_alloc(n);
        resolve_alloc();
    }
    if (alloc_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return counted(next_malloc(n));
}

void *calloc(size_t n, size_t size)
{
    if (next_calloc == NULL) {
        if (resolving)
            return arena_alloc(n * size); /* the arena is zeroed */
        resolve_alloc();
    }
    if (alloc_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return counted(next_calloc(n, size));
}

void free(void *p)
{
    if (p == NULL || in_arena(p))
        return;
    if (next_free == NULL)
        resolve_alloc();
    __atomic_sub_fetch(&ctl.live, 1, __ATOMIC_RELAXED);
    next_free(p);
}

void *realloc(void *p, size_t n)
{
    void *q;

    if (next_realloc == NULL) {
        if (resolving)
            return arena_alloc(n);
        resolve_alloc();
    }
    if (p != NULL && n == 0) {
        free(p);
        return NULL;
    }
    if (alloc_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    if (p == NULL)
        return counted(next_malloc(n));
    if (in_arena(p)) {
        q = counted(next_malloc(n));
        if (q != NULL) {
            size_t room = (size_t)(arena + sizeof arena - (char *)p);

            memcpy(q, p, n < room ? n : room);
        }
        return q;
    }
    return next_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    int rc;

    if (next_posix_memalign == NULL)
        resolve_alloc();
    if (alloc_fails())
        return ENOMEM;
    rc = next_posix_memalign(out, align, n);
    if (rc == 0)
        counted(*out);
    return rc;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (next_aligned_alloc == NULL)
        resolve_alloc();
    if (alloc_fails()) {
        errno = ENOMEM;
        return NULL;
    }
    return counted(next_aligned_alloc(align, n));
}

/* ---- I/O ---- */

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static void resolve_io(void)
{
    if (real_fdatasync != NULL)
        return;
    real_open = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat64");
    real_close = dlsym(RTLD_NEXT, "close");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
    real_writev = dlsym(RTLD_NEXT, "writev");
    real_pwritev = dlsym(RTLD_NEXT, "pwritev64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    __atomic_store_n(&real_fdatasync, dlsym(RTLD_NEXT, "fdatasync"),
                     __ATOMIC_RELEASE);
}

static void note_open(int fd, const char *path)
{
    size_t n = strnlen(ctl.dir, sizeof ctl.dir);

    if (fd < 0 || fd >= MAX_FDS)
        return;
    fd_tracked[fd] = n > 0 && path != NULL && strncmp(path, ctl.dir, n) == 0 &&
                     (path[n] == '/' || path[n] == '\0');
}

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;

    resolve_io();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    fd = real_open(path, flags, mode);
    note_open(fd, path);
    return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;

    resolve_io();
    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0 && path[0] == '/')
        note_open(fd, path);
    else if (fd >= 0 && fd < MAX_FDS)
        fd_tracked[fd] = 0;
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
    __attribute__((alias("openat")));

int close(int fd)
{
    resolve_io();
    if (fd >= 0 && fd < MAX_FDS)
        fd_tracked[fd] = 0;
    return real_close(fd);
}

/* The errno to fail this call with, 0 to run it, SFJ_FAULT_SHORT to make
 * it short. */
static int io_fault(int fd, unsigned cls)
{
    long nth = __atomic_load_n(&ctl.nth, __ATOMIC_RELAXED), c;

    if (nth == 0 || fd < 0 || fd >= MAX_FDS || !fd_tracked[fd] ||
        (ctl.ops & cls) == 0)
        return 0;
    c = __atomic_add_fetch(&ctl.io_count, 1, __ATOMIC_RELAXED);
    if (c == nth || (ctl.sticky && c > nth)) {
        __atomic_add_fetch(&ctl.io_hits, 1, __ATOMIC_RELAXED);
        return ctl.err;
    }
    return 0;
}

/* Half of an iovec array's bytes, for a short write. */
static int halve(const struct iovec *iov, int n, struct iovec *out)
{
    size_t total = 0, left;
    int i, k = 0;

    for (i = 0; i < n; i++)
        total += iov[i].iov_len;
    left = total / 2;
    for (i = 0; i < n && left > 0 && k < 64; i++, k++) {
        out[k] = iov[i];
        if (out[k].iov_len > left)
            out[k].iov_len = left;
        left -= out[k].iov_len;
    }
    return k;
}

ssize_t sfj__shim_write(int fd, const struct iovec *iov, int n, off64_t off,
                        int positional)
{
    struct iovec half[64];
    int e, k;

    resolve_io();
    e = io_fault(fd, SFJ_FAULT_WRITE);
    if (e == SFJ_FAULT_SHORT && n <= 64) {
        k = halve(iov, n, half);
        if (k == 0)
            return 0;
        iov = half;
        n = k;
    } else if (e != 0) {
        errno = e;
        return -1;
    }
    if (positional)
        return n == 1 ? real_pwrite(fd, iov[0].iov_base, iov[0].iov_len, off)
                      : real_pwritev(fd, iov, n, off);
    return n == 1 ? real_write(fd, iov[0].iov_base, iov[0].iov_len)
                  : real_writev(fd, iov, n);
}

static int do_sync(int fd, unsigned cls, int (*fn)(int))
{
    int e = io_fault(fd, cls);

    if (e != 0 && e != SFJ_FAULT_SHORT) {
        errno = e;
        return -1;
    }
    return fn(fd);
}

int fsync(int fd)
{
    resolve_io();
    return do_sync(fd, SFJ_FAULT_FSYNC, real_fsync);
}

int fdatasync(int fd)
{
    resolve_io();
    return do_sync(fd, SFJ_FAULT_FDATASYNC, real_fdatasync);
}
