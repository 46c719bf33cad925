/* The tools' exit codes and the opening every tool shares, each with its
 * one-line error (docs/CLI.md). */
#ifndef SFJ_TOOLS_CLI_EXIT_H
#define SFJ_TOOLS_CLI_EXIT_H

#include "sfj/sfj.h"

/* Exit codes: docs/CLI.md. Never renumbered. */
#define SFJ__EX_OK          0
#define SFJ__EX_ATTENTION   1  /* done; the result needs a person */
#define SFJ__EX_NOMATCH     2  /* no entries match */
#define SFJ__EX_USAGE       64 /* bad usage or option value */
#define SFJ__EX_DAMAGED     65 /* journal or bundle damaged */
#define SFJ__EX_NOTFOUND    66 /* journal, key file or input missing */
#define SFJ__EX_UNAVAILABLE 69 /* cannot listen, reach, open a line */
#define SFJ__EX_INTERNAL    70 /* out of memory, unexpected failure */
#define SFJ__EX_CANTWRITE   73 /* output cannot be created or written */
#define SFJ__EX_IO          74 /* I/O error on the journal */
#define SFJ__EX_BUSY        75 /* journal held by another writer */
#define SFJ__EX_VERSION     76 /* newer format than this tool */
#define SFJ__EX_WRONGKEY    77 /* key not this journal's, access denied */
#define SFJ__EX_KEYFILE     78 /* key file too open or not a key file */
#define SFJ__EX_MIRROR      79 /* a host's mirror where a terminal's is needed */
#define SFJ__EX_SHARDMAP    80 /* sfj-host --shards: the shard map is unusable */

/* Output formats of -o/--output. */
enum { SFJ__OUT_TEXT, SFJ__OUT_JSON, SFJ__OUT_CSV, SFJ__OUT_WIDE };

/* The exit code for a library error `rc` (< 0) met while reading a
 * journal. */
int sfj__cli_exit_for(int rc);

/* The value of -o/--output: "text" (or "table"), "json", "csv" or "wide",
 * of those whose bit (1 << SFJ__OUT_*) is in `allowed`, into `out`.
 * SFJ__EX_OK, or one line naming the allowed ones and SFJ__EX_USAGE. */
int sfj__cli_output_arg(const char *prog, const char *arg, unsigned allowed,
                        int *out);

/* getopt_long returned `c`, '?' or ':' (call with opterr = 0 and a
 * leading ':' in the short options); pass optopt and argv[optind - 1].
 * One line naming the option, and SFJ__EX_USAGE. */
int sfj__cli_bad_option(const char *prog, int c, int optopt_c, const char *arg);

/* Most -k/--key options one command takes. */
#define SFJ__CLI_KEYS_MAX 16

/* A -k/--key option: the first goes to `*first`, each later one is kept
 * for sfj__cli_load_key, which adds it to the key set (the keys of
 * earlier epochs after a key rotation). SFJ__EX_USAGE past
 * SFJ__CLI_KEYS_MAX. */
int sfj__cli_key_opt(const char *prog, const char *arg, const char **first);

/* Load the master key file, and every further -k/--key file given to
 * sfj__cli_key_opt into the same key set; on failure one line
 * "<prog>: key file PATH: ..." and the exit code (66, 78, or that of
 * sfj__cli_exit_for). */
int sfj__cli_load_key(const char *prog, const char *path, sfj_keys **out);

/* Open the journal at `dir` (never created) with `flags` | NOCREATE |
 * CHECK, with `keys` or none; when keys are given, a mirror's stored
 * public key must be theirs. On failure one line and the exit code. */
int sfj__cli_open_journal(const char *prog, const char *dir,
                          const sfj_keys *keys, unsigned flags,
                          sfj_journal **out);

#endif
