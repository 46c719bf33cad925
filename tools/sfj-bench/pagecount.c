/* sfj-bench-pages.so: counts the writes this process makes to regular
 * files, preloaded (LD_PRELOAD) into sfj-bench's --io-probe child only.
 *
 * Every write, pwrite, writev and pwritev to a regular file adds the 4 KiB
 * file pages it touches (from its offset: a 100-byte write inside one page
 * is one page, 4096 bytes across a page boundary are two), one call and
 * its bytes. The counts are the process's own and do not depend on other
 * processes; sfj-bench reads them through sfj_bench_write_counts, found
 * with dlsym, around each run. Writes to pipes, sockets and terminals are
 * not counted. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096u

static _Atomic uint64_t n_pages, n_calls, n_bytes;

/* pages, calls, bytes since the process started. */
void sfj_bench_write_counts(uint64_t out[3]);
void sfj_bench_write_counts(uint64_t out[3])
{
    out[0] = atomic_load(&n_pages);
    out[1] = atomic_load(&n_calls);
    out[2] = atomic_load(&n_bytes);
}

/* The offset a write at the file position would start at; -1 when the
 * descriptor is not a regular file. */
static off64_t where(int fd, off64_t off, int positional)
{
    struct stat64 sb;
    int fl;

    if (fstat64(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return -1;
    if (positional)
        return off;
    fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_APPEND))
        return sb.st_size;
    return lseek64(fd, 0, SEEK_CUR);
}

static void count(off64_t off, ssize_t done)
{
    uint64_t first, last;

    if (off < 0 || done <= 0)
        return;
    first = (uint64_t)off / PAGE;
    last = ((uint64_t)off + (uint64_t)done - 1) / PAGE;
    atomic_fetch_add(&n_pages, last - first + 1);
    atomic_fetch_add(&n_calls, 1);
    atomic_fetch_add(&n_bytes, (uint64_t)done);
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off64_t);

static write_fn real_write;
static pwrite_fn real_pwrite;
static writev_fn real_writev;
static pwritev_fn real_pwritev;

/* Resolved once, before any thread of the program runs. The positional
 * calls resolve to their 64-bit names, which exist on every processor:
 * a 32-bit program built with _FILE_OFFSET_BITS=64 passes 64-bit
 * offsets. */
__attribute__((constructor)) static void resolve(void)
{
    *(void **)&real_write = dlsym(RTLD_NEXT, "write");
    *(void **)&real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
    *(void **)&real_writev = dlsym(RTLD_NEXT, "writev");
    *(void **)&real_pwritev = dlsym(RTLD_NEXT, "pwritev64");
}

/* The entry points: C names of their own, linked under the libc names
 * they stand in for. */
ssize_t counted_write(int fd, const void *buf, size_t len) __asm__("write");
ssize_t counted_pwrite(int fd, const void *buf, size_t len,
                       off_t off) __asm__("pwrite");
ssize_t counted_pwrite64(int fd, const void *buf, size_t len,
                         off64_t off) __asm__("pwrite64");
ssize_t counted_writev(int fd, const struct iovec *iov,
                       int n) __asm__("writev");
ssize_t counted_pwritev(int fd, const struct iovec *iov, int n,
                        off_t off) __asm__("pwritev");
ssize_t counted_pwritev64(int fd, const struct iovec *iov, int n,
                          off64_t off) __asm__("pwritev64");

ssize_t counted_write(int fd, const void *buf, size_t len)
{
    off64_t off = where(fd, 0, 0);
    ssize_t r;

    r = real_write(fd, buf, len);
    count(off, r);
    return r;
}

ssize_t counted_pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
    ssize_t r;

    r = real_pwrite(fd, buf, len, off);
    count(where(fd, off, 1), r);
    return r;
}

ssize_t counted_pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return counted_pwrite64(fd, buf, len, off);
}

ssize_t counted_writev(int fd, const struct iovec *iov, int n)
{
    off64_t off = where(fd, 0, 0);
    ssize_t r;

    r = real_writev(fd, iov, n);
    count(off, r);
    return r;
}

ssize_t counted_pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
    ssize_t r;

    r = real_pwritev(fd, iov, n, off);
    count(where(fd, off, 1), r);
    return r;
}

ssize_t counted_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    return counted_pwritev64(fd, iov, n, off);
}
