/* Power-cut shim, loaded with LD_PRELOAD into a process that writes a
 * journal.
 *
 * It logs every change made to the files of one directory (SFJ_PC_DIR,
 * except LMDB's lock file, whose contents LMDB rebuilds on open) together
 * with every point at which those changes became durable, so that
 * crashstate.c can rebuild the disk images a power cut could leave behind.
 * With SFJ_PC_KILL_AT=N the process is cut (SIGKILL) at the N-th logged
 * operation, before that operation runs.
 *
 * Modelled: write, pwrite, writev, pwritev, ftruncate (pending until the
 * file's next successful fsync/fdatasync, or sync/syncfs); writes through
 * an O_DSYNC or O_SYNC descriptor (durable when the call returns); O_TRUNC
 * at open. Detected but not modelled (logged so that the test fails if they
 * ever happen): writable shared mappings of a tracked file and msync.
 *
 * Environment: SFJ_PC_LOG (log file; the shim is inert without it),
 * SFJ_PC_DIR (the directory to track), SFJ_PC_KILL_AT (0 or unset: never
 * cut). States: inert, tracking, cut (the process is gone). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim_writes.h"
#include "powercut_log.h"

#define MAX_FDS   4096
#define MAX_FILES 32
#define NAME_MAX_ 255

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off64_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off64_t);
static int (*real_ftruncate)(int, off64_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_msync)(void *, size_t, int);
static void *(*real_mmap)(void *, size_t, int, int, int, off64_t);
static void (*real_sync)(void);
static int (*real_syncfs)(int);

static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char track_dir[4096];
static size_t track_len;
static unsigned long long kill_at, op_count;
/* fd -> file id + 1 (0: untracked), and whether writes are synchronous. */
static uint8_t fd_file[MAX_FDS];
static uint8_t fd_dsync[MAX_FDS];
static char file_names[MAX_FILES][NAME_MAX_ + 1];
static int n_files;

#define RESOLVE(name) real_##name = dlsym(RTLD_NEXT, #name)
/* The opens and the offset-taking calls resolve to their 64-bit names,
 * which exist on every processor (on 64-bit ones as the same function):
 * large-file opens and 64-bit offsets, whichever name the caller used. */
#define RESOLVE64(name) real_##name = dlsym(RTLD_NEXT, #name "64")

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve_all(void)
{
    RESOLVE64(open);
    RESOLVE64(openat);
    RESOLVE(close);
    RESOLVE(write);
    RESOLVE64(pwrite);
    RESOLVE(writev);
    RESOLVE64(pwritev);
    RESOLVE64(ftruncate);
    RESOLVE(fsync);
    RESOLVE(fdatasync);
    RESOLVE(msync);
    RESOLVE64(mmap);
    RESOLVE(sync);
    RESOLVE(syncfs);
}

/* Every wrapper resolves first: another library's constructor may call
 * one before shim_init has run. */
static void resolve(void)
{
    pthread_once(&resolve_once, resolve_all);
}

__attribute__((constructor)) static void shim_init(void)
{
    const char *log = getenv("SFJ_PC_LOG");
    const char *dir = getenv("SFJ_PC_DIR");
    const char *k = getenv("SFJ_PC_KILL_AT");

    resolve();
    if (log == NULL || dir == NULL || strlen(dir) >= sizeof track_dir)
        return;
    strcpy(track_dir, dir);
    track_len = strlen(dir);
    while (track_len > 1 && track_dir[track_len - 1] == '/')
        track_dir[--track_len] = '\0';
    kill_at = k ? strtoull(k, NULL, 10) : 0;
    log_fd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Write a whole buffer to the log; the log is the test's evidence, so a
 * failure to write it ends the process loudly. */
static void log_bytes(const struct iovec *iov, int n)
{
    struct iovec v[64];
    ssize_t w;
    int i;

    if (n > 64)
        abort();
    memcpy(v, iov, (size_t)n * sizeof *iov);
    i = 0;
    while (i < n) {
        w = real_writev(log_fd, v + i, n - i);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            abort();
        while (i < n && (size_t)w >= v[i].iov_len) {
            w -= (ssize_t)v[i].iov_len;
            i++;
        }
        if (i < n) {
            v[i].iov_base = (char *)v[i].iov_base + w;
            v[i].iov_len -= (size_t)w;
        }
    }
}

static void log_rec(uint16_t type, uint16_t flags, int file, uint64_t off,
                    const struct iovec *data, int n)
{
    struct iovec v[64];
    sfj_pc_rec r;
    uint64_t len = 0;
    int i;

    if (n > 63)
        abort();
    for (i = 0; i < n; i++)
        len += data[i].iov_len;
    memset(&r, 0, sizeof r);
    r.magic = SFJ_PC_MAGIC;
    r.type = type;
    r.flags = flags;
    r.file = (uint32_t)file;
    r.off = off;
    r.len = len;
    v[0].iov_base = &r;
    v[0].iov_len = sizeof r;
    if (n > 0)
        memcpy(v + 1, data, (size_t)n * sizeof *data);
    log_bytes(v, n + 1);
}

static int tracked(int fd)
{
    return log_fd >= 0 && fd >= 0 && fd < MAX_FDS && fd_file[fd] != 0;
}

/* Count one operation on a tracked file; at the kill point log it as in
 * flight (`data`, when it is a write) and cut the process. */
static void count_op(uint16_t type, int fd, uint64_t off,
                     const struct iovec *data, int n)
{
    if (++op_count != kill_at)
        return;
    if (type == SFJ_PC_WRITE)
        log_rec(SFJ_PC_WRITE, SFJ_PC_F_INFLIGHT, fd_file[fd] - 1, off, data, n);
    log_rec(SFJ_PC_CUT, 0, fd_file[fd] - 1, op_count, NULL, 0);
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}

/* Register `fd`, opened as `path` with `flags`, when it lies in the
 * tracked directory. */
static void note_open(int fd, const char *path, int flags)
{
    const char *name;
    struct iovec v;
    int i;

    if (log_fd < 0 || fd < 0 || fd >= MAX_FDS || path == NULL)
        return;
    fd_file[fd] = 0;
    if (strncmp(path, track_dir, track_len) != 0 || path[track_len] != '/')
        return;
    name = path + track_len + 1;
    if (*name == '\0' || strchr(name, '/') != NULL ||
        strlen(name) > NAME_MAX_ || strcmp(name, "lock.mdb") == 0)
        return;
    pthread_mutex_lock(&shim_lock);
    for (i = 0; i < n_files; i++) {
        if (strcmp(file_names[i], name) == 0)
            break;
    }
    if (i == n_files) {
        if (n_files == MAX_FILES)
            abort();
        strcpy(file_names[n_files++], name);
        v.iov_base = (void *)name;
        v.iov_len = strlen(name);
        log_rec(SFJ_PC_OPEN, 0, i, 0, &v, 1);
    }
    fd_file[fd] = (uint8_t)(i + 1);
    fd_dsync[fd] = (flags & (O_DSYNC | O_SYNC)) != 0;
    if (flags & O_TRUNC)
        log_rec(SFJ_PC_TRUNC, 0, i, 0, NULL, 0);
    pthread_mutex_unlock(&shim_lock);
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

    resolve();

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    fd = real_open(path, flags, mode);
    note_open(fd, path, flags);
    return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    mode_t mode;
    int fd;

    resolve();

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    fd = real_openat(dirfd, path, flags, mode);
    /* Only absolute paths and the current directory's are recognised. */
    if (fd >= 0 && (path[0] == '/' || dirfd == AT_FDCWD))
        note_open(fd, path, flags);
    return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
    __attribute__((alias("openat")));

int close(int fd)
{
    resolve();
    if (fd >= 0 && fd < MAX_FDS)
        fd_file[fd] = 0;
    return real_close(fd);
}

static uint64_t current_offset(int fd)
{
    struct stat64 st;
    int fl = fcntl(fd, F_GETFL);
    off64_t o;

    if (fl >= 0 && (fl & O_APPEND) && fstat64(fd, &st) == 0)
        return (uint64_t)st.st_size;
    o = lseek64(fd, 0, SEEK_CUR);
    return o < 0 ? 0 : (uint64_t)o;
}

/* The common path of every write: count (maybe cut), run, then log what
 * was actually written. */
ssize_t sfj__shim_write(int fd, const struct iovec *iov, int n, off64_t off,
                        int positional)
{
    struct iovec part[64];
    uint64_t at;
    ssize_t w;
    size_t left;
    int i, k;

    resolve();
    if (!tracked(fd) || n > 63) {
        if (positional)
            return real_pwritev(fd, iov, n, off);
        return n == 1 ? real_write(fd, iov[0].iov_base, iov[0].iov_len)
                      : real_writev(fd, iov, n);
    }
    pthread_mutex_lock(&shim_lock);
    at = positional ? (uint64_t)off : current_offset(fd);
    count_op(SFJ_PC_WRITE, fd, at, iov, n);
    if (positional)
        w = n == 1 ? real_pwrite(fd, iov[0].iov_base, iov[0].iov_len, off)
                   : real_pwritev(fd, iov, n, off);
    else
        w = n == 1 ? real_write(fd, iov[0].iov_base, iov[0].iov_len)
                   : real_writev(fd, iov, n);
    if (w > 0) {
        left = (size_t)w;
        for (i = 0, k = 0; i < n && left > 0; i++, k++) {
            part[k].iov_base = iov[i].iov_base;
            part[k].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
            left -= part[k].iov_len;
        }
        log_rec(SFJ_PC_WRITE, fd_dsync[fd] ? SFJ_PC_F_DURABLE : 0,
                fd_file[fd] - 1, at, part, k);
    }
    pthread_mutex_unlock(&shim_lock);
    return w;
}

static int truncate_to(int fd, off64_t size)
{
    int rc;

    resolve();

    if (!tracked(fd))
        return real_ftruncate(fd, size);
    pthread_mutex_lock(&shim_lock);
    count_op(SFJ_PC_TRUNC, fd, (uint64_t)size, NULL, 0);
    rc = real_ftruncate(fd, size);
    if (rc == 0)
        log_rec(SFJ_PC_TRUNC, 0, fd_file[fd] - 1, (uint64_t)size, NULL, 0);
    pthread_mutex_unlock(&shim_lock);
    return rc;
}

int ftruncate(int fd, off_t size)
{
    return truncate_to(fd, size);
}

int ftruncate64(int fd, off64_t size)
{
    return truncate_to(fd, size);
}

static int do_sync(int fd, int (*fn)(int))
{
    int rc;

    if (!tracked(fd))
        return fn(fd);
    pthread_mutex_lock(&shim_lock);
    count_op(SFJ_PC_SYNC, fd, 0, NULL, 0);
    rc = fn(fd);
    /* A failed sync makes nothing durable. */
    if (rc == 0)
        log_rec(SFJ_PC_SYNC, 0, fd_file[fd] - 1, 0, NULL, 0);
    pthread_mutex_unlock(&shim_lock);
    return rc;
}

int fsync(int fd)
{
    resolve();
    return do_sync(fd, real_fsync);
}

int fdatasync(int fd)
{
    resolve();
    return do_sync(fd, real_fdatasync);
}

void sync(void)
{
    resolve();
    real_sync();
    if (log_fd >= 0) {
        pthread_mutex_lock(&shim_lock);
        log_rec(SFJ_PC_SYNCALL, 0, 0, 0, NULL, 0);
        pthread_mutex_unlock(&shim_lock);
    }
}

int syncfs(int fd)
{
    int rc;

    resolve();
    rc = real_syncfs(fd);

    if (rc == 0 && log_fd >= 0) {
        pthread_mutex_lock(&shim_lock);
        log_rec(SFJ_PC_SYNCALL, 0, 0, 0, NULL, 0);
        pthread_mutex_unlock(&shim_lock);
    }
    return rc;
}

int msync(void *addr, size_t len, int flags)
{
    resolve();
    if (log_fd >= 0) {
        pthread_mutex_lock(&shim_lock);
        log_rec(SFJ_PC_MSYNC, 0, 0, 0, NULL, 0);
        pthread_mutex_unlock(&shim_lock);
    }
    return real_msync(addr, len, flags);
}

static void *map_at(void *addr, size_t len, int prot, int flags, int fd,
                    off64_t off)
{
    resolve();
    if (tracked(fd) && (prot & PROT_WRITE) && (flags & MAP_SHARED)) {
        pthread_mutex_lock(&shim_lock);
        log_rec(SFJ_PC_MMAP, 0, fd_file[fd] - 1, (uint64_t)off, NULL, 0);
        pthread_mutex_unlock(&shim_lock);
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return map_at(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    return map_at(addr, len, prot, flags, fd, off);
}
