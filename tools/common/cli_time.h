/* ISO 8601 time for the tools: parse what an operator types, print UTC. */
#ifndef SFJ_TOOLS_CLI_TIME_H
#define SFJ_TOOLS_CLI_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or
 * "+HH:MM" / "-HH:MM" (a date alone means 00:00Z) into ms since the Unix
 * epoch. Returns 0, or -1 for anything else (no local-time guessing). */
int sfj__cli_parse_time(const char *s, int64_t *ms_out);

/* Format `ms` as "YYYY-MM-DDTHH:MM:SS.fffZ" into `out` (cap >= 32). */
void sfj__cli_format_time(int64_t ms, char *out, size_t cap);

#endif
