/* Pre-open check of an LMDB data file; see lmdb_check.h.
 *
 * The meta page layout is LMDB's data format version 1 (lmdb.h 0.9.x;
 * lmdb_format.h gives the offsets, which depend on the word size): a page
 * header (P_META = 0x08 in its flags), then u32 magic 0xBEEFC0DE, u32
 * version, address, mapsize, two database records (the first one's u32
 * pad holds the page size), last page number and transaction id. LMDB
 * uses the meta page with the higher transaction id. */
#include "journal/store/lmdb_check.h"
#include "journal/store/lmdb_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sfj/errors.h"

#define META_FLAGS   SFJ__LMDB_META_FLAGS
#define META_MAGIC   SFJ__LMDB_META_MAGIC
#define META_VERSION SFJ__LMDB_META_VERSION
#define META_PSIZE   SFJ__LMDB_META_PSIZE
#define META_LAST_PG SFJ__LMDB_META_LAST_PG
#define META_TXNID   SFJ__LMDB_META_TXNID
#define META_END     SFJ__LMDB_META_END
#define P_META       SFJ__LMDB_P_META
#define LMDB_MAGIC   SFJ__LMDB_MAGIC
#define LMDB_VERSION SFJ__LMDB_VERSION

typedef struct meta {
    int valid;
    uint32_t psize;
    uint64_t last_pg;
    uint64_t txnid;
} meta;

static void parse(const uint8_t *page, meta *m)
{
    memset(m, 0, sizeof *m);
    if ((sfj__host16(page + META_FLAGS) & P_META) == 0 ||
        sfj__host32(page + META_MAGIC) != LMDB_MAGIC ||
        sfj__host32(page + META_VERSION) != LMDB_VERSION)
        return;
    m->valid = 1;
    m->psize = sfj__host32(page + META_PSIZE);
    m->last_pg = sfj__lmdb_word(page + META_LAST_PG);
    m->txnid = sfj__lmdb_word(page + META_TXNID);
}

static int psize_ok(uint32_t psize)
{
    return psize >= 512 && psize <= 65536 && (psize & (psize - 1)) == 0;
}

/* A meta page laid out for the other word size (lmdb_format.h): a journal
 * written on a 32-bit processor read on a 64-bit one, or the reverse.
 * LMDB would call it "not an LMDB file"; it is sound, only not readable
 * here. */
static int other_word_size(const uint8_t *page)
{
    enum { OTHER = 12 - SFJ__LMDB_WORD };

    return (sfj__host16(page + OTHER + 2) & P_META) != 0 &&
           sfj__host32(page + OTHER + 8) == LMDB_MAGIC &&
           sfj__host32(page + OTHER + 12) == LMDB_VERSION;
}

/* One reading of both meta pages and the file size. */
static int check_once(sfj_journal *j, int fd, const char *path)
{
    uint8_t page[META_END];
    struct stat st;
    meta m0, m1;
    const meta *m;

    if (pread(fd, page, sizeof page, 0) != (ssize_t)sizeof page)
        return SFJ_OK; /* too short for a meta page: LMDB refuses it */
    parse(page, &m0);
    if (!m0.valid && other_word_size(page)) {
        sfj__set_err(j,
                     "%s was written on a %d-bit processor, and LMDB's files "
                     "differ between 32- and 64-bit ones: read it with sfj "
                     "on a %d-bit machine",
                     path, (12 - SFJ__LMDB_WORD) * 8,
                     (12 - SFJ__LMDB_WORD) * 8);
        return SFJ_EVERSION;
    }
    if (!m0.valid)
        return SFJ_OK; /* LMDB reports a bad meta page itself */
    if (!psize_ok(m0.psize))
        goto bad_psize;
    if (pread(fd, page, sizeof page, m0.psize) != (ssize_t)sizeof page)
        return SFJ_OK;
    parse(page, &m1);
    if (!m1.valid)
        return SFJ_OK;
    /* LMDB divides by the page size it finds, unchecked. */
    if (m1.psize != m0.psize)
        goto bad_psize;
    m = m1.txnid > m0.txnid ? &m1 : &m0;
    if (fstat(fd, &st) != 0)
        return SFJ_EIO;
    /* Every page up to last_pg was written before the meta page that
     * names it, and fdatasync made the size durable with them. */
    if (m->last_pg < 1 || m->last_pg > ((uint64_t)st.st_size / m->psize) - 1) {
        sfj__set_err(j,
                     "%s: %lld bytes, but its last commit uses %llu pages "
                     "of %u bytes: the file is truncated or damaged",
                     path, (long long)st.st_size,
                     (unsigned long long)m->last_pg + 1, m->psize);
        return SFJ_ECORRUPT;
    }
    return SFJ_OK;
bad_psize:
    sfj__set_err(j, "%s: the page size in a meta page is damaged", path);
    return SFJ_ECORRUPT;
}

int sfj__lmdb_precheck(sfj_journal *j, const char *dir)
{
    char path[4096];
    struct stat st;
    int fd, rc;

    if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
        return SFJ_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            sfj__set_err(j, "%s: %s", path, strerror(errno));
            return errno == EACCES ? SFJ_EPERM : SFJ_EIO;
        }
        return SFJ_OK; /* LMDB creates it (or refuses a read-only open) */
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return SFJ_EIO;
    }
    if (st.st_size == 0) {
        /* A creation cut short before its first commit: nothing was ever
         * durable in it, and LMDB starts a new environment. */
        close(fd);
        if (!j->rdonly)
            return SFJ_OK;
        sfj__set_err(j, "%s is empty: no journal there", path);
        return SFJ_ENOTFOUND;
    }
    rc = check_once(j, fd, path);
    /* A writer in another process may be rewriting a meta page right now:
     * a refusal is only trusted when a second reading agrees. */
    if (rc == SFJ_ECORRUPT)
        rc = check_once(j, fd, path);
    close(fd);
    return rc;
}
