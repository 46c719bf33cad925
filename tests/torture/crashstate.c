/* Crash-state builder; see crashstate.h.
 *
 * Load: every record of the log is replayed in order. A write through an
 * O_DSYNC descriptor goes straight to the durable image and hides the
 * overlapping bytes of older pending writes (the page cache holds only the
 * newest bytes, so older ones can never reach the disk after it). A sync
 * moves the file's pending operations, in order, into its durable image.
 * Build: the durable images plus the pending operations the mode picks. */
#define _GNU_SOURCE
#include "crashstate.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powercut_log.h"

#define SECTOR    512
#define MAX_FILES 32

typedef struct image {
    uint8_t *data;
    size_t len;
    size_t cap;
} image;

typedef struct pend {
    int type; /* SFJ_PC_WRITE or SFJ_PC_TRUNC */
    int file;
    uint64_t off; /* write offset, or new size */
    uint64_t len;
    const uint8_t *data; /* into the log buffer */
} pend;

struct sfj_cs {
    uint8_t *log;
    size_t log_len;
    int n_files;
    char names[MAX_FILES][256];
    image durable[MAX_FILES];
    pend *pend;
    size_t n_pend, cap_pend;
    size_t unmodelled;
    int cut;
    char init_dir[4096];
};

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: small, good enough to pick subsets. */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int img_reserve(image *im, size_t len)
{
    size_t cap;
    uint8_t *d;

    if (len <= im->cap)
        return 0;
    cap = im->cap ? im->cap : 65536;
    while (cap < len)
        cap *= 2;
    d = realloc(im->data, cap);
    if (d == NULL)
        return -1;
    im->data = d;
    im->cap = cap;
    return 0;
}

static int img_truncate(image *im, uint64_t size)
{
    if (img_reserve(im, (size_t)size) != 0)
        return -1;
    if (size > im->len)
        memset(im->data + im->len, 0, (size_t)size - im->len);
    im->len = (size_t)size;
    return 0;
}

static int img_write(image *im, uint64_t off, const uint8_t *d, uint64_t len)
{
    if (len == 0)
        return 0;
    if (off + len > im->len && img_truncate(im, off + len) != 0)
        return -1;
    memcpy(im->data + off, d, (size_t)len);
    return 0;
}

static int img_copy(image *dst, const image *src)
{
    dst->len = 0;
    if (img_reserve(dst, src->len) != 0)
        return -1;
    if (src->len)
        memcpy(dst->data, src->data, src->len);
    dst->len = src->len;
    return 0;
}

static int apply(image *imgs, const pend *p)
{
    if (p->type == SFJ_PC_TRUNC)
        return img_truncate(&imgs[p->file], p->off);
    return img_write(&imgs[p->file], p->off, p->data, p->len);
}

static int pend_insert(sfj_cs *cs, size_t at, const pend *p)
{
    if (cs->n_pend == cs->cap_pend) {
        size_t cap = cs->cap_pend ? cs->cap_pend * 2 : 64;
        pend *np = realloc(cs->pend, cap * sizeof *np);

        if (np == NULL)
            return -1;
        cs->pend = np;
        cs->cap_pend = cap;
    }
    memmove(cs->pend + at + 1, cs->pend + at,
            (cs->n_pend - at) * sizeof *cs->pend);
    cs->pend[at] = *p;
    cs->n_pend++;
    return 0;
}

/* A durable write of [off, off+len) hides those bytes of every older
 * pending write to the same file. */
static int hide_overlap(sfj_cs *cs, int file, uint64_t off, uint64_t len)
{
    uint64_t a = off, b = off + len, s, e;
    size_t i;
    pend right;

    for (i = 0; i < cs->n_pend; i++) {
        pend *p = &cs->pend[i];

        if (p->file != file || p->type != SFJ_PC_WRITE)
            continue;
        s = p->off;
        e = p->off + p->len;
        if (e <= a || s >= b)
            continue;
        right = *p;
        if (e > b) {
            right.off = b;
            right.len = e - b;
            right.data = p->data + (b - s);
        } else {
            right.len = 0;
        }
        p->len = s < a ? a - s : 0;
        if (right.len > 0) {
            if (pend_insert(cs, i + 1, &right) != 0)
                return -1;
            i++;
        }
    }
    return 0;
}

static void sync_file(sfj_cs *cs, int file)
{
    size_t i, k = 0;

    for (i = 0; i < cs->n_pend; i++) {
        if (file < 0 || cs->pend[i].file == file)
            apply(cs->durable, &cs->pend[i]);
        else
            cs->pend[k++] = cs->pend[i];
    }
    cs->n_pend = k;
}

static int load_image(image *im, const char *dir, const char *name)
{
    char path[4352];
    struct stat st;
    int fd;
    ssize_t n;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* the file did not exist: it starts empty */
    if (fstat(fd, &st) != 0 || img_reserve(im, (size_t)st.st_size) != 0) {
        close(fd);
        return -1;
    }
    n = pread(fd, im->data, (size_t)st.st_size, 0);
    close(fd);
    if (n != st.st_size)
        return -1;
    im->len = (size_t)n;
    return 0;
}

static int read_log(sfj_cs *cs, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    cs->log = malloc((size_t)st.st_size + 1);
    n = cs->log ? pread(fd, cs->log, (size_t)st.st_size, 0) : -1;
    close(fd);
    if (n != st.st_size)
        return -1;
    cs->log_len = (size_t)n;
    return 0;
}

static int replay(sfj_cs *cs)
{
    size_t pos = 0;
    sfj_pc_rec r;
    pend p;

    while (pos < cs->log_len) {
        if (cs->log_len - pos < sizeof r)
            return -1;
        memcpy(&r, cs->log + pos, sizeof r);
        pos += sizeof r;
        if (r.magic != SFJ_PC_MAGIC || r.len > cs->log_len - pos ||
            r.file >= MAX_FILES)
            return -1;
        switch (r.type) {
        case SFJ_PC_OPEN:
            if ((int)r.file != cs->n_files || r.len == 0 || r.len > 255)
                return -1;
            memcpy(cs->names[r.file], cs->log + pos, (size_t)r.len);
            cs->names[r.file][r.len] = '\0';
            cs->n_files++;
            if (load_image(&cs->durable[r.file], cs->init_dir,
                           cs->names[r.file]) != 0)
                return -1;
            break;
        case SFJ_PC_WRITE:
        case SFJ_PC_TRUNC:
            if ((int)r.file >= cs->n_files)
                return -1;
            memset(&p, 0, sizeof p);
            p.type = r.type;
            p.file = (int)r.file;
            p.off = r.off;
            p.len = r.type == SFJ_PC_WRITE ? r.len : 0;
            p.data = cs->log + pos;
            if (r.type == SFJ_PC_WRITE && (r.flags & SFJ_PC_F_DURABLE)) {
                if (hide_overlap(cs, p.file, p.off, p.len) != 0 ||
                    apply(cs->durable, &p) != 0)
                    return -1;
            } else if (pend_insert(cs, cs->n_pend, &p) != 0) {
                return -1;
            }
            break;
        case SFJ_PC_SYNC:
            sync_file(cs, (int)r.file);
            break;
        case SFJ_PC_SYNCALL:
            sync_file(cs, -1);
            break;
        case SFJ_PC_MMAP:
        case SFJ_PC_MSYNC:
            cs->unmodelled++;
            break;
        case SFJ_PC_CUT:
            cs->cut = 1;
            break;
        default:
            return -1;
        }
        pos += (size_t)r.len;
    }
    return 0;
}

/* Files of the initial images that the run never opened are part of
 * every state as they were. */
static int add_untouched(sfj_cs *cs)
{
    DIR *d = opendir(cs->init_dir);
    struct dirent *de;
    int i, rc = 0;

    if (d == NULL)
        return 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_type != DT_REG || strcmp(de->d_name, "lock.mdb") == 0 ||
            strlen(de->d_name) > 255)
            continue;
        for (i = 0; i < cs->n_files; i++) {
            if (strcmp(cs->names[i], de->d_name) == 0)
                break;
        }
        if (i < cs->n_files)
            continue;
        if (cs->n_files == MAX_FILES) {
            rc = -1;
            break;
        }
        strcpy(cs->names[cs->n_files], de->d_name);
        rc = load_image(&cs->durable[cs->n_files], cs->init_dir, de->d_name);
        cs->n_files++;
    }
    closedir(d);
    return rc;
}

int sfj_cs_load(sfj_cs **out, const char *log_path, const char *init_dir)
{
    sfj_cs *cs = calloc(1, sizeof *cs);

    *out = NULL;
    if (cs == NULL || strlen(init_dir) >= sizeof cs->init_dir) {
        free(cs);
        return -1;
    }
    strcpy(cs->init_dir, init_dir);
    if (read_log(cs, log_path) != 0 || replay(cs) != 0 ||
        add_untouched(cs) != 0) {
        sfj_cs_free(cs);
        return -1;
    }
    *out = cs;
    return 0;
}

size_t sfj_cs_pending(const sfj_cs *cs)
{
    return cs->n_pend;
}

size_t sfj_cs_unmodelled(const sfj_cs *cs)
{
    return cs->unmodelled;
}

int sfj_cs_was_cut(const sfj_cs *cs)
{
    return cs->cut;
}

const char *sfj_cs_mode_name(int mode)
{
    static const char *names[] = {"durable", "all", "subset", "torn",
                                  "sectors"};

    return mode >= 0 && mode < SFJ_CS_MODES ? names[mode] : "?";
}

static void shuffle(pend *a, size_t n, uint64_t *rng)
{
    size_t i, k;
    pend t;

    for (i = n; i > 1; i--) {
        k = (size_t)(rng_next(rng) % i);
        t = a[i - 1];
        a[i - 1] = a[k];
        a[k] = t;
    }
}

/* Cut pending write `p` at absolute 512-byte boundaries, appending the
 * pieces to `out`. */
static size_t split_sectors(const pend *p, pend *out)
{
    uint64_t at = p->off, end = p->off + p->len, next;
    size_t n = 0;

    while (at < end) {
        next = (at / SECTOR + 1) * SECTOR;
        if (next > end)
            next = end;
        out[n] = *p;
        out[n].off = at;
        out[n].len = next - at;
        out[n].data = p->data + (at - p->off);
        n++;
        at = next;
    }
    return n;
}

static size_t sectors_of(const pend *p)
{
    if (p->type != SFJ_PC_WRITE || p->len == 0)
        return 1;
    return (size_t)((p->off + p->len - 1) / SECTOR - p->off / SECTOR + 1);
}

/* The pending operations a mode applies, in the order it applies them. */
static pend *choose(const sfj_cs *cs, int mode, uint64_t *rng, size_t *n_out)
{
    size_t i, n = 0, total = 0, last = cs->n_pend, k, m;
    pend *v, *pieces;

    for (i = 0; i < cs->n_pend; i++)
        total += sectors_of(&cs->pend[i]);
    v = malloc((total + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    switch (mode) {
    case SFJ_CS_DURABLE:
        break;
    case SFJ_CS_ALL:
        /* A cut may come before any write is pending (the writer lock's
         * pid is the first write of an open): nothing to copy then. */
        if (cs->n_pend > 0)
            memcpy(v, cs->pend, cs->n_pend * sizeof *v);
        n = cs->n_pend;
        break;
    case SFJ_CS_SUBSET:
        for (i = 0; i < cs->n_pend; i++) {
            if (rng_next(rng) & 1)
                v[n++] = cs->pend[i];
        }
        shuffle(v, n, rng);
        break;
    case SFJ_CS_TORN:
        for (i = cs->n_pend; i > 0; i--) {
            if (cs->pend[i - 1].type == SFJ_PC_WRITE) {
                last = i - 1;
                break;
            }
        }
        for (i = 0; i < cs->n_pend; i++) {
            if (i != last) {
                v[n++] = cs->pend[i];
                continue;
            }
            pieces = v + n;
            m = split_sectors(&cs->pend[i], pieces);
            /* Half the time a prefix of sectors, else any subset. */
            if (rng_next(rng) & 1) {
                n += (size_t)(rng_next(rng) % m);
            } else {
                for (k = 0; k < m; k++) {
                    if (rng_next(rng) & 1)
                        v[n++] = pieces[k];
                }
            }
        }
        break;
    case SFJ_CS_SECTORS:
        for (i = 0; i < cs->n_pend; i++) {
            pieces = v + n;
            m = cs->pend[i].type == SFJ_PC_WRITE
                    ? split_sectors(&cs->pend[i], pieces)
                    : (pieces[0] = cs->pend[i], 1);
            for (k = 0; k < m; k++) {
                if (rng_next(rng) & 1)
                    v[n++] = pieces[k];
            }
        }
        shuffle(v, n, rng);
        break;
    default:
        free(v);
        return NULL;
    }
    *n_out = n;
    return v;
}

static int write_file(const char *dir, const char *name, const image *im)
{
    char path[4352];
    size_t done = 0;
    ssize_t w;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (done < im->len) {
        w = write(fd, im->data + done, im->len - done);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

int sfj_cs_build(const sfj_cs *cs, int mode, uint64_t seed, const char *out_dir)
{
    image imgs[MAX_FILES];
    uint64_t rng = seed * 2654435761u + (uint64_t)mode;
    pend *ops;
    size_t n = 0, i;
    int f, rc = 0;

    memset(imgs, 0, sizeof imgs);
    ops = choose(cs, mode, &rng, &n);
    if (ops == NULL)
        return -1;
    for (f = 0; f < cs->n_files && rc == 0; f++)
        rc = img_copy(&imgs[f], &cs->durable[f]);
    for (i = 0; i < n && rc == 0; i++)
        rc = apply(imgs, &ops[i]);
    for (f = 0; f < cs->n_files && rc == 0; f++)
        rc = write_file(out_dir, cs->names[f], &imgs[f]);
    for (f = 0; f < cs->n_files; f++)
        free(imgs[f].data);
    free(ops);
    return rc;
}

void sfj_cs_free(sfj_cs *cs)
{
    int f;

    if (cs == NULL)
        return;
    for (f = 0; f < MAX_FILES; f++)
        free(cs->durable[f].data);
    free(cs->pend);
    free(cs->log);
    free(cs);
}
