/* sfj-recover DIR --key FILE [--json] [--mark-reversals]
 *
 * Opens the journal read-only (so that a report changes nothing on disk),
 * runs sfj_recover and prints the report. It reopens writable only to
 * rebuild a txn index that is behind, or for --mark-reversals, which
 * journals a REVERSAL (status REV_DECIDED) for each in-doubt txn and then
 * reports again. Exit codes: see recover_tool.h and docs/sfj-recover.1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recover_tool.h"
#include "sfj/sys/internal.h"

static const char usage[] =
    "usage: sfj-recover DIR --key FILE [--json] [--mark-reversals]\n";

static const char help[] =
    "sfj-recover: after a crash or power cut, say what the terminal must do.\n"
    "\n"
    "  DIR                the journal directory\n"
    "  --key FILE         the terminal's master key file (mode 0600)\n"
    "  --json             machine-readable output instead of the table\n"
    "  --mark-reversals   journal a reversal decision for every in-doubt\n"
    "                     txn (the forwarder then sends it); without it\n"
    "                     nothing is written\n"
    "  --help             this text\n"
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
    "              age, and offline sales pending per currency (minor\n"
    "              units). The forwarder sends them; no action unless the\n"
    "              age grows.\n"
    "\n"
    "Exit: 0 clean, 1 action needed, 2 journal damaged, 64 usage,\n"
    "65 wrong key, 66 journal or key not found, 70 internal error,\n"
    "73 could not write, 74 I/O error, 76 unsupported format,\n"
    "77 unsafe key file permissions or access denied.\n"
    "See sfj-recover(1).\n";

static int exit_for(int rc)
{
    switch (rc) {
    case SFJ_EAUTH:
        return EXIT_WRONGKEY;
    case SFJ_ENOTFOUND:
        return EXIT_NOTFOUND;
    case SFJ_ECORRUPT:
        return SFJ_REPORT_CORRUPT;
    case SFJ_EIO:
        return EXIT_IO;
    case SFJ_EVERSION:
        return EXIT_VERSION;
    case SFJ_EPERM:
        return EXIT_PERM;
    case SFJ_EFULL:
    case SFJ_EDEAD:
    case SFJ_ELIMIT:
    case SFJ_ESTATE:
        return EXIT_WRITE;
    default:
        return EXIT_INTERNAL;
    }
}

static int open_journal(sfj_journal **j, const char *dir, const sfj_keys *k,
                        int writable)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    int rc;

    o.flags =
        SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK | (writable ? 0 : SFJ_OPEN_RDONLY);
    rc = sfj_journal_open(dir, k, &o, j);
    if (rc != SFJ_OK)
        fprintf(stderr, "sfj-recover: cannot open %s: %s (%s)\n", dir,
                sfj_strerror(rc), sfj_journal_errmsg(NULL));
    return rc;
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
    int rc, code = EXIT_INTERNAL;

    memset(&c, 0, sizeof c);
    c.dir = dir;
    if (sfj_init() != SFJ_OK)
        goto done;
    rc = sfj_keys_load_file(keyfile, &keys);
    if (rc != SFJ_OK) {
        fprintf(stderr, "sfj-recover: key file %s: %s\n", keyfile,
                sfj_strerror(rc));
        code = rc == SFJ_ECORRUPT ? EXIT_USAGE : exit_for(rc);
        goto done;
    }
    rc = open_journal(&j, dir, keys, 0);
    if (rc == SFJ_OK)
        rc = sfj_recover(j, &r);
    /* A report never writes; rebuilding a stale index or marking
     * reversals does, on a journal found undamaged. */
    if (rc == SFJ_OK && r->status != SFJ_REPORT_CORRUPT &&
        (r->index_stale || (mark && r->n_in_doubt > 0))) {
        sfj_journal_close(j);
        j = NULL;
        rc = open_journal(&j, dir, keys, 1);
        if (rc == SFJ_OK && mark && r->n_in_doubt > 0)
            rc = mark_reversals(j, r, &c.marked);
        sfj_report_free(r);
        r = NULL;
        if (rc == SFJ_OK)
            rc = sfj_recover(j, &r);
    }
    if (rc != SFJ_OK) {
        if (j != NULL)
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
        code = EXIT_IO;
        goto done;
    }
    code = r->status;
done:
    sfj_report_free(r);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return code;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *key = NULL;
    int json = 0, mark = 0, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            fputs(help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--mark-reversals") == 0) {
            mark = 1;
        } else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
            key = argv[++i];
        } else if (strncmp(argv[i], "--key=", 6) == 0) {
            key = argv[i] + 6;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "sfj-recover: unknown option %s\n%s", argv[i],
                    usage);
            return EXIT_USAGE;
        } else if (dir == NULL) {
            dir = argv[i];
        } else {
            fprintf(stderr, "sfj-recover: one journal directory only\n%s",
                    usage);
            return EXIT_USAGE;
        }
    }
    if (dir == NULL || key == NULL) {
        fprintf(stderr, "sfj-recover: %s is required\n%s",
                dir == NULL ? "DIR" : "--key FILE", usage);
        return EXIT_USAGE;
    }
    return run(dir, key, json, mark);
}
