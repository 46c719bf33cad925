/* sfj-bench: shared types of the benchmark families.
 *
 * Each family lives in its own file and fills one part of bench_results.
 * A figure that could not be measured in this run keeps its value at -1
 * and gets a reason in the matching `*_why` string; nothing is ever
 * estimated or carried over from another run. */
#ifndef SFJ_BENCH_H
#define SFJ_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "cli_exit.h"
#include "sfj/sfj.h"

/* Exit codes: cli_exit.h (docs/CLI.md). */
#define BENCH_EXIT_OK   SFJ__EX_OK
#define BENCH_EXIT_FAIL SFJ__EX_ATTENTION /* a benchmark failed to run */
#define BENCH_EXIT_DIR                                                         \
    SFJ__EX_CANTWRITE                  /* the bench directory cannot be        \
                                          made */
#define BENCH_EXIT_USAGE SFJ__EX_USAGE /* bad command line */

/* Benchmark families (--only). */
#define BENCH_F_APPEND    0x01u
#define BENCH_F_RECOVER   0x02u
#define BENCH_F_VERIFY    0x04u
#define BENCH_F_FOOTPRINT 0x08u
#define BENCH_F_REPLAY    0x10u
#define BENCH_F_IO        0x20u
#define BENCH_F_ALL       0x3fu

#define BENCH_PAYLOAD_BYTES 256
#define BENCH_MAX_THREADS   64

typedef struct bench_opts {
    const char *dir;         /* parent of every benchmark file */
    int quick;               /* small counts, for CI */
    int json;                /* print one JSON object, not the table */
    int keep;                /* keep the files afterwards */
    double seconds;          /* length of each append run */
    uint64_t big_entries;    /* the large journal (recovery, RSS, verify) */
    uint64_t small_entries;  /* the small recovery journal */
    uint64_t replay_entries; /* the replay backlog */
    uint64_t unacked;        /* unacked entries in the recovery journals */
    uint64_t in_doubt;       /* in-doubt txns in the recovery journals */
    const char *self;        /* argv[0], to run the RSS probe */
    unsigned only;           /* BENCH_F_* families to run */
    uint64_t io_ops;         /* commits per system in the io family */
    uint64_t ops;            /* > 0: each append run does exactly this many
                                operations per thread, with no deadline */
    uint16_t sfj_kind;       /* event kind sfj appends (0: TXN_INTENT;
                                BENCH_KIND_SALE: a sale's three events) */
    uint64_t prefill;        /* > 0: sfj's journal and raw LMDB's database
                                start with this many entries (the io
                                family's grown rows) */
    int lmdb_main;           /* raw LMDB puts into its main database, not
                                a named one (as a format 2 journal keeps
                                its entries) */
    unsigned flush_us;       /* > 0: --flush-delay, every sync lengthened
                                by this much (flushdelay.c) */
} bench_opts;

/* A rate and its latency distribution. */
typedef struct bench_rate {
    int threads;
    uint64_t ops;
    double secs;
    double rate; /* ops per second; -1 when not measured */
    double p50_ms, p99_ms, p999_ms;
    /* Per operation over the run; -1 when not measured (io.c). */
    double cpu_us;    /* user+sys CPU of the process */
    double dev_bytes; /* bytes the block device took (all processes) */
    double pages;     /* 4 KiB file pages written (write counter only) */
    double calls;     /* write calls to regular files (same) */
    double wbytes;    /* bytes in those calls (same) */
    double switches;  /* context switches of the process's threads */
} bench_rate;

/* Counters at one instant (io.c); -1 where not available. */
typedef struct bench_io {
    double cpu_us, dev_bytes, pages, calls, wbytes, switches;
} bench_io;

#define BENCH_NTHREADS 4

/* Systems of the io family, in table order. */
enum {
    BENCH_IO_SFJ_INTENT,
    BENCH_IO_SFJ_NOTE,
    BENCH_IO_LMDB,
    BENCH_IO_SQLITE,
    BENCH_IO_FDATASYNC,
    BENCH_IO_SFJ_GROWN,  /* sfj TXN_INTENT, journal grown beforehand */
    BENCH_IO_LMDB_GROWN, /* raw LMDB, database grown as much */
    BENCH_IO_SALE_GROWN, /* sfj, a sale's three events, journal grown */
    BENCH_IO_LMDB_MAIN,  /* raw LMDB, its main database */
    BENCH_NIO
};
/* bench_opts.sfj_kind: each op appends the next event of a sale (intent,
 * approved outcome, printed receipt; one txn id for the three). */
#define BENCH_KIND_SALE 0xFFFFu
/* The grown rows start from BENCH_IO_GROWN entries per commit measured
 * (100,000 for the default 2,000 commits). */
#define BENCH_IO_GROWN     50
#define BENCH_GROWN_APPEND 100000
extern const int bench_thread_counts[BENCH_NTHREADS]; /* 1, 2, 8, 32 */

typedef struct bench_results {
    bench_rate sfj[BENCH_NTHREADS];
    bench_rate sqlite[BENCH_NTHREADS];
    bench_rate lmdb_1t;
    bench_rate fdatasync_1t;
    /* The 1-thread pair again on a journal and a database grown first to
     * BENCH_GROWN_APPEND entries (a tenth of that with --quick). */
    bench_rate sfj_1t_grown, lmdb_1t_grown;

    double replay_eps, replay_drain_ms;
    uint64_t replay_n;
    unsigned replay_window;
    double replay_eps_w64, replay_drain_ms_w64;
    char replay_why[160];

    double recover_ms_small, recover_ms_big;
    char recover_why[160];

    double verify_plain_eps, verify_decrypt_eps;
    uint64_t verify_n;

    double bytes_per_entry;
    double record_bytes; /* mean sealed record (value) size */
    uint64_t bytes_n;

    double anon_rss_bytes;
    int rss_with_forwarder;
    char rss_why[160];

    double wire_tcp, wire_serial;
    uint64_t wire_serial_n;
    /* The same TCP replay with wire protocol version 1 (the host's
     * --allow-v1), and connect-to-first-ACK for both versions. */
    double replay_v1_eps, wire_tcp_v1;
    double first_ack_ms, first_ack_ms_v1;
    /* CPU (user + system) per replayed entry, microseconds: the terminal
     * (sfj-bench's own process, where the forwarder runs) and sfj-host,
     * for version 2 and version 1. */
    double replay_cpu_terminal_us, replay_cpu_host_us;
    double replay_v1_cpu_terminal_us, replay_v1_cpu_host_us;
    char wire_why[160];

    double build_secs; /* time taken to build the large journal */

    /* The io family: exactly io_n single-thread commits per system, in a
     * child process with the write counter preloaded. */
    bench_rate io[BENCH_NIO];
    uint64_t io_n;
    char io_why[160];  /* why pages and calls are not measured */
    char dev_why[160]; /* why device bytes are not measured */

    /* --flush-delay: the syncs lengthened over the run, and their mean
     * wait (which overshoots what was asked). */
    uint64_t flush_n;
    double flush_wait_us;
} bench_results;

/* ---- timing and latency (stats.c) ---- */
double bench_now(void);      /* monotonic seconds */
int64_t bench_wall_ms(void); /* wall time in ms since the Unix epoch */
int bench_cmp_double(const void *a, const void *b);
/* Sort `ns` (n latencies in seconds) and fill the percentiles. */
void bench_percentiles(double *lat, size_t n, bench_rate *out);

/* ---- the multi-thread driver (runner.c) ----
 * op(ctx, tid, i) performs operation i of thread tid and returns 0, or
 * non-zero to stop the run with a failure. Every thread starts at one
 * barrier and stops at the deadline or after max_ops operations. */
typedef int (*bench_op_fn)(void *ctx, int tid, uint64_t i);
int bench_run(int threads, double seconds, uint64_t max_ops_per_thread,
              bench_op_fn op, void *ctx, bench_rate *out);
/* An append run's deadline: o->seconds, or none when o->ops is set. */
double bench_seconds(const bench_opts *o);

/* ---- CPU, device and write counters (io.c) ---- */
void bench_io_init(const char *dir); /* find the device under dir */
const char *bench_io_device(void);   /* its stat file, or NULL */
void bench_io_snap(bench_io *s);
/* (b - a) / ops into out's cpu_us, dev_bytes, pages, calls, wbytes,
 * switches. */
void bench_io_delta(const bench_io *a, const bench_io *b, uint64_t ops,
                    bench_rate *out);
/* The io family: run the child (--io-probe) and fill r->io. */
int bench_io_run(const bench_opts *o, bench_results *r);
int bench_io_probe(const char *dir, uint64_t n); /* the child side */

/* ---- payload and events (payload.c) ---- */
/* The i-th ISO 8583 0200 (financial request) message, ASCII with a hex
 * bitmap, masked PAN and EMV data: exactly BENCH_PAYLOAD_BYTES bytes. */
void bench_payload(uint8_t *out, uint64_t i);
/* The i-th event of stream `stream`: kind, txn id, amount, payload.
 * `txn` needs 32 bytes, `payload` BENCH_PAYLOAD_BYTES. */
void bench_event(sfj_event *ev, uint16_t kind, uint64_t stream, uint64_t i,
                 char *txn, uint8_t *payload);

/* ---- helpers (util.c) ---- */
char *bench_path(const char *dir, const char *name); /* malloc'd */
int bench_mkdir(const char *path);
void bench_rmrf(const char *path);
uint64_t bench_du(const char *path); /* allocated bytes of a tree */
/* One key file per run, in the bench directory: the RSS probe, a child
 * process, loads it too. */
int bench_keys_init(const char *dir);
sfj_keys *bench_keys(void);
const char *bench_keyfile(void);
int bench_keys_load(const char *dir); /* a child: the run's key file */
void bench_fail(const char *what, const char *detail);
void bench_note(const bench_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 thread, two systems taking turns (op[0] first): `slices` slices
 * each, of seconds / slices (or max_ops / slices operations), so that a
 * drift of the disk's sync time over the run falls on both alike. Each
 * rate is over its system's summed slices, its percentiles over all its
 * operations; the CPU and write counters are not measured (-1). */
int bench_run_alternating(double seconds, uint64_t max_ops, int slices,
                          bench_op_fn const op[2], void *const ctx[2],
                          bench_rate out[2]);

/* ---- families ---- */
/* sfj's append (append_sfj.c) and raw LMDB's put (append_lmdb.c), each
 * opened (and warmed up) once, run, closed. */
typedef struct bench_sfj bench_sfj;
int bench_sfj_open(const bench_opts *o, int threads, bench_sfj **out);
int bench_sfj_op(void *ctx, int tid, uint64_t i);
void bench_sfj_close(const bench_opts *o, bench_sfj *c);
typedef struct bench_lmdb bench_lmdb;
int bench_lmdb_open(const bench_opts *o, bench_lmdb **out);
int bench_lmdb_op(void *ctx, int tid, uint64_t i);
void bench_lmdb_close(const bench_opts *o, bench_lmdb *c);

int bench_append_sfj(const bench_opts *o, int threads, bench_rate *out);
int bench_append_lmdb(const bench_opts *o, bench_rate *out);
/* The 1-thread pair: sfj and raw LMDB in alternating slices (append_pair.c). */
#define BENCH_PAIR_SLICES 8
int bench_append_pair(const bench_opts *o, bench_rate *sfj, bench_rate *lmdb);
int bench_append_sqlite(const bench_opts *o, int threads, bench_rate *out);
int bench_append_fdatasync(const bench_opts *o, bench_rate *out);

/* Large journals (bulk.c): `n` entries as transactions of intent,
 * outcome and receipt, the last `in_doubt` txns left as bare intents,
 * everything but the last `unacked` entries acknowledged. */
int bench_build_journal(const bench_opts *o, const char *dir, uint64_t n,
                        uint64_t unacked, uint64_t in_doubt,
                        uint64_t per_batch);
/* Events per batch append (`per_batch`; two builder threads may share a
 * commit). BENCH_BULK_CHUNK for the large journals: a commit persists the
 * txn index's rows of all its entries at once, and 300 keeps that within
 * one checkpoint interval (1,000 entries). Bigger commits copy more index
 * pages at once and leave their copies as free pages: with 3,000 a
 * 100,000-entry journal took 25 bytes per entry more than one written by
 * sfj_append (docs/PERFORMANCE.md, "Bytes on disk"). BENCH_GROW_CHUNK for
 * the io family's grown journal, which must leave LMDB's free list as a
 * terminal's appends leave it: with 300 a persist can pass the overlay's
 * page bound and the free list end at its overflow threshold (250 to 270
 * free pages), which its measured commits then pay or not, run by run. */
#define BENCH_BULK_CHUNK 300
#define BENCH_GROW_CHUNK 24
int bench_journal_opts(sfj_journal_opts *opts); /* what every bench uses */

/* The journal dictionary bench_journal_opts gives (--dictionary): none,
 * a test sale's events with the terminal's message template, or the
 * events of its test sale at installation (default). */
enum { BENCH_DICT_NONE, BENCH_DICT_TEMPLATE, BENCH_DICT_SALE };
extern int bench_dictionary;
const char *bench_dictionary_name(void);
int bench_dictionary_parse(const char *s); /* -1: unknown name */
/* A helper program or module `name` beside this program (build tree),
 * else where it is installed; 0 when found. */
int bench_helper_path(const char *name, char *out, size_t cap);
/* A decimal count in [lo, hi], digits only: 0, or -1. */
int bench_parse_uint(const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out);

int bench_verify(const bench_opts *o, const char *dir, bench_results *r);
int bench_footprint(const bench_opts *o, const char *dir, bench_results *r);
int bench_recover(const bench_opts *o, const char *small, const char *big,
                  bench_results *r);
/* Replay over TCP, then wire bytes over TCP and over a serial line. */
int bench_replay(const bench_opts *o, bench_results *r);

/* sfj-bench fleet (fleet.c): argv from the word "fleet" on; `parent`
 * is where the run's directory goes. Returns the exit status. */
int bench_fleet_main(int argc, char **argv, const char *parent, int keep);

/* ---- output (report.c) ---- */
void bench_print_table(const bench_opts *o, const bench_results *r);
void bench_print_json(const bench_opts *o, const bench_results *r);

#endif
