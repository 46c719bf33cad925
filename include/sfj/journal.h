/* sfj journal: the encrypted, append-only, hash-chained transaction journal.
 *
 * One journal is one LMDB environment directory owned by one terminal.
 * sfj_append returns only after the entry is durable on disk. A journal
 * handle may be shared by several threads; every function here is
 * thread-safe unless stated otherwise. */
#ifndef SFJ_JOURNAL_H
#define SFJ_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest txn_id in bytes (printable ASCII, no NUL). */
#define SFJ_TXN_ID_MAX 64
/** Largest event payload in bytes. */
#define SFJ_PAYLOAD_MAX 65536
/** Longest authorisation code in bytes. */
#define SFJ_AUTH_CODE_MAX 12
/** Longest terminal_id in bytes. */
#define SFJ_TERMINAL_ID_MAX 64
/** Size of a journal id. */
#define SFJ_JOURNAL_ID_BYTES 16
/** Longest retrieval reference number (ISO 8583 field 37, an12). */
#define SFJ_RRN_MAX 12
/** Longest system trace audit number (ISO 8583 field 11, n6). */
#define SFJ_STAN_MAX 6
/** Longest response code (ISO 8583 field 39; 2, some hosts 3). */
#define SFJ_RESPONSE_CODE_MAX 3
/** Longest merchant reference as sent to the acquirer. */
#define SFJ_MERCHANT_REF_MAX 64
/** Longest masked card number (a PAN is 12..19 digits). */
#define SFJ_CARD_MAX 19
/** Longest note (printable ASCII and spaces). */
#define SFJ_NOTE_MAX 120
/** Most currencies in the totals of one SETTLEMENT event. */
#define SFJ_SETTLE_LINES_MAX 32
/** Largest count of one settlement line. */
#define SFJ_SETTLE_COUNT_MAX 1000000000u

/** Event kinds. Values are stored on disk and never change. */
typedef enum sfj_kind {
    SFJ_EV_TXN_INTENT = 1,   /**< before an online request leaves */
    SFJ_EV_TXN_OUTCOME = 2,  /**< the host answered */
    SFJ_EV_TXN_OFFLINE = 3,  /**< approved offline, forward later */
    SFJ_EV_REVERSAL = 4,     /**< a reversal was decided, sent or answered */
    SFJ_EV_RECEIPT = 5,      /**< printed / print failed / reprinted */
    SFJ_EV_SETTLEMENT = 6,   /**< batch closed, with local totals */
    SFJ_EV_CHECKPOINT = 7,   /**< written by sfj only: signed chain head */
    SFJ_EV_NOTE = 8,         /**< operator note */
    SFJ_EV_KEY_ROTATION = 9, /**< written by sfj only: the old signing key
                                  names the next epoch's public key */
    SFJ_EV_DICTIONARY = 10,  /**< written by sfj only, as seq 1 of a journal
                                  created with a dictionary
                                  (sfj_journal_opts.dictionary); its payload
                                  is that dictionary */
    SFJ_EV_APP = 0x1000      /**< first app-defined kind (up to 0xffff) */
} sfj_kind;

/** Event status. Which values make sense depends on the kind. */
typedef enum sfj_status {
    SFJ_ST_NONE = 0,
    SFJ_ST_APPROVED = 1,      /**< OUTCOME, OFFLINE, REVERSAL answered ok */
    SFJ_ST_DECLINED = 2,      /**< OUTCOME, REVERSAL answered no */
    SFJ_ST_ERROR = 3,         /**< OUTCOME: host error, result unknown */
    SFJ_ST_PRINTED = 10,      /**< RECEIPT printed */
    SFJ_ST_PRINT_FAILED = 11, /**< RECEIPT print failed (jam, paper) */
    SFJ_ST_REPRINTED = 12,    /**< RECEIPT reprinted: a DUPLICATE copy */
    SFJ_ST_REV_DECIDED = 20,  /**< REVERSAL decided (e.g. by recovery) */
    SFJ_ST_REV_SENT = 21      /**< REVERSAL request sent */
} sfj_status;

/** sfj_event.flags, or-ed together. Values are stored and never change. */
typedef enum sfj_event_flags {
    SFJ_EVF_PARTIAL = 0x1,   /**< OUTCOME approved: a partial approval, for
                                  less than the INTENT's amount + tip */
    SFJ_EVF_MANUAL = 0x2,    /**< OFFLINE: a manual or fallback sale
                                  journaled after the fact (paper slip,
                                  voice authorisation) */
    SFJ_EVF_RECONCILED = 0x4 /**< OUTCOME or REVERSAL: journaled by
                                  reconciliation from the acquirer's report
                                  (the note names report and line) */
} sfj_event_flags;

/** One currency's totals of a batch, as a SETTLEMENT event carries them
 *  (sfj_event.totals) and as settlement comparisons take and report them:
 *  `count` approved sales (online and offline) and `amount` their sum less
 *  the batch's reversals, in minor units (docs/RECONCILE.md, Settlement).
 *  Callers pass arrays of it, so its size is part of the ABI and it
 *  carries no version: it never grows. */
typedef struct sfj_settle_line {
    char currency[4]; /**< ISO 4217 alpha code, three A-Z */
    uint64_t count;   /**< 0..SFJ_SETTLE_COUNT_MAX */
    int64_t amount;   /**< net, minor units */
} sfj_settle_line;

/** An event to append. The caller allocates it, starting from
 *  SFJ_EVENT_INIT. The journal copies everything it needs; no pointer is
 *  kept after sfj_append returns.
 *
 *  PCI DSS 3.3.1: never put track data, CVV/CVC or PIN blocks in any field
 *  or in the payload. Truncate PANs with sfj_mask_pan before journaling. */
typedef struct sfj_event {
    unsigned version;      /**< SFJ_EVENT_VERSION (or older) */
    sfj_kind kind;         /**< SFJ_EV_CHECKPOINT is refused */
    sfj_status status;     /**< which values fit depends on the kind */
    const char *txn_id;    /**< idempotency key, 1..SFJ_TXN_ID_MAX printable
                                ASCII; required for txn, reversal and receipt
                                kinds, optional (NULL) otherwise */
    int64_t amount;        /**< minor units (cents) */
    const char *currency;  /**< ISO 4217 alpha code ("EUR") or NULL */
    const char *auth_code; /**< host authorisation code or NULL */
    uint32_t copy;         /**< receipt copy number (1 = original) */
    int64_t wall_ms;       /**< wall time in ms since the epoch; 0 = now */
    const void *payload;   /**< opaque app bytes (e.g. ISO 8583) or NULL */
    size_t payload_len;    /**< 0..SFJ_PAYLOAD_MAX */
    /* Version 2: the acquirer's references (docs/RECONCILE.md). NULL or ""
     * for none; each is checked and SFJ_EINVAL when malformed. */
    const char *rrn;           /**< retrieval reference number: 1..12 letters
                                    or digits */
    const char *stan;          /**< system trace audit number: 1..6 digits */
    const char *response_code; /**< acquirer response code: 1..3 letters or
                                    digits ("00") */
    const char *merchant_ref;  /**< the merchant reference actually sent (the
                                    txn id, or its short form): 1..
                                    SFJ_MERCHANT_REF_MAX printable ASCII */
    const char *card;          /**< masked card number: 12..19 digits and '*'
                                    or 'X', at most the first 6 and last 4
                                    in clear. A full PAN is refused with
                                    SFJ_EPAN (mask it with sfj_mask_pan) */
    int64_t tip;               /**< OUTCOME, OFFLINE: tip in minor units,
                                    included in `amount` (0..amount) */
    unsigned flags;            /**< sfj_event_flags, or-ed */
    const char *note;          /**< free text, 1..SFJ_NOTE_MAX printable ASCII
                                    or spaces; never card data */
    /* Version 3: per-currency totals (event codec 3, docs/FORMAT.md). */
    const sfj_settle_line *totals; /**< SETTLEMENT only: n_totals lines, one
                                        per currency (three A-Z, no
                                        currency twice, count at most
                                        SFJ_SETTLE_COUNT_MAX); the list
                                        counts 1 + 15 bytes a line against
                                        SFJ_PAYLOAD_MAX. Status NONE: the
                                        terminal's totals as sent; an
                                        answer: the host's. Else
                                        SFJ_EINVAL. Copied by sfj_append */
    size_t n_totals;               /**< 0..SFJ_SETTLE_LINES_MAX */
} sfj_event;

/** Layout version of sfj_event this header describes. Version 1 ends at
 *  payload_len, version 2 at note. */
#define SFJ_EVENT_VERSION 3
/** An empty event of the current version. */
#define SFJ_EVENT_INIT                                                         \
    {                                                                          \
        SFJ_EVENT_VERSION, (sfj_kind)0, SFJ_ST_NONE, NULL, 0, NULL, NULL, 0,   \
            0, NULL, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, 0      \
    }

/** A decrypted journal entry. Owned by the caller; free with
 *  sfj_entry_free, which wipes the payload. The library allocates it, so it
 *  carries no version: fields are only added at the end. Entries written
 *  before event codec 2 (docs/FORMAT.md) have the reference fields empty
 *  and tip and flags 0. */
typedef struct sfj_entry {
    uint64_t seq;      /**< position in the journal, dense from 1 */
    sfj_kind kind;     /**< as appended */
    sfj_status status; /**< as appended */
    uint32_t epoch;    /**< key epoch the record was sealed under */
    uint32_t boot;     /**< boot counter of the process that wrote it */
    int64_t wall_ms;   /**< wall time as recorded (may jump; seq orders) */
    char txn_id[SFJ_TXN_ID_MAX + 1];
    int64_t amount;
    char currency[4];
    char auth_code[SFJ_AUTH_CODE_MAX + 1];
    uint32_t copy;
    uint8_t *payload; /**< payload_len bytes (NULL when empty) */
    size_t payload_len;
    /* Since event codec 2 ("" / 0 when absent): see sfj_event. */
    char rrn[SFJ_RRN_MAX + 1];
    char stan[SFJ_STAN_MAX + 1];
    char response_code[SFJ_RESPONSE_CODE_MAX + 1];
    char merchant_ref[SFJ_MERCHANT_REF_MAX + 1];
    char card[SFJ_CARD_MAX + 1];
    int64_t tip;
    unsigned flags; /**< sfj_event_flags */
    char note[SFJ_NOTE_MAX + 1];
    /* Since event codec 3 (0 lines when absent): a SETTLEMENT's
     * per-currency totals, as appended. */
    size_t n_totals;
    sfj_settle_line totals[SFJ_SETTLE_LINES_MAX];
} sfj_entry;

/** Open flags (sfj_journal_opts.flags), or-ed together. */
typedef enum sfj_open_flags {
    SFJ_OPEN_RDONLY = 0x1,      /**< read-only: never writes (sfj-dump) */
    SFJ_OPEN_NOCREATE = 0x2,    /**< fail with SFJ_ENOTFOUND if missing */
    SFJ_OPEN_CHECK = 0x4,       /**< check every LMDB page before use (reads the
                                     whole file): for tools that inspect
                                     journals that may be damaged */
    SFJ_OPEN_ACKS = 0x8,        /**< acknowledgements only: for a forwarder in
                                     a process of its own beside the app; it
                                     may record acks and attention and nothing
                                     else (no append, checkpoint, prune or txn
                                     index work), and takes no writer lock */
    SFJ_OPEN_NO_RECEIPTS = 0x10 /**< receipts not tracked (a terminal
                                     without a printer): a writable open
                                     records it in the journal for good
                                     (meta "no_receipts", docs/FORMAT.md)
                                     and every later open, read-only ones
                                     included, follows it. sfj_recover then
                                     lists no receipt actions (NO RECEIPT,
                                     PRINT FAILED): an approved sale
                                     without a receipt is clean. It cannot
                                     be turned back off; with
                                     SFJ_OPEN_RDONLY it applies to that
                                     handle only */
} sfj_open_flags;

/** Smallest size cap (sfj_journal_opts.max_bytes): below it the space
 *  kept back for acks, checkpoints and reopening at the cap cannot fit. */
#define SFJ_JOURNAL_MIN_BYTES (256u << 10)

/** Journal options. Zero means "default" for every field. */
typedef struct sfj_journal_opts {
    unsigned version;          /**< SFJ_JOURNAL_OPTS_VERSION (or older) */
    unsigned flags;            /**< sfj_open_flags, or-ed */
    const char *terminal_id;   /**< stored at creation; checked on reopen */
    uint64_t max_bytes;        /**< size cap of the journal (default 256 MiB,
                                    at least SFJ_JOURNAL_MIN_BYTES) */
    uint32_t checkpoint_every; /**< entries between checkpoints (1000); each
                                    checkpoint also persists the txn states
                                    kept in memory since the last one */
    /* Offline risk limits (0 = no limit): an OFFLINE append that would
     * pass one fails with SFJ_ELIMIT. */
    uint64_t max_offline_count; /**< unforwarded OFFLINE txns */
    int64_t max_offline_amount; /**< unforwarded amount, per currency */
    int64_t max_offline_age_ms; /**< age of the oldest unforwarded one */
    /* Retention of acknowledged entries. */
    uint32_t retention_days; /**< default 400 */
    uint32_t high_water_pct; /**< prune acked entries above this map
                                  fill (default 80) */
    /* Version 2. */
    /** Compression dictionary of a new journal (NULL: none), 1 to
     *  SFJ_DICTIONARY_MAX bytes: what this terminal's records repeat. Build
     *  it with sfj_dictionary_build from a few sample events of the kind
     *  the app will append (e.g. the intent, outcome and receipt of a test
     *  sale, their payloads made by the app's own message builder: field
     *  layout, merchant and terminal ids, txn id format). A writable open
     *  of a journal that holds no entry yet stores it, sealed like a
     *  payload, as the DICTIONARY record at seq 1, and every later record
     *  is compressed against it; it never changes after that, and a
     *  journal that already holds entries ignores it. Readers need
     *  nothing: the journal carries it (docs/FORMAT.md, "Journal
     *  dictionary"). An evidence bundle discloses it with the txn's
     *  records: put no card data in it. Copied during the call.
     *  sfj_journal_open fails with SFJ_EINVAL, creating nothing, for a
     *  dictionary without a length, a length without one, or one longer
     *  than SFJ_DICTIONARY_MAX. */
    const void *dictionary;
    size_t dictionary_len;
} sfj_journal_opts;

/** Longest journal dictionary (sfj_journal_opts.dictionary_len). */
#define SFJ_DICTIONARY_MAX 8192
/** Most sample events sfj_dictionary_build takes. */
#define SFJ_DICTIONARY_SAMPLES_MAX 16

#define SFJ_JOURNAL_OPTS_VERSION 2
#define SFJ_JOURNAL_OPTS_INIT                                                  \
    {                                                                          \
        SFJ_JOURNAL_OPTS_VERSION, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL, 0        \
    }

/** Build a journal dictionary (sfj_journal_opts.dictionary) from `n`
 *  sample events (1 to SFJ_DICTIONARY_SAMPLES_MAX; pointers, so that each
 *  event's own `version` says its size), each valid as sfj_append would
 *  take it: their encodings, as the journal's records hold them, one
 *  after the other, into `out` (`cap` bytes); `*len` gets the length.
 *  SFJ_EINVAL for an invalid sample or when the whole passes `cap` or
 *  SFJ_DICTIONARY_MAX, SFJ_EPAN for a card number in clear, SFJ_EVERSION
 *  for an unknown event version. */
SFJ_EXTERN SFJ_WARN_UNUSED int
sfj_dictionary_build(const sfj_event *const *samples, size_t n, void *out,
                     size_t cap, size_t *len);

/** Opaque journal handle. */
typedef struct sfj_journal sfj_journal;

/** Open (creating if needed) the journal in directory `dir`.
 *
 *  `keys` is required for writing and for decryption; a read-only handle
 *  may pass NULL and then reads clear headers only. Each key of the set is
 *  bound to the key epoch whose public key it has, in any order; a key of
 *  none of the journal's epochs is set aside. A wrong key (none of the
 *  set, for a terminal's journal the newest not among them) fails with
 *  SFJ_EAUTH, an unknown format with SFJ_EVERSION. A new journal is of
 *  journal format 2; one of format 1 (made before) is read and written in
 *  its own format, and a library older than format 2 cannot open a format
 *  2 journal (docs/FORMAT.md, "The environment"). Opening clears stale
 *  LMDB readers, bumps the boot counter and, if the last run did not close
 *  cleanly, seals the tail with a checkpoint.
 *
 *  One writer at a time: a writable open takes an exclusive lock on the
 *  file `writer.lock` beside the LMDB files for the life of the handle (the
 *  kernel drops it when the process dies). While any handle holds it, in
 *  this process or another, a second writable open fails at once with
 *  SFJ_EBUSY and sfj_journal_errmsg names the holder's pid. Read-only and
 *  SFJ_OPEN_ACKS opens are never blocked. `*out` belongs to the caller;
 *  release it with sfj_journal_close. `opts` may be NULL; SFJ_EVERSION when
 *  opts->version is 0 or newer than SFJ_JOURNAL_OPTS_VERSION. A handle
 *  belongs to the process that opened it: after fork the child opens its
 *  own and never uses, closes or frees the inherited one (see sfj_init). */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_journal_open(const char *dir,
                                                const sfj_keys *keys,
                                                const sfj_journal_opts *opts,
                                                sfj_journal **out);

/** Write a closing checkpoint (when writable and anything was appended
 *  since the last one) and persist the txn states kept in memory since the
 *  last checkpoint (docs/FORMAT.md, "The txn index position"), close and
 *  free. Accepts NULL. No other thread may use the handle during or after
 *  this call. Skipping it (a crash) loses nothing: the next open replays
 *  the entries the persisted txn index has not seen. */
SFJ_EXTERN int sfj_journal_close(sfj_journal *j);

/** Append one event. Returns 0 only once the entry is durable on disk
 *  (LMDB commit with its fsyncs); `*seq_out` (may be NULL) receives its
 *  seq, or 0 when the append fails (keep the last good seq elsewhere).
 *  SFJ_EFULL: the cap is reached and nothing acked can be pruned: stop
 *  taking offline payments. SFJ_ELIMIT: an offline risk limit. SFJ_EDEAD:
 *  a previous fsync failed, reopen the journal. SFJ_EVERSION: ev->version
 *  is 0 or newer than SFJ_EVENT_VERSION (nothing written). Thread-safe. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_append(sfj_journal *j, const sfj_event *ev,
                                          uint64_t *seq_out);

/** Read and decrypt the entry at `seq`. SFJ_ENOTFOUND if absent (or
 *  pruned), SFJ_EAUTH / SFJ_ECORRUPT if the record was tampered with or is
 *  damaged: damaged data is never returned. `*out` is the caller's; free
 *  with sfj_entry_free. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_read(sfj_journal *j, uint64_t seq,
                                        sfj_entry **out);

/** Move the journal to a new master key: the keys `new_keys` was made
 *  with (its first key) seal every record and sign every checkpoint from
 *  now on, under the next key epoch. One durable commit writes, together:
 *  a checkpoint over the entries not yet signed (under the old key), a
 *  KEY_ROTATION record signed by the old signing key that names the new
 *  public key and epoch (docs/FORMAT.md, "Key rotation"), the new epoch,
 *  public key and key check in meta, and the txn index rebuilt under the
 *  new key; a crash leaves the journal wholly before or wholly after.
 *  Write the new key file durably before calling (sfj_keys_generate_file
 *  does) and keep the old one: records sealed before stay readable only
 *  with it, so open with both afterwards (sfj_keys_add); the newest key
 *  alone opens the journal and appends, and reading an older record then
 *  fails with SFJ_ENOKEY. The link key is not changed (an upstream keeps
 *  it); an upstream learns the new public key from the record itself.
 *  `*seq_out` (may be NULL) gets the rotation record's seq.
 *  SFJ_ESTATE on a read-only, acks-only or mirror handle; SFJ_EINVAL for a
 *  key this journal used before. Not thread-safe: make no other call on
 *  this handle until it returns (a link forwarder running on it only
 *  reads sealed records and may keep running). */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_journal_rotate_keys(sfj_journal *j,
                                                       const sfj_keys *new_keys,
                                                       uint64_t *seq_out);

/** Wipe and free an entry. Accepts NULL. */
SFJ_EXTERN void sfj_entry_free(sfj_entry *e);

/** Filter for sfj_iter_open. Zero fields do not filter. */
typedef struct sfj_query {
    unsigned version;   /**< SFJ_QUERY_VERSION (or older) */
    uint64_t from_seq;  /**< first seq (inclusive) */
    uint64_t to_seq;    /**< last seq (inclusive) */
    int64_t since_ms;   /**< wall_ms >= since_ms */
    int64_t until_ms;   /**< wall_ms < until_ms */
    sfj_kind kind;      /**< only this kind */
    const char *txn_id; /**< only this txn */
} sfj_query;

#define SFJ_QUERY_VERSION 1
#define SFJ_QUERY_INIT                                                         \
    {                                                                          \
        SFJ_QUERY_VERSION, 0, 0, 0, 0, (sfj_kind)0, NULL                       \
    }

/** Opaque iterator. */
typedef struct sfj_iter sfj_iter;

/** Start iterating entries matching `q` (NULL = all) in seq order. The
 *  iterator uses constant memory. It must be used by one thread at a time
 *  and freed before the journal is closed. SFJ_EVERSION when q->version is
 *  0 or newer than SFJ_QUERY_VERSION. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_iter_open(sfj_journal *j, const sfj_query *q,
                                             sfj_iter **out);

/** Next matching entry into `*out` (the caller's, free with sfj_entry_free).
 *  Returns SFJ_ENOTFOUND at the end, SFJ_EAUTH / SFJ_ECORRUPT for a damaged
 *  record (iteration may continue past it). */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_iter_next(sfj_iter *it, sfj_entry **out);

/** Free an iterator. Accepts NULL. */
SFJ_EXTERN void sfj_iter_free(sfj_iter *it);

/** Which offline risk limit refused the last OFFLINE append. */
typedef enum sfj_limit {
    SFJ_LIMIT_NONE = 0,   /**< none, or an OFFLINE append was accepted since */
    SFJ_LIMIT_COUNT = 1,  /**< max_offline_count */
    SFJ_LIMIT_AMOUNT = 2, /**< max_offline_amount */
    SFJ_LIMIT_AGE = 3     /**< max_offline_age_ms */
} sfj_limit;

/** Journal statistics, filled by sfj_stats_get into a struct the caller
 *  allocates from SFJ_STATS_INIT. Every field comes from clear data except
 *  `offline_pending`, which needs the key: a handle opened without one
 *  (or a host mirror) reads it as 0 whatever is pending. Without the key,
 *  sfj_pending_get tells the sales waiting to upload. `unacked` and
 *  `oldest_unacked_ms` count entries of every kind (receipts, checkpoints,
 *  notes), not sales. */
typedef struct sfj_stats {
    unsigned version;          /**< SFJ_STATS_VERSION (or older) */
    uint64_t first_seq;        /**< oldest entry still held (0 if empty) */
    uint64_t last_seq;         /**< newest entry (0 if empty) */
    uint64_t entries;          /**< entries held */
    uint64_t acked_seq;        /**< ack watermark: all <= it are upstream */
    uint64_t unacked;          /**< entries not yet acknowledged */
    uint64_t last_checkpoint;  /**< seq of the newest checkpoint (0: none) */
    uint64_t needs_attention;  /**< entries the upstream rejected */
    uint64_t map_bytes;        /**< current LMDB map size */
    uint64_t used_bytes;       /**< bytes of the map in use */
    uint64_t max_bytes;        /**< size cap */
    uint64_t offline_pending;  /**< unforwarded OFFLINE txns (needs the
                                    key: 0 without it) */
    int64_t oldest_unacked_ms; /**< wall time of the oldest unacked entry */
    uint32_t boot;             /**< boot counter of this open */
    uint32_t epoch;            /**< current key epoch */
    sfj_limit limit_hit;       /**< the limit behind the last SFJ_ELIMIT */
    /* Version 2: */
    uint32_t journal_format; /**< 2, or 1 for a journal created before
                                  journal format 2 (docs/FORMAT.md); a
                                  library older than format 2 cannot open
                                  a format 2 journal */
} sfj_stats;

/** Layout version of sfj_stats this header describes. */
#define SFJ_STATS_VERSION 2
#define SFJ_STATS_INIT                                                         \
    {                                                                          \
        SFJ_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,           \
            SFJ_LIMIT_NONE, 0                                                  \
    }

/** Fill the fields of out->version (set by SFJ_STATS_INIT) with the
 *  journal's statistics. SFJ_EVERSION, writing nothing, when out->version
 *  is 0 or newer than SFJ_STATS_VERSION. Thread-safe. */
SFJ_EXTERN int sfj_stats_get(sfj_journal *j, sfj_stats *out);

/** Most currencies sfj_pending lists; more are counted in `sales` but
 *  their amounts are left out (amounts_complete 0). */
#define SFJ_PENDING_CURRENCIES 16

/** Pending amount of one currency (sfj_pending.currencies). Passed in an
 *  array, so its size is fixed and it never grows. */
typedef struct sfj_pending_amount {
    char currency[4]; /**< ISO 4217 alpha code, "" for none */
    uint64_t count;   /**< sales in this currency */
    int64_t amount;   /**< their sum in minor units (saturating) */
} sfj_pending_amount;

/** What a cashier's screen shows about the upload backlog ("3 sales
 *  waiting to upload, oldest 42 min, EUR 128.50"), filled by
 *  sfj_pending_get without the key. A sale waiting to upload is an
 *  approved OFFLINE entry the upstream has not acknowledged; receipts,
 *  checkpoints, notes and declined sales are not counted. */
typedef struct sfj_pending {
    unsigned version;      /**< SFJ_PENDING_VERSION (or older) */
    uint64_t sales;        /**< approved OFFLINE sales not acknowledged */
    uint64_t oldest_seq;   /**< seq of the oldest of them (0: none) */
    int64_t oldest_ms;     /**< its wall time as recorded (0: none) */
    int amounts_complete;  /**< 1, or 0 when the sales span more than
                                SFJ_PENDING_CURRENCIES currencies */
    unsigned n_currencies; /**< entries used in `currencies` */
    sfj_pending_amount currencies[SFJ_PENDING_CURRENCIES];
} sfj_pending;

/** Layout version of sfj_pending this header describes. */
#define SFJ_PENDING_VERSION 1
#define SFJ_PENDING_INIT                                                       \
    {                                                                          \
        SFJ_PENDING_VERSION, 0, 0, 0, 0, 0,                                    \
        {                                                                      \
            {                                                                  \
                {0}, 0, 0                                                      \
            }                                                                  \
        }                                                                      \
    }

/** Fill `out` (version set by SFJ_PENDING_INIT) with the sales waiting to
 *  upload. Needs no key: a read-only handle opened with keys NULL reads
 *  it. The library keeps a small clear row in the journal's meta database
 *  for it (docs/FORMAT.md, "Pending sales"), written in the same commit as
 *  the OFFLINE entry or the ack that changes it, so it is crash-consistent
 *  with the entries. The row reveals exactly these totals (count, oldest
 *  seq and time, count and sum per currency), never a txn id or card;
 *  but a total is an amount, so with one sale pending it is that sale's,
 *  and earlier totals left in the file's free pages can give single
 *  amounts to whoever holds the file (FORMAT.md says what it costs).
 *  Returns 0; SFJ_ENOTFOUND when the journal holds no such row (written
 *  by an older library and not yet opened for writing with the key, a
 *  host mirror, or an ack recorded by a keyless handle since): the totals
 *  are unknown, not zero. SFJ_EVERSION, writing nothing, when
 *  out->version is 0 or newer than SFJ_PENDING_VERSION. Thread-safe. */
SFJ_EXTERN int sfj_pending_get(sfj_journal *j, sfj_pending *out);

/** Copy the 16-byte journal id into `out`. */
SFJ_EXTERN int sfj_journal_id(sfj_journal *j,
                              uint8_t out[SFJ_JOURNAL_ID_BYTES]);

/** Copy the terminal id stored in the journal at creation into `out`
 *  (capacity `cap` including the NUL; "" when none was given). SFJ_EBUFS
 *  when short (SFJ_TERMINAL_ID_MAX + 1 always fits). */
SFJ_EXTERN int sfj_journal_terminal_id(sfj_journal *j, char *out, size_t cap);

/** The detail text of the last failure on this handle, e.g. the LMDB or
 *  errno message behind an SFJ_EIO. With `j` NULL: the detail of the
 *  calling thread's last failed sfj_journal_open (e.g. "journal directory
 *  /x is writable by others"). Borrowed: valid until the calling thread's
 *  next call of this function. Never holds key, plaintext or PAN. */
SFJ_EXTERN const char *sfj_journal_errmsg(sfj_journal *j);

/** Short lowercase name of an event kind: "intent", "outcome", "offline",
 *  "reversal", "receipt", "settlement", "checkpoint", "note"; "app" for
 *  app-defined kinds, "unknown" otherwise. Static; never NULL. */
SFJ_EXTERN const char *sfj_kind_name(unsigned kind);

/** Name of a status: "none", "approved", "declined", "error", "printed",
 *  "print_failed", "reprinted", "rev_decided", "rev_sent"; "unknown"
 *  otherwise. Static; never NULL. */
SFJ_EXTERN const char *sfj_status_name(unsigned status);

/** The kind named `name` (as sfj_kind_name spells it) into `*out`:
 *  0, or SFJ_EINVAL for an unknown name. */
SFJ_EXTERN int sfj_kind_from_name(const char *name, sfj_kind *out);

/** The status named `name` into `*out`: 0, or SFJ_EINVAL. */
SFJ_EXTERN int sfj_status_from_name(const char *name, sfj_status *out);

/** Write a PAN masked to first 6 and last 4 digits ("411111******1111")
 *  into `out` (capacity `cap`, including the NUL). Non-digits are refused
 *  with SFJ_EINVAL, a short buffer with SFJ_EBUFS. */
SFJ_EXTERN int sfj_mask_pan(const char *pan, char *out, size_t cap);

/** Does `s` hold what looks like a card number in clear: a run of 12..19
 *  digits (spaces or dashes between them allowed) that passes the Luhn
 *  check? 1 or 0. Used to refuse a PAN in event fields and in reports. */
SFJ_EXTERN int sfj_looks_like_pan(const char *s);

#ifdef __cplusplus
}
#endif
#endif
