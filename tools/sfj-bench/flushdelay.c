/* sfj-bench-flush.so: a model of a disk whose flush is slower than this
 * one's, preloaded (LD_PRELOAD) into sfj-bench by --flush-delay.
 *
 * After every fsync and fdatasync, and after every write or pwrite
 * through a descriptor opened with O_DSYNC or O_SYNC (LMDB's meta page),
 * the calling thread sleeps SFJ_BENCH_FLUSH_US microseconds more. The call
 * still does its real work first, so nothing is less durable; the CPU is
 * free during the sleep, as it is while a slow device flushes. Every
 * system of the bench pays the same per sync: raw LMDB and sfj two per
 * commit, SQLite's WAL and write+fdatasync one. sfj-bench reads the count
 * of lengthened calls and their time through sfj_bench_flush_counts,
 * found with dlsym. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static long delay_ns;
static _Atomic uint64_t n_flushes, n_waited_ns;

/* Since the process started: the syncs lengthened, and the nanoseconds
 * they were lengthened by (a sleep overshoots what it asks: the timer's
 * slack, the wake-up). */
void sfj_bench_flush_counts(uint64_t out[2]);
void sfj_bench_flush_counts(uint64_t out[2])
{
    out[0] = atomic_load(&n_flushes);
    out[1] = atomic_load(&n_waited_ns);
}

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off64_t);

/* Resolved once, before any thread of the program runs; the 64-bit names,
 * as pagecount.c does. */
__attribute__((constructor)) static void resolve(void)
{
    const char *us = getenv("SFJ_BENCH_FLUSH_US");

    delay_ns = us != NULL ? atol(us) * 1000L : 0;
    *(void **)&real_fsync = dlsym(RTLD_NEXT, "fsync");
    *(void **)&real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    *(void **)&real_write = dlsym(RTLD_NEXT, "write");
    *(void **)&real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
}

/* The slow device's flush, after the real one; errno as the call left it. */
static void flush_wait(void)
{
    struct timespec t = {delay_ns / 1000000000L, delay_ns % 1000000000L};
    struct timespec a, b;
    int saved = errno;

    if (delay_ns <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &a);
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &b);
    atomic_fetch_add(&n_flushes, 1);
    atomic_fetch_add(&n_waited_ns,
                     (uint64_t)((b.tv_sec - a.tv_sec) * 1000000000L +
                                (b.tv_nsec - a.tv_nsec)));
    errno = saved;
}

/* Whether writes through fd are durable on return (O_DSYNC, O_SYNC):
 * asked at each write, as pagecount.c asks whether it is a file. */
static int sync_fd(int fd)
{
    int saved = errno, fl;

    if (delay_ns <= 0)
        return 0;
    fl = fcntl(fd, F_GETFL);
    errno = saved;
    return fl >= 0 && (fl & (O_DSYNC | O_SYNC)) != 0;
}

/* The entry points: C names of their own, linked under the libc names
 * they stand in for (pagecount.c). */
int flushed_fsync(int fd) __asm__("fsync");
int flushed_fdatasync(int fd) __asm__("fdatasync");
ssize_t flushed_write(int fd, const void *buf, size_t len) __asm__("write");
ssize_t flushed_pwrite(int fd, const void *buf, size_t len,
                       off_t off) __asm__("pwrite");
ssize_t flushed_pwrite64(int fd, const void *buf, size_t len,
                         off64_t off) __asm__("pwrite64");

int flushed_fsync(int fd)
{
    int r = real_fsync(fd);

    flush_wait();
    return r;
}

int flushed_fdatasync(int fd)
{
    int r = real_fdatasync(fd);

    flush_wait();
    return r;
}

ssize_t flushed_write(int fd, const void *buf, size_t len)
{
    ssize_t r = real_write(fd, buf, len);

    if (sync_fd(fd))
        flush_wait();
    return r;
}

ssize_t flushed_pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    ssize_t r = real_pwrite(fd, buf, len, off);

    if (sync_fd(fd))
        flush_wait();
    return r;
}

ssize_t flushed_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return flushed_pwrite64(fd, buf, len, off);
}
