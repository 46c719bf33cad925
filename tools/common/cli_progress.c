/* Carriage-return progress on a TTY (cli_progress.h). */
#include "cli_progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sfj__progress_start(sfj__progress *p, const char *prog, const char *what,
                         const char *unit, uint64_t total)
{
    const char *iv = getenv("SFJ_PROGRESS_MS");

    p->prog = prog;
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->interval_ms = iv != NULL && *iv != '\0' ? atoi(iv) : 200;
    if (p->interval_ms < 0)
        p->interval_ms = 200;
    p->on = isatty(STDERR_FILENO);
    p->drawn = 0;
    p->start_ms = mono_ms();
    p->next_ms = p->start_ms + p->interval_ms;
}

void sfj__progress_step(sfj__progress *p, uint64_t done)
{
    int64_t now, el;
    double rate;
    char eta[32] = "";

    if (!p->on)
        return;
    now = mono_ms();
    if (now < p->next_ms)
        return;
    p->next_ms = now + p->interval_ms;
    el = now - p->start_ms;
    rate = el > 0 ? (double)done * 1000.0 / (double)el : 0.0;
    if (p->total > 0 && rate > 0 && done <= p->total)
        snprintf(eta, sizeof eta, ", %.0f s left",
                 (double)(p->total - done) / rate);
    if (p->total > 0)
        fprintf(stderr, "\r%s: %s %3.0f%% %llu/%llu %s, %.0f/s%s  ", p->prog,
                p->what, 100.0 * (double)done / (double)p->total,
                (unsigned long long)done, (unsigned long long)p->total, p->unit,
                rate, eta);
    else
        fprintf(stderr, "\r%s: %s %llu %s, %.0f/s  ", p->prog, p->what,
                (unsigned long long)done, p->unit, rate);
    fflush(stderr);
    p->drawn = 1;
}

void sfj__progress_end(sfj__progress *p)
{
    if (p->on && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
