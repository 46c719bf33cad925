/* LMDB B-tree structural check; see lmdb_walk.h.
 *
 * The layout is LMDB's data format version 1 (lmdb.h/mdb.c 0.9.x,
 * PAGEBASE 0; lmdb_format.h gives the offsets, which depend on the word
 * size W, 8 or 4 bytes): a page starts with a W-byte pgno, u16 pad, u16
 * flags, then u16 lower, u16 upper (u32 page count in overflow pages) and
 * the u16 node offsets from W + 8. A node is u16 lo, u16 hi, u16 flags,
 * u16 key size, key, data: in branch pages lo|hi<<16 is the child page
 * (with flags<<32 when W is 8), in leaf pages lo|hi<<16 is the data size,
 * with the data on overflow pages (F_BIGDATA, a W-byte page number
 * inline) or a database record (F_SUBDATA). A meta page holds the FREE
 * and MAIN database records and its txnid. */
#include "journal/store/lmdb_format.h"
#include "journal/store/lmdb_walk.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfj/errors.h"

#define PAGEHDRSZ    SFJ__LMDB_PAGEHDRSZ
#define NODESIZE     8
#define P_BRANCH     SFJ__LMDB_P_BRANCH
#define P_LEAF       SFJ__LMDB_P_LEAF
#define P_OVERFLOW   SFJ__LMDB_P_OVERFLOW
#define F_BIGDATA    0x01
#define F_SUBDATA    0x02
#define F_DUPDATA    0x04
#define DB_RECORD    SFJ__LMDB_DB_RECORD
#define DB_ROOT      SFJ__LMDB_DB_ROOT
#define META_FREE_DB SFJ__LMDB_META_FREE_DB
#define META_MAIN_DB SFJ__LMDB_META_MAIN_DB
#define META_LAST_PG SFJ__LMDB_META_LAST_PG
#define META_TXNID   SFJ__LMDB_META_TXNID
#define P_INVALID    SFJ__LMDB_P_INVALID
#define WORD         SFJ__LMDB_WORD
#define PAGE_FLAGS   SFJ__LMDB_PAGE_FLAGS
#define DB_BRANCH    SFJ__LMDB_DB_BRANCH
#define DB_LEAF      SFJ__LMDB_DB_LEAF
#define MAX_DEPTH    32
/* Databases of this size or less are walked whole even in edge mode. */
#define SMALL_DB_PAGES 64

typedef struct walk {
    sfj_journal *j;
    int fd;
    unsigned psize;
    uint64_t last_pg;
    uint8_t *seen;  /* one bit per page */
    uint8_t *page;  /* one buffer per depth level */
    int full;       /* walking every child of the current tree */
    int want_full;  /* what the caller asked for */
    int in_main;    /* walking the main database, not a named one */
    const char *db; /* name of the database being walked, for messages */
} walk;

#define u16  sfj__host16
#define u32  sfj__host32
#define word sfj__lmdb_word

static int bad(walk *w, uint64_t pgno, const char *what)
{
    sfj__set_err(w->j,
                 "damaged LMDB page %llu in database %s (%s): the journal "
                 "file is corrupt",
                 (unsigned long long)pgno, w->db, what);
    return SFJ_ECORRUPT;
}

static int read_page(walk *w, uint64_t pgno, uint8_t *buf)
{
    ssize_t n = pread(w->fd, buf, w->psize, (off_t)(pgno * w->psize));

    if (n < 0)
        return SFJ_EIO;
    return n == (ssize_t)w->psize ? SFJ_OK : bad(w, pgno, "past the end");
}

static int mark(walk *w, uint64_t pgno, uint64_t count)
{
    uint64_t i;

    if (pgno < 2 || count == 0 || pgno > w->last_pg ||
        count - 1 > w->last_pg - pgno)
        return bad(w, pgno, "page number out of range");
    for (i = pgno; i < pgno + count; i++) {
        if (w->seen[i >> 3] & (1u << (i & 7)))
            return bad(w, pgno, "page reached twice");
        w->seen[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
    return SFJ_OK;
}

static int check_overflow(walk *w, uint64_t pgno, uint64_t size, uint8_t *buf)
{
    uint64_t need = (PAGEHDRSZ - 1 + size) / w->psize + 1;
    int rc;

    /* A damaged reference must not even be read: it may lie anywhere. */
    if (pgno < 2 || pgno > w->last_pg)
        return bad(w, pgno, "overflow page number out of range");
    rc = read_page(w, pgno, buf);
    if (rc != SFJ_OK)
        return rc;
    if (word(buf) != pgno || (u16(buf + PAGE_FLAGS) & P_OVERFLOW) == 0 ||
        u32(buf + SFJ__LMDB_PAGE_OVPAGES) < need)
        return bad(w, pgno, "bad overflow page");
    return mark(w, pgno, u32(buf + SFJ__LMDB_PAGE_OVPAGES));
}

static int walk_tree(walk *w, uint64_t pgno, int depth);

/* A database record in the MAIN database: walk its tree. */
static int walk_subdb(walk *w, const uint8_t *rec, const uint8_t *name,
                      size_t name_len, int depth)
{
    char label[64];
    const char *outer = w->db;
    uint64_t root = word(rec + DB_ROOT);
    uint64_t pages = word(rec + DB_BRANCH) + word(rec + DB_LEAF);
    int rc, outer_full = w->full, outer_main = w->in_main;

    if (root == P_INVALID)
        return SFJ_OK;
    snprintf(label, sizeof label, "%.*s", (int)(name_len < 40 ? name_len : 40),
             (const char *)name);
    w->db = label;
    w->full = w->want_full || pages <= SMALL_DB_PAGES;
    w->in_main = 0;
    rc = walk_tree(w, root, depth + 1);
    w->in_main = outer_main;
    w->full = outer_full;
    w->db = outer;
    return rc;
}

static int check_node(walk *w, uint64_t pgno, const uint8_t *p, int leaf,
                      uint16_t ptr, uint64_t *child, int depth)
{
    const uint8_t *n = p + ptr;
    uint16_t flags, ksize;
    uint64_t dsize;

    if (ptr < PAGEHDRSZ || (size_t)ptr + NODESIZE > w->psize)
        return bad(w, pgno, "node offset outside the page");
    flags = u16(n + 4);
    ksize = u16(n + 6);
    if ((size_t)ptr + NODESIZE + ksize > w->psize)
        return bad(w, pgno, "key runs past the page");
    if (!leaf) {
        *child = u16(n) | ((uint64_t)u16(n + 2) << 16);
        if (WORD == 8)
            *child |= (uint64_t)flags << 32;
        return SFJ_OK;
    }
    dsize = u16(n) | ((uint64_t)u16(n + 2) << 16);
    if (flags & F_DUPDATA)
        return bad(w, pgno, "duplicate data, which sfj never writes");
    if (flags & F_BIGDATA) {
        if ((size_t)ptr + NODESIZE + ksize + WORD > w->psize)
            return bad(w, pgno, "overflow reference runs past the page");
        *child = word(n + NODESIZE + ksize);
        return check_overflow(w, *child, dsize,
                              w->page + (depth + 1) * w->psize);
    }
    if ((size_t)ptr + NODESIZE + ksize + dsize > w->psize)
        return bad(w, pgno, "value runs past the page");
    if (flags & F_SUBDATA) {
        if (dsize != DB_RECORD)
            return bad(w, pgno, "bad database record");
        return walk_subdb(w, n + NODESIZE + ksize, n + NODESIZE, ksize, depth);
    }
    return SFJ_OK;
}

/* Whether the child under branch node `n` of the main database may hold
 * a named database's record: every key from its first on is an entry's
 * (format 2) when that first key is. */
static int may_hold_names(const walk *w, const uint8_t *n)
{
    return w->in_main && (u16(n + 6) == 0 || n[NODESIZE] != SFJ__ENTRY_TAG);
}

static int walk_tree(walk *w, uint64_t pgno, int depth)
{
    uint8_t *p = w->page + depth * w->psize;
    uint16_t flags, lower, upper;
    unsigned nkeys, i;
    uint64_t child = 0;
    int rc, leaf;

    if (depth >= MAX_DEPTH)
        return bad(w, pgno, "tree too deep");
    rc = mark(w, pgno, 1);
    if (rc == SFJ_OK)
        rc = read_page(w, pgno, p);
    if (rc != SFJ_OK)
        return rc;
    flags = u16(p + PAGE_FLAGS);
    lower = u16(p + SFJ__LMDB_PAGE_LOWER);
    upper = u16(p + SFJ__LMDB_PAGE_UPPER);
    leaf = (flags & P_LEAF) != 0;
    if (word(p) != pgno)
        return bad(w, pgno, "page number does not match its place");
    if (leaf == ((flags & P_BRANCH) != 0) || (flags & P_OVERFLOW))
        return bad(w, pgno, "neither branch nor leaf");
    if (lower < PAGEHDRSZ || lower > upper || upper > w->psize ||
        (lower - PAGEHDRSZ) % 2 != 0)
        return bad(w, pgno, "bad free-space bounds");
    nkeys = (lower - PAGEHDRSZ) / 2;
    if (!leaf && nkeys == 0)
        return bad(w, pgno, "empty branch page");
    for (i = 0; i < nkeys; i++) {
        uint16_t ptr = u16(p + PAGEHDRSZ + 2 * i);

        if (ptr < upper)
            return bad(w, pgno, "node below the free space");
        rc = check_node(w, pgno, p, leaf, ptr, &child, depth);
        if (rc != SFJ_OK)
            return rc;
        if (leaf)
            continue;
        /* Edge mode: the first and last paths are what open reads, and
         * every page that may lead to a named database's record. */
        if (!w->full && i != 0 && i != nkeys - 1 && !may_hold_names(w, p + ptr))
            continue;
        rc = walk_tree(w, child, depth + 1);
        if (rc != SFJ_OK)
            return rc;
        /* The child used the next buffer; this page is still intact. */
    }
    return SFJ_OK;
}

/* The snapshot's meta page: the newest one not past the transaction (a
 * read transaction's id is its snapshot's, a write transaction's one
 * more). */
static int find_meta(walk *w, uint64_t txnid, uint8_t *buf)
{
    uint64_t best = 0, t;
    unsigned m, pick = 2;
    int rc;

    for (m = 0; m < 2; m++) {
        rc = read_page(w, m, buf);
        if (rc != SFJ_OK)
            return rc;
        t = word(buf + META_TXNID);
        if (t <= txnid && (pick == 2 || t > best)) {
            best = t;
            pick = m;
        }
    }
    if (pick == 2) {
        /* Both meta pages were rewritten since the snapshot began: not
         * damage, the caller retries with a new snapshot. */
        sfj__set_err(w->j, "the journal changed too fast to be checked");
        return SFJ_ESTATE;
    }
    return read_page(w, pick, buf);
}

int sfj__lmdb_walk(sfj_journal *j, MDB_txn *txn, int full)
{
    uint8_t *meta = NULL;
    MDB_stat st;
    walk w;
    int fd, rc;

    memset(&w, 0, sizeof w);
    if (mdb_env_get_fd(j->env, &fd) != MDB_SUCCESS ||
        mdb_env_stat(j->env, &st) != MDB_SUCCESS)
        return SFJ_EIO;
    w.j = j;
    w.fd = fd;
    w.psize = st.ms_psize;
    w.want_full = full;
    w.db = "meta";
    w.page = malloc((size_t)(MAX_DEPTH + 2) * w.psize);
    meta = malloc(w.psize);
    if (w.page == NULL || meta == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    rc = find_meta(&w, mdb_txn_id(txn), meta);
    if (rc != SFJ_OK)
        goto done;
    w.last_pg = word(meta + META_LAST_PG);
    w.seen = calloc((size_t)(w.last_pg / 8 + 1), 1);
    if (w.seen == NULL) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    /* MAIN holds the named databases' records, walked whole, and in a
     * format 2 journal the entries, walked as a named database is. */
    w.full = full || word(meta + META_MAIN_DB + DB_BRANCH) +
                             word(meta + META_MAIN_DB + DB_LEAF) <=
                         SMALL_DB_PAGES;
    w.in_main = 1;
    w.db = "main";
    if (word(meta + META_MAIN_DB + DB_ROOT) != P_INVALID)
        rc = walk_tree(&w, word(meta + META_MAIN_DB + DB_ROOT), 0);
    w.full = full || word(meta + META_FREE_DB + DB_BRANCH) +
                             word(meta + META_FREE_DB + DB_LEAF) <=
                         SMALL_DB_PAGES;
    w.db = "free";
    if (rc == SFJ_OK && word(meta + META_FREE_DB + DB_ROOT) != P_INVALID)
        rc = walk_tree(&w, word(meta + META_FREE_DB + DB_ROOT), 0);
done:
    free(w.seen);
    free(w.page);
    free(meta);
    return rc;
}
