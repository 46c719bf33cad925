/* sfj-host's log lines, used by every file of the host. Start-up errors
 * are the one-line errors of docs/CLI.md ("sfj-host: ..."); once the host
 * serves, each line starts with its RFC 3339 UTC time, so a log read
 * later says when ("2026-11-27T09:45:54.120Z sfj-host: ..."). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "cli_text.h"
#include "cli_time.h"
#include "host.h"

static int g_stamped;

void host_log_serving(void)
{
    g_stamped = 1;
}

void host_log(const char *fmt, ...)
{
    struct timespec ts;
    char when[40];
    va_list ap;

    if (g_stamped) {
        clock_gettime(CLOCK_REALTIME, &ts);
        sfj__cli_format_time((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                             when, sizeof when);
        fprintf(stderr, "%s ", when);
    }
    va_start(ap, fmt);
    sfj__cli_vsay("sfj-host", fmt, ap);
    va_end(ap);
}
