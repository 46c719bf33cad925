/* sfj-recover DIR -k FILE [-o text|json] [--mark-reversals]
 *
 * Opens the journal read-only (so that a report changes nothing on disk),
 * runs sfj_recover and prints the report. It reopens writable only to
 * rebuild a txn index that is behind, or for --mark-reversals, which
 * journals a REVERSAL (status REV_DECIDED) for each in-doubt txn and then
 * reports again. Exit codes: docs/CLI.md and docs/sfj-recover.1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "recover_tool.h"
#include "sfj/sys/internal.h"

static const char usage[] =
    "usage: sfj-recover DIR -k FILE [-o text|json] [--mark-reversals]\n";

static const char help[] =
    "sfj-recover: after a crash or power cut, say what the terminal must do.\n"
    "\n"
    "  DIR                the journal directory\n"
    "  -k, --key FILE     the terminal's master key file (mode 0600)\n"
    "  -o, --output FMT   text (the report, default) or json\n"
    "  --mark-reversals   journal a reversal decision for every in-doubt\n"
    "                     txn (the forwarder then sends it); without it\n"
    "                     nothing is written\n"
    "  -h, --help         this text\n"
    "      --version      the version\n"
    "\n"
    "Report lines:\n"
    "  Journal     oldest and newest entry, and how far the host has\n"
    "              acknowledged.\n"
    "  Chain       the hash chain and every record from the last checkpoint\n"
    "              to the newest entry were checked; DAMAGED names the first\n"
    "              bad seq: keep the journal, call support (exit 2).\n"
    "  Index       the transaction index was up to date, or was rebuilt\n"
    "              from the entries.\n"
    "  Readers     lock slots left by crashed processes, now freed.\n"
    "  IN DOUBT    the request went to the host but no answer was saved:\n"
    "              the card may have been charged. Inquire or reverse;\n"
    "              never simply repeat the sale.\n"
    "  NO RECEIPT  approved, no receipt printed: reprint (DUPLICATE).\n"
    "  PRINT FAILED approved, the printer failed: fix it, reprint.\n"
    "  NEEDS ATTENTION the host rejected the entry: resolve by hand.\n"
    "  SETTLEMENT  a batch was closed but the host's answer is missing.\n"
    "  Backlog     entries still to be forwarded, the oldest one and its\n"
    "              age, and offline sales pending per currency (count in\n"
    "              brackets). The forwarder sends them; no action unless\n"
    "              the age grows.\n"
    "Amounts are in major units (EUR 12.50, JPY 1250, KWD 1.250); JSON\n"
    "keeps minor units and gives the currency's exponent.\n"
    "\n"
    "Exit: 0 clean, 1 action needed, 64 usage, 65 journal damaged,\n"
    "66 journal or key not found, 70 internal error, 73 could not write,\n"
    "74 I/O error, 76 unsupported format, 77 wrong key or access denied,\n"
    "75 the app has the journal open (--mark-reversals refused),\n"
    "78 key file too open or not a key, 79 DIR is a host's mirror\n"
    "(docs/CLI.md).\n"
    "See sfj-recover(1).\n";

/* Writing a reversal or an index can also fail for want of room. */
static int exit_for(int rc)
{
    switch (rc) {
    case SFJ_EFULL:
    case SFJ_ELIMIT:
    case SFJ_ESTATE:
        return SFJ__EX_CANTWRITE;
    default:
        return sfj__cli_exit_for(rc);
    }
}

static int open_journal(sfj_journal **j, const char *dir, const sfj_keys *k,
                        int writable)
{
    return sfj__cli_open_journal("sfj-recover", dir, k,
                                 writable ? 0 : SFJ_OPEN_RDONLY, j);
}

/* Journal a reversal decision for every in-doubt txn of `r`. */
static int mark_reversals(sfj_journal *j, const sfj_report *r, unsigned *marked)
{
    sfj_event ev = SFJ_EVENT_INIT;
    size_t i;
    int rc = SFJ_OK;

    for (i = 0; i < r->n_items && rc == SFJ_OK; i++) {
        const sfj_report_item *it = &r->items[i];

        if (it->type != SFJ_REPORT_IN_DOUBT || it->txn_id[0] == '\0')
            continue;
        ev.kind = SFJ_EV_REVERSAL;
        ev.status = SFJ_ST_REV_DECIDED;
        ev.txn_id = it->txn_id;
        ev.amount = it->amount;
        ev.currency = it->currency[0] ? it->currency : NULL;
        rc = sfj_append(j, &ev, NULL);
        if (rc == SFJ_OK)
            (*marked)++;
        else
            fprintf(stderr, "sfj-recover: reversal of seq %llu: %s (%s)\n",
                    (unsigned long long)it->seq, sfj_strerror(rc),
                    sfj_journal_errmsg(j));
    }
    return rc;
}

static int run(const char *dir, const char *keyfile, int json, int mark)
{
    sfj_keys *keys = NULL;
    sfj_journal *j = NULL;
    sfj_report *r = NULL;
    out_ctx c;
    int rc, code = SFJ__EX_INTERNAL;

    memset(&c, 0, sizeof c);
    c.dir = dir;
    if (sfj_init() != SFJ_OK) {
        fprintf(stderr, "sfj-recover: cannot initialise libsodium\n");
        goto done;
    }
    code = sfj__cli_load_key("sfj-recover", keyfile, &keys);
    if (code != SFJ__EX_OK)
        goto done;
    code = open_journal(&j, dir, keys, 0);
    if (code != SFJ__EX_OK)
        goto done;
    if (sfj__journal_is_mirror(j)) {
        fprintf(stderr,
                "sfj-recover: %s is a host's mirror, not a terminal journal: "
                "it holds no txn index, acks or attention marks, so there is "
                "nothing to recover; check it with sfj-dump --verify\n",
                dir);
        code = SFJ__EX_MIRROR;
        goto done;
    }
    rc = sfj_recover(j, &r);
    /* A report never writes; rebuilding a stale index or marking
     * reversals does, on a journal found undamaged. */
    if (rc == SFJ_OK && r->status != SFJ_REPORT_CORRUPT &&
        (r->index_stale || (mark && r->n_in_doubt > 0))) {
        sfj_journal_close(j);
        j = NULL;
        code = open_journal(&j, dir, keys, 1);
        if (code == SFJ__EX_BUSY && mark && r->n_in_doubt > 0) {
            fprintf(stderr, "sfj-recover: refusing --mark-reversals while "
                            "the payment app runs; stop it first\n");
            goto done;
        }
        if (code == SFJ__EX_BUSY) {
            /* The app keeps its own index level: report what is there. */
            code = open_journal(&j, dir, keys, 0);
            if (code != SFJ__EX_OK)
                goto done;
            sfj_report_free(r);
            r = NULL;
            rc = sfj_recover(j, &r);
            goto report;
        }
        if (code != SFJ__EX_OK)
            goto done;
        rc = SFJ_OK;
        if (mark && r->n_in_doubt > 0)
            rc = mark_reversals(j, r, &c.marked);
        sfj_report_free(r);
        r = NULL;
        if (rc == SFJ_OK)
            rc = sfj_recover(j, &r);
    }
report:
    if (rc != SFJ_OK) {
        fprintf(stderr, "sfj-recover: %s: %s (%s)\n", dir, sfj_strerror(rc),
                sfj_journal_errmsg(j));
        code = exit_for(rc);
        goto done;
    }
    c.terminal_id = sfj__journal_terminal_id(j);
    if (json)
        recover_print_json(stdout, &c, r);
    else
        recover_print_table(stdout, &c, r);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "sfj-recover: cannot write output\n");
        code = SFJ__EX_CANTWRITE;
        goto done;
    }
    code = recover_exit_code(r);
done:
    sfj_report_free(r);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return code;
}

enum { OPT_JSON = 256, OPT_MARK, OPT_VERSION };

#define OUTPUTS (1u << SFJ__OUT_TEXT | 1u << SFJ__OUT_JSON)

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON}, /* alias, one release */
        {"mark-reversals", no_argument, NULL, OPT_MARK},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0}};
    const char *dir = NULL, *key = NULL;
    int json = 0, mark = 0, c;

    /* It decrypts the journal: nothing of it may reach a core file. */
    sfj__cli_no_core_dumps();
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:o:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage, stdout);
            fputs(help, stdout);
            return SFJ__EX_OK;
        case OPT_VERSION:
            printf("sfj-recover %s\n", sfj_version());
            return SFJ__EX_OK;
        case 'k':
            if (sfj__cli_key_opt("sfj-recover", optarg, &key) != SFJ__EX_OK)
                return SFJ__EX_USAGE;
            break;
        case 'o':
            if (sfj__cli_output_arg("sfj-recover", optarg, OUTPUTS, &json))
                return SFJ__EX_USAGE;
            json = json == SFJ__OUT_JSON;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_MARK:
            mark = 1;
            break;
        default:
            return sfj__cli_bad_option("sfj-recover", c, optopt,
                                       argv[optind - 1]);
        }
    }
    if (optind < argc)
        dir = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "sfj-recover: unexpected argument: %s (see --help)\n",
                argv[optind]);
        return SFJ__EX_USAGE;
    }
    if (dir == NULL || key == NULL) {
        fprintf(stderr, "sfj-recover: %s is required (see --help)\n",
                dir == NULL ? "the journal directory" : "-k/--key FILE");
        return SFJ__EX_USAGE;
    }
    return run(dir, key, json, mark);
}
