/* What a run costs besides time: CPU (user+sys of the whole process),
 * bytes the block device under the bench directory took, and, when the
 * write counter (pagecount.c) is preloaded, the 4 KiB file pages, write
 * calls and bytes this process wrote.
 *
 * The device is found from the bench directory (st_dev, then
 * /sys/dev/block/MAJ:MIN/stat: sectors written, field 7, in 512-byte
 * units); its counters take every process's writes, so the device figure
 * needs a quiet machine. The page counts are this process's own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bench.h"

static char dev_stat[64];

typedef void (*counts_fn)(uint64_t out[3]);

void bench_io_init(const char *dir)
{
    struct stat sb;

    dev_stat[0] = '\0';
    if (stat(dir, &sb) != 0 || major(sb.st_dev) == 0)
        return;
    snprintf(dev_stat, sizeof dev_stat, "/sys/dev/block/%u:%u/stat",
             major(sb.st_dev), minor(sb.st_dev));
}

const char *bench_io_device(void)
{
    return dev_stat[0] != '\0' ? dev_stat : NULL;
}

static double dev_written(void)
{
    unsigned long long v[7];
    FILE *f;
    int n;

    if (dev_stat[0] == '\0' || (f = fopen(dev_stat, "r")) == NULL)
        return -1;
    n = fscanf(f, "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
               &v[3], &v[4], &v[5], &v[6]);
    fclose(f);
    return n == 7 ? (double)v[6] * 512.0 : -1;
}

void bench_io_snap(bench_io *s)
{
    struct rusage ru;
    counts_fn fn;
    uint64_t c[3];

    memset(s, 0, sizeof *s);
    s->cpu_us = s->switches = -1;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        s->cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
        /* One each time a thread of the process sleeps (a caller
         * through the commit holding its entry, the leader waiting for
         * the disk) or is preempted. */
        s->switches = (double)ru.ru_nvcsw + (double)ru.ru_nivcsw;
    }
    s->dev_bytes = dev_written();
    *(void **)&fn = dlsym(RTLD_DEFAULT, "sfj_bench_write_counts");
    s->pages = s->calls = s->wbytes = -1;
    if (fn != NULL) {
        fn(c);
        s->pages = (double)c[0];
        s->calls = (double)c[1];
        s->wbytes = (double)c[2];
    }
}

static double per(double a, double b, uint64_t ops)
{
    return a >= 0 && b >= a && ops > 0 ? (b - a) / (double)ops : -1;
}

void bench_io_delta(const bench_io *a, const bench_io *b, uint64_t ops,
                    bench_rate *out)
{
    out->cpu_us = per(a->cpu_us, b->cpu_us, ops);
    out->dev_bytes = per(a->dev_bytes, b->dev_bytes, ops);
    out->pages = per(a->pages, b->pages, ops);
    out->calls = per(a->calls, b->calls, ops);
    out->wbytes = per(a->wbytes, b->wbytes, ops);
    out->switches = per(a->switches, b->switches, ops);
}
