/* sfj-recover: exit codes and report output. */
#ifndef SFJ_RECOVER_TOOL_H
#define SFJ_RECOVER_TOOL_H

#include <stdio.h>

#include "sfj/sfj.h"

/* Exit codes: cli_exit.h (docs/CLI.md); the report's status gives 0
 * clean, 1 action needed, 65 damaged. */
#include "cli_exit.h"

typedef struct out_ctx {
    const char *dir;
    const char *terminal_id;
    unsigned marked; /* reversals journaled by --mark-reversals */
} out_ctx;

/* The exit code for the report `r`. */
int recover_exit_code(const sfj_report *r);

void recover_print_table(FILE *f, const out_ctx *c, const sfj_report *r);
void recover_print_json(FILE *f, const out_ctx *c, const sfj_report *r);

#endif
