/* sfj-dump's one-line error messages, used by every command file. */
#include <stdarg.h>
#include <stdio.h>

#include "dump.h"

void dump_err(const char *fmt, ...)
{
    va_list ap;

    fputs("sfj-dump: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
