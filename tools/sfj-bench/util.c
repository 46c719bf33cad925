/* Paths, directories, the run's key set and messages. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

char *bench_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p == NULL) {
        fprintf(stderr, "sfj-bench: out of memory\n");
        exit(BENCH_EXIT_FAIL);
    }
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int bench_mkdir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void bench_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t du_total;

static int du_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F)
        du_total += (uint64_t)st->st_blocks * 512u;
    return 0;
}

uint64_t bench_du(const char *path)
{
    du_total = 0;
    nftw(path, du_one, 16, FTW_PHYS);
    return du_total;
}

void bench_fail(const char *what, const char *detail)
{
    fprintf(stderr, "sfj-bench: %s: %s\n", what, detail);
}

void bench_note(const bench_opts *o, const char *fmt, ...)
{
    va_list ap;

    /* Progress goes to stderr, so that --json output stays clean. */
    if (o->quick)
        return;
    va_start(ap, fmt);
    fputs("sfj-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static sfj_keys *run_keys;
static char *run_keyfile;

int bench_keys_init(const char *dir)
{
    int rc;

    run_keyfile = bench_path(dir, "bench.key");
    rc = sfj_keys_generate_file(run_keyfile);
    if (rc == SFJ_OK)
        rc = sfj_keys_load_file(run_keyfile, &run_keys);
    if (rc != SFJ_OK)
        bench_fail("key file", sfj_strerror(rc));
    return rc;
}

int bench_keys_load(const char *dir)
{
    int rc;

    run_keyfile = bench_path(dir, "bench.key");
    rc = sfj_keys_load_file(run_keyfile, &run_keys);
    if (rc != SFJ_OK)
        bench_fail("key file", sfj_strerror(rc));
    return rc;
}

sfj_keys *bench_keys(void)
{
    return run_keys;
}

const char *bench_keyfile(void)
{
    return run_keyfile;
}

int bench_helper_path(const char *name, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            if (snprintf(out, cap, "%s/%s", self, name) < (int)cap &&
                access(out, R_OK) == 0)
                return 0;
        }
    }
    snprintf(out, cap, "%s/%s", SFJ_BENCH_LIBDIR, name);
    return access(out, R_OK) == 0 ? 0 : -1;
}

int bench_parse_uint(const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}
