/* sfj-host's log lines, used by every file of the host. */
#include <stdarg.h>
#include <stdio.h>

#include "host.h"

void host_log(const char *fmt, ...)
{
    va_list ap;

    fputs("sfj-host: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
