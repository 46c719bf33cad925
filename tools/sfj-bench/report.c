/* Output: one table for people, one JSON object for machines. Both say
 * which targets this run met; a figure not measured prints as "-" (null
 * in JSON) with its reason, never as a number. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

typedef struct target {
    const char *name; /* JSON key */
    const char *text; /* what is asked */
    double value;     /* measured ratio or figure; < 0 unknown */
    double goal;
    int below; /* the value must stay below the goal */
} target;

#define NTARGETS 15

static int known(double v)
{
    return v >= 0 && isfinite(v);
}

static double ratio(double a, double b)
{
    return known(a) && known(b) && b > 0 ? a / b : -1;
}

static void targets(const bench_results *r, target *t)
{
    double rec_ratio = -1;

    if (known(r->recover_ms_small) && known(r->recover_ms_big))
        rec_ratio = ratio(r->recover_ms_big, r->recover_ms_small);
    t[0] = (target){"append_1t_vs_lmdb", "1 thread: sfj / raw LMDB >= 1.0",
                    ratio(r->sfj[0].rate, r->lmdb_1t.rate), 1.0, 0};
    t[1] = (target){"append_1t_vs_lmdb_grown",
                    "1 thread, grown: sfj / raw LMDB >= 1.0",
                    ratio(r->sfj_1t_grown.rate, r->lmdb_1t_grown.rate), 1.0, 0};
    t[2] = (target){"append_8t_vs_1t", "8 threads: sfj 8t / sfj 1t >= 6",
                    ratio(r->sfj[2].rate, r->sfj[0].rate), 6, 0};
    t[3] =
        (target){"append_8t_vs_sqlite", "8 threads: sfj / SQLite WAL FULL >= 3",
                 ratio(r->sfj[2].rate, r->sqlite[2].rate), 3, 0};
    t[4] = (target){"replay_eps", "replay (window 256) >= 50,000/s",
                    r->replay_eps, 50000, 0};
    t[5] = (target){"recover_ms", "recovery < 20 ms (larger journal)",
                    r->recover_ms_big, 20, 1};
    t[6] = (target){"recover_ratio", "recovery: large / small <= 2", rec_ratio,
                    2.0001, 1};
    t[7] = (target){"verify_eps", "verify >= 1M/s plain, 300k/s decrypt",
                    known(r->verify_plain_eps) && known(r->verify_decrypt_eps)
                        ? fmin(r->verify_plain_eps / 1000000.0,
                               r->verify_decrypt_eps / 300000.0)
                        : -1,
                    1, 0};
    t[8] = (target){"bytes_per_entry", "bytes on disk / payload <= 1.0",
                    ratio(r->bytes_per_entry, BENCH_PAYLOAD_BYTES), 1.0001, 1};
    t[9] = (target){"anon_rss", "anonymous memory < 1 MiB",
                    r->anon_rss_bytes / 1048576.0, 1, 1};
    t[10] = (target){"device_bytes_vs_lmdb",
                     "device bytes: sfj INTENT / raw LMDB <= 1.0",
                     ratio(r->io[BENCH_IO_SFJ_INTENT].dev_bytes,
                           r->io[BENCH_IO_LMDB].dev_bytes),
                     1.0001, 1};
    t[11] = (target){"device_bytes_vs_lmdb_grown",
                     "device bytes, grown: sfj INTENT / LMDB <= 1.0",
                     ratio(r->io[BENCH_IO_SFJ_GROWN].dev_bytes,
                           r->io[BENCH_IO_LMDB_GROWN].dev_bytes),
                     1.0001, 1};
    t[12] = (target){"replay_v2_vs_v1", "replay: protocol v2 / v1 >= 0.9",
                     ratio(r->replay_eps, r->replay_v1_eps), 0.9, 0};
    t[13] = (target){"replay_v2_eps", "replay, protocol v2 >= 50,000/s",
                     r->replay_eps, 50000, 0};
    t[14] = (target){"wire_v2_minus_v1", "wire bytes/entry: v2 - v1 <= 24",
                     known(r->wire_tcp) && known(r->wire_tcp_v1)
                         ? r->wire_tcp - r->wire_tcp_v1
                         : -1,
                     24.0001, 1};
}

static const char *verdict(const target *t)
{
    if (!known(t->value))
        return "not measured";
    if (t->below)
        return t->value < t->goal ? "met" : "MISSED";
    return t->value >= t->goal ? "met" : "MISSED";
}

static void rate_row(const char *name, const bench_rate *b)
{
    if (!known(b->rate)) {
        printf("  %-34s %10s\n", name, "-");
        return;
    }
    printf("  %-34s %10.0f %9.3f %9.3f %9.3f\n", name, b->rate, b->p50_ms,
           b->p99_ms, b->p999_ms);
}

static void fig(const char *name, double v, const char *unit, const char *why)
{
    if (known(v))
        printf("  %-34s %10.0f  %s\n", name, v, unit);
    else
        printf("  %-34s %10s  not measured: %s\n", name, "-", why);
}

static void fig2(const char *name, double v, const char *unit, const char *why)
{
    if (known(v))
        printf("  %-34s %10.2f  %s\n", name, v, unit);
    else
        fig(name, v, unit, why);
}

/* Two CPU figures of one run, microseconds; "-" for one not measured. */
static void cpu_pair(const char *name, double a, double b, const char *why)
{
    char both[32], x[16] = "-", y[16] = "-";

    if (!known(a) && !known(b)) {
        fig(name, -1, "us", why);
        return;
    }
    if (known(a))
        snprintf(x, sizeof x, "%.2f", a);
    if (known(b))
        snprintf(y, sizeof y, "%.2f", b);
    snprintf(both, sizeof both, "%s/%s", x, y);
    printf("  %-34s %10s  us\n", name, both);
}

static const char *const io_rows[BENCH_NIO] = {
    "sfj TXN_INTENT (new txn id)",
    "sfj NOTE (no txn id)",
    "raw LMDB, 1 put per commit",
    "SQLite WAL FULL, 1 INSERT",
    "write+fdatasync",
    "sfj TXN_INTENT, grown journal",
    "raw LMDB, grown database",
    "sfj sale events, grown journal",
    "raw LMDB, main database",
};
static const char *const io_keys[BENCH_NIO] = {
    "sfj_intent",       "sfj_note",   "lmdb",           "sqlite",   "fdatasync",
    "sfj_intent_grown", "lmdb_grown", "sfj_sale_grown", "lmdb_main"};

static void io_cell(double v, const char *fmt)
{
    if (known(v))
        printf(fmt, v);
    else
        printf("%10s", "-");
}

/* What each append of the multi-thread runs cost the whole process:
 * with several callers, each one sleeps through the commit that makes
 * its entry durable, and that sleep and wake-up is CPU too. */
static void threads_cpu_table(const bench_results *r)
{
    const bench_rate *b;
    char name[40];
    int i, k, any = 0;

    for (i = 1; i < BENCH_NTHREADS; i++)
        for (k = 0; k < 2; k++) {
            b = k == 0 ? &r->sfj[i] : &r->sqlite[i];
            if (!known(b->rate) || !known(b->cpu_us))
                continue;
            if (!any++)
                printf("\n  %-34s %10s %10s\n", "per append, whole process",
                       "CPU us", "switches");
            snprintf(name, sizeof name, "%s, %d threads",
                     k == 0 ? "sfj" : "SQLite WAL FULL",
                     bench_thread_counts[i]);
            printf("  %-34s", name);
            io_cell(b->cpu_us, " %10.1f");
            io_cell(b->switches, " %10.2f");
            printf("\n");
        }
}

static void io_table(const bench_results *r)
{
    int i;

    if (!known(r->io[0].rate))
        return;
    printf("\n  per durable commit, 1 thread, %llu commits each "
           "(device bytes need a quiet machine)\n",
           (unsigned long long)r->io_n);
    printf("  %-34s %10s %10s %10s %10s\n", "", "4K pages", "writes",
           "dev bytes", "CPU us");
    for (i = 0; i < BENCH_NIO; i++) {
        printf("  %-34s", io_rows[i]);
        io_cell(r->io[i].pages, " %10.2f");
        io_cell(r->io[i].calls, " %10.2f");
        io_cell(r->io[i].dev_bytes, " %10.0f");
        io_cell(r->io[i].cpu_us, " %10.1f");
        printf("\n");
    }
    printf("  grown: the journal and the database start with %llu entries\n",
           (unsigned long long)r->io_n * BENCH_IO_GROWN);
    if (r->io_why[0] != '\0')
        printf("  pages and writes not measured: %s\n", r->io_why);
    if (r->dev_why[0] != '\0')
        printf("  device bytes not measured: %s\n", r->dev_why);
}

void bench_print_table(const bench_opts *o, const bench_results *r)
{
    target t[NTARGETS];
    char name[64];
    int i;

    printf("sfj-bench %s (%s): %s\n", sfj_version(),
           o->quick ? "quick" : "default", o->dir);
    printf("payload: %d-byte ISO 8583 0200 (ASCII, masked PAN, EMV data); "
           "%.2f s per append run\n",
           BENCH_PAYLOAD_BYTES, o->seconds);
    printf("journal dictionary: %s\n", bench_dictionary_name());
    printf("1 thread: sfj and raw LMDB take turns, %d slices each\n",
           BENCH_PAIR_SLICES);
    if (o->flush_us > 0 && r->flush_n > 0)
        printf("flush model: every sync of every system %u us longer "
               "(%.0f us on average over %llu syncs of the append runs):\n"
               "  a slower disk's flush, not this disk's figures\n",
               o->flush_us, r->flush_wait_us, (unsigned long long)r->flush_n);
    else if (o->flush_us > 0) /* --only io: the syncs are its child's */
        printf("flush model: every sync of every system %u us longer:\n"
               "  a slower disk's flush, not this disk's figures\n",
               o->flush_us);
    printf("\n");
    printf("  %-34s %10s %9s %9s %9s\n", "durable append", "per s", "p50 ms",
           "p99 ms", "p99.9 ms");
    for (i = 0; i < BENCH_NTHREADS; i++) {
        int n = bench_thread_counts[i];

        snprintf(name, sizeof name, "sfj, %d thread%s", n, n > 1 ? "s" : "");
        rate_row(name, &r->sfj[i]);
        if (n == 1) {
            rate_row("raw LMDB, 1 put per commit", &r->lmdb_1t);
        }
        snprintf(name, sizeof name, "SQLite WAL FULL, %d thread%s", n,
                 n > 1 ? "s" : "");
        rate_row(name, &r->sqlite[i]);
        if (n == 1) {
            rate_row("write+fdatasync", &r->fdatasync_1t);
            rate_row("sfj, 1 thread, grown journal", &r->sfj_1t_grown);
            rate_row("raw LMDB, grown database", &r->lmdb_1t_grown);
        }
    }
    threads_cpu_table(r);
    io_table(r);
    printf("\n");
    snprintf(
        name, sizeof name, "replay %llu to sfj-host, TCP",
        (unsigned long long)(r->replay_n ? r->replay_n : o->replay_entries));
    fig(name, r->replay_eps, "entries/s", r->replay_why);
    fig("  same, wire protocol v1", r->replay_v1_eps, "entries/s",
        r->replay_why);
    cpu_pair("  CPU/entry v2, terminal/host", r->replay_cpu_terminal_us,
             r->replay_cpu_host_us, r->replay_why);
    cpu_pair("  CPU/entry v1, terminal/host", r->replay_v1_cpu_terminal_us,
             r->replay_v1_cpu_host_us, r->replay_why);
    fig2("  connect to first ACK, v2", r->first_ack_ms, "ms", r->replay_why);
    fig2("  connect to first ACK, v1", r->first_ack_ms_v1, "ms", r->replay_why);
    if (known(r->replay_drain_ms)) {
        printf("  %-34s %10.0f  ms (window %u)\n", "  time to drain",
               r->replay_drain_ms, r->replay_window);
        printf("  %-34s %10.0f  entries/s (%.0f ms to drain)\n",
               "  with a window of 64       ", r->replay_eps_w64,
               r->replay_drain_ms_w64);
    }
    snprintf(name, sizeof name, "open+recover, %llu entries",
             (unsigned long long)o->small_entries);
    fig2(name, r->recover_ms_small, "ms", r->recover_why);
    snprintf(name, sizeof name, "open+recover, %llu entries",
             (unsigned long long)o->big_entries);
    fig2(name, r->recover_ms_big, "ms", r->recover_why);
    snprintf(name, sizeof name, "verify %llu, chain+signatures",
             (unsigned long long)r->verify_n);
    fig(name, r->verify_plain_eps, "entries/s", "skipped (--only)");
    snprintf(name, sizeof name, "verify %llu, and decrypt",
             (unsigned long long)r->verify_n);
    fig(name, r->verify_decrypt_eps, "entries/s", "skipped (--only)");
    if (known(r->bytes_per_entry))
        printf("  %-34s %10.1f  bytes (payload %d, sealed record %.1f)\n",
               "on disk per entry", r->bytes_per_entry, BENCH_PAYLOAD_BYTES,
               r->record_bytes);
    else
        fig("on disk per entry", -1, "", "skipped (--only)");
    if (known(r->anon_rss_bytes))
        printf("  %-34s %10.2f  MiB (%s)\n", "anonymous memory",
               r->anon_rss_bytes / 1048576.0, r->rss_why);
    else
        fig("anonymous memory", -1, "", r->rss_why);
    fig2("wire bytes per entry, TCP", r->wire_tcp, "bytes", r->wire_why);
    fig2("wire bytes per entry, TCP v1", r->wire_tcp_v1, "bytes", r->wire_why);
    fig("wire bytes per entry, serial", r->wire_serial, "bytes", r->wire_why);
    if (known(r->build_secs))
        printf("  %-34s %10.1f  s (%llu entries, bulk commits)\n",
               "build of the large journal", r->build_secs,
               (unsigned long long)o->big_entries);

    targets(r, t);
    printf("\ntargets%s\n",
           o->flush_us > 0 ? " (under the flush model, not this disk's)" : "");
    for (i = 0; i < NTARGETS; i++) {
        if (known(t[i].value))
            printf("  %-44s %8.2f  %s\n", t[i].text, t[i].value,
                   verdict(&t[i]));
        else
            printf("  %-44s %8s  %s\n", t[i].text, "-", verdict(&t[i]));
    }
}

/* ---- JSON ---- */

static void jnum(const char *key, double v, int last)
{
    if (known(v))
        printf("\"%s\": %.3f%s", key, v, last ? "" : ", ");
    else
        printf("\"%s\": null%s", key, last ? "" : ", ");
}

static void jstr(const char *s)
{
    putchar('"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

static void jlat(const char *key, const bench_rate *b, int last)
{
    printf("\"%s\": {", key);
    jnum("rate", b->rate, 0);
    jnum("p50", b->p50_ms, 0);
    jnum("p99", b->p99_ms, 0);
    jnum("p999", b->p999_ms, 1);
    printf("}%s", last ? "" : ",\n    ");
}

void bench_print_json(const bench_opts *o, const bench_results *r)
{
    static const char *const keys[BENCH_NTHREADS] = {"append_1t", "append_2t",
                                                     "append_8t", "append_32t"};
    target t[NTARGETS];
    char name[40];
    int i;

    printf("{\n  \"version\": ");
    jstr(sfj_version());
    printf(",\n  \"mode\": \"%s\",\n  \"dir\": ",
           o->quick ? "quick" : "default");
    jstr(o->dir);
    printf(",\n  \"seconds_per_run\": %.3f,\n", o->seconds);
    if (o->flush_us > 0) {
        printf("  \"flush_model\": {\"delay_us\": %u, \"syncs\": %llu, ",
               o->flush_us, (unsigned long long)r->flush_n);
        jnum("mean_wait_us", r->flush_wait_us, 1);
        printf("},\n");
    } else {
        printf("  \"flush_model\": null,\n");
    }
    for (i = 0; i < BENCH_NTHREADS; i++) {
        printf("  \"%s\": {", keys[i]);
        jnum("sfj", r->sfj[i].rate, 0);
        if (i == 0) {
            jnum("lmdb", r->lmdb_1t.rate, 0);
            jnum("fdatasync", r->fdatasync_1t.rate, 0);
            jnum("sfj_grown", r->sfj_1t_grown.rate, 0);
            jnum("lmdb_grown", r->lmdb_1t_grown.rate, 0);
        }
        jnum("sqlite", r->sqlite[i].rate, 0);
        if (i > 0) {
            jnum("sfj_cpu_us", r->sfj[i].cpu_us, 0);
            jnum("sfj_switches", r->sfj[i].switches, 0);
            jnum("sqlite_cpu_us", r->sqlite[i].cpu_us, 0);
            jnum("sqlite_switches", r->sqlite[i].switches, 0);
        }
        jnum("sfj_p50_ms", r->sfj[i].p50_ms, 0);
        jnum("sfj_p99_ms", r->sfj[i].p99_ms, 0);
        jnum("sfj_p999_ms", r->sfj[i].p999_ms, 1);
        printf("},\n");
    }
    printf("  \"latency_ms\": {\n    ");
    for (i = 0; i < BENCH_NTHREADS; i++) {
        snprintf(name, sizeof name, "sfj_%dt", bench_thread_counts[i]);
        jlat(name, &r->sfj[i], 0);
        snprintf(name, sizeof name, "sqlite_%dt", bench_thread_counts[i]);
        jlat(name, &r->sqlite[i], 0);
    }
    jlat("lmdb_1t", &r->lmdb_1t, 0);
    jlat("fdatasync_1t", &r->fdatasync_1t, 1);
    printf("\n  },\n  ");
    jnum("replay_eps", r->replay_eps, 0);
    jnum("replay_drain_ms", r->replay_drain_ms, 0);
    jnum("replay_eps_window64", r->replay_eps_w64, 0);
    jnum("replay_drain_ms_window64", r->replay_drain_ms_w64, 0);
    printf("\"replay_window\": %u, \"replay_entries\": %llu,\n",
           r->replay_window, (unsigned long long)r->replay_n);
    printf("  \"recover_ms\": {");
    jnum("n10k", r->recover_ms_small, 0);
    jnum("n1m", r->recover_ms_big, 1);
    printf("},\n  \"recover_entries\": {\"n10k\": %llu, \"n1m\": %llu},\n",
           (unsigned long long)o->small_entries,
           (unsigned long long)o->big_entries);
    printf("  \"verify_eps\": {");
    jnum("plain", r->verify_plain_eps, 0);
    jnum("decrypt", r->verify_decrypt_eps, 1);
    printf("},\n  \"verify_entries\": %llu,\n  ",
           (unsigned long long)r->verify_n);
    jnum("bytes_per_entry", r->bytes_per_entry, 0);
    jnum("record_bytes", r->record_bytes, 0);
    printf("\"payload_bytes\": %d,\n  ", BENCH_PAYLOAD_BYTES);
    printf("\"dictionary\": \"%s\",\n  ", bench_dictionary_name());
    jnum("anon_rss_bytes", r->anon_rss_bytes, 0);
    printf("\"rss_with_forwarder\": %s,\n",
           r->rss_with_forwarder ? "true" : "false");
    printf("  \"wire_bytes_per_entry\": {");
    jnum("tcp", r->wire_tcp, 0);
    jnum("tcp_v1", r->wire_tcp_v1, 0);
    jnum("serial", r->wire_serial, 1);
    printf("},\n  ");
    jnum("replay_v1_eps", r->replay_v1_eps, 0);
    jnum("replay_cpu_terminal_us", r->replay_cpu_terminal_us, 0);
    jnum("replay_cpu_host_us", r->replay_cpu_host_us, 0);
    jnum("replay_v1_cpu_terminal_us", r->replay_v1_cpu_terminal_us, 0);
    jnum("replay_v1_cpu_host_us", r->replay_v1_cpu_host_us, 0);
    jnum("first_ack_ms", r->first_ack_ms, 0);
    jnum("first_ack_ms_v1", r->first_ack_ms_v1, 0);
    jnum("build_secs", r->build_secs, 1);
    printf(",\n  \"io_commits\": %llu,\n  \"per_commit\": {",
           (unsigned long long)r->io_n);
    for (i = 0; i < BENCH_NIO; i++) {
        printf("\n    \"%s\": {", io_keys[i]);
        jnum("pages_4k", r->io[i].pages, 0);
        jnum("write_calls", r->io[i].calls, 0);
        jnum("write_bytes", r->io[i].wbytes, 0);
        jnum("device_bytes", r->io[i].dev_bytes, 0);
        jnum("cpu_us", r->io[i].cpu_us, 0);
        jnum("rate", r->io[i].rate, 1);
        printf("}%s", i + 1 < BENCH_NIO ? "," : "");
    }
    printf("\n  },\n  \"not_measured\": {");
    {
        const char *sep = "";

        if (!known(r->replay_eps)) {
            printf("%s\"replay_eps\": ", sep);
            jstr(r->replay_why);
            sep = ", ";
        }
        if (!known(r->recover_ms_big)) {
            printf("%s\"recover_ms\": ", sep);
            jstr(r->recover_why);
            sep = ", ";
        }
        if (!known(r->wire_tcp)) {
            printf("%s\"wire_bytes_per_entry\": ", sep);
            jstr(r->wire_why);
            sep = ", ";
        }
        if (!known(r->io[0].pages)) {
            printf("%s\"pages_4k\": ", sep);
            jstr(r->io_why);
            sep = ", ";
        }
        if (!known(r->io[0].dev_bytes)) {
            printf("%s\"device_bytes\": ", sep);
            jstr(r->dev_why);
        }
    }
    printf("},\n  \"targets\": {\n");
    targets(r, t);
    for (i = 0; i < NTARGETS; i++) {
        printf("    \"%s\": {", t[i].name);
        jnum("value", t[i].value, 0);
        printf("\"goal\": %.4g, \"met\": %s}%s\n", t[i].goal,
               !known(t[i].value)                   ? "null"
               : strcmp(verdict(&t[i]), "met") == 0 ? "true"
                                                    : "false",
               i + 1 < NTARGETS ? "," : "");
    }
    printf("  }\n}\n");
}
