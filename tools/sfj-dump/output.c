/* Rows in table, JSON Lines or CSV form. Field names and columns are a
 * stable interface (docs/sfj-dump.1); add, never rename. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "cli_money.h"
#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"

static const char *const csv_columns =
    "seq,time,wall_ms,kind,kind_code,epoch,decrypted,status,status_code,boot,"
    "txn_id,amount,currency,auth_code,copy,payload_len,payload,exponent,"
    "rrn,stan,response_code,merchant_ref,card,tip,flags,flags_code,note,"
    "totals";

/* The event flags by name, "|" between them ("" for none). */
static void flag_names(unsigned flags, char *out, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SFJ_EVF_PARTIAL, "partial"},
                 {SFJ_EVF_MANUAL, "manual"},
                 {SFJ_EVF_RECONCILED, "reconciled"}};
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].bit))
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "|" : "",
                              names[i].name);
    }
}

/* A SETTLEMENT's per-currency totals for a person: "EUR 12 345.50, JPY 3
 * 1200" (count, then the net amount in major units); "" for none. */
static void totals_text(const sfj_entry *e, char *out, size_t cap)
{
    char amount[48];
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < e->n_totals && n < cap; i++) {
        sfj__cli_format_amount(e->totals[i].amount, e->totals[i].currency,
                               amount, sizeof amount);
        n += (size_t)snprintf(out + n, cap - n, "%s%" PRIu64 " x %s",
                              i ? ", " : "", e->totals[i].count, amount);
    }
}

/* For programs: "EUR:12:34550|JPY:3:1200" (minor units) in CSV, an array
 * of objects in JSON. */
static void totals_csv(const sfj_entry *e)
{
    size_t i;

    for (i = 0; i < e->n_totals; i++)
        printf("%s%s:%" PRIu64 ":%" PRId64, i ? "|" : "", e->totals[i].currency,
               e->totals[i].count, e->totals[i].amount);
}

static void totals_json(const sfj_entry *e)
{
    size_t i;

    printf("[");
    for (i = 0; i < e->n_totals; i++)
        printf("%s{\"currency\":\"%s\",\"count\":%" PRIu64
               ",\"amount\":%" PRId64 "}",
               i ? "," : "", e->totals[i].currency, e->totals[i].count,
               e->totals[i].amount);
    printf("]");
}

/* Kinds and statuses by name (sfj_kind_name's spelling) or number. */
int dump_kind_parse(const char *s, uint16_t *out)
{
    sfj_kind kind;
    uint64_t v;

    if (sfj_kind_from_name(s, &kind) == SFJ_OK) {
        *out = (uint16_t)kind;
        return 0;
    }
    if (sfj__cli_parse_u64(s, &v) != 0 || v == 0 || v > 0xffff)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int dump_status_parse(const char *s, int *out)
{
    sfj_status code;
    uint64_t v;

    if (sfj_status_from_name(s, &code) == SFJ_OK) {
        *out = (int)code;
        return 0;
    }
    if (sfj__cli_parse_u64(s, &v) != 0 || v > 0xffff)
        return -1;
    *out = (int)v;
    return 0;
}

/* The default table fits 120 columns: seconds, the library's 32-character
 * txn ids, amounts in major units, the payload cut to what is left. -o
 * wide shows every field in full. */
#define TABLE_WIDTH 120
#define PAYLOAD_COL (7 + 1 + 20 + 1 + 10 + 1 + 12 + 1 + 32 + 1 + 16 + 1)

void dump_print_header(const dump_opts *o)
{
    if (o->format == SFJ__OUT_CSV)
        printf("%s\n", csv_columns);
    else if (o->format == SFJ__OUT_TEXT)
        printf("%7s %-20s %-10s %-12s %-32s %16s %s\n", "SEQ", "TIME", "KIND",
               "STATUS", "TXN", "AMOUNT", "PAYLOAD");
    else if (o->format == SFJ__OUT_WIDE)
        printf("%8s  %-24s  %-10s  %-12s  %-32s  %20s  %-8s  %4s  %-12s  "
               "%-6s  %-3s  %-19s  %12s  %-24s  %-32s  %s  %s\n",
               "SEQ", "TIME", "KIND", "STATUS", "TXN", "AMOUNT", "AUTH", "COPY",
               "RRN", "STAN", "RC", "CARD", "TIP", "FLAGS", "MERCHANT_REF",
               "NOTE", "PAYLOAD");
}

/* `pl` cut to `room` characters, "..." marking the cut. */
static void print_cut(const char *pl, size_t room)
{
    size_t n = strlen(pl);

    if (n <= room)
        printf("%s\n", pl);
    else
        printf("%.*s...\n", (int)(room - 3), pl);
}

static const char *dash(const char *s)
{
    return s[0] != '\0' ? s : "-";
}

static void print_table(const dump_row *r, const char *time, const char *pl,
                        int wide)
{
    const sfj_entry *e = r->e;
    char amount[48] = "-", what[48], seconds[24], tip[48] = "-", flags[48];

    if (r->has_boot)
        snprintf(what, sizeof what, "boot %" PRIu32, r->boot);
    else if (r->kind == SFJ_EV_KEY_ROTATION)
        snprintf(what, sizeof what, "to key epoch %" PRIu32, r->epoch + 1);
    else
        snprintf(what, sizeof what, "(sealed, %zu bytes)", r->size);
    if (e != NULL && (e->amount != 0 || e->currency[0] != '\0'))
        sfj__cli_format_amount(e->amount, e->currency, amount, sizeof amount);
    if (wide) {
        printf("%8" PRIu64 "  %-24s  %-10s  ", r->seq, time,
               sfj_kind_name(r->kind));
        if (e == NULL) {
            printf("%-12s  %-32s  %20s  %-8s  %4s  %-12s  %-6s  %-3s  %-19s  "
                   "%12s  %-24s  %-32s  %s  %s\n",
                   "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                   "-", what);
            return;
        }
        if (e->tip != 0)
            sfj__cli_format_amount(e->tip, e->currency, tip, sizeof tip);
        flag_names(e->flags, flags, sizeof flags);
        printf("%-12s  %-32s  %20s  %-8s  %4" PRIu32 "  %-12s  %-6s  %-3s  "
               "%-19s  %12s  %-24s  %-32s  ",
               sfj_status_name(e->status), e->txn_id[0] ? e->txn_id : "-",
               amount, e->auth_code[0] ? e->auth_code : "-", e->copy,
               dash(e->rrn), dash(e->stan), dash(e->response_code),
               dash(e->card), tip, dash(flags), dash(e->merchant_ref));
        if (e->note[0] != '\0')
            sfj__cli_json_str(stdout, e->note);
        else
            printf("-");
        printf("  %s\n", pl);
        return;
    }
    /* "2026-11-23T12:00:00.000Z" to the second, still a time the tools
     * take. */
    snprintf(seconds, sizeof seconds, "%.19sZ", time);
    printf("%7" PRIu64 " %-20s %-10s ", r->seq, seconds,
           sfj_kind_name(r->kind));
    if (e == NULL) {
        printf("%-12s %-32s %16s ", "-", "-", "-");
        print_cut(what, TABLE_WIDTH - PAYLOAD_COL);
        return;
    }
    printf("%-12s %-32s %16s ", sfj_status_name(e->status),
           e->txn_id[0] ? e->txn_id : "-", amount);
    print_cut(pl, TABLE_WIDTH - PAYLOAD_COL);
}

/* The currency's ISO 4217 exponent, or null when there is none. */
static void print_exponent(const char *cur)
{
    int e = sfj__cli_currency_exponent(cur);

    if (e >= 0)
        printf("%d", e);
    else
        printf("null");
}

/* The acquirer's references, in the order of both machine formats'
 * columns: each as `,"name":"value"` in JSON, `,value` in CSV. */
static void print_references(const sfj_entry *e, int json)
{
    const struct {
        const char *name, *value;
    } refs[] = {{"rrn", e->rrn},
                {"stan", e->stan},
                {"response_code", e->response_code},
                {"merchant_ref", e->merchant_ref},
                {"card", e->card}};
    size_t i;

    for (i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        if (json) {
            printf(",\"%s\":", refs[i].name);
            sfj__cli_json_str(stdout, refs[i].value);
        } else {
            printf(",");
            sfj__cli_csv_str(stdout, refs[i].value);
        }
    }
}

static void print_json(const dump_row *r, const char *time, const char *pl)
{
    const sfj_entry *e = r->e;
    char flags[48];

    printf("{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"wall_ms\":%" PRId64
           ",\"kind\":\"%s\",\"kind_code\":%u,\"epoch\":%" PRIu32
           ",\"decrypted\":%s,",
           r->seq, time, r->wall_ms, sfj_kind_name(r->kind), r->kind, r->epoch,
           e ? "true" : "false");
    if (e == NULL) {
        printf("\"status\":null,\"status_code\":null,\"boot\":");
        if (r->has_boot)
            printf("%" PRIu32, r->boot);
        else
            printf("null");
        printf(",\"txn_id\":null,\"amount\":null,\"currency\":null,"
               "\"auth_code\":null,\"copy\":null,\"payload_len\":null,"
               "\"payload\":null,\"exponent\":null,\"rrn\":null,\"stan\":null,"
               "\"response_code\":null,\"merchant_ref\":null,\"card\":null,"
               "\"tip\":null,\"flags\":null,\"flags_code\":null,"
               "\"note\":null,\"totals\":null}\n");
        return;
    }
    printf("\"status\":\"%s\",\"status_code\":%u,\"boot\":%" PRIu32
           ",\"txn_id\":",
           sfj_status_name(e->status), e->status, e->boot);
    sfj__cli_json_str(stdout, e->txn_id);
    printf(",\"amount\":%" PRId64 ",\"currency\":", e->amount);
    sfj__cli_json_str(stdout, e->currency);
    printf(",\"auth_code\":");
    sfj__cli_json_str(stdout, e->auth_code);
    printf(",\"copy\":%" PRIu32 ",\"payload_len\":%zu,\"payload\":", e->copy,
           e->payload_len);
    if (r->kind == SFJ_EV_DICTIONARY)
        printf("null");
    else
        sfj__cli_json_str(stdout, pl);
    printf(",\"exponent\":");
    print_exponent(e->currency);
    flag_names(e->flags, flags, sizeof flags);
    print_references(e, 1);
    printf(",\"tip\":%" PRId64 ",\"flags\":\"%s\",\"flags_code\":%u,"
           "\"note\":",
           e->tip, flags, e->flags);
    sfj__cli_json_str(stdout, e->note);
    printf(",\"totals\":");
    totals_json(e);
    printf("}\n");
}

static void print_csv(const dump_row *r, const char *time, const char *pl)
{
    const sfj_entry *e = r->e;
    char flags[48];

    printf("%" PRIu64 ",%s,%" PRId64 ",%s,%u,%" PRIu32 ",%s,", r->seq, time,
           r->wall_ms, sfj_kind_name(r->kind), r->kind, r->epoch,
           e ? "true" : "false");
    if (e == NULL) {
        if (r->has_boot)
            printf(",,%" PRIu32 ",,,,,,,,,,,,,,,,,,\n", r->boot);
        else
            printf(",,,,,,,,,,,,,,,,,,,,\n");
        return;
    }
    printf("%s,%u,%" PRIu32 ",", sfj_status_name(e->status), e->status,
           e->boot);
    sfj__cli_csv_str(stdout, e->txn_id);
    printf(",%" PRId64 ",%s,", e->amount, e->currency);
    sfj__cli_csv_str(stdout, e->auth_code);
    printf(",%" PRIu32 ",%zu,", e->copy, e->payload_len);
    if (r->kind != SFJ_EV_DICTIONARY)
        sfj__cli_csv_str(stdout, pl);
    printf(",");
    if (sfj__cli_currency_exponent(e->currency) >= 0)
        print_exponent(e->currency);
    flag_names(e->flags, flags, sizeof flags);
    print_references(e, 0);
    printf(",%" PRId64 ",%s,%u,", e->tip, flags, e->flags);
    sfj__cli_csv_str(stdout, e->note);
    printf(",");
    totals_csv(e);
    printf("\n");
}

/* What --payload asked for; by default hex in JSON and CSV (a stable
 * interface) and, in the tables, masked text when every byte is
 * printable. */
static int payload_mode(const dump_opts *o, const sfj_entry *e)
{
    size_t i;

    if (o->payload_set || o->format == SFJ__OUT_JSON ||
        o->format == SFJ__OUT_CSV)
        return o->payload_mode;
    for (i = 0; i < e->payload_len; i++)
        if (e->payload[i] < 0x20 || e->payload[i] > 0x7e)
            return SFJ__PL_HEX;
    return SFJ__PL_TEXT;
}

int dump_print_row(const dump_opts *o, const dump_row *r)
{
    char time[40];
    char *pl = NULL;

    sfj__cli_format_time(r->wall_ms, time, sizeof time);
    if (r->e != NULL && r->kind == SFJ_EV_DICTIONARY) {
        /* The journal's compression dictionary (docs/FORMAT.md, "Journal
         * dictionary"): not secret, but no transaction's data either, so
         * the tables say what it is (the default one in the room its
         * payload column has) and the machine formats leave the payload
         * out (payload_len keeps its size). */
        pl = malloc(64);
        if (pl == NULL)
            return -1;
        snprintf(pl, 64,
                 o->format == SFJ__OUT_TEXT ? "(%zu bytes)"
                                            : "(journal dictionary, %zu bytes)",
                 r->e->payload_len);
    } else if (r->e != NULL) {
        pl = sfj__cli_payload(r->e->payload, r->e->payload_len,
                              payload_mode(o, r->e));
        if (pl == NULL)
            return -1;
    }
    if (r->e != NULL && r->e->n_totals > 0 && o->format != SFJ__OUT_JSON &&
        o->format != SFJ__OUT_CSV) {
        /* The table's last column: the totals, then the payload. */
        size_t cap = strlen(pl) + SFJ_SETTLE_LINES_MAX * 64 + 16;
        char *both = malloc(cap);

        if (both == NULL) {
            sodium_memzero(pl, strlen(pl));
            free(pl);
            return -1;
        }
        totals_text(r->e, both, cap - strlen(pl) - 4);
        if (pl[0] != '\0')
            strcat(strcat(both, " | "), pl);
        sodium_memzero(pl, strlen(pl));
        free(pl);
        pl = both;
    }
    if (o->format == SFJ__OUT_JSON)
        print_json(r, time, pl);
    else if (o->format == SFJ__OUT_CSV)
        print_csv(r, time, pl);
    else
        print_table(r, time, pl, o->format == SFJ__OUT_WIDE);
    if (pl != NULL) {
        sodium_memzero(pl, strlen(pl));
        free(pl);
    }
    return 0;
}
