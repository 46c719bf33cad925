/* The store a host test runs sfj-host on: see storetest.h. */
#define _GNU_SOURCE
#include "support/storetest.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "sfj/sys/internal.h"
#include "support/testutil.h"
#ifdef SFJ_HAVE_LIBPQ
#include "support/pgtest.h"
#endif

void sfj_test_store_from_args(sfj_test_store *s, int argc, char **argv)
{
    memset(s, 0, sizeof *s);
    s->pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
}

const char *sfj_test_store_name(const sfj_test_store *s)
{
    return s->pg ? "postgresql" : "lmdb";
}

int sfj_test_store_start(sfj_test_store *s)
{
    if (!s->pg || s->server != NULL)
        return 0;
#ifdef SFJ_HAVE_LIBPQ
    if (!sfj_test_pg_available())
        return -1;
    s->server = calloc(1, sizeof(sfj_test_pg));
    assert_non_null(s->server);
    sfj_test_pg_init(s->server);
    return 0;
#else
    return -1;
#endif
}

void sfj_test_store_cleanup(sfj_test_store *s)
{
    if (s->server == NULL)
        return;
#ifdef SFJ_HAVE_LIBPQ
    sfj_test_pg_cleanup(s->server);
#endif
    free(s->server);
    s->server = NULL;
}

void sfj_test_store_host(const sfj_test_store *s, sfj_test_host *h,
                         const char *mirrors)
{
#ifdef SFJ_HAVE_LIBPQ
    if (s->pg) {
        h->dir = NULL;
        snprintf(h->extra, sizeof h->extra, "--store %s",
                 ((sfj_test_pg *)s->server)->url);
        return;
    }
#endif
    assert_false(s->pg);
    h->dir = strdup(mirrors);
    assert_non_null(h->dir);
}

/* The mirror of `term` under the host's directory. */
static char *mirror_path(const sfj_test_host *h, sfj_journal *term)
{
    uint8_t jid[16];
    char hj[33];
    int i;

    assert_int_equal(sfj_journal_id(term, jid), 0);
    for (i = 0; i < 16; i++)
        sprintf(hj + 2 * i, "%02x", jid[i]);
    return sfj_test_path(h->dir, hj);
}

/* The mirror opened read-only beside the running host; NULL when the
 * host has not made it durable yet. */
static sfj_journal *open_mirror(const sfj_test_host *h, sfj_journal *term)
{
    sfj_journal_opts mo = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *m = NULL;
    char *path = mirror_path(h, term);
    struct stat sb;
    int rc;

    if (stat(path, &sb) != 0) {
        assert_int_equal(errno, ENOENT);
        free(path);
        return NULL;
    }
    mo.flags = SFJ_OPEN_RDONLY;
    rc = sfj_journal_open(path, NULL, &mo, &m);
    if (rc != SFJ_OK && rc != SFJ_ENOTFOUND)
        fail_msg("opening the mirror %s read-only failed: %d %s: %s", path, rc,
                 sfj_test_errname(rc), sfj_journal_errmsg(NULL));
    free(path);
    return rc == SFJ_OK ? m : NULL;
}

int sfj_test_store_copy_head(const sfj_test_store *s, const sfj_test_host *h,
                             sfj_journal *term, uint64_t *n, uint64_t *first,
                             uint64_t *last)
{
    sfj_stats st = SFJ_STATS_INIT;
    sfj_journal *m;
    uint64_t head = 0;

    *n = *first = *last = 0;
#ifdef SFJ_HAVE_LIBPQ
    if (s->pg) {
        sfj_test_pg_copy_head(s->server, term, n, first, last);
        return *n == 0 ? 1 : 0;
    }
#endif
    m = open_mirror(h, term);
    if (m == NULL)
        return 1;
    assert_int_equal(sfj__journal_head(m, &head, NULL), SFJ_OK);
    assert_int_equal(sfj_stats_get(m, &st), SFJ_OK);
    assert_int_equal(st.last_seq, head);
    *n = st.entries;
    *first = st.first_seq;
    *last = head;
    assert_int_equal(sfj_journal_close(m), SFJ_OK);
    return 0;
}

void sfj_test_store_copy_equal(const sfj_test_store *s, const sfj_test_host *h,
                               sfj_journal *term, uint64_t from, uint64_t to)
{
    uint8_t *a = NULL, *b = NULL;
    size_t la, lb;
    sfj_journal *m;
    uint64_t seq;

#ifdef SFJ_HAVE_LIBPQ
    if (s->pg) {
        sfj_test_pg_copy_equal(s->server, term, from, to);
        return;
    }
#endif
    if (from > to)
        return;
    m = open_mirror(h, term);
    assert_non_null(m);
    for (seq = from; seq <= to; seq++) {
        assert_int_equal(sfj__journal_read_sealed(term, seq, &a, &la), SFJ_OK);
        assert_int_equal(sfj__journal_read_sealed(m, seq, &b, &lb), SFJ_OK);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        free(a);
        free(b);
    }
    assert_int_equal(sfj_journal_close(m), SFJ_OK);
}

uint64_t sfj_test_store_equal(const sfj_test_store *s, const sfj_test_host *h,
                              sfj_journal *term, const sfj_keys *keys)
{
#ifdef SFJ_HAVE_LIBPQ
    if (s->pg)
        return sfj_test_pg_table_equal(s->server, term);
#endif
    return sfj_test_mirror_equal(h->dir, term, keys);
}
