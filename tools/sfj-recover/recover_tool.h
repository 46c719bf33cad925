/* sfj-recover: exit codes and report output. */
#ifndef SFJ_RECOVER_TOOL_H
#define SFJ_RECOVER_TOOL_H

#include <stdio.h>

#include "sfj/sfj.h"

/* Exit codes (documented in docs/sfj-recover.1 and --help). 0, 1 and 2
 * are the report's status (sfj_report_status). */
enum {
    EXIT_USAGE = 64,    /* bad command line */
    EXIT_WRONGKEY = 65, /* the key does not belong to this journal */
    EXIT_NOTFOUND = 66, /* no journal or no key file there */
    EXIT_INTERNAL = 70, /* out of memory or an unexpected failure */
    EXIT_WRITE = 73,    /* could not write the index or the reversals */
    EXIT_IO = 74,       /* I/O error reading the journal */
    EXIT_VERSION = 76,  /* journal format newer than this tool */
    EXIT_PERM = 77      /* unsafe key file permissions or access denied */
};

typedef struct out_ctx {
    const char *dir;
    const char *terminal_id;
    unsigned marked; /* reversals journaled by --mark-reversals */
} out_ctx;

void recover_print_table(FILE *f, const out_ctx *c, const sfj_report *r);
void recover_print_json(FILE *f, const out_ctx *c, const sfj_report *r);

#endif
