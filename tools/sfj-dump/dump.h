/* sfj-dump: options, exit codes and the pieces its files share. */
#ifndef SFJ_TOOLS_DUMP_H
#define SFJ_TOOLS_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/sfj.h"

/* Exit codes and output formats: cli_exit.h (docs/CLI.md). */
#include "cli_exit.h"

typedef struct dump_opts {
    const char *dir;
    const char *key_file;
    const char *txn_id;
    const char *bundle_out;
    const char *bundle_in;
    uint64_t from_seq, to_seq;
    int64_t since_ms, until_ms;
    int has_since, has_until;
    uint16_t kind;
    int status; /* -1: any */
    int format; /* SFJ__OUT_* */
    int payload_mode;
    int payload_set; /* --payload given */
    uint64_t lines;  /* -n: at most this many, the newest (0: all) */
    int reverse;     /* -r: newest first */
    int follow;      /* --follow: then wait for new entries */
    int verify;
    int stats; /* --stats: sales waiting to upload, no key needed */
    int pinned;
    uint8_t pin[32];
} dump_opts;

/* A row to print: the clear header, and the event when it was opened. */
typedef struct dump_row {
    uint64_t seq;
    uint16_t kind;
    uint32_t epoch;
    int64_t wall_ms;
    size_t size;  /* sealed record bytes */
    int has_boot; /* checkpoints carry the boot counter in clear */
    uint32_t boot;
    const sfj_entry *e; /* NULL: not decrypted */
} dump_row;

/* One-line error on stderr: "sfj-dump: ...". */
void dump_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int dump_kind_parse(const char *s, uint16_t *out);
int dump_status_parse(const char *s, int *out);

void dump_print_header(const dump_opts *o);
/* 0, or -1 when out of memory. */
int dump_print_row(const dump_opts *o, const dump_row *r);

/* Open the journal (read-only) and the key; returns an exit code. */
int dump_open(const dump_opts *o, sfj_journal **j, sfj_keys **keys);

int dump_list(const dump_opts *o);
int dump_verify(const dump_opts *o);
int dump_stats(const dump_opts *o);
int dump_bundle_write(const dump_opts *o);
int dump_bundle_check(const dump_opts *o);

#endif
