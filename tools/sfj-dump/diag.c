/* sfj-dump's one-line error messages, used by every command file. */
#include <stdarg.h>

#include "cli_text.h"
#include "dump.h"

void dump_err(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sfj__cli_vsay("sfj-dump", fmt, ap);
    va_end(ap);
}
