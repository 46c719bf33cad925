/* sfj-reconcile DIR -k KEY [options] REPORT...
 * sfj-reconcile DIR -k KEY --manual-sale --amount A --currency C --at TIME
 *               [--auth-code X] [--note TEXT] [--txn ID]
 *
 * Matches the journal's sales with the acquirer's reports (the library's
 * sfj_recon, docs/RECONCILE.md) and prints a summary, then the lines that
 * need action. Opens the journal read-only unless --apply (journal what
 * the reports prove) or --manual-sale (journal a sale taken by hand).
 * Exit codes: docs/sfj-reconcile.1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_exit.h"
#include "cli_file.h"
#include "cli_money.h"
#include "cli_text.h"
#include "cli_time.h"
#include "sfj/sfj.h"

/* docs/CLI.md's codes, and this tool's own 3. */
enum {
    EXIT_OK = SFJ__EX_OK,
    EXIT_ACTION = SFJ__EX_ATTENTION,
    EXIT_REPORT = 3, /* a report could not be read */
    EXIT_USAGE = SFJ__EX_USAGE,
    EXIT_INTERNAL = SFJ__EX_INTERNAL,
    EXIT_CANTWRITE = SFJ__EX_CANTWRITE,
    EXIT_KEYFILE = SFJ__EX_KEYFILE
};

#define REPORT_MAX (256u << 20)

static const char usage[] =
    "usage: sfj-reconcile DIR -k KEY [-m generic|iso8583] [--jsonl]\n"
    "           [--column FIELD=NAME]... [--minor] [--tz +HH:MM]\n"
    "           [--window SECONDS] [-o text|json|csv] [--apply]\n"
    "           [--settlement CUR:COUNT:AMOUNT]... REPORT...\n"
    "       sfj-reconcile DIR -k KEY --manual-sale --amount AMOUNT\n"
    "           --currency CUR --at TIME [--auth-code CODE] [--note TEXT]\n"
    "           [--txn ID]\n";

static const char help[] =
    "\n"
    "Match the journal's sales with the acquirer's reports, sale by sale.\n"
    "\n"
    "  DIR                 the journal directory\n"
    "  -k, --key FILE      the terminal's master key file (mode 0600); again\n"
    "                      for the keys of earlier epochs after a rotation\n"
    "  -m, --mapping NAME  the report's columns: generic (default) or\n"
    "                      iso8583\n"
    "  --jsonl             reports are JSON Lines (default CSV)\n"
    "  --column F=NAME     report column NAME holds F (reference, amount,\n"
    "                      currency, time, status, auth_code, card,\n"
    "                      terminal_id, rrn, stan)\n"
    "  --minor             amounts are in minor units\n"
    "  --tz +HH:MM         zone of report times written without one\n"
    "  --window SECONDS    time window of the amount + time rule (600)\n"
    "  -o, --output FMT    text (default), json or csv\n"
    "  --apply             journal what the reports prove (the outcome of\n"
    "                      an in-doubt sale, a reversal confirmed); without\n"
    "                      it nothing is written\n"
    "  --settlement CUR:COUNT:AMOUNT\n"
    "                      the host's settlement totals of one currency\n"
    "                      (sales, net amount in major units), once per\n"
    "                      currency: compare the open batch with them and\n"
    "                      explain each difference by the reports (with\n"
    "                      no report, by the journal alone)\n"
    "  --manual-sale       journal a sale taken by hand (paper slip, voice\n"
    "                      authorisation) with --amount (major units),\n"
    "                      --currency, --at (ISO 8601), --auth-code,\n"
    "                      --note, --txn (default: a new short id)\n"
    "  -h, --help          this text;  --version  the version\n"
    "\n"
    "Exit: 0 all matched (and the batch balances), 1 action needed, 3 a report "
    "could not be read,\n"
    "64 usage, 65 journal damaged, 66 not found, 70 internal, 73 could\n"
    "not write, 74 I/O, 75 journal busy, 76 unsupported format, 77 wrong\n"
    "key, 78 unusable key file. See sfj-reconcile(1).\n";

static const char *const action[SFJ_RECON_CLASSES] = {
    "",
    "charged at the acquirer: journal the outcome, print the receipt",
    "not charged: safe to decline or take again; journal it",
    "not received by the acquirer (or reversed): forward again or query",
    "charged with no record here: refund or record it",
    "amount or currency differ: check the slip",
    "reversal not confirmed: send it again"};

/* What the journal and the acquirer each say of a sale, by class. */
static const char *const sides[SFJ_RECON_CLASSES] = {
    "matched at the acquirer",
    "in doubt in the journal, approved at the acquirer",
    "in doubt in the journal, absent at the acquirer",
    "approved in the journal, absent at the acquirer",
    "charged at the acquirer, absent from the journal",
    "amount or currency differ at the acquirer",
    "reversed in the journal, still charged at the acquirer"};

/* The reason's name in JSON. */
static const char *reason_name(sfj_diff_reason r)
{
    static const char *const names[] = {"",         "unforwarded", "attention",
                                        "in_doubt", "amount",      "report"};

    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "";
}

/* Why a part of a difference is one, without a report. */
static const char *reason_text(sfj_diff_reason r)
{
    switch (r) {
    case SFJ_DIFF_UNFORWARDED:
        return "not yet acknowledged by the host";
    case SFJ_DIFF_ATTENTION:
        return "rejected by the host (needs attention)";
    case SFJ_DIFF_IN_DOUBT:
        return "in doubt in the journal: the host may have charged it";
    case SFJ_DIFF_AMOUNT:
        return "its amount is the difference";
    default:
        return "in the acquirer's report";
    }
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sfj__cli_vsay("sfj-reconcile", fmt, ap);
    va_end(ap);
}

/* The shared mapping (so a journal held by the app is 75, busy, like in
 * every tool), plus what only this tool meets: an unreadable report, and
 * an apply the journal's rules refuse. */
static int exit_for(int rc)
{
    switch (rc) {
    case SFJ_EREPORT:
        return EXIT_REPORT;
    case SFJ_ELIMIT:
    case SFJ_ESTATE:
        return EXIT_CANTWRITE;
    default:
        return sfj__cli_exit_for(rc);
    }
}

static int set_column(sfj_recon_opts *o, const char *spec)
{
    static char store[16][128];
    static int used;
    const char *eq = strchr(spec, '=');
    size_t fl;
    char *name;

    if (eq == NULL || used == 16 || strlen(eq + 1) >= sizeof store[0] ||
        eq[1] == '\0')
        return -1;
    name = store[used++];
    strcpy(name, eq + 1);
    fl = (size_t)(eq - spec);
#define COL(f, field)                                                          \
    if (fl == strlen(f) && strncmp(spec, f, fl) == 0) {                        \
        o->field = name;                                                       \
        return 0;                                                              \
    }
    COL("reference", col_reference)
    COL("amount", col_amount)
    COL("currency", col_currency)
    COL("time", col_time)
    COL("status", col_status)
    COL("auth_code", col_auth_code)
    COL("card", col_card)
    COL("terminal_id", col_terminal_id)
    COL("rrn", col_rrn)
    COL("stan", col_stan)
#undef COL
    return -1;
}

/* How long ago `ms` was, for a person ("45 min", "3 h", "2 days"). */
static void age(int64_t ms, char *out, size_t cap)
{
    int64_t s = ((int64_t)time(NULL) * 1000 - ms) / 1000;

    if (s < 0)
        s = 0;
    if (s < 3600)
        snprintf(out, cap, "%lld min", (long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf(out, cap, "%lld h", (long long)(s / 3600));
    else
        snprintf(out, cap, "%lld days", (long long)(s / 86400));
}

static void print_text(const sfj_recon_result *res, int applied, size_t n)
{
    char t[32], a[48], b[48], ag[32];
    size_t i, need = 0;
    int64_t oldest = INT64_MAX;

    for (i = 1; i < SFJ_RECON_CLASSES; i++)
        need += res->count[i];
    printf("Reconciliation: %zu report lines, %zu journal sales, %zu "
           "matched, %zu need action\n",
           res->lines - res->lines_other, res->sales,
           res->count[SFJ_RECON_MATCHED], need);
    for (i = 1; i < SFJ_RECON_CLASSES; i++) {
        if (res->count[i] > 0)
            printf("  %-22s %zu\n", sfj_recon_class_name((unsigned)i),
                   res->count[i]);
    }
    if (res->lines_other > 0)
        printf("  lines of other terminals skipped: %zu\n", res->lines_other);
    if (res->pans_masked > 0)
        printf("  card numbers in clear in the report (masked): %zu\n",
               res->pans_masked);
    if (applied)
        printf("  journaled from the reports: %zu\n", n);
    for (i = 0; i < res->n_items; i++) {
        if (res->items[i].cls != SFJ_RECON_MATCHED &&
            res->items[i].wall_ms < oldest)
            oldest = res->items[i].wall_ms;
    }
    if (oldest != INT64_MAX) {
        age(oldest, ag, sizeof ag);
        printf("  oldest unreconciled: %s old\n", ag);
    }
    for (i = 0; i < res->n_items; i++) {
        const sfj_recon_item *it = &res->items[i];

        if (it->cls == SFJ_RECON_MATCHED && !it->applicable)
            continue;
        sfj__cli_format_time(it->wall_ms, t, sizeof t);
        sfj__cli_format_amount(it->amount, it->currency, a, sizeof a);
        sfj__cli_format_amount(it->report_amount, it->report_currency, b,
                               sizeof b);
        age(it->wall_ms, ag, sizeof ag);
        printf("%s (%s old) %-20s %s", t, ag, sfj_recon_class_name(it->cls),
               it->txn_id[0] ? it->txn_id : "-");
        if (it->seq != 0)
            printf(" seq %llu %s", (unsigned long long)it->seq, a);
        if (it->report != NULL)
            printf(" | %s:%zu %s %s%s%s (%s)", it->report, it->line, b,
                   it->report_status, it->auth_code[0] ? " auth " : "",
                   it->auth_code, sfj_recon_rule_name(it->rule));
        printf(": %s\n", it->cls == SFJ_RECON_MATCHED
                             ? "reversal confirmed by the acquirer"
                             : action[it->cls]);
    }
}

/* The reconciliation's members of the JSON object, which the caller
 * opens... and closes, after the settlement when `more`. */
static void print_json(const sfj_recon_result *res, int applied, size_t n,
                       int more)
{
    size_t i;

    printf("{\"lines\":%zu,\"lines_other\":%zu,\"pans_masked\":%zu,"
           "\"sales\":%zu,\"applied\":%zu,\"counts\":{",
           res->lines, res->lines_other, res->pans_masked, res->sales,
           applied ? n : 0);
    for (i = 0; i < SFJ_RECON_CLASSES; i++)
        printf("%s\"%s\":%zu", i ? "," : "", sfj_recon_class_name((unsigned)i),
               res->count[i]);
    printf("},\"items\":[");
    for (i = 0; i < res->n_items; i++) {
        const sfj_recon_item *it = &res->items[i];

        printf("%s{\"class\":\"%s\",\"rule\":\"%s\",\"txn_id\":", i ? "," : "",
               sfj_recon_class_name(it->cls), sfj_recon_rule_name(it->rule));
        sfj__cli_json_str(stdout, it->txn_id);
        printf(",\"seq\":%llu,\"wall_ms\":%lld,\"amount\":%lld,\"currency\":",
               (unsigned long long)it->seq, (long long)it->wall_ms,
               (long long)it->amount);
        sfj__cli_json_str(stdout, it->currency);
        printf(",\"report\":");
        sfj__cli_json_str(stdout, it->report ? it->report : "");
        printf(",\"line\":%zu,\"report_amount\":%lld,\"report_currency\":",
               it->line, (long long)it->report_amount);
        sfj__cli_json_str(stdout, it->report_currency);
        printf(",\"report_status\":");
        sfj__cli_json_str(stdout, it->report_status);
        printf(",\"auth_code\":");
        sfj__cli_json_str(stdout, it->auth_code);
        printf(",\"card\":");
        sfj__cli_json_str(stdout, it->card);
        printf(",\"applicable\":%s}", it->applicable ? "true" : "false");
    }
    printf("]%s", more ? "," : "");
}

static void print_csv(const sfj_recon_result *res)
{
    size_t i;

    printf("class,rule,txn_id,seq,wall_ms,amount,currency,report,line,"
           "report_amount,report_currency,report_status,auth_code,card\n");
    for (i = 0; i < res->n_items; i++) {
        const sfj_recon_item *it = &res->items[i];

        printf("%s,%s,", sfj_recon_class_name(it->cls),
               sfj_recon_rule_name(it->rule));
        sfj__cli_csv_str(stdout, it->txn_id);
        printf(",%llu,%lld,%lld,%s,", (unsigned long long)it->seq,
               (long long)it->wall_ms, (long long)it->amount, it->currency);
        sfj__cli_csv_str(stdout, it->report ? it->report : "");
        printf(",%zu,%lld,%s,%s,", it->line, (long long)it->report_amount,
               it->report_currency, it->report_status);
        sfj__cli_csv_str(stdout, it->auth_code);
        printf(",");
        sfj__cli_csv_str(stdout, it->card);
        printf("\n");
    }
}

/* One --settlement line: "EUR:12:345.50". */
static int parse_settle(const char *spec, sfj_settle_line *out)
{
    char cur[4], count[24];
    const char *a, *b;
    uint64_t n;

    memset(out, 0, sizeof *out);
    a = strchr(spec, ':');
    b = a != NULL ? strchr(a + 1, ':') : NULL;
    if (a == NULL || b == NULL || a - spec != 3 ||
        (size_t)(b - a - 1) >= sizeof count || b == a + 1)
        return -1;
    memcpy(cur, spec, 3);
    cur[3] = '\0';
    memcpy(count, a + 1, (size_t)(b - a - 1));
    count[b - a - 1] = '\0';
    if (strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3 ||
        sfj__cli_parse_u64(count, &n) != 0 || n > SFJ_SETTLE_COUNT_MAX ||
        sfj_amount_parse(b + 1, cur, &out->amount) != SFJ_OK)
        return -1;
    memcpy(out->currency, cur, 4);
    out->count = n;
    return 0;
}

typedef struct settle_in {
    sfj_settle_line *host;
    size_t n;
} settle_in;

static void print_settle_text(const sfj_settle_diff *d)
{
    char la[48], ha[48], df[48], am[48], t[48];
    size_t i, k;

    printf("Settlement of the open batch (seq %llu..%llu) against the host's "
           "totals: %s\n",
           (unsigned long long)d->from_seq, (unsigned long long)d->to_seq,
           d->balanced ? "balanced" : "differences");
    for (i = 0; i < d->n_lines; i++) {
        const sfj_settle_diff_line *l = &d->lines[i];

        sfj__cli_format_amount(l->local_amount, l->currency, la, sizeof la);
        sfj__cli_format_amount(l->host_amount, l->currency, ha, sizeof ha);
        sfj__cli_format_delta(l->local_amount - l->host_amount, l->currency, df,
                              sizeof df);
        printf("  %s: journal %llu sales %s, host %llu sales %s: difference "
               "%s, %+lld sales, %s\n",
               l->currency[0] ? l->currency : "(none)",
               (unsigned long long)l->local_count, la,
               (unsigned long long)l->host_count, ha, df,
               (long long)l->local_count - (long long)l->host_count,
               l->explained ? "explained" : "not explained");
        for (k = 0; k < d->n_why; k++) {
            const sfj_settle_why *w = &d->why[k];

            if (strcmp(w->currency, l->currency) != 0)
                continue;
            sfj__cli_format_delta(w->delta, w->currency, am, sizeof am);
            printf("    %s = ", am);
            if (w->txn_id[0] != '\0')
                printf("sale %s", w->txn_id);
            else
                printf("a charge");
            if (w->seq != 0) {
                printf(" (%s seq %llu", sfj_kind_name(w->kind),
                       (unsigned long long)w->seq);
                sfj__cli_format_amount(w->amount, w->currency, t, sizeof t);
                printf(", %s)", t);
            }
            if (w->recon_class >= 0 && w->recon_class < SFJ_RECON_CLASSES) {
                printf(", %s", sides[w->recon_class]);
                if (w->reason == SFJ_DIFF_UNFORWARDED ||
                    w->reason == SFJ_DIFF_ATTENTION)
                    printf(", %s", reason_text(w->reason));
                if (w->report != NULL && w->line != 0)
                    printf(", report %s line %zu", w->report, w->line);
                printf(" (%s)\n",
                       sfj_recon_class_name((unsigned)w->recon_class));
            } else {
                printf(", %s\n", reason_text(w->reason));
            }
        }
    }
}

static void print_settle_json(const sfj_settle_diff *d)
{
    size_t i;

    printf("{\"from_seq\":%llu,\"to_seq\":%llu,\"balanced\":%s,\"lines\":[",
           (unsigned long long)d->from_seq, (unsigned long long)d->to_seq,
           d->balanced ? "true" : "false");
    for (i = 0; i < d->n_lines; i++) {
        const sfj_settle_diff_line *l = &d->lines[i];

        printf("%s{\"currency\":\"%s\",\"local_count\":%llu,"
               "\"local_amount\":%lld,\"host_count\":%llu,"
               "\"host_amount\":%lld,\"explained\":%s}",
               i ? "," : "", l->currency, (unsigned long long)l->local_count,
               (long long)l->local_amount, (unsigned long long)l->host_count,
               (long long)l->host_amount, l->explained ? "true" : "false");
    }
    printf("],\"explanations\":[");
    for (i = 0; i < d->n_why; i++) {
        const sfj_settle_why *w = &d->why[i];

        printf("%s{\"currency\":\"%s\",\"delta\":%lld,\"count_delta\":%d,"
               "\"reason\":\"%s\",\"seq\":%llu,\"kind\":\"%s\",\"txn_id\":",
               i ? "," : "", w->currency, (long long)w->delta, w->count_delta,
               reason_name(w->reason), (unsigned long long)w->seq,
               w->seq ? sfj_kind_name(w->kind) : "");
        sfj__cli_json_str(stdout, w->txn_id);
        printf(",\"amount\":%lld,\"class\":\"%s\",\"report\":",
               (long long)w->amount,
               w->recon_class >= 0
                   ? sfj_recon_class_name((unsigned)w->recon_class)
                   : "");
        sfj__cli_json_str(stdout, w->report != NULL ? w->report : "");
        printf(",\"line\":%zu}", w->line);
    }
    printf("]}");
}

typedef struct manual {
    const char *amount, *currency, *at, *auth, *note, *txn;
} manual;

static int manual_sale(sfj_journal *j, const manual *m)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char id[SFJ_TXN_ID_SHORT_LEN + 1];
    int64_t amount, at;
    uint64_t seq;
    int rc;

    if (m->amount == NULL || m->currency == NULL || m->at == NULL) {
        say("--manual-sale needs --amount, --currency and --at");
        return EXIT_USAGE;
    }
    if (sfj_amount_parse(m->amount, m->currency, &amount) != SFJ_OK ||
        sfj__cli_parse_time(m->at, &at) != 0) {
        say("bad %s",
            sfj_amount_parse(m->amount, m->currency, &amount) != SFJ_OK
                ? "--amount"
                : "--at");
        return EXIT_USAGE;
    }
    if (m->txn == NULL && sfj_txn_id_short(id, sizeof id) != SFJ_OK)
        return EXIT_INTERNAL;
    ev.kind = SFJ_EV_TXN_OFFLINE;
    ev.status = SFJ_ST_APPROVED;
    ev.txn_id = m->txn != NULL ? m->txn : id;
    ev.merchant_ref = ev.txn_id;
    ev.amount = amount;
    ev.currency = m->currency;
    ev.auth_code = m->auth;
    ev.wall_ms = at;
    ev.note = m->note;
    ev.flags = SFJ_EVF_MANUAL;
    rc = sfj_append(j, &ev, &seq);
    if (rc != SFJ_OK) {
        say("manual sale: %s (%s)", sfj_strerror(rc), sfj_journal_errmsg(j));
        return rc == SFJ_EINVAL || rc == SFJ_EPAN ? EXIT_USAGE : exit_for(rc);
    }
    printf("manual sale journaled: txn %s seq %llu\n", ev.txn_id,
           (unsigned long long)seq);
    return EXIT_OK;
}

static int reconcile(sfj_journal *j, sfj_recon_opts *o, char **reports, int n,
                     int apply, const char *fmt, const settle_in *st)
{
    sfj_settle_opts so = SFJ_SETTLE_OPTS_INIT;
    sfj_settle_diff *sd = NULL;
    sfj_recon *r = NULL;
    const sfj_recon_result *res = NULL;
    uint8_t *data = NULL;
    size_t len, written = 0, i;
    int rc, k, code = EXIT_INTERNAL;

    rc = sfj_recon_new(o, &r);
    if (rc != SFJ_OK) {
        say("mapping: %s", sfj_strerror(rc));
        code = EXIT_USAGE;
        goto done;
    }
    for (k = 0; k < n; k++) {
        rc = sfj__cli_read_file(reports[k], REPORT_MAX, &data, &len);
        if (rc != 0) {
            say("%s: cannot read", reports[k]);
            code = rc == -2 ? SFJ__EX_NOTFOUND : EXIT_REPORT;
            goto done;
        }
        rc = sfj_recon_add_report(r, reports[k], (const char *)data, len);
        free(data);
        data = NULL;
        if (rc != SFJ_OK) {
            say("%s", sfj_recon_errmsg(r));
            code = exit_for(rc);
            goto done;
        }
    }
    rc = n > 0 ? sfj_recon_run(r, j) : SFJ_OK;
    if (rc == SFJ_OK && apply) {
        rc = sfj_recon_apply(r, j, &written);
        if (rc == SFJ_OK)
            rc = sfj_recon_run(r, j); /* report what is left */
    }
    if (rc == SFJ_OK && st->n > 0) {
        so.recon = n > 0 ? r : NULL;
        rc = sfj_settle_compare(j, st->host, st->n, &so, &sd);
    }
    if (rc != SFJ_OK) {
        say("%s",
            rc == SFJ_EREPORT ? sfj_recon_errmsg(r) : sfj_journal_errmsg(j));
        code = exit_for(rc);
        goto done;
    }
    res = sfj_recon_result_get(r);
    if (strcmp(fmt, "json") == 0) {
        if (res != NULL)
            print_json(res, apply, written, sd != NULL);
        else
            printf("{");
        if (sd != NULL) {
            printf("\"settlement\":");
            print_settle_json(sd);
        }
        printf("}\n");
    } else if (strcmp(fmt, "csv") == 0) {
        if (res != NULL)
            print_csv(res);
    } else {
        if (res != NULL)
            print_text(res, apply, written);
        if (sd != NULL)
            print_settle_text(sd);
    }
    code = EXIT_OK;
    for (i = 1; res != NULL && i < SFJ_RECON_CLASSES; i++) {
        if (res->count[i] > 0)
            code = EXIT_ACTION;
    }
    if (sd != NULL && !sd->balanced)
        code = EXIT_ACTION;
    if (fflush(stdout) != 0)
        code = SFJ__EX_IO;
done:
    sfj_settle_diff_free(sd);
    sfj_recon_free(r);
    return code;
}

int main(int argc, char **argv)
{
    enum {
        O_JSONL = 256,
        O_COLUMN,
        O_MINOR,
        O_TZ,
        O_WINDOW,
        O_APPLY,
        O_VERSION,
        O_MANUAL,
        O_AMOUNT,
        O_CURRENCY,
        O_AT,
        O_AUTH,
        O_NOTE,
        O_TXN,
        O_SETTLE
    };
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"mapping", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"jsonl", no_argument, NULL, O_JSONL},
        {"column", required_argument, NULL, O_COLUMN},
        {"minor", no_argument, NULL, O_MINOR},
        {"tz", required_argument, NULL, O_TZ},
        {"window", required_argument, NULL, O_WINDOW},
        {"apply", no_argument, NULL, O_APPLY},
        {"version", no_argument, NULL, O_VERSION},
        {"manual-sale", no_argument, NULL, O_MANUAL},
        {"amount", required_argument, NULL, O_AMOUNT},
        {"currency", required_argument, NULL, O_CURRENCY},
        {"at", required_argument, NULL, O_AT},
        {"auth-code", required_argument, NULL, O_AUTH},
        {"note", required_argument, NULL, O_NOTE},
        {"txn", required_argument, NULL, O_TXN},
        {"settlement", required_argument, NULL, O_SETTLE},
        {NULL, 0, NULL, 0}};
    sfj_recon_opts o = SFJ_RECON_OPTS_INIT;
    sfj_journal_opts jo = SFJ_JOURNAL_OPTS_INIT;
    const char *key = NULL, *fmt = "text", *mapping = "generic";
    char **cols = calloc((size_t)argc + 1, sizeof *cols);
    sfj_keys *keys = NULL;
    sfj_journal *j = NULL;
    manual m = {0};
    sfj_settle_line host[SFJ_SETTLE_LINES_MAX];
    settle_in st = {host, 0};
    int c, ncols = 0, apply = 0, is_manual = 0, jsonl = 0, minor = 0, rc,
           code = EXIT_INTERNAL, i;
    int64_t window = 0;
    uint64_t u;
    const char *tz = NULL;

    if (cols == NULL)
        return EXIT_INTERNAL;
    opterr = 0; /* one line, no usage: docs/CLI.md */
    while ((c = getopt_long(argc, argv, ":k:m:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': /* again for the keys of earlier epochs */
            if (sfj__cli_key_opt("sfj-reconcile", optarg, &key) != SFJ__EX_OK) {
                free(cols);
                return EXIT_USAGE;
            }
            break;
        case 'm':
            mapping = optarg;
            break;
        case 'o':
            fmt = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            fputs(help, stdout);
            free(cols);
            return EXIT_OK;
        case O_VERSION:
            printf("sfj-reconcile %s\n", sfj_version());
            free(cols);
            return EXIT_OK;
        case O_JSONL:
            jsonl = 1;
            break;
        case O_COLUMN:
            cols[ncols++] = optarg;
            break;
        case O_MINOR:
            minor = 1;
            break;
        case O_TZ:
            tz = optarg;
            break;
        case O_WINDOW:
            if (sfj__cli_parse_u64(optarg, &u) != 0 || u > 86400 * 7) {
                say("bad --window: %s", optarg);
                free(cols);
                return EXIT_USAGE;
            }
            window = (int64_t)u * 1000;
            break;
        case O_APPLY:
            apply = 1;
            break;
        case O_MANUAL:
            is_manual = 1;
            break;
        case O_AMOUNT:
            m.amount = optarg;
            break;
        case O_CURRENCY:
            m.currency = optarg;
            break;
        case O_AT:
            m.at = optarg;
            break;
        case O_AUTH:
            m.auth = optarg;
            break;
        case O_NOTE:
            m.note = optarg;
            break;
        case O_TXN:
            m.txn = optarg;
            break;
        case O_SETTLE:
            if (st.n == SFJ_SETTLE_LINES_MAX ||
                parse_settle(optarg, &host[st.n]) != 0) {
                say("bad --settlement %s (CUR:COUNT:AMOUNT, at most %d)",
                    optarg, SFJ_SETTLE_LINES_MAX);
                free(cols);
                return EXIT_USAGE;
            }
            for (i = 0; i < (int)st.n; i++) {
                if (strcmp(host[i].currency, host[st.n].currency) == 0) {
                    say("--settlement %s: currency given twice", optarg);
                    free(cols);
                    return EXIT_USAGE;
                }
            }
            st.n++;
            break;
        default:
            free(cols);
            return sfj__cli_bad_option("sfj-reconcile", c, optopt,
                                       argv[optind - 1]);
        }
    }
    if (optind >= argc || key == NULL ||
        (!is_manual && optind + 1 >= argc && st.n == 0) ||
        (is_manual && apply) || (is_manual && optind + 1 < argc) ||
        (is_manual && st.n > 0) || (apply && optind + 1 >= argc) ||
        (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0 &&
         strcmp(fmt, "csv") != 0)) {
        say("%s", key == NULL          ? "a key file is needed (-k FILE)"
                  : optind >= argc     ? "the journal directory is needed"
                  : is_manual && apply ? "--manual-sale excludes --apply"
                  : is_manual && st.n  ? "--manual-sale excludes --settlement"
                  : is_manual          ? "--manual-sale takes no report"
                  : optind + 1 >= argc ? "a report is needed"
                                       : "-o takes text, json or csv");
        free(cols);
        return EXIT_USAGE;
    }
    if (sfj_recon_preset(mapping, &o) != SFJ_OK) {
        say("unknown mapping %s (generic, iso8583)", mapping);
        free(cols);
        return EXIT_USAGE;
    }
    o.format = jsonl ? SFJ_RECON_JSONL : SFJ_RECON_CSV;
    o.amount_minor |= minor;
    o.window_ms = window;
    for (i = 0; i < ncols; i++) {
        if (set_column(&o, cols[i]) != 0) {
            say("bad --column %s", cols[i]);
            free(cols);
            return EXIT_USAGE;
        }
    }
    if (tz != NULL) {
        int h, mm;

        if (strlen(tz) != 6 || (tz[0] != '+' && tz[0] != '-') ||
            sscanf(tz + 1, "%2d:%2d", &h, &mm) != 2 || h > 14 || mm > 59) {
            say("bad --tz %s (+HH:MM)", tz);
            free(cols);
            return EXIT_USAGE;
        }
        o.tz_offset_min = (h * 60 + mm) * (tz[0] == '-' ? -1 : 1);
    }
    if (sfj_init() != SFJ_OK)
        goto done;
    code = sfj__cli_load_key("sfj-reconcile", key, &keys);
    if (code != SFJ__EX_OK)
        goto done;
    jo.flags = SFJ_OPEN_NOCREATE |
               (apply || is_manual ? 0 : (unsigned)SFJ_OPEN_RDONLY);
    rc = sfj_journal_open(argv[optind], keys, &jo, &j);
    if (rc != SFJ_OK) {
        say("cannot open %s: %s (%s)", argv[optind], sfj_strerror(rc),
            sfj_journal_errmsg(NULL));
        code = exit_for(rc);
        goto done;
    }
    code = is_manual ? manual_sale(j, &m)
                     : reconcile(j, &o, argv + optind + 1, argc - optind - 1,
                                 apply, fmt, &st);
done:
    if (j != NULL && sfj_journal_close(j) != SFJ_OK && code == EXIT_OK)
        code = SFJ__EX_IO;
    sfj_keys_free(keys);
    free(cols);
    return code;
}
