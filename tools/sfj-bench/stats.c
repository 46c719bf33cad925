/* Clocks and latency percentiles. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t bench_wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double rank(const double *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p * (double)n);

    if (k == 0)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

void bench_percentiles(double *lat, size_t n, bench_rate *out)
{
    if (n == 0) {
        out->p50_ms = out->p99_ms = out->p999_ms = -1;
        return;
    }
    qsort(lat, n, sizeof *lat, bench_cmp_double);
    out->p50_ms = rank(lat, n, 0.50) * 1e3;
    out->p99_ms = rank(lat, n, 0.99) * 1e3;
    out->p999_ms = rank(lat, n, 0.999) * 1e3;
}
