/* sfj-host: the reference upstream. Shared types of its files.
 *
 * One process serves many terminals from one epoll loop. Each provisioned
 * terminal has at most one mirror journal open (opened on its first
 * HELLO, kept until exit) and at most one session owning it: a new
 * session for the same journal_id takes it over from the old one once it
 * has authenticated (version 2: its first sealed frame opened). */
#ifndef SFJ_HOST_H
#define SFJ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "cli_exit.h"
#include "sfj/sys/chain.h"
#include "sfj/sys/link_session.h"
#include "sfj/journal.h"
#include "sfj/sys/transport.h"
#include "sfj/sys/wire.h"

/* Exit codes: cli_exit.h (docs/CLI.md). */
#define HOST_EXIT_OK    SFJ__EX_OK
#define HOST_EXIT_USAGE SFJ__EX_USAGE
#define HOST_EXIT_NOINPUT                                                      \
    SFJ__EX_NOTFOUND /* provisioning file missing                              \
                        or invalid */
#define HOST_EXIT_UNAVAIL                                                      \
    SFJ__EX_UNAVAILABLE                       /* cannot listen or open the     \
                                                 serial device */
#define HOST_EXIT_CANTCREAT SFJ__EX_CANTWRITE /* mirror directory */
#define HOST_EXIT_IOERR     SFJ__EX_IO        /* a mirror failed for good */
#define HOST_EXIT_NOPERM                                                       \
    SFJ__EX_KEYFILE /* provisioning file readable by                           \
                       others */
#define HOST_EXIT_DBDOWN                                                       \
    SFJ__EX_UNAVAILABLE /* the database is unreachable at start */
#define HOST_EXIT_SCHEMA                                                       \
    SFJ__EX_VERSION /* the database's schema is newer than ours */
#define HOST_EXIT_SHARDMAP                                                     \
    SFJ__EX_SHARDMAP /* --shards: unreadable, malformed, holes, overlaps;      \
                        a cluster holds other ranges than its map's */

/* What the metrics endpoint shows of one terminal (metrics.c). */
typedef struct host_term_stats {
    uint64_t announced; /* newest seq the terminal said (or showed) it holds */
    uint64_t stored;    /* the store's head as this gateway last saw it */
    int seen;           /* `stored` is known (a session started) */
    long long ack_ms;   /* wall clock of the last ACK sent; 0: none yet */
} host_term_stats;

typedef struct host_terminal {
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    char terminal_id[SFJ_TERMINAL_ID_MAX + 1];
    uint8_t *link_key; /* in sodium_malloc'd memory, read-only */
    uint8_t pubkey[32];
    sfj_journal *mirror;
    struct host_session *owner;
    struct host_terminal *next; /* terminals loaded from the database, or
                                   added by a reload */
    int from_file;              /* in cfg->dyn: added by a reload of the file */
    int retired;  /* removed or changed by a reload: never found again */
    int stale;    /* from the table, before a reload: look it up again */
    int in_block; /* link_key lies in cfg->key_block (not its own) */
    host_term_stats m;
} host_terminal;

typedef struct host_store host_store;

/* Journals the provisioning table did not hold (or held malformed),
 * remembered for HOST_NEG_TTL_MS so that a terminal repeating its HELLO,
 * or many at once, costs one database lookup per journal per TTL and
 * not one per HELLO; a terminal imported meanwhile is served after at
 * most the TTL. Direct-mapped by the journal id's first bytes: bounded,
 * a newer miss replaces an older one in its slot. */
#define HOST_NEG_SLOTS  1024
#define HOST_NEG_TTL_MS 3000
typedef struct host_neg {
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    long long until; /* monotonic ms; 0: empty */
} host_neg;

typedef struct host_config {
    const char *dir;
    uint64_t max_bytes;
    unsigned window;
    int verbose;
    int allow_v1; /* --allow-v1: serve protocol version 1 (fleet migration) */
    const char *store_url; /* --store: NULL or "lmdb" for the mirrors */
    const char *shards;    /* --shards: the shard map file, or NULL */
    int shards_record;     /* sfj-host shards record: the map's ranges
                              replace those each database holds */
    host_store *store;
    uint8_t *host_key; /* --host-key: sodium_malloc'd, or NULL */
    host_terminal *terms;
    size_t nterms;
    uint8_t *key_block; /* the link keys of terms[] (sodium_malloc'd) */
    host_terminal *dyn; /* found in the provisioning table since start */
    host_neg neg[HOST_NEG_SLOTS]; /* recent misses of the table */
} host_config;

/* Session states. */
#define SESS_AWAIT_HELLO 0
#define SESS_ONLINE      1
#define SESS_CLOSED      2 /* to be freed by the loop (stream links) */

#define SESS_BATCH_MAX 256

typedef struct host_session {
    host_config *cfg;
    sfj_transport *t;
    size_t slot; /* index in the loop's session set */
    sfj__wire w;
    int serial; /* a serial line is never closed, only reset */
    int state;
    int v1;          /* this session speaks protocol version 1 */
    sfj__lsess live; /* version 2: the authenticated session */
    sfj__lsess pend; /* version 2: message 2 sent, not yet confirmed */
    host_terminal *pend_term;
    uint64_t pend_last;  /* the pending HELLO's last_seq (for the metrics) */
    uint64_t pend_acked; /* the pending HELLO's acknowledged watermark */
    uint8_t *plain;      /* an opened sealed frame (while HELD, see below) */
    size_t plain_hi;     /* bytes of plain ever written, wiped on release */
    long long opened_ms;
    long long input_ms; /* last input */
    int lean;           /* buffers released: an idle link */
    char peer[96];
    host_terminal *term;
    uint64_t next;  /* store head + 1 */
    uint64_t claim; /* the store's session number for this terminal */
    int gap_naked;  /* an OUT_OF_ORDER NAK went out for this gap */
    int bad_streak;
    int need_ack;
    /* Entries received in order, waiting for one durable commit; one
     * allocation (batch_mem) made with the first entry and released
     * with the other buffers when the link is idle. */
    void *batch_mem;
    uint8_t *batch;
    size_t batch_used;
    size_t nrec;
    size_t *offs;         /* [SESS_BATCH_MAX] */
    const uint8_t **recp; /* [SESS_BATCH_MAX] */
    size_t *lens;         /* [SESS_BATCH_MAX] */
} host_session;

/* Log one line to stderr: "sfj-host: <text>". Never keys or plaintext. */
void host_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* From now on every log line starts with its RFC 3339 time. */
void host_log_serving(void);

/* Provisioning (provision.c). Returns an exit code; logs the reason. */
int host_provision_load(host_config *cfg, const char *path);
/* The host key file (32 bytes, mode 0600) into cfg->host_key; created
 * when `create` and missing. Returns an exit code; logs the reason. */
int host_key_load(host_config *cfg, const char *path, int create);
/* sfj-host provision import: the terminals of a provisioning file into
 * the database's table, link keys sealed under the host key. */
int host_provision_import(host_config *cfg, const char *file);
void host_provision_free(host_config *cfg);

/* ---- Stores (store_lmdb.c, store_pg.c; chosen in main.c) ----
 *
 * Where a gateway keeps what terminals sent. Every store keeps, per
 * journal, the newest seq and its chain hash, stores a record only if it
 * extends that chain (sfj__record_extends), keeps each (journal, seq)
 * once, and returns from put only when its own durable commit holds the
 * records: the session acknowledges nothing before. Results beyond the
 * checks' own codes (SFJ_EPROTO, SFJ_ESTATE, SFJ_EAUTH):
 *   SFJ_ELINK    the database is unavailable (or a commit's outcome is
 *                unknown): nothing may be acknowledged; the terminal
 *                reconnects later and resends;
 *   SFJ_ECLOSED  a newer session of this terminal (on any gateway)
 *                holds the journal;
 *   SFJ_EFULL, SFJ_EIO, SFJ_EDEAD   as for a mirror journal. */
/* One terminal's batch in a group put: records first..first+n-1 on
 * behalf of session `claim` (n may be 0: only the head is wanted). The
 * store fills the results: `stored` counts those stored before the
 * first refusal, `last` and `chain` the head after the commit, `rc` as
 * below. */
typedef struct host_put {
    host_terminal *t;
    uint64_t claim;
    uint64_t first;
    const uint8_t *const *recs;
    const size_t *lens;
    size_t n;
    size_t stored;
    uint64_t last;
    uint8_t chain[SFJ_HASH_BYTES];
    int rc;
} host_put;

typedef struct host_store_ops {
    /* The head of `t`'s copy: newest seq (0 when empty), its chain hash
     * (genesis when empty) and the newest checkpoint's seq. */
    int (*head)(host_store *st, host_terminal *t, uint64_t *last,
                uint8_t *chain, uint64_t *ckpt);
    /* A newly authenticated session takes `t` over; `*claim` names it. */
    int (*claim)(host_store *st, host_terminal *t, uint64_t *claim);
    /* Store the batches of `n` terminals (distinct) durably: the
     * PostgreSQL store in one transaction (group commit across
     * sessions), the LMDB store in one commit per mirror. A refusal is
     * per batch; a database failure fails every batch (SFJ_ELINK). */
    void (*put)(host_store *st, host_put *items, size_t n);
    /* The terminal `jid` from the provisioning table, its link key
     * opened with cfg->host_key (NULL when the store has no table or
     * no --host-key was given). SFJ_ENOTFOUND when absent; SFJ_ECORRUPT
     * for a malformed row (logged). The caller owns `*out`. */
    int (*lookup)(host_store *st, const uint8_t *jid, host_terminal **out);
    /* Put `n` terminals into the provisioning table, link keys sealed
     * under cfg->host_key (NULL when the store has no table). */
    int (*import)(host_store *st, const host_terminal *terms, size_t n);
    /* Why the last call on `t` failed (static or store-owned text). */
    const char *(*errmsg)(host_store *st, host_terminal *t);
    void (*free)(host_store *st);
} host_store_ops;

struct host_store {
    const host_store_ops *ops;
    host_config *cfg;
};

/* Open the store named by cfg->shards or cfg->store_url into
 * cfg->store. Returns an exit code; logs. */
int host_store_open(host_config *cfg);
int host_store_lmdb_open(host_config *cfg, host_store **out);
int host_store_pg_open(host_config *cfg, host_store **out);
/* The PostgreSQL store of connection string `url` (one connection). */
int host_store_pg_open_url(host_config *cfg, const char *url, host_store **out);
/* The shard hash ranges (inclusive, sorted, adjacent ones joined) that the
 * database of PostgreSQL store `st` holds, against `want`: recorded when
 * it holds none yet (or with `replace`; `*recorded` then 1), else
 * compared. Returns HOST_EXIT_OK, HOST_EXIT_SHARDMAP when they differ,
 * or HOST_EXIT_DBDOWN (logged); `held` gets the database's ranges as
 * "LO-HI, LO-HI" (before any change). */
int host_store_pg_ranges(host_store *st, const unsigned (*want)[2], size_t n,
                         int replace, char *held, size_t cap, int *recorded);

/* ---- Shard hashes (shard_hash.c) ---- */
/* The shard hash of a journal id: the first two bytes, big-endian, of
 * BLAKE2b-256 of the id (0..65535). */
unsigned host_shard_hash(const uint8_t *jid);
/* "LO-HI, LO-HI" of `n` ranges into `out`, cut short when it is full. */
void host_ranges_text(const unsigned (*r)[2], size_t n, char *out, size_t cap);

/* ---- The shard map (shards.c) ---- */
typedef struct host_shards host_shards;
/* Load and check a shard map (docs/FLEET.md). Returns an exit code
 * (HOST_EXIT_SHARDMAP with one line naming the file and line). */
int host_shards_load(const char *path, host_shards **out);
/* The connection string of the shard holding `jid` (borrowed from `m`). */
const char *host_shards_url(const host_shards *m, const uint8_t *jid);
void host_shards_free(host_shards *m);
/* The store routing each journal to its shard's PostgreSQL store. */
int host_store_shards_open(host_config *cfg, host_store **out);

/* sfj-host export: a journal's copy from the database written as a
 * standard mirror directory. Returns an exit code. */
int host_export(const char *url, const char *journal_hex, const char *to);

/* Provisioning reload (SIGHUP; provision.c): read `path` again; on
 * success terminals added can connect, removed or changed ones lose
 * their session and are refused at their next HELLO, unchanged ones keep
 * theirs; on failure one log line says why and nothing changes. With a
 * provisioning table, the terminals taken from it are looked up again at
 * their next HELLO. Returns 0 or -1. */
int host_provision_reload(host_config *cfg, const char *path);

/* Do two terminals have the same provisioning (terminal id, keys)? */
int host_terminal_same(const host_terminal *a, const host_terminal *b);
/* Serve `t` no more: its session ends (`why` logged), its mirror is
 * closed and its link key wiped; pending handshakes for it are refused
 * when they complete. It stays allocated (sessions may point at it). */
void host_terminal_retire(host_terminal *t, const char *why);

/* ---- Metrics endpoint (metrics.c) ----
 * Served from the epoll loop `ep` on the listening socket `lfd`. */
void host_metrics_start(host_config *cfg, int lfd, int ep);
void host_metrics_stop(void);
/* An epoll event whose data.ptr is `tag`: 1 when it was the endpoint's. */
int host_metrics_event(void *tag, uint32_t events);
/* Timeouts of scrapes. */
void host_metrics_tick(long long now);
/* Hooks: stream links open; an authenticated session of `t` started,
 * the terminal announcing `announced`, the store's head `head`; a refusal
 * (a HELLO status, or HOST_REFUSED_RECORD); a reload's result; a seq the
 * terminal showed it holds; an ACK sent. */
#define HOST_REFUSED_RECORD 7
void host_metrics_links(size_t n);
void host_metrics_session(host_terminal *t, uint64_t announced, uint64_t head);
void host_metrics_refusal(unsigned reason);
void host_metrics_reload(int ok);
void host_metrics_announced(host_terminal *t, uint64_t last_seq);
void host_metrics_acked(host_terminal *t);
/* The store's put, timed for the commit latency and counted for store
 * errors: every put of the sessions goes through it. */
void host_store_put(host_store *st, host_put *items, size_t n);

/* Sessions (session.c). */
/* Commit what every session in `sess` received since its last commit, in
 * one group put, then ACK or NAK each. Returns 0, or HOST_EXIT_IOERR when
 * a mirror died. */
int host_sessions_commit(host_config *cfg, host_session **sess, size_t n);
int host_session_new(host_session **out, host_config *cfg, sfj_transport *t,
                     int serial, const char *peer);
/* Handle readable input. Entries received in order wait for the next
 * host_sessions_commit. Returns 0, or HOST_EXIT_IOERR when a mirror
 * died. */
int host_session_input(host_session *s);
/* Timers: HELLO timeout; a link idle for a second gives back its
 * buffers (frame, receive and batch buffers), taken again with its
 * next input, so that an idle link costs little. */
void host_session_tick(host_session *s, long long now);
void host_session_close(host_session *s, const char *why);
void host_session_free(host_session *s);

#endif
