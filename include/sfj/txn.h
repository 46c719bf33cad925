/* sfj transactions: the state of each transaction derived from its journal
 * events, settlement totals, and crash recovery.
 *
 * Every transaction event (INTENT, OUTCOME, OFFLINE, REVERSAL, RECEIPT)
 * carries a txn_id. The journal keeps an index from a keyed hash of that id
 * to the seqs of the transaction's events and its state, updated in the
 * same durable commit as the append; neither ids nor amounts are stored in
 * clear. sfj_append refuses an event that does not fit the state with
 * SFJ_ESTATE before anything is written:
 *
 *     INTENT --outcome--> DONE(approved|declined) --receipt--> CLOSED
 *        |    (ERROR outcome or crash: IN_DOUBT) --reversal--> REVERSED
 *     OFFLINE --forwarded and acknowledged--> FORWARDED
 *     OFFLINE, FORWARDED --acquirer's outcome--> DONE(approved|declined)
 *
 * - INTENT: new txn_id, or a repeat of one still waiting for its outcome
 *   (a repeat reuses the original txn_id).
 * - OUTCOME: only for a txn waiting for its outcome (unknown txn, second
 *   approval, outcome after a decline or reversal: SFJ_ESTATE). Status
 *   APPROVED or DECLINED settles it; ERROR (host error, result unknown)
 *   leaves it in doubt and a later OUTCOME may still settle it. Also the
 *   acquirer's answer to an offline sale once its OFFLINE entry is
 *   acknowledged upstream (before that, or with ERROR: SFJ_ESTATE). Its
 *   amount and currency must be the sale's, up to the declared tip and a
 *   partial approval (sfj_event.tip, SFJ_EVF_PARTIAL): else SFJ_EAMOUNT.
 * - OFFLINE: new txn_id only; APPROVED (or NONE) counts against the
 *   offline risk limits, DECLINED is recorded as declined.
 * - REVERSAL: for a txn waiting, in doubt, approved, offline or already
 *   reversed (later reversal steps: SENT, APPROVED, DECLINED); a declined or
 *   unknown txn has nothing to reverse (SFJ_ESTATE). A reversal reuses the
 *   original txn_id.
 * - RECEIPT: only once the txn has an outcome. PRINTED (copy 0 or 1),
 *   PRINT_FAILED, REPRINTED (needs an earlier PRINTED or PRINT_FAILED; `copy`
 * >= 2 and above every earlier copy: a DUPLICATE).
 * - SETTLEMENT: status NONE closes the batch (its totals sent to the host);
 *   APPROVED / DECLINED / ERROR record the host's answer to the pending
 *   settlement (SFJ_ESTATE when none is pending). Either may carry totals
 *   per currency (sfj_event.totals: the batch's from sfj_batch_lines, or
 *   the host's).
 *
 * Wall times are reported as recorded; seq and the boot counter order
 * events, so a clock that jumps changes no state. */
#ifndef SFJ_TXN_H
#define SFJ_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "journal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Length of an id made by sfj_txn_id_new, without the NUL. */
#define SFJ_TXN_ID_NEW_LEN 32

/** Write a new unique txn_id (SFJ_TXN_ID_NEW_LEN characters: the time in
 *  ms and 64 random bits, hex) into `out` (capacity `cap` including the
 *  NUL; SFJ_EBUFS if short). Thread-safe; needs sfj_init.
 *
 *  The id is the transaction's idempotency key: journal it with the
 *  SFJ_EV_TXN_INTENT (sfj_append returned 0) before the first request
 *  leaves the terminal, and reuse it for every repeat and for the
 *  reversal. An id that exists only in memory is lost by a crash. */
SFJ_EXTERN int sfj_txn_id_new(char *out, size_t cap);

/** Length of an id made by sfj_txn_id_short, without the NUL. */
#define SFJ_TXN_ID_SHORT_LEN 12

/** Write a new short txn_id (SFJ_TXN_ID_SHORT_LEN characters, digits and
 *  capitals of Crockford's base 32: 30 bits of the time in seconds, then
 *  30 random bits) into `out` (capacity `cap`; SFJ_EBUFS if short). For an
 *  acquirer whose merchant-reference field holds 12 characters (ISO 8583
 *  field 37): use it as the txn_id itself and send it unchanged, so the
 *  reference in the acquirer's report is the txn id (docs/RECONCILE.md).
 *  Unique per terminal (two ids of the same second collide one time in
 *  2^30; an INTENT whose id is already answered is refused with
 *  SFJ_ESTATE: make a new one). Thread-safe; needs sfj_init. */
SFJ_EXTERN int sfj_txn_id_short(char *out, size_t cap);

/** Derived transaction states. Values never change. */
typedef enum sfj_txn_state {
    SFJ_TXN_INTENT = 1,    /**< request sent (or about to be), no answer */
    SFJ_TXN_DONE = 2,      /**< host answered: see sfj_txn.outcome (also
                                the acquirer's answer to a forwarded offline
                                sale: offline_seq is then set) */
    SFJ_TXN_IN_DOUBT = 3,  /**< no answer and none can come: the writer
                                crashed or the host reported an error;
                                reverse or inquire */
    SFJ_TXN_REVERSED = 4,  /**< a reversal is journaled */
    SFJ_TXN_OFFLINE = 5,   /**< approved offline, not yet forwarded */
    SFJ_TXN_FORWARDED = 6, /**< offline txn acknowledged upstream */
    SFJ_TXN_CLOSED = 7     /**< answered and its receipt printed */
} sfj_txn_state;

/** sfj_txn.flags, or-ed together. */
typedef enum sfj_txn_flags {
    SFJ_TXN_F_PRINTED = 0x01,      /**< a receipt printed */
    SFJ_TXN_F_PRINT_FAILED = 0x02, /**< printing failed, none printed */
    SFJ_TXN_F_REPRINTED = 0x04,    /**< a DUPLICATE copy was printed */
    SFJ_TXN_F_HOST_ERROR = 0x08,   /**< an ERROR outcome was journaled */
    SFJ_TXN_F_REPEATED = 0x10      /**< the intent was repeated */
} sfj_txn_flags;

/** A transaction's state and the seqs of its events (0: no such event).
 *  Seqs may name entries since pruned. The caller allocates it from
 *  SFJ_TXN_INIT; sfj_txn_get fills it. */
typedef struct sfj_txn {
    unsigned version;           /**< SFJ_TXN_VERSION (or older) */
    sfj_txn_state state;        /**< derived state */
    sfj_status outcome;         /**< SFJ_ST_APPROVED / DECLINED / ERROR / 0 */
    sfj_status reversal;        /**< status of the last reversal event, or 0 */
    unsigned flags;             /**< sfj_txn_flags, or-ed */
    uint32_t boot;              /**< boot counter of the last intent */
    uint32_t repeats;           /**< intents after the first */
    uint32_t copies;            /**< highest receipt copy number printed */
    uint64_t first_seq;         /**< first event */
    uint64_t last_seq;          /**< newest event */
    uint64_t intent_seq;        /**< first INTENT */
    uint64_t last_intent_seq;   /**< newest INTENT (repeat) */
    uint64_t outcome_seq;       /**< newest OUTCOME */
    uint64_t offline_seq;       /**< the OFFLINE event */
    uint64_t receipt_seq;       /**< first PRINTED receipt */
    uint64_t print_failed_seq;  /**< newest PRINT_FAILED receipt */
    uint64_t reprint_seq;       /**< newest REPRINTED receipt */
    uint64_t reversal_seq;      /**< first REVERSAL */
    uint64_t reversal_last_seq; /**< newest REVERSAL */
} sfj_txn;

/** Layout version of sfj_txn this header describes. */
#define SFJ_TXN_VERSION 1
#define SFJ_TXN_INIT                                                           \
    {                                                                          \
        SFJ_TXN_VERSION, (sfj_txn_state)0, SFJ_ST_NONE, SFJ_ST_NONE, 0, 0, 0,  \
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0                                 \
    }

/** Look up transaction `txn_id` in the index. SFJ_ENOTFOUND if no event
 *  of it is held, SFJ_ESTATE for a handle without a key or a host mirror,
 *  SFJ_EVERSION when out->version is 0 or newer than SFJ_TXN_VERSION.
 *  The fields of out->version are overwritten. Reads a consistent snapshot;
 * thread-safe.
 *
 *  The state is that of the newest durable entry, on any handle: the
 *  writing handle keeps the newest txn states in memory and persists them
 *  in batches (docs/FORMAT.md, "The txn index position"); every other
 *  handle, read-only or in another process, replays the entries after the
 *  persisted position itself (at most about one checkpoint interval).
 *
 *  A txn waiting for its outcome is IN_DOUBT when the intent was written
 *  by an earlier open of the journal (the writer crashed or closed), when
 *  the host answered ERROR, or when `j` is read-only. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_txn_get(sfj_journal *j, const char *txn_id,
                                           sfj_txn *out);

/* ---- Settlement ------------------------------------------------------ */

/** One line of batch totals: entries of `kind` in `currency`. Counted:
 *  SFJ_EV_TXN_OUTCOME approved, SFJ_EV_TXN_OFFLINE approved, and the first
 *  SFJ_EV_REVERSAL of each txn. Amounts are summed as recorded.
 *
 *  Callers pass arrays of it (sfj_batch_compare), so its size is part of
 *  the ABI and it carries no version: it never grows; a richer line would
 *  be a new type. */
typedef struct sfj_total {
    char currency[4]; /**< ISO 4217 code, "" when none was given */
    sfj_kind kind;    /**< SFJ_EV_TXN_OUTCOME, _OFFLINE or SFJ_EV_REVERSAL */
    uint64_t count;
    int64_t amount;
} sfj_total;

/** Totals of the open batch: everything after the last SETTLEMENT with
 *  status NONE. Owned by the caller; free with sfj_batch_free. */
typedef struct sfj_batch {
    uint64_t settlement_seq; /**< the settlement that closed the previous
                                  batch (0: none yet) */
    uint64_t from_seq;       /**< first seq of this batch */
    uint64_t to_seq;         /**< newest seq looked at */
    int partial;             /**< entries of the batch were pruned */
    size_t n;                /**< lines in `totals`, sorted by currency
                                  then kind */
    sfj_total *totals;
} sfj_batch;

/** Compute the totals of the open batch by reading (and decrypting) its
 *  entries: cost grows with the batch, not the journal. `*out` is the
 *  caller's. Thread-safe. */
SFJ_EXTERN int sfj_batch_totals(sfj_journal *j, sfj_batch **out);

/** Free batch totals. Accepts NULL. */
SFJ_EXTERN void sfj_batch_free(sfj_batch *b);

/** Why an entry is listed in a settlement difference. */
typedef enum sfj_diff_reason {
    SFJ_DIFF_UNFORWARDED = 1, /**< the host has not acknowledged it yet */
    SFJ_DIFF_ATTENTION = 2,   /**< the host rejected it (needs attention) */
    SFJ_DIFF_IN_DOUBT = 3,    /**< no outcome journaled: the host may have
                                   approved it. Reconcile with the
                                   acquirer's report (sfj_recon_apply,
                                   sfj-reconcile --apply): the outcome it
                                   journals then counts in the totals */
    SFJ_DIFF_AMOUNT = 4,      /**< its amount equals the difference */
    SFJ_DIFF_REPORT = 5       /**< sfj_settle_compare with a reconciliation:
                                   the acquirer's report explains it (its
                                   class and line in sfj_settle_why): a
                                   charge absent from the journal, another
                                   amount, a sale the acquirer never
                                   received, a reversal it does not show */
} sfj_diff_reason;

/** One line where local and host totals differ. */
typedef struct sfj_diff_line {
    char currency[4];
    sfj_kind kind;
    uint64_t local_count;
    int64_t local_amount;
    uint64_t host_count;
    int64_t host_amount;
    int explained; /**< the listed entries account for all of it */
} sfj_diff_line;

/** An entry that may explain a difference. */
typedef struct sfj_diff_entry {
    uint64_t seq;  /**< the entry (an INTENT for SFJ_DIFF_IN_DOUBT) */
    sfj_kind kind; /**< the total line it belongs to */
    char currency[4];
    int64_t amount;
    char txn_id[SFJ_TXN_ID_MAX + 1];
    sfj_diff_reason reason;
} sfj_diff_entry;

/** Result of sfj_batch_compare. Owned by the caller; free with
 *  sfj_batch_diff_free. */
typedef struct sfj_batch_diff {
    int balanced; /**< every line matches */
    size_t n_lines;
    sfj_diff_line *lines;
    size_t n_entries;
    sfj_diff_entry *entries; /**< in seq order */
} sfj_batch_diff;

/** Compare the open batch, per currency and kind, with the `n` totals the
 *  host reports (sfj_settle_compare compares per currency, the form of a
 *  SETTLEMENT's totals, and can name the acquirer's report lines; a missing
 *  line counts as zero) and list the entries that explain each
 *  difference: entries the host has not acknowledged or rejected when it
 *  has less, in-doubt intents when it has more, or an entry whose amount
 *  is exactly the difference. Reads only. `*out` is the caller's. */
SFJ_EXTERN int sfj_batch_compare(sfj_journal *j, const sfj_total *host,
                                 size_t n, sfj_batch_diff **out);

/** Free a comparison. Accepts NULL. */
SFJ_EXTERN void sfj_batch_diff_free(sfj_batch_diff *d);

/* ---- Settlement per currency (docs/RECONCILE.md, Settlement) ---------- */

/** The batch's totals per currency, as a SETTLEMENT event carries them
 *  (sfj_event.totals): for each currency, `count` approved sales (the
 *  OUTCOME and OFFLINE lines of `b`) and `amount` their sum less the
 *  reversals'. Written to `out` (capacity `cap` lines; SFJ_EBUFS if short),
 *  sorted by currency; `*n` gets the number of lines. A line with currency
 *  "" sums sales journaled without one; such a line cannot be journaled. */
SFJ_EXTERN int sfj_batch_lines(const sfj_batch *b, sfj_settle_line *out,
                               size_t cap, size_t *n);

/** Options of sfj_settle_compare. */
typedef struct sfj_settle_opts {
    unsigned version;              /**< SFJ_SETTLE_OPTS_VERSION (or older) */
    const struct sfj_recon *recon; /**< a reconciliation of this journal
                                        after sfj_recon_run (reconcile.h), or
                                        NULL: its classes and report lines
                                        then explain the differences */
} sfj_settle_opts;

#define SFJ_SETTLE_OPTS_VERSION 1
#define SFJ_SETTLE_OPTS_INIT                                                   \
    {                                                                          \
        SFJ_SETTLE_OPTS_VERSION, NULL                                          \
    }

/** One currency where the open batch and the host's totals differ. */
typedef struct sfj_settle_diff_line {
    char currency[4];
    uint64_t local_count; /**< sfj_batch_lines' count and amount */
    int64_t local_amount;
    uint64_t host_count; /**< as the host reports them (0: no line) */
    int64_t host_amount;
    int explained; /**< its explanations add up to the difference, in
                        count and amount */
} sfj_settle_diff_line;

/** One part of a difference: a journal entry, a report line, or both. */
typedef struct sfj_settle_why {
    char currency[4];       /**< the line it belongs to */
    int64_t delta;          /**< its part of local - host amount */
    int count_delta;        /**< its part of local - host count: -1, 0, 1 */
    sfj_diff_reason reason; /**< why */
    uint64_t seq;           /**< the entry: the sale's OUTCOME or OFFLINE, its
                                 REVERSAL, its INTENT when in doubt; 0 for a report
                                 line with no entry in the batch */
    sfj_kind kind;          /**< kind of the entry at seq (0 when none) */
    char txn_id[SFJ_TXN_ID_MAX + 1]; /**< "" when unknown */
    int64_t amount;                  /**< the entry's (or the line's) */
    int recon_class;    /**< sfj_recon_class of the reconciliation item of
                             this sale or line, -1 when none names it */
    const char *report; /**< that item's report name, borrowed from the
                             sfj_recon (valid while it lives), or NULL */
    size_t line;        /**< that item's report line (0: none) */
} sfj_settle_why;

/** Result of sfj_settle_compare. Owned by the caller; free with
 *  sfj_settle_diff_free. */
typedef struct sfj_settle_diff {
    int balanced;                /**< every currency matches */
    uint64_t from_seq, to_seq;   /**< the batch compared */
    size_t n_lines;              /**< currencies that differ */
    sfj_settle_diff_line *lines; /**< sorted by currency */
    size_t n_why;                /**< explanations */
    sfj_settle_why *why;         /**< by currency, then seq, then line */
} sfj_settle_diff;

/** Compare the open batch, per currency (sfj_batch_lines), with the `n`
 *  lines the host reports (a currency missing on one side counts as zero;
 *  SFJ_EINVAL for a currency twice or not "" or three A-Z) and explain
 *  each difference: sales and reversals the host has not acknowledged or
 *  rejected, intents in doubt (the host may have charged them), or,
 *  with opts->recon, what the acquirer's report shows: each explanation
 *  then names the reconciliation class and report line of its sale, a
 *  charge the journal lacks is one (report lines from the batch's first
 *  entry's time on), and an in-doubt sale the report proves not charged
 *  is none. Reads only; `opts` may be NULL; SFJ_EVERSION for a bad
 *  version, SFJ_EINVAL for a reconciliation not run. `*out` is the
 *  caller's. */
SFJ_EXTERN int sfj_settle_compare(sfj_journal *j, const sfj_settle_line *host,
                                  size_t n, const sfj_settle_opts *opts,
                                  sfj_settle_diff **out);

/** Free a comparison. Accepts NULL. */
SFJ_EXTERN void sfj_settle_diff_free(sfj_settle_diff *d);

/* ---- Recovery -------------------------------------------------------- */

/** Kinds of report items. */
typedef enum sfj_report_kind {
    SFJ_REPORT_IN_DOUBT = 1,     /**< reverse or inquire with the host */
    SFJ_REPORT_NO_RECEIPT = 2,   /**< approved, no receipt printed: reprint */
    SFJ_REPORT_PRINT_FAILED = 3, /**< approved, printing failed: reprint */
    SFJ_REPORT_ATTENTION = 4     /**< rejected upstream: review by hand */
} sfj_report_kind;

/** One thing recovery found. Txn ids and amounts come from decrypting the
 *  entries: the report is for the operator's screen, not for logs. */
typedef struct sfj_report_item {
    sfj_report_kind type; /**< what to do */
    uint64_t seq;         /**< the entry to look at: the intent (IN_DOUBT), the
                               approval (NO_RECEIPT), the failed print
                               (PRINT_FAILED), the rejected entry (ATTENTION) */
    uint64_t first_seq;   /**< the txn's first event (0 for ATTENTION) */
    sfj_kind kind;        /**< kind of the entry at `seq` */
    char txn_id[SFJ_TXN_ID_MAX + 1];
    int64_t amount;
    char currency[4];
    int64_t wall_ms; /**< as recorded */
    int host_error;  /**< IN_DOUBT: the host answered ERROR */
    int reason;      /**< ATTENTION: the upstream's reason code */
    char text[121];  /**< ATTENTION: the upstream's reason text */
} sfj_report_item;

/** Unforwarded offline amount in one currency. */
typedef struct sfj_report_amount {
    char currency[4];
    uint64_t count;
    int64_t amount;
} sfj_report_amount;

/** Overall result, also sfj-recover's exit code. */
typedef enum sfj_report_status {
    SFJ_REPORT_CLEAN = 0,  /**< nothing to do */
    SFJ_REPORT_ACTION = 1, /**< items or a pending settlement need action */
    SFJ_REPORT_CORRUPT = 2 /**< the chain or a record is damaged */
} sfj_report_status;

/** What sfj_recover found. Owned by the caller; free with
 *  sfj_report_free, which wipes it. */
typedef struct sfj_report {
    sfj_report_status status; /**< overall result */
    uint64_t first_seq;       /**< oldest entry held */
    uint64_t last_seq;        /**< newest entry */
    uint64_t acked_seq;       /**< ack watermark */
    unsigned stale_readers;   /**< LMDB reader slots of dead processes
                                   cleared */
    uint64_t verified_from;   /**< chain checked from here ... */
    uint64_t verified_to;     /**< ... to here */
    uint64_t bad_seq;         /**< first damaged seq (0: none) */
    int bad_rc;               /**< SFJ_ECORRUPT / SFJ_EAUTH for bad_seq */
    char bad_reason[160];
    int index_rebuilt;       /**< the txn index was missing or behind and
                                  was rebuilt */
    int index_stale;         /**< it is behind and the handle is read-only
                                  (the index is missing, or a record after
                                  its persisted position cannot be read):
                                  reopen writable to rebuild */
    uint64_t index_replayed; /**< entries replayed into the index */
    size_t n_items;
    sfj_report_item *items; /**< by type, then seq */
    size_t n_in_doubt, n_no_receipt, n_print_failed, n_attention;
    uint64_t unforwarded; /**< entries not acknowledged upstream */
    uint64_t oldest_unforwarded_seq;
    int64_t oldest_unforwarded_ms;     /**< its wall time as recorded */
    int64_t oldest_unforwarded_age_ms; /**< against the newest of the
                                            clock and every recorded time */
    uint64_t offline_pending;          /**< OFFLINE txns not acknowledged */
    size_t n_amounts;
    sfj_report_amount *amounts; /**< unforwarded offline, per currency */
    uint64_t settlement_seq;    /**< newest batch-closing settlement (0) */
    int settlement_pending;     /**< it has no host answer journaled */
    int receipts_untracked;     /**< the journal does not track receipts
                                     (SFJ_OPEN_NO_RECEIPTS): no NO RECEIPT
                                     or PRINT FAILED items are listed */
} sfj_report;

/** Recover after a crash and report what needs doing: clear stale LMDB
 *  readers, verify the chain (and decrypt every record) from the last
 *  checkpoint before the tail to the tail, rebuild the txn index if it is
 *  missing or behind (writable handles only), and list in-doubt txns,
 *  approved txns without a printed receipt, failed prints,
 *  needs-attention entries, a settlement without answer and the
 *  unforwarded backlog. Damage is reported in the report (status
 *  SFJ_REPORT_CORRUPT, bad_seq), not as an error. Writes nothing unless
 *  the index must be rebuilt, so running it twice gives the same report.
 *  Cost grows with the open txns and the unacknowledged backlog, not the
 *  journal size. `*out` is the caller's. Thread-safe. SFJ_ESTATE on a
 *  host's mirror: it holds none of the terminal's transaction state. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_recover(sfj_journal *j, sfj_report **out);

/** Wipe and free a report. Accepts NULL. */
SFJ_EXTERN void sfj_report_free(sfj_report *r);

#ifdef __cplusplus
}
#endif
#endif
