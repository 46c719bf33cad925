/* sfj reconciliation: match the journal's sales with the acquirer's report,
 * sale by sale, and journal what the report proves (docs/RECONCILE.md).
 *
 *   sfj_recon *r;
 *   sfj_recon_new(&opts, &r);             // opts from sfj_recon_preset
 *   sfj_recon_add_report(r, "day.csv", data, len);  // once per report
 *   sfj_recon_run(r, j);                  // match against the journal
 *   sfj_recon_result(r)->...              // summary and items
 *   sfj_recon_apply(r, j, &n);            // optional: journal resolutions
 *   sfj_recon_free(r);
 *
 * Memory grows with the report and the journal's sales in the report's
 * time range; nothing is written except by sfj_recon_apply. */
#ifndef SFJ_RECONCILE_H
#define SFJ_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "journal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Report file formats. */
typedef enum sfj_recon_format {
    SFJ_RECON_CSV = 1,  /**< RFC 4180, a header line naming the columns */
    SFJ_RECON_JSONL = 2 /**< one flat JSON object per line */
} sfj_recon_format;

/** How to read a report: its format and which column holds what. A column
 *  name NULL means the report has no such column. Start from
 *  sfj_recon_preset. */
typedef struct sfj_recon_opts {
    unsigned version;            /**< SFJ_RECON_OPTS_VERSION (or older) */
    sfj_recon_format format;     /**< CSV or JSON Lines */
    char separator;              /**< CSV field separator (',') */
    const char *col_reference;   /**< the merchant reference (our txn id) */
    const char *col_amount;      /**< amount */
    const char *col_currency;    /**< ISO 4217 alpha code */
    const char *col_time;        /**< when the acquirer took it */
    const char *col_status;      /**< approved / declined / reversed */
    const char *col_auth_code;   /**< authorisation code */
    const char *col_card;        /**< masked card (a PAN in clear is masked
                                      on reading and never shown) */
    const char *col_terminal_id; /**< terminal id */
    const char *col_rrn;         /**< retrieval reference number */
    const char *col_stan;        /**< system trace audit number */
    int amount_minor;            /**< amounts are in minor units (cents);
                                      else major units ("12.50") */
    const char *approved; /**< status values meaning approved, '|'-separated,
                               case-insensitive ("approved|00|A") */
    const char *declined; /**< ... declined */
    const char *reversed; /**< ... a reversal, refund of the sale or void */
    const char *currency; /**< currency when there is no currency column */
    int tz_offset_min;    /**< times without a zone are local time this many
                               minutes east of UTC */
    int64_t window_ms;    /**< the amount + time rule's window, clock skew
                               included (0: 10 minutes) */
} sfj_recon_opts;

#define SFJ_RECON_OPTS_VERSION 1
#define SFJ_RECON_OPTS_INIT                                                    \
    {                                                                          \
        SFJ_RECON_OPTS_VERSION, SFJ_RECON_CSV, ',', NULL, NULL, NULL, NULL,    \
            NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, 0,  \
            0                                                                  \
    }

/** Fill `out` (whose version must be set, e.g. by SFJ_RECON_OPTS_INIT)
 *  with a shipped mapping: "generic" (CSV: reference, amount, currency,
 *  time, status, auth_code, card, terminal_id) or "iso8583" (CSV: stan,
 *  rrn, auth_id (field 38), amount (field 4, minor units), currency
 *  (field 49, alpha), time, response_code (field 39), terminal_id (field
 *  41), merchant_ref (field 37 as sent), pan (masked)). SFJ_ENOTFOUND for
 *  another name, SFJ_EVERSION for a bad version. The strings are static. */
SFJ_EXTERN int sfj_recon_preset(const char *name, sfj_recon_opts *out);

/** Result classes, each with its action (docs/RECONCILE.md). */
typedef enum sfj_recon_class {
    SFJ_RECON_MATCHED = 0,             /**< both sides agree */
    SFJ_RECON_DOUBT_APPROVED = 1,      /**< in doubt here, approved there: the
                                            card was charged; journal the
                                            outcome, print the receipt */
    SFJ_RECON_DOUBT_ABSENT = 2,        /**< in doubt here, absent or declined
                                            there: not charged; safe to decline
                                            or take again; journal it */
    SFJ_RECON_NOT_RECEIVED = 3,        /**< approved here, absent there: sent
                                            but not received, or reversed;
                                            forward again or query */
    SFJ_RECON_NOT_JOURNALED = 4,       /**< charged there, absent here (or a
                                            second charge): refund or record */
    SFJ_RECON_MISMATCH = 5,            /**< amount or currency differ */
    SFJ_RECON_REVERSAL_UNCONFIRMED = 6 /**< reversed here, still charged
                                            there: send the reversal again */
} sfj_recon_class;

#define SFJ_RECON_CLASSES 7

/** Which rule made a match. */
typedef enum sfj_recon_rule {
    SFJ_RECON_RULE_NONE = 0,       /**< unmatched */
    SFJ_RECON_RULE_REFERENCE = 1,  /**< txn id or merchant reference */
    SFJ_RECON_RULE_AUTH_CODE = 2,  /**< authorisation code */
    SFJ_RECON_RULE_AMOUNT_TIME = 3 /**< amount + currency + time window
                                        (+ terminal) */
} sfj_recon_rule;

/** One sale (or report line) of the result. */
typedef struct sfj_recon_item {
    sfj_recon_class cls;
    sfj_recon_rule rule;
    char txn_id[SFJ_TXN_ID_MAX + 1]; /**< "" for a line with no sale */
    uint64_t seq;          /**< the sale's INTENT or OFFLINE (0: none) */
    int64_t wall_ms;       /**< journal time (or the report's) */
    int64_t amount;        /**< journal amount, minor units */
    char currency[4];      /**< journal currency */
    const char *report;    /**< report name (NULL: no line) */
    size_t line;           /**< its line number, 1-based (0: none) */
    int64_t report_amount; /**< minor units */
    char report_currency[4];
    char report_status[9]; /**< "approved", "declined", "reversed" */
    char auth_code[SFJ_AUTH_CODE_MAX + 1]; /**< the report's */
    char card[SFJ_CARD_MAX + 1];           /**< masked */
    int applicable; /**< sfj_recon_apply would journal this */
} sfj_recon_item;

/** The result: a summary and the items (matched ones included), in
 *  journal order then report order. Owned by the sfj_recon. */
typedef struct sfj_recon_result {
    size_t lines;           /**< report lines read (headers not counted) */
    size_t lines_other;     /**< lines of other terminals, skipped */
    size_t pans_masked;     /**< card numbers in clear masked on reading */
    size_t sales;           /**< journal sales in the report's time range */
    int64_t from_ms, to_ms; /**< the report's time range */
    size_t count[SFJ_RECON_CLASSES];
    size_t n_items;
    const sfj_recon_item *items;
} sfj_recon_result;

/** Opaque reconciliation. */
typedef struct sfj_recon sfj_recon;

/** A new reconciliation reading reports as `opts` says (copied).
 *  SFJ_EVERSION for a bad version, SFJ_EINVAL without a reference, amount
 *  or time column. */
SFJ_EXTERN int sfj_recon_new(const sfj_recon_opts *opts, sfj_recon **out);

/** Parse one report (`data`, `len` bytes) named `name` (for messages and
 *  the reconciliation note). A malformed line, a missing column or an
 *  empty report refuses the whole report with SFJ_EREPORT (nothing of it
 *  is kept); sfj_recon_errmsg names the line. */
SFJ_EXTERN int sfj_recon_add_report(sfj_recon *r, const char *name,
                                    const char *data, size_t len);

/** Match the reports against journal `j` (reads only). SFJ_EREPORT when
 *  every line is another terminal's. */
SFJ_EXTERN int sfj_recon_run(sfj_recon *r, sfj_journal *j);

/** The result of the last sfj_recon_run (NULL before). Borrowed. */
SFJ_EXTERN const sfj_recon_result *sfj_recon_result_get(const sfj_recon *r);

/** Journal what the reports prove, each through sfj_append: an OUTCOME
 *  (the report's status and auth code, flagged SFJ_EVF_RECONCILED, note
 *  "recon <report>:<line>") for an in-doubt sale the acquirer approved or
 *  declined, and a REVERSAL APPROVED for a reversal the acquirer reports.
 *  Idempotent: what is already journaled is skipped (the txn's state says
 *  so), so a second run writes nothing. `*written` (may be NULL) counts
 *  the appends. */
SFJ_EXTERN int sfj_recon_apply(sfj_recon *r, sfj_journal *j, size_t *written);

/** The detail of the last failure ("day.csv:17: 4 fields, header has 5").
 *  Borrowed until the next call on `r`. Never holds a card number. */
SFJ_EXTERN const char *sfj_recon_errmsg(const sfj_recon *r);

/** Short lowercase name of a class ("matched", "doubt_approved",
 *  "doubt_absent", "not_received", "not_journaled", "mismatch",
 *  "reversal_unconfirmed"); "unknown" otherwise. */
SFJ_EXTERN const char *sfj_recon_class_name(unsigned cls);

/** Name of a rule ("none", "reference", "auth_code", "amount_time"). */
SFJ_EXTERN const char *sfj_recon_rule_name(unsigned rule);

/** Free. Accepts NULL. */
SFJ_EXTERN void sfj_recon_free(sfj_recon *r);

/** Digits after the decimal point of an ISO 4217 currency (the list of
 *  2024): 0 (JPY, KRW, ...), 3 (BHD, KWD, ...), 4 (CLF, UYW), 2 otherwise
 *  (and for NULL). */
SFJ_EXTERN int sfj_currency_exponent(const char *currency);

/** An amount in major units of `currency` ("12.50", "1200" JPY, "1.250"
 *  KWD, "-3") into minor units `*out`: SFJ_EINVAL when malformed or with
 *  more decimals than the currency has. */
SFJ_EXTERN int sfj_amount_parse(const char *s, const char *currency,
                                int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
