/* Reconciliation internals shared by the report parser (recon_parse.c)
 * and the matcher (reconcile.c). */
#ifndef SFJ_JOURNAL_RECON_IMPL_H
#define SFJ_JOURNAL_RECON_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "sfj/reconcile.h"

/* Report line status. */
enum { RL_OTHER = 0, RL_APPROVED = 1, RL_DECLINED = 2, RL_REVERSED = 3 };

/* One parsed report line. */
typedef struct sfj__rline {
    char ref[SFJ_MERCHANT_REF_MAX + 1];
    char auth[SFJ_AUTH_CODE_MAX + 1];
    char card[SFJ_CARD_MAX + 1];
    char terminal[SFJ_TERMINAL_ID_MAX + 1];
    char rrn[SFJ_RRN_MAX + 1];
    char stan[SFJ_STAN_MAX + 1];
    char currency[4];
    int64_t amount; /* minor units */
    int64_t time_ms;
    uint8_t status;  /* RL_* */
    uint8_t other;   /* another terminal's line: skipped */
    uint32_t report; /* index into the report names */
    size_t line;     /* 1-based */
    size_t sale;     /* matched journal sale + 1 (0: none) */
    sfj_recon_rule rule;
} sfj__rline;

typedef struct sfj__rlines {
    sfj__rline *v;
    size_t n, cap;
    size_t pans_masked;
} sfj__rlines;

/* Parse `data` as report number `report` into `out` (appending). On
 * failure nothing is appended, SFJ_EREPORT (or SFJ_ENOMEM) is returned and
 * `err` (capacity `cap`) says why, naming `name` and the line. */
int sfj__recon_parse(const sfj_recon_opts *o, const char *name, uint32_t report,
                     const char *data, size_t len, sfj__rlines *out, char *err,
                     size_t cap);

#endif
