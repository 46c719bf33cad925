/* The journal handle and the pieces the journal's own files share. */
#ifndef SFJ_JOURNAL_IMPL_H
#define SFJ_JOURNAL_IMPL_H

#include <lmdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "common/bytes.h"
#include "sfj/journal.h"

/* Meta keys (the `meta` database). */
#define SFJ__META_FORMAT      "format"
#define SFJ__META_JOURNAL_ID  "journal_id"
#define SFJ__META_TERMINAL_ID "terminal_id"
#define SFJ__META_EPOCH       "epoch"
#define SFJ__META_BOOT        "boot"
#define SFJ__META_KEYCHECK    "keycheck"
#define SFJ__META_PUBKEY      "pubkey"
#define SFJ__META_MIRROR      "mirror"
#define SFJ__META_WATERMARK   "watermark"
#define SFJ__META_CKPT        "checkpoint"
#define SFJ__META_PRUNE_SEQ   "prune_seq"
#define SFJ__META_PRUNE_HASH  "prune_hash"
#define SFJ__META_PRUNE_SIG   "prune_sig"   /* Ed25519 over the anchor */
#define SFJ__META_NO_RECEIPTS "no_receipts" /* u64 1: receipts not tracked */
#define SFJ__META_KEYS        "keys" /* key history: (u32 epoch, pubkey)* */
#define SFJ__META_DICT        "dict" /* the DICTIONARY record, as sealed */

/* One entry of the key history: u32be epoch || 32-byte public key. */
#define SFJ__KEYHIST_ENTRY 36
/* Most epochs one journal goes through (key rotations plus one). */
#define SFJ__KEYHIST_MAX 1024

/* Journal formats this library reads. 1: entries in the named database
 * `entries`, keyed by u64be seq. 2 (what it creates): entries in LMDB's
 * main database beside the named databases' records, keyed by
 * SFJ__ENTRY_TAG || u64be seq, which sorts after every name; a commit
 * then copies no main-database page for the entries' own record. */
#define SFJ__FORMAT_NAMED   1
#define SFJ__FORMAT_MAIN    2
#define SFJ__FORMAT_VERSION SFJ__FORMAT_MAIN
#define SFJ__ENTRY_TAG      0xFF
#define SFJ__ENTRY_KEY_MAX  9
/* The named databases beside the entries (txns, acked, attention, meta):
 * in a format 2 journal, the records in the main database that are not
 * entries. */
#define SFJ__NAMED_DBS 4
extern const char *const sfj__db_names[SFJ__NAMED_DBS];

/* The single-writer lock file beside the LMDB files. */
#define SFJ__WRITER_LOCK "writer.lock"

struct sfj_journal {
    MDB_env *env;
    MDB_dbi db_entries; /* entry key -> sealed record (sfj__entry_key) */
    MDB_dbi db_txns;    /* keyed hash of txn_id -> txn state */
    MDB_dbi db_acked;   /* u64be seq above the watermark -> empty */
    MDB_dbi db_attn;    /* u64be seq -> reason (needs attention) */
    MDB_dbi db_meta;    /* name -> value */
    char *dir;
    int entries_in_main; /* format 2: entries in the main database */
    int rdonly;
    int mirror;
    int acks_only; /* SFJ_OPEN_ACKS: acks and attention only */
    int lock_fd;   /* writer.lock held with flock, or -1 */
    sfj_journal_opts opts;
    sfj_keys *keys;     /* own copy; NULL for mirrors and keyless readers */
    uint8_t *epoch_key; /* sodium_malloc'd key of the current epoch */
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    uint8_t pubkey[32];
    char terminal_id[SFJ_TERMINAL_ID_MAX + 1];
    uint32_t boot;
    uint32_t epoch;
    /* Key history (meta `keys`, or the one epoch of meta `epoch` and
     * `pubkey` when the journal never rotated): epochs in order, each
     * with its public key. Changed only by a committed rotation, under
     * `lock`. */
    uint8_t *keyhist;
    size_t keyhist_n;
    /* The journal's own compression dictionary (meta `dict`), opened at
     * open; NULL when it has none, or the handle no key to open it. */
    struct sfj__dict *dict;
    uint32_t dict_epoch; /* with dict NULL: the epoch meta `dict` is sealed
                            under, which no key given opens (0: none) */

    /* Written only by the commit leader, read under `lock`. */
    uint64_t last_seq;
    uint8_t head[32]; /* h(last_seq), or genesis / prune anchor */
    uint64_t last_ckpt;
    uint64_t map_size;
    /* The LMDB txn id of the leader's last commit (0: none yet, or it
     * failed): a write transaction numbered one above it follows that
     * commit directly, so last_seq and head are what its entries say. */
    size_t head_txnid;
    /* The txnid of the last commit that only released freed pages
     * (write/commit.c). */
    size_t released_txnid;

    pthread_mutex_t lock; /* queue, committing, dead, errmsg, closing */
    pthread_cond_t cond;  /* a batch finished (also: new entries) */
    struct sfj__op *queue_head;
    struct sfj__op *queue_tail;
    int committing;
    /* Group commit gathering (commit.c): ops in the newest batch, whether
     * the elected leader is waiting for more, and the condition it waits
     * on (made on first use). */
    unsigned last_batch;
    int gathering;
    int gather_ready;
    pthread_cond_t gather_cond;
    int dead;
    int closing;
    /* Readers hold it shared around every LMDB transaction; map growth
     * holds it exclusively, as mdb_env_set_mapsize requires no live txn. */
    pthread_rwlock_t maplock;
    char errmsg[256];

    /* Transaction layer (txn_hooks.c, txn_rebuild.c), under `lock`. */
    sfj_limit limit_hit;    /* last offline limit refused; NONE after an
                               accepted OFFLINE append */
    unsigned stale_readers; /* LMDB reader slots cleared at open */
    int txn_index_bad;      /* the index could not be caught up at open */
    int no_receipts;        /* receipts not tracked (SFJ_OPEN_NO_RECEIPTS) */
    /* Retention (retention.c), by the commit leader: the watermark at
     * which the first entry was found unacknowledged. Entries leave only
     * from the front, so nothing is prunable until the watermark moves. */
    uint64_t prune_idle_wm;
    int prune_idle;
    /* The txn index overlay (journal/write/txn_ovmap.h): NULL on handles
     * that never use the index. */
    struct sfj__txi *txi;
};

/* State of the write transaction the commit leader is filling. Apply
 * functions update it as they write; it reaches the handle only when the
 * commit succeeds. */
typedef struct sfj__wctx {
    sfj_journal *j;
    MDB_txn *txn;
    uint64_t last_seq;
    uint8_t head[32];
    uint64_t last_ckpt;
    uint64_t appended;     /* entries this batch added */
    uint64_t events;       /* of which events put by put_event (append.c) */
    int64_t event_wall_ms; /* the newest such event's wall time */
    uint64_t room;         /* bytes appends may still use (cap less reserve) */
} sfj__wctx;

/* An operation run inside the next group commit. It must check before it
 * writes: a logical failure (SFJ_EINVAL, SFJ_ESTATE, ...) returned without
 * writing leaves the batch going; an LMDB failure (returned through
 * sfj__mdb_rc) aborts and retries or fails the whole batch. */
typedef int (*sfj__apply_fn)(sfj__wctx *w, void *arg);

typedef struct sfj__op {
    sfj__apply_fn apply;
    void *arg;
    int rc;
    int done;
    int lead;       /* handed the lead by the previous leader */
    int mdb_failed; /* set by apply through sfj__wctx_fail */
    sem_t wake;     /* posted when done, or when handed the lead */
    struct sfj__op *next;
} sfj__op;

/* Run `fn(arg)` in a durable group commit; returns its result, or the
 * commit's failure. */
int sfj__commit(sfj_journal *j, sfj__apply_fn fn, void *arg);

/* Append a sealed record as the next seq inside a write context (the one
 * place entries are put). Updates w->last_seq and w->head. */
int sfj__wctx_put_entry(sfj__wctx *w, const uint8_t *rec, size_t len);

/* Claim `bytes` of append room; SFJ_EFULL when the journal is at its cap
 * (less the reserve kept for acks, checkpoints and pruning). */
int sfj__wctx_reserve(sfj__wctx *w, size_t bytes);

/* Size of that reserve. */
uint64_t sfj__reserve_bytes(const sfj_journal *j);

/* Grow the map (doubling, up to the cap), or with `adopt` take the size
 * another process set. SFJ_EFULL when the map is already at the cap. No
 * transaction of this handle may be open. */
int sfj__grow_map(sfj_journal *j, int adopt);

/* Commit a write transaction of the handle (store/commit_txn.c): a
 * batch's or one beside it (a prune at the cap, a release of freed
 * pages). MDB_MAP_FULL: SFJ_EFULL, nothing written (`what`, when not
 * NULL, names the transaction in the message). Any other failure sets
 * `*wrote` (when not NULL): LMDB may have written, and the handle is dead
 * (SFJ_EIO) unless space ran out before LMDB's meta page (SFJ_EFULL). */
int sfj__commit_txn(sfj_journal *j, MDB_txn *txn, const char *what, int *wrote);

/* The clear header of the next entry of a write context, for a record
 * sfj writes itself: the epoch in force, the next seq, the time now and
 * the chain head. */
struct sfj__rec_hdr;
void sfj__wctx_next_hdr(const sfj__wctx *w, struct sfj__rec_hdr *h);

/* Append a signed checkpoint inside a write context. */
int sfj__wctx_checkpoint(sfj__wctx *w);

/* Translate an LMDB (or errno) code, recording `what` as the detail. */
int sfj__mdb_rc(sfj_journal *j, int mdb_rc, const char *what);

/* A lookup's LMDB code as `*found`: SFJ_OK whether found or not, any
 * other code translated as sfj__mdb_rc does. */
int sfj__mdb_found(sfj_journal *j, int mrc, const char *what, int *found);

/* Record detail text for sfj_journal_errmsg (printf-style). */
void sfj__set_err(sfj_journal *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keep `j`'s detail text as this thread's last open failure. */
void sfj__keep_open_err(sfj_journal *j);

/* Begin / end a read-only transaction, holding the map lock shared. */
int sfj__read_begin(sfj_journal *j, MDB_txn **txn);
void sfj__read_end(sfj_journal *j, MDB_txn *txn);

/* A malloc'd copy of the value of `k` in `dbi`, read in a transaction of
 * its own; SFJ_ENOTFOUND when there is none (sfj__mdb_rc names `what`). */
int sfj__read_copy(sfj_journal *j, MDB_dbi dbi, MDB_val *k, const char *what,
                   uint8_t **out, size_t *len);

/* Meta helpers inside any transaction. */
int sfj__meta_get_u64(sfj_journal *j, MDB_txn *txn, const char *name,
                      uint64_t *out);
int sfj__meta_put_u64(sfj_journal *j, MDB_txn *txn, const char *name,
                      uint64_t v);
int sfj__meta_put(sfj_journal *j, MDB_txn *txn, const char *name,
                  const void *data, size_t len);

/* The prune anchor in meta: `*seq` 0 when there is none; otherwise
 * `hash` = h(seq) and `*sig` says whether the anchor's signature checks
 * under `pk`: SFJ__ANCHOR_SIGNED, SFJ__ANCHOR_UNSIGNED (written before
 * signed anchors) or SFJ__ANCHOR_FORGED (a signature that does not check,
 * or a malformed anchor). */
enum { SFJ__ANCHOR_SIGNED, SFJ__ANCHOR_UNSIGNED, SFJ__ANCHOR_FORGED };
int sfj__prune_anchor(sfj_journal *j, MDB_txn *txn, const uint8_t *pk,
                      uint64_t *seq, uint8_t *hash, int *sig);

/* Load the key history of meta `keys` into the handle, or make the
 * one-epoch history of j->epoch and j->pubkey when there is none. */
int sfj__keyhist_load(sfj_journal *j, MDB_txn *txn);

/* Open the journal's dictionary from meta `dict` into j->dict (store/
 * dict.c): nothing when there is none or the handle has no key;
 * SFJ_ECORRUPT when it does not open as seq 1's DICTIONARY record. */
int sfj__dict_load(sfj_journal *j, MDB_txn *txn);

/* The dictionary a sealed DICTIONARY record (seq 1) carries, opened with
 * `keys`: for journals and evidence bundles alike. */
int sfj__dict_from_record(const sfj_keys *keys, const uint8_t *journal_id,
                          const uint8_t *rec, size_t len,
                          struct sfj__dict **out);

/* A copy (malloc'd) of the DICTIONARY record as sealed in meta `dict`,
 * which outlives any prune of seq 1: what an evidence bundle carries.
 * SFJ_ENOTFOUND when the journal has no dictionary. */
int sfj__dict_record(sfj_journal *j, uint8_t **out, size_t *len);

/* Write the journal's dictionary as the DICTIONARY record at seq 1 and
 * meta `dict` (write/append.c); the journal must hold no entry. */
int sfj__dict_create(sfj_journal *j, const void *bytes, size_t len);

/* Seal meta `dict` again under the epoch now in force (a key rotation's
 * commit), so that the newest key alone opens the journal's dictionary.
 * Nothing when the journal has none. */
int sfj__dict_reseal(sfj__wctx *w);

/* Add `epoch` with public key `pk` to the history `base` (`base_n`
 * entries) and write the result to meta `keys`, with meta `epoch` and
 * `pubkey`, inside the write transaction `txn`; `*hist` (malloc'd) gets
 * the result. The handle's copy changes only through
 * sfj__keyhist_commit. */
int sfj__keyhist_put(sfj_journal *j, MDB_txn *txn, const uint8_t *base,
                     size_t base_n, uint32_t epoch, const uint8_t *pk,
                     uint8_t **hist, size_t *n);

/* After the commit: make `hist` (from sfj__keyhist_put) the handle's
 * history, epoch and public key. */
void sfj__keyhist_commit(sfj_journal *j, uint8_t *hist, size_t n);

/* Read the chain head and last seq from the entries (open, and when
 * another process may have written). */
int sfj__load_head(sfj_journal *j, MDB_txn *txn, uint64_t *last_seq,
                   uint8_t *head);

/* Decode a stored value into an entry (decrypting with the right epoch
 * key). */
int sfj__entry_from_record(sfj_journal *j, uint64_t seq, const uint8_t *rec,
                           size_t len, sfj_entry **out);

static inline MDB_val sfj__seq_key(uint8_t *buf, uint64_t seq)
{
    MDB_val k;

    buf[0] = (uint8_t)(seq >> 56);
    buf[1] = (uint8_t)(seq >> 48);
    buf[2] = (uint8_t)(seq >> 40);
    buf[3] = (uint8_t)(seq >> 32);
    buf[4] = (uint8_t)(seq >> 24);
    buf[5] = (uint8_t)(seq >> 16);
    buf[6] = (uint8_t)(seq >> 8);
    buf[7] = (uint8_t)seq;
    k.mv_data = buf;
    k.mv_size = 8;
    return k;
}

/* Does `dbi` (keyed by u64be seq: acked, attention) hold `seq`? `*found`
 * says; an LMDB failure is returned, with `what` as its detail. */
int sfj__seq_held(sfj_journal *j, MDB_txn *txn, MDB_dbi dbi, uint64_t seq,
                  const char *what, int *found);

/* The key of entry `seq` in `buf` (SFJ__ENTRY_KEY_MAX bytes). */
static inline MDB_val sfj__entry_key(const sfj_journal *j, uint8_t *buf,
                                     uint64_t seq)
{
    MDB_val k;

    if (!j->entries_in_main)
        return sfj__seq_key(buf, seq);
    buf[0] = SFJ__ENTRY_TAG;
    k = sfj__seq_key(buf + 1, seq);
    k.mv_data = buf;
    k.mv_size = SFJ__ENTRY_KEY_MAX;
    return k;
}

/* 1 and the seq if `k` is an entry's key; 0 for anything else (a named
 * database's record in the main database, a damaged key). */
static inline int sfj__entry_seq(const sfj_journal *j, const MDB_val *k,
                                 uint64_t *seq)
{
    const uint8_t *p = (const uint8_t *)k->mv_data;
    size_t tag = j->entries_in_main ? 1 : 0;

    if (k->mv_size != 8 + tag || (tag && p[0] != SFJ__ENTRY_TAG))
        return 0;
    *seq = sfj__get_u64(p + tag);
    return 1;
}

/* mdb_cursor_get on a cursor over the entries, with MDB_FIRST, MDB_LAST,
 * MDB_NEXT, MDB_PREV, MDB_SET_RANGE or MDB_SET_KEY: MDB_NOTFOUND where
 * the entries end, even where a format 2 journal's main database goes on
 * with the named databases' records. Every other key is returned, a
 * damaged one too: sfj__entry_seq tells. */
int sfj__entries_get(const sfj_journal *j, MDB_cursor *cur, MDB_val *k,
                     MDB_val *v, MDB_cursor_op op);

/* The first (or with `last`, the last) entry's seq, 0 when there is
 * none. */
int sfj__entries_edge(sfj_journal *j, MDB_txn *txn, int last, uint64_t *seq);

/* Entries in the snapshot of `txn`, and the pages their tree holds. */
int sfj__entries_stat(const sfj_journal *j, MDB_txn *txn, MDB_stat *st);

#endif
