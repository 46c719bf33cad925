/* The pool of dump-excluded plaintext blocks; see secmem.h.
 *
 * States of a block: free (on its class's list, all zero but the link in
 * its first bytes) or in use (its header names its class and the size
 * asked for). sfj__secmem_alloc moves free -> in use, sfj__secmem_free
 * in use -> free after wiping the size asked for. Invariant: every byte
 * of a free block past the link is zero, so an allocation only clears
 * the link. */
#define _GNU_SOURCE
#include "common/check.h"

#include "common/secmem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Under AddressSanitizer blocks come from malloc, still wiped on free, so
 * that its leak and use-after-free checks keep seeing entries. */
#if defined(__SANITIZE_ADDRESS__)
#define SECMEM_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SECMEM_MALLOC 1
#endif
#endif

#define MIN_SHIFT   6  /* 64-byte blocks */
#define MAX_SHIFT   17 /* 128 KiB blocks */
#define CLASSES     (MAX_SHIFT - MIN_SHIFT + 1)
#define ARENA_BYTES (256u << 10)
#define HDR_BYTES   16
#define MAGIC       0x73666a6du /* "sfjm" */

typedef struct hdr {
    uint32_t magic;
    uint32_t cls;  /* size class; CLASSES for a block mapped alone */
    uint64_t size; /* bytes asked for */
} hdr;

typedef struct link {
    struct link *next;
} link;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static link *free_list[CLASSES];
static uint8_t *carve[CLASSES]; /* the rest of the class's newest arena */
static size_t carve_left[CLASSES];
static size_t mapped;

static void fork_prepare(void)
{
    pthread_mutex_lock(&pool_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&pool_lock);
}

static void register_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

/* An anonymous mapping that core dumps leave out. */
static void *map_nodump(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_DONTDUMP
    /* Linux only; elsewhere the wipe on free is what remains. */
    (void)madvise(p, len, MADV_DONTDUMP);
#endif
    return p;
}

static unsigned class_of(size_t total)
{
    unsigned c = 0;

    while (((size_t)1 << (MIN_SHIFT + c)) < total)
        c++;
    return c;
}

void *sfj__secmem_alloc(size_t n)
{
    size_t total = n + HDR_BYTES, bsize;
    unsigned c;
    hdr *h = NULL;

    if (n == 0 || n > SIZE_MAX - HDR_BYTES - 4096)
        return NULL;
#ifdef SECMEM_MALLOC
    h = calloc(1, total);
    if (h == NULL)
        return NULL;
    h->magic = MAGIC;
    h->cls = CLASSES + 1;
    h->size = n;
    return (uint8_t *)h + HDR_BYTES;
#endif
    pthread_once(&atfork_once, register_atfork);
    if (total > ((size_t)1 << MAX_SHIFT)) {
        bsize = (total + 4095) & ~(size_t)4095;
        h = map_nodump(bsize);
        if (h == NULL)
            return NULL;
        h->magic = MAGIC;
        h->cls = CLASSES;
        h->size = n;
        return (uint8_t *)h + HDR_BYTES;
    }
    c = class_of(total);
    bsize = (size_t)1 << (MIN_SHIFT + c);
    pthread_mutex_lock(&pool_lock);
    if (free_list[c] != NULL) {
        link *l = free_list[c];

        free_list[c] = l->next;
        h = (hdr *)l;
    } else {
        if (carve_left[c] < bsize) {
            carve[c] = map_nodump(ARENA_BYTES);
            carve_left[c] = carve[c] != NULL ? ARENA_BYTES : 0;
            mapped += carve[c] != NULL ? ARENA_BYTES : 0;
        }
        if (carve_left[c] >= bsize) {
            h = (hdr *)carve[c];
            carve[c] += bsize;
            carve_left[c] -= bsize;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    if (h == NULL)
        return NULL;
    /* Free blocks are zero past the link, which the header covers. */
    h->magic = MAGIC;
    h->cls = c;
    h->size = n;
    return (uint8_t *)h + HDR_BYTES;
}

void sfj__secmem_free(void *p)
{
    hdr *h;
    unsigned c;

    if (p == NULL)
        return;
    h = (hdr *)((uint8_t *)p - HDR_BYTES);
    assert(h->magic == MAGIC && h->cls <= CLASSES + 1);
    c = h->cls;
    explicit_bzero(p, (size_t)h->size);
    if (c == CLASSES + 1) {
        free(h);
        return;
    }
    if (c == CLASSES) {
        munmap(h, ((size_t)h->size + HDR_BYTES + 4095) & ~(size_t)4095);
        return;
    }
    memset(h, 0, HDR_BYTES);
    pthread_mutex_lock(&pool_lock);
    ((link *)h)->next = free_list[c];
    free_list[c] = (link *)h;
    pthread_mutex_unlock(&pool_lock);
}

size_t sfj__secmem_mapped(void)
{
    size_t n;

    pthread_mutex_lock(&pool_lock);
    n = mapped;
    pthread_mutex_unlock(&pool_lock);
    return n;
}
