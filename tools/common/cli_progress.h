/* Progress of long work on a terminal: one stderr line rewritten with
 * carriage returns, with the rate and the time left; nothing at all when
 * stderr is not a TTY (a pipe, a file, a log). */
#ifndef SFJ_TOOLS_CLI_PROGRESS_H
#define SFJ_TOOLS_CLI_PROGRESS_H

#include <stdint.h>

typedef struct sfj__progress {
    const char *prog; /* "sfj-dump" */
    const char *what; /* "listing", "building" */
    const char *unit; /* "entries" */
    uint64_t total;   /* 0: unknown (no percentage, no ETA) */
    int64_t start_ms; /* monotonic */
    int64_t next_ms;  /* next redraw */
    int interval_ms;  /* between redraws: 200, or SFJ_PROGRESS_MS */
    int on;           /* stderr is a TTY */
    int drawn;        /* a line is on screen */
} sfj__progress;

/* Begin; draws nothing yet. */
void sfj__progress_start(sfj__progress *p, const char *prog, const char *what,
                         const char *unit, uint64_t total);

/* `done` units so far; redraws at most every interval. */
void sfj__progress_step(sfj__progress *p, uint64_t done);

/* Clear the line, so that what follows starts on a clean one. */
void sfj__progress_end(sfj__progress *p);

#endif
