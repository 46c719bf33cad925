/* The cipher states of link sessions, many pairs to one sodium_malloc'd
 * slab.
 *
 * One sodium_malloc per session costs two resident pages and about four
 * memory mappings (its guard pages): at 10,000 links of one gateway that
 * was 80 MiB and 40,000 of the 65,530 mappings Linux allows a process by
 * default. A slab holds SLAB_PAIRS pairs behind one set of guard pages,
 * locked and kept out of core dumps as any sodium_malloc region; a pair
 * is zeroed when taken and wiped when given back. What is given up is a
 * guard page between two sessions' keys of one process, which only a
 * memory-safety bug in the process could cross, and that bug could read
 * either anyway.
 *
 * States: a slab is IN USE while `used` > 0 and is freed (sodium_free
 * wipes it) when its last pair comes back. Invariant: `used` equals the
 * number of set `taken` flags; every slab on the list is in use. One
 * mutex guards the list; pthread_atfork handlers hold it across fork so
 * that a child never inherits it locked (as the compression pool does). */
#include "common/check.h"
#include "crypto/cipher_slab.h"

#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLAB_PAIRS 200 /* 200 x 80 bytes: four pages */

typedef struct slab {
    sfj__cipher *mem; /* 2 * SLAB_PAIRS states, sodium_malloc'd */
    unsigned used;
    uint8_t taken[SLAB_PAIRS];
    struct slab *next;
} slab;

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static slab *slabs;

#ifdef SFJ_CHECKS
static int assert_slab_state(const slab *s)
{
    unsigned i, n = 0;

    for (i = 0; i < SLAB_PAIRS; i++)
        n += s->taken[i] != 0;
    return n == s->used && s->used > 0;
}
#endif

static void fork_prepare(void)
{
    pthread_mutex_lock(&slab_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&slab_lock);
}

static void register_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

sfj__cipher *sfj__cipher_pair_take(void)
{
    sfj__cipher *pair = NULL;
    slab *s;
    unsigned i;

    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&slab_lock);
    for (s = slabs; s != NULL && s->used == SLAB_PAIRS; s = s->next)
        ;
    if (s == NULL && (s = calloc(1, sizeof *s)) != NULL) {
        s->mem = sodium_malloc(2 * SLAB_PAIRS * sizeof *s->mem);
        if (s->mem == NULL) {
            free(s);
            s = NULL;
        } else {
            s->next = slabs;
            slabs = s;
        }
    }
    if (s != NULL) {
        for (i = 0; s->taken[i]; i++)
            ;
        s->taken[i] = 1;
        s->used++;
        pair = &s->mem[2 * i];
        sodium_memzero(pair, 2 * sizeof *pair);
        assert(assert_slab_state(s));
    }
    pthread_mutex_unlock(&slab_lock);
    return pair;
}

void sfj__cipher_pair_give(sfj__cipher *pair)
{
    slab **at, *s;
    size_t i;

    if (pair == NULL)
        return;
    sodium_memzero(pair, 2 * sizeof *pair);
    pthread_mutex_lock(&slab_lock);
    for (at = &slabs; (s = *at) != NULL; at = &s->next) {
        if (pair >= s->mem && pair < s->mem + 2 * SLAB_PAIRS)
            break;
    }
    assert(s != NULL);
    if (s != NULL) {
        i = (size_t)(pair - s->mem) / 2;
        assert(s->taken[i]);
        s->taken[i] = 0;
        if (--s->used == 0) {
            *at = s->next;
            sodium_free(s->mem);
            free(s);
        } else {
            assert(assert_slab_state(s));
        }
    }
    pthread_mutex_unlock(&slab_lock);
}
