/* sfj-bench: durable append, recovery, verification and footprint of an
 * sfj journal, side by side with raw LMDB, SQLite and fdatasync, all
 * measured in one run on the same disk. See docs/sfj-bench.1. */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

const int bench_thread_counts[BENCH_NTHREADS] = {1, 2, 8, 32};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sfj-bench [--quick] [-o text|json] [--dir DIR] [--seconds "
            "S]\n"
            "                 [--entries N] [--only LIST] [--dictionary D] "
            "[--keep]\n"
            "                 [--flush-delay US]\n"
            "       sfj-bench fleet [--terminals N] [--store lmdb|URL]... "
            "[--idle N] ...\n"
            "                 (the upstream at fleet scale: sfj-bench fleet "
            "--help)\n"
            "\n"
            "Measure durable appends (1, 2, 8, 32 threads) against raw LMDB,\n"
            "SQLite WAL synchronous=FULL and write+fdatasync, then recovery,\n"
            "verification, bytes on disk and memory on large journals.\n"
            "\n"
            "  --dir DIR      put every benchmark file under DIR (default: a\n"
            "                 fresh directory under $TMPDIR or /tmp)\n"
            "  --quick        small counts, a few seconds (CI smoke test)\n"
            "  -o, --output FMT  text (the table, default) or json (one JSON\n"
            "                 object)\n"
            "  --seconds S    length of each append run (default 3)\n"
            "  --entries N    size of the large journal (default 1000000)\n"
            "  --only LIST    run only these families, comma-separated:\n"
            "                 append, io, recover, verify, footprint, replay\n"
            "  --dictionary D the journal dictionary the bench's terminal\n"
            "                 gives at creation: test-sale (the events of\n"
            "                 its test sale at installation, default),\n"
            "                 template (the same with its message template\n"
            "                 as payload) or none\n"
            "  --keep         keep the benchmark files\n"
            "  --flush-delay US  a model of a slower disk: every sync of\n"
            "                 every system takes US microseconds more\n"
            "                 (1 to 100000; the append family unless\n"
            "                 --only says append,io; not this disk's\n"
            "                 figures)\n"
            "  -h, --help     this text\n"
            "  --version      print the version\n"
            "\n"
            "Exit status: 0 done, 1 a benchmark failed, 64 bad usage,\n"
            "73 the directory cannot be used (docs/CLI.md).\n");
}

static int parse_double(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno == 0 && end != s && *end == '\0' && *out > 0 && *out <= 3600
               ? 0
               : -1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    unsigned long v;

    if (bench_parse_uint(s, 1000, 100000000ul, &v) != 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_only(const char *s, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } fam[] = {{"append", BENCH_F_APPEND}, {"recover", BENCH_F_RECOVER},
               {"verify", BENCH_F_VERIFY}, {"footprint", BENCH_F_FOOTPRINT},
               {"replay", BENCH_F_REPLAY}, {"io", BENCH_F_IO}};
    size_t i, n;

    *out = 0;
    while (*s != '\0') {
        n = strcspn(s, ",");
        for (i = 0; i < sizeof fam / sizeof fam[0]; i++) {
            if (strlen(fam[i].name) == n && strncmp(s, fam[i].name, n) == 0)
                break;
        }
        if (i == sizeof fam / sizeof fam[0])
            return -1;
        *out |= fam[i].bit;
        s += n;
        if (*s == ',')
            s++;
    }
    return *out != 0 ? 0 : -1;
}

/* --flush-delay: microseconds in [1, 100000]. */
static int parse_flush(const char *s, unsigned *out)
{
    unsigned long v;

    if (bench_parse_uint(s, 1, 100000, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

typedef void (*flush_counts_fn)(uint64_t out[2]);

/* --flush-delay runs this program again with the flush model preloaded
 * (flushdelay.c): LMDB's and SQLite's syncs are calls inside their own
 * libraries, which only an interposed libc call can lengthen. Returns
 * only on failure. */
static int flush_reexec(unsigned us, char **argv)
{
    char self[PATH_MAX], lib[PATH_MAX], pre[2 * PATH_MAX], num[16], asan[512];
    const char *old = getenv("LD_PRELOAD"), *ao = getenv("ASAN_OPTIONS");
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    int more = old != NULL && old[0] != '\0';

    if (n <= 0 ||
        bench_helper_path("sfj-bench-flush.so", lib, sizeof lib) != 0) {
        fprintf(stderr, "sfj-bench: --flush-delay: the flush model "
                        "sfj-bench-flush.so is not beside sfj-bench\n");
        return BENCH_EXIT_FAIL;
    }
    self[n] = '\0';
    snprintf(num, sizeof num, "%u", us);
    /* Under AddressSanitizer a preloaded library must not come first. A
     * variable cut short would load the wrong library or none. */
    if (snprintf(pre, sizeof pre, "%s%s%s", lib, more ? ":" : "",
                 more ? old : "") >= (int)sizeof pre ||
        snprintf(asan, sizeof asan, "%s%sverify_asan_link_order=0",
                 ao != NULL ? ao : "",
                 ao != NULL && ao[0] != '\0' ? ":" : "") >= (int)sizeof asan) {
        fprintf(stderr, "sfj-bench: --flush-delay: LD_PRELOAD or "
                        "ASAN_OPTIONS too long to extend\n");
        return BENCH_EXIT_FAIL;
    }
    if (setenv("LD_PRELOAD", pre, 1) == 0 &&
        setenv("SFJ_BENCH_FLUSH_US", num, 1) == 0 &&
        setenv("ASAN_OPTIONS", asan, 1) == 0)
        execv(self, argv);
    fprintf(stderr, "sfj-bench: --flush-delay: cannot run %s again: %s\n", self,
            strerror(errno));
    return BENCH_EXIT_FAIL;
}

/* Whether this process is the one flush_reexec ran for `us`. */
static int flush_env_is(unsigned us)
{
    const char *env = getenv("SFJ_BENCH_FLUSH_US");
    char num[16];

    snprintf(num, sizeof num, "%u", us);
    return env != NULL && strcmp(env, num) == 0;
}

static void skipped(bench_results *r)
{
    int i;

    for (i = 0; i < BENCH_NTHREADS; i++)
        r->sfj[i].rate = r->sqlite[i].rate = -1;
    r->lmdb_1t.rate = r->fdatasync_1t.rate = -1;
    r->sfj_1t_grown.rate = r->lmdb_1t_grown.rate = -1;
    r->replay_eps = r->replay_drain_ms = r->wire_tcp = r->wire_serial = -1;
    r->replay_eps_w64 = r->replay_drain_ms_w64 = -1;
    r->replay_v1_eps = r->wire_tcp_v1 = -1;
    r->replay_cpu_terminal_us = r->replay_cpu_host_us = -1;
    r->replay_v1_cpu_terminal_us = r->replay_v1_cpu_host_us = -1;
    r->first_ack_ms = r->first_ack_ms_v1 = -1;
    r->recover_ms_small = r->recover_ms_big = -1;
    r->verify_plain_eps = r->verify_decrypt_eps = -1;
    r->bytes_per_entry = r->record_bytes = r->anon_rss_bytes = -1;
    r->build_secs = -1;
    for (i = 0; i < BENCH_NIO; i++) {
        r->io[i].rate = r->io[i].cpu_us = r->io[i].dev_bytes = -1;
        r->io[i].pages = r->io[i].calls = r->io[i].wbytes = r->io[i].switches =
            -1;
    }
    snprintf(r->io_why, sizeof r->io_why, "skipped (--only)");
    snprintf(r->dev_why, sizeof r->dev_why, "skipped (--only)");
    snprintf(r->replay_why, sizeof r->replay_why, "skipped (--only)");
    snprintf(r->wire_why, sizeof r->wire_why, "skipped (--only)");
    snprintf(r->recover_why, sizeof r->recover_why, "skipped (--only)");
    snprintf(r->rss_why, sizeof r->rss_why, "skipped (--only)");
}

static int run_all(bench_opts *o, bench_results *r)
{
    char *small = bench_path(o->dir, "journal-small");
    char *big = bench_path(o->dir, "journal-large");
    double t0;
    int i, rc = 0;

    skipped(r);
    for (i = 0; i < BENCH_NTHREADS && rc == 0 && (o->only & BENCH_F_APPEND);
         i++) {
        int t = bench_thread_counts[i];

        if (t == 1) {
            bench_note(o, "append, 1 thread: sfj and raw LMDB taking turns");
            rc = bench_append_pair(o, &r->sfj[i], &r->lmdb_1t);
        } else {
            bench_note(o, "append, %d threads: sfj", t);
            rc = bench_append_sfj(o, t, &r->sfj[i]);
        }
        if (rc == 0) {
            bench_note(o, "append, %d thread%s: SQLite", t, t > 1 ? "s" : "");
            rc = bench_append_sqlite(o, t, &r->sqlite[i]);
        }
        if (rc == 0 && t == 1) {
            bench_note(o, "append, 1 thread: write+fdatasync");
            rc = bench_append_fdatasync(o, &r->fdatasync_1t);
        }
    }
    if (rc == 0 && (o->only & BENCH_F_APPEND)) {
        /* A terminal in service: the 1-thread pair on grown files. Last,
         * so that building and removing them (tens of MiB) does not fall
         * on the other rows' runs. */
        bench_opts g = *o;

        g.prefill = o->quick ? BENCH_GROWN_APPEND / 10 : BENCH_GROWN_APPEND;
        bench_note(o,
                   "append, 1 thread: the same on files grown to %llu entries",
                   (unsigned long long)g.prefill);
        rc = bench_append_pair(&g, &r->sfj_1t_grown, &r->lmdb_1t_grown);
    }
    if (rc == 0 && (o->only & BENCH_F_IO)) {
        bench_note(o, "io: %llu single-thread commits per system",
                   (unsigned long long)o->io_ops);
        rc = bench_io_run(o, r);
    }
    if (rc == 0 && (o->only & BENCH_F_RECOVER)) {
        bench_note(o, "building journals of %llu and %llu entries",
                   (unsigned long long)o->small_entries,
                   (unsigned long long)o->big_entries);
        rc = bench_build_journal(o, small, o->small_entries, o->unacked,
                                 o->in_doubt, BENCH_BULK_CHUNK);
    }
    if (rc == 0 &&
        (o->only & (BENCH_F_RECOVER | BENCH_F_VERIFY | BENCH_F_FOOTPRINT))) {
        t0 = bench_now();
        rc = bench_build_journal(o, big, o->big_entries, o->unacked,
                                 o->in_doubt, BENCH_BULK_CHUNK);
        r->build_secs = bench_now() - t0;
    }
    if (rc == 0 && (o->only & BENCH_F_RECOVER)) {
        bench_note(o, "recovery");
        rc = bench_recover(o, small, big, r);
    }
    if (rc == 0 && (o->only & BENCH_F_VERIFY)) {
        bench_note(o, "verify");
        rc = bench_verify(o, big, r);
    }
    if (rc == 0 && (o->only & BENCH_F_FOOTPRINT)) {
        bench_note(o, "bytes on disk and memory");
        rc = bench_footprint(o, big, r);
    }
    if (rc == 0 && (o->only & BENCH_F_REPLAY)) {
        bench_note(o, "replay");
        rc = bench_replay(o, r);
    }
    free(small);
    free(big);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"quick", no_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'}, /* alias, one release */
        {"seconds", required_argument, NULL, 's'},
        {"entries", required_argument, NULL, 'n'},
        {"keep", no_argument, NULL, 'k'},
        {"only", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"io-probe", required_argument, NULL, 'I'},
        {"io-ops", required_argument, NULL, 'N'},
        {"dictionary", required_argument, NULL, 'D'},
        {"flush-delay", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0}};
    bench_opts o;
    bench_results *r;
    const char *parent = NULL, *tmp;
    char *dir = NULL;
    const char *io_probe = NULL;
    uint64_t io_ops = 0;
    double seconds = 0;
    uint64_t entries = 0;
    uint64_t flushed[2] = {0, 0}, flushed_after[2];
    flush_counts_fn flush_counts = NULL;
    int c, rc, only_set = 0;

    if (argc > 1 && strcmp(argv[1], "fleet") == 0) {
        tmp = getenv("TMPDIR");
        return bench_fleet_main(argc - 1, argv + 1,
                                tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
                                0);
    }
    memset(&o, 0, sizeof o);
    o.self = argv[0];
    o.only = BENCH_F_ALL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            parent = optarg;
            break;
        case 'q':
            o.quick = 1;
            break;
        case 'j':
            o.json = 1;
            break;
        case 'k':
            o.keep = 1;
            break;
        case 's':
            if (parse_double(optarg, &seconds) != 0) {
                fprintf(stderr,
                        "sfj-bench: --seconds: not a number of "
                        "seconds in (0, 3600]: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'n':
            if (parse_u64(optarg, &entries) != 0) {
                fprintf(stderr,
                        "sfj-bench: --entries: not a count in "
                        "[1000, 100000000]: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'o':
            if (sfj__cli_output_arg("sfj-bench", optarg,
                                    1u << SFJ__OUT_TEXT | 1u << SFJ__OUT_JSON,
                                    &rc) != SFJ__EX_OK)
                return BENCH_EXIT_USAGE;
            o.json = rc == SFJ__OUT_JSON;
            break;
        case 'O':
            if (parse_only(optarg, &o.only) != 0) {
                fprintf(stderr, "sfj-bench: --only: unknown family in: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            only_set = 1;
            break;
        case 'F':
            if (parse_flush(optarg, &o.flush_us) != 0) {
                fprintf(stderr,
                        "sfj-bench: --flush-delay: not a number of "
                        "microseconds in [1, 100000]: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'D':
            if (bench_dictionary_parse(optarg) != 0) {
                fprintf(stderr,
                        "sfj-bench: --dictionary: none, template or "
                        "test-sale, not: %s\n",
                        optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return BENCH_EXIT_OK;
        case 'V':
            printf("sfj-bench %s\n", sfj_version());
            return BENCH_EXIT_OK;
        case 'I':
            io_probe = optarg;
            break;
        case 'N':
            io_ops = strtoull(optarg, NULL, 10);
            break;
        default:
            return sfj__cli_bad_option("sfj-bench", c, optopt,
                                       argv[optind - 1]);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "sfj-bench: unexpected argument: %s (see --help)\n",
                argv[optind]);
        return BENCH_EXIT_USAGE;
    }
    if (io_probe != NULL)
        return bench_io_probe(io_probe, io_ops > 0 ? io_ops : 100);
    if (o.flush_us > 0) {
        /* The model is of the terminal's disk: the host of the replay and
         * the large journals' builds would run on it too. */
        if (!only_set)
            o.only = BENCH_F_APPEND;
        if (o.only & ~(BENCH_F_APPEND | BENCH_F_IO)) {
            fprintf(stderr, "sfj-bench: --flush-delay: only the append and "
                            "io families (--only append,io)\n");
            return BENCH_EXIT_USAGE;
        }
        if (!flush_env_is(o.flush_us))
            return flush_reexec(o.flush_us, argv);
        flush_counts = (flush_counts_fn)(uintptr_t)dlsym(
            RTLD_DEFAULT, "sfj_bench_flush_counts");
        if (flush_counts == NULL) {
            fprintf(stderr, "sfj-bench: --flush-delay: the flush model "
                            "did not load (LD_PRELOAD)\n");
            return BENCH_EXIT_FAIL;
        }
    }
    o.seconds = o.quick ? 0.25 : 3.0;
    o.io_ops = o.quick ? 100 : 2000;
    o.big_entries = o.quick ? 20000 : 1000000;
    o.small_entries = o.quick ? 2000 : 10000;
    o.unacked = o.quick ? 1000 : 10000;
    o.in_doubt = o.quick ? 10 : 100;
    o.replay_entries = o.quick ? 2000 : 100000;
    if (seconds > 0)
        o.seconds = seconds;
    if (entries > 0)
        o.big_entries = entries;
    if (o.small_entries > o.big_entries)
        o.small_entries = o.big_entries;
    if (o.unacked > o.small_entries / 2)
        o.unacked = o.small_entries / 2;

    if (sfj_init() != SFJ_OK) {
        fprintf(stderr, "sfj-bench: cannot initialise libsodium\n");
        return BENCH_EXIT_FAIL;
    }
    tmp = getenv("TMPDIR");
    if (parent == NULL)
        parent = tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
    dir = bench_path(parent, "sfj-bench.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "sfj-bench: cannot create a directory in %s: %s\n",
                parent, strerror(errno));
        free(dir);
        return BENCH_EXIT_DIR;
    }
    o.dir = dir;
    bench_io_init(dir);
    r = calloc(1, sizeof *r);
    if (r == NULL || bench_keys_init(dir) != SFJ_OK) {
        bench_rmrf(dir);
        free(dir);
        free(r);
        return BENCH_EXIT_FAIL;
    }
    if (flush_counts != NULL)
        flush_counts(flushed);
    rc = run_all(&o, r);
    if (flush_counts != NULL) {
        flush_counts(flushed_after);
        r->flush_n = flushed_after[0] - flushed[0];
        r->flush_wait_us = r->flush_n > 0
                               ? (double)(flushed_after[1] - flushed[1]) / 1e3 /
                                     (double)r->flush_n
                               : -1;
    }
    if (rc == 0) {
        if (o.json)
            bench_print_json(&o, r);
        else
            bench_print_table(&o, r);
    }
    sfj_keys_free(bench_keys());
    if (!o.keep)
        bench_rmrf(dir);
    else
        fprintf(stderr, "sfj-bench: files kept in %s\n", dir);
    free(dir);
    free(r);
    return rc == 0 ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}
