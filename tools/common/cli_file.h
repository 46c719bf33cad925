/* Files and numbers for the tools. */
#ifndef SFJ_TOOLS_CLI_FILE_H
#define SFJ_TOOLS_CLI_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Read a whole regular file of at most `max` bytes into a malloc'd
 * buffer. 0, or -errno-like: -2 missing, -3 too large or not regular,
 * -1 other read failure. */
int sfj__cli_read_file(const char *path, size_t max, uint8_t **out,
                       size_t *len);

/* Create `path` (mode 0600, never overwriting) and write `len` bytes,
 * fsynced. 0, -17 if it exists, -1 on any other failure (the partial file
 * is removed). */
int sfj__cli_write_new_file(const char *path, const uint8_t *buf, size_t len);

/* For the tools that decrypt or hold key material: no core dump of this
 * process, ever (RLIMIT_CORE 0 and PR_SET_DUMPABLE 0, which also keeps
 * other processes of the same user from ptrace-reading its memory).
 * Call first thing in main. 0, or -1 if either could not be set. */
int sfj__cli_no_core_dumps(void);

/* Parse a decimal u64 with nothing after it; 0 or -1. */
int sfj__cli_parse_u64(const char *s, uint64_t *out);

#endif
