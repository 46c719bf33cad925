/* sfj-host's log lines, used by every file of the host. */
#include <stdarg.h>

#include "cli_text.h"
#include "host.h"

void host_log(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sfj__cli_vsay("sfj-host", fmt, ap);
    va_end(ap);
}
