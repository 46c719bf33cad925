/* Time for the tools: parse what an operator types (docs/CLI.md,
 * "Times"), print ISO 8601 UTC. */
#ifndef SFJ_TOOLS_CLI_TIME_H
#define SFJ_TOOLS_CLI_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Parse into ms since the Unix epoch, as journalctl takes times:
 * "YYYY-MM-DD", "YYYY-MM-DD[T ]HH:MM[:SS[.fff]]" with an optional zone
 * ("Z", "+HH:MM", "+HHMM", "+HH", or the same with "-"; one space may
 * precede it), local time when there is none (a date alone is local
 * midnight); "now", "today", "yesterday", "tomorrow" (local midnights);
 * "-N" or "+N" followed by s, m, h, d or w, relative to now. This takes
 * what every tool prints ("2026-11-23T10:00:00.000Z", sfj-recover's
 * "2026-11-27 09:45:54Z"). Returns 0, or -1 for anything else. */
int sfj__cli_parse_time(const char *s, int64_t *ms_out);

/* The same, relative to `now_ms` instead of the clock. */
int sfj__cli_parse_time_at(const char *s, int64_t now_ms, int64_t *ms_out);

/* Format `ms` as "YYYY-MM-DDTHH:MM:SS.fffZ" into `out` (cap >= 32). */
void sfj__cli_format_time(int64_t ms, char *out, size_t cap);

#endif
