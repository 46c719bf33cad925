/* sfj-recover report output: a table for people, JSON for machines. Amounts
 * are printed in minor units (cents) with their currency code, times as
 * recorded, in UTC. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli_money.h"
#include "recover_tool.h"

static const char *status_name(int s)
{
    return s == SFJ_REPORT_CLEAN    ? "clean"
           : s == SFJ_REPORT_ACTION ? "action_needed"
                                    : "corrupt";
}

static void fmt_time(char *buf, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "-");
        return;
    }
    strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static void fmt_age(char *buf, size_t cap, int64_t ms)
{
    int64_t s = ms / 1000;

    if (s < 120)
        snprintf(buf, cap, "%" PRId64 " s", s);
    else if (s < 7200)
        snprintf(buf, cap, "%" PRId64 " min", s / 60);
    else if (s < 172800)
        snprintf(buf, cap, "%" PRId64 " h", s / 3600);
    else
        snprintf(buf, cap, "%" PRId64 " days", s / 86400);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

/* ---- table ---------------------------------------------------------- */

static const struct {
    sfj_report_kind type;
    const char *title;
    const char *advice;
} sections[] = {
    {SFJ_REPORT_IN_DOUBT, "IN DOUBT",
     "sent to the host, no answer journaled: the customer may have been "
     "charged. Inquire with the host or reverse (sfj-recover "
     "--mark-reversals journals the decision); do not repeat the sale "
     "first."},
    {SFJ_REPORT_NO_RECEIPT, "NO RECEIPT",
     "approved, but no receipt was printed: reprint it (the copy is marked "
     "DUPLICATE)."},
    {SFJ_REPORT_PRINT_FAILED, "PRINT FAILED",
     "approved, the printer failed (paper, jam): fix the printer, then "
     "reprint."},
    {SFJ_REPORT_ATTENTION, "NEEDS ATTENTION",
     "the host rejected these entries; they are kept and must be resolved "
     "by hand with the acquirer."},
};

static void table_items(FILE *f, const sfj_report *r, sfj_report_kind type,
                        const char *title, const char *advice)
{
    char when[32], amount[48];
    size_t i, n = 0;

    for (i = 0; i < r->n_items; i++)
        n += r->items[i].type == type;
    if (n == 0)
        return;
    fprintf(f, "\n%s (%zu): %s\n", title, n, advice);
    fprintf(f, "  %-8s %-10s %-34s %18s %s\n", "SEQ", "EVENT", "TXN ID",
            "AMOUNT", "RECORDED (UTC)");
    for (i = 0; i < r->n_items; i++) {
        const sfj_report_item *it = &r->items[i];

        if (it->type != type)
            continue;
        fmt_time(when, sizeof when, it->wall_ms);
        sfj__cli_format_amount(it->amount, it->currency, amount, sizeof amount);
        fprintf(f, "  %-8" PRIu64 " %-10s %-34s %18s %s", it->seq,
                sfj_kind_name(it->kind), it->txn_id[0] ? it->txn_id : "-",
                amount, when);
        if (it->host_error)
            fprintf(f, "  (host answered ERROR)");
        if (type == SFJ_REPORT_ATTENTION)
            fprintf(f, "  reason %d: %s", it->reason, it->text);
        fputc('\n', f);
    }
}

void recover_print_table(FILE *f, const out_ctx *c, const sfj_report *r)
{
    char when[32], age[32], amount[48];
    size_t i;

    fprintf(f, "sfj-recover: %s (terminal %s)\n", c->dir, c->terminal_id);
    fprintf(f,
            "Journal    entries %" PRIu64 "..%" PRIu64
            ", acknowledged by the host up to %" PRIu64 "\n",
            r->first_seq, r->last_seq, r->acked_seq);
    if (r->bad_seq != 0)
        fprintf(f, "Chain      DAMAGED at seq %" PRIu64 ": %s\n", r->bad_seq,
                r->bad_reason);
    else
        fprintf(f, "Chain      verified %" PRIu64 "..%" PRIu64 ": OK\n",
                r->verified_from, r->verified_to);
    if (r->index_rebuilt)
        fprintf(f, "Index      rebuilt (%" PRIu64 " entries replayed)\n",
                r->index_replayed);
    else if (r->index_stale)
        fprintf(f, "Index      behind the journal and not rebuilt\n");
    else
        fprintf(f, "Index      up to date\n");
    fprintf(f, "Readers    %u stale reader slot(s) cleared\n",
            r->stale_readers);
    if (r->receipts_untracked)
        fprintf(f, "Receipts   not tracked by this journal (no printer): "
                   "no receipt actions\n");
    if (c->marked > 0)
        fprintf(f, "Reversals  %u reversal decision(s) journaled now\n",
                c->marked);
    for (i = 0; i < sizeof sections / sizeof sections[0]; i++)
        table_items(f, r, sections[i].type, sections[i].title,
                    sections[i].advice);
    if (r->settlement_pending)
        fprintf(f,
                "\nSETTLEMENT: the batch was closed at seq %" PRIu64
                " but no host answer is journaled: check the batch totals "
                "with the host before the next settlement.\n",
                r->settlement_seq);
    fprintf(f, "\nBacklog    %" PRIu64 " entr%s not yet forwarded to the host",
            r->unforwarded, r->unforwarded == 1 ? "y" : "ies");
    if (r->unforwarded > 0) {
        fmt_time(when, sizeof when, r->oldest_unforwarded_ms);
        fmt_age(age, sizeof age, r->oldest_unforwarded_age_ms);
        fprintf(f, "; oldest seq %" PRIu64 ", recorded %s (%s old)",
                r->oldest_unforwarded_seq, when, age);
    }
    fputc('\n', f);
    fprintf(f, "           %" PRIu64 " offline sale(s) pending",
            r->offline_pending);
    for (i = 0; i < r->n_amounts; i++) {
        sfj__cli_format_amount(r->amounts[i].amount, r->amounts[i].currency,
                               amount, sizeof amount);
        fprintf(f, "%s %s (%" PRIu64 ")", i == 0 ? ":" : ",", amount,
                r->amounts[i].count);
    }
    fputc('\n', f);
    fprintf(f, "Result     %s (exit %d)\n",
            r->status == SFJ_REPORT_CLEAN    ? "CLEAN: nothing to do"
            : r->status == SFJ_REPORT_ACTION ? "ACTION NEEDED: see above"
                                             : "CORRUPT: see Chain above",
            recover_exit_code(r));
}

int recover_exit_code(const sfj_report *r)
{
    return r->status == SFJ_REPORT_CLEAN    ? SFJ__EX_OK
           : r->status == SFJ_REPORT_ACTION ? SFJ__EX_ATTENTION
                                            : SFJ__EX_DAMAGED;
}

/* ", \"exponent\": N" (ISO 4217), null without a currency. */
static void json_exponent(FILE *f, const char *cur)
{
    int e = sfj__cli_currency_exponent(cur);

    if (e >= 0)
        fprintf(f, ", \"exponent\": %d", e);
    else
        fprintf(f, ", \"exponent\": null");
}

/* ---- JSON ----------------------------------------------------------- */

static void json_items(FILE *f, const sfj_report *r, sfj_report_kind type,
                       const char *name)
{
    size_t i;
    int first = 1;

    fprintf(f, "  \"%s\": [", name);
    for (i = 0; i < r->n_items; i++) {
        const sfj_report_item *it = &r->items[i];

        if (it->type != type)
            continue;
        fprintf(f,
                "%s\n    {\"seq\": %" PRIu64 ", \"first_seq\": %" PRIu64
                ", \"event\": \"%s\", \"txn_id\": ",
                first ? "" : ",", it->seq, it->first_seq,
                sfj_kind_name(it->kind));
        json_str(f, it->txn_id);
        fprintf(f, ", \"amount\": %" PRId64 ", \"currency\": ", it->amount);
        json_str(f, it->currency);
        json_exponent(f, it->currency);
        fprintf(f, ", \"recorded_ms\": %" PRId64, it->wall_ms);
        if (type == SFJ_REPORT_IN_DOUBT)
            fprintf(f, ", \"host_error\": %s",
                    it->host_error ? "true" : "false");
        if (type == SFJ_REPORT_ATTENTION) {
            fprintf(f, ", \"reason\": %d, \"text\": ", it->reason);
            json_str(f, it->text);
        }
        fputc('}', f);
        first = 0;
    }
    fprintf(f, "%s],\n", first ? "" : "\n  ");
}

void recover_print_json(FILE *f, const out_ctx *c, const sfj_report *r)
{
    size_t i;

    fprintf(f, "{\n  \"journal\": ");
    json_str(f, c->dir);
    fprintf(f, ",\n  \"terminal_id\": ");
    json_str(f, c->terminal_id);
    fprintf(f, ",\n  \"status\": \"%s\",\n", status_name(r->status));
    fprintf(f, "  \"exit_code\": %d,\n", recover_exit_code(r));
    fprintf(f, "  \"first_seq\": %" PRIu64 ",\n", r->first_seq);
    fprintf(f, "  \"last_seq\": %" PRIu64 ",\n", r->last_seq);
    fprintf(f, "  \"acked_seq\": %" PRIu64 ",\n", r->acked_seq);
    fprintf(f, "  \"stale_readers\": %u,\n", r->stale_readers);
    fprintf(f,
            "  \"chain\": {\"ok\": %s, \"verified_from\": %" PRIu64
            ", \"verified_to\": %" PRIu64 ", \"bad_seq\": %" PRIu64
            ", \"reason\": ",
            r->bad_seq ? "false" : "true", r->verified_from, r->verified_to,
            r->bad_seq);
    json_str(f, r->bad_reason);
    fprintf(f, "},\n");
    fprintf(f,
            "  \"index\": {\"rebuilt\": %s, \"stale\": %s, \"replayed\": "
            "%" PRIu64 "},\n",
            r->index_rebuilt ? "true" : "false",
            r->index_stale ? "true" : "false", r->index_replayed);
    fprintf(f, "  \"reversals_marked\": %u,\n", c->marked);
    fprintf(f, "  \"receipts_tracked\": %s,\n",
            r->receipts_untracked ? "false" : "true");
    json_items(f, r, SFJ_REPORT_IN_DOUBT, "in_doubt");
    json_items(f, r, SFJ_REPORT_NO_RECEIPT, "no_receipt");
    json_items(f, r, SFJ_REPORT_PRINT_FAILED, "print_failed");
    json_items(f, r, SFJ_REPORT_ATTENTION, "needs_attention");
    fprintf(f, "  \"settlement\": {\"seq\": %" PRIu64 ", \"pending\": %s},\n",
            r->settlement_seq, r->settlement_pending ? "true" : "false");
    fprintf(f, "  \"backlog\": {\n");
    fprintf(f, "    \"unforwarded\": %" PRIu64 ",\n", r->unforwarded);
    fprintf(f, "    \"oldest_seq\": %" PRIu64 ",\n", r->oldest_unforwarded_seq);
    fprintf(f, "    \"oldest_recorded_ms\": %" PRId64 ",\n",
            r->oldest_unforwarded_ms);
    fprintf(f, "    \"oldest_age_ms\": %" PRId64 ",\n",
            r->oldest_unforwarded_age_ms);
    fprintf(f, "    \"offline_pending\": %" PRIu64 ",\n", r->offline_pending);
    fprintf(f, "    \"amounts\": [");
    for (i = 0; i < r->n_amounts; i++) {
        fprintf(f, "%s{\"currency\": ", i ? ", " : "");
        json_str(f, r->amounts[i].currency);
        json_exponent(f, r->amounts[i].currency);
        fprintf(f, ", \"count\": %" PRIu64 ", \"amount\": %" PRId64 "}",
                r->amounts[i].count, r->amounts[i].amount);
    }
    fprintf(f, "]\n  }\n}\n");
}
