/* sfj-dump: list, filter and verify a journal; write and check evidence
 * bundles. Reads only: the journal is opened read-only and may be in use
 * by the terminal app or an sfj-host at the same time. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"

static const char usage_text[] =
    "usage: sfj-dump [options] DIR\n"
    "       sfj-dump DIR --verify [--key FILE] [--pubkey HEX]\n"
    "       sfj-dump DIR --stats [-o json]\n"
    "       sfj-dump DIR --key FILE --txn ID --bundle FILE\n"
    "       sfj-dump --check-bundle FILE [--pubkey HEX]\n"
    "\n"
    "List the entries of an sfj journal (a terminal journal or an sfj-host\n"
    "mirror), verify its hash chain and checkpoint signatures, and write or\n"
    "check evidence bundles. The journal is only ever read.\n"
    "\n"
    "  -k, --key FILE        master key file: decrypt events (without it only\n"
    "                        clear headers are listed); repeat it for the\n"
    "                        keys of earlier key epochs, in any order\n"
    "  -t, --txn ID          only entries of this transaction (needs --key)\n"
    "      --from SEQ        first seq (inclusive)\n"
    "      --to SEQ          last seq (inclusive)\n"
    "      --since TIME      wall time >= TIME: ISO 8601 with or without a\n"
    "                        zone (local time), what the tools print, now,\n"
    "                        today, yesterday, -1h, -30m, -2d\n"
    "      --until TIME      wall time < TIME\n"
    "  -n, --lines N         only the N newest matching entries\n"
    "  -r, --reverse         newest first\n"
    "      --follow          then print new entries as they are committed,\n"
    "                        until interrupted (SIGINT/SIGTERM: exit 0)\n"
    "      --kind KIND       intent, outcome, offline, reversal, receipt,\n"
    "                        settlement, checkpoint, note, key_rotation,\n"
    "                        dictionary, or a number\n"
    "      --status STATUS   approved, declined, error, printed, "
    "print_failed,\n"
    "                        reprinted, rev_decided, rev_sent, none, or a "
    "number\n"
    "                        (needs --key)\n"
    "  -o, --output FMT      text (default: a table of 120 columns), wide\n"
    "                        (every field in full), json (JSON Lines) or csv\n"
    "  -p, --payload MODE    hex, base64, text; card numbers are masked; raw\n"
    "                        shows them unmasked (default: text where\n"
    "                        printable in tables, hex in json and csv)\n"
    "      --verify          check the chain, every checkpoint signature and\n"
    "                        (with --key) every record; report the verified\n"
    "                        range and any unsealed tail\n"
    "      --stats           entries, and the sales waiting to upload: how\n"
    "                        many, the oldest one's age, the amount per\n"
    "                        currency, and the journal format (no key\n"
    "                        needed)\n"
    "      --bundle FILE     write the evidence bundle of --txn to FILE\n"
    "      --check-bundle FILE  verify a bundle without any key and print\n"
    "                        the events it discloses\n"
    "      --pubkey HEX      the checkpoint public key to require (64 hex)\n"
    "  -h, --help            this text\n"
    "      --version         the version\n"
    "\n"
    "Exit: 0 ok, 1 verified but from an unsigned prune anchor,\n"
    "2 no entries match (no such txn, or not sealed yet),\n"
    "64 usage, 65 damaged, 66 journal, key or bundle not found, 70 internal\n"
    "error, 73 cannot write, 74 I/O error, 76 newer format, 77 wrong key,\n"
    "78 key file too open or not a key (docs/CLI.md).\n";

enum {
    OPT_FROM = 256,
    OPT_TO,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_KIND,
    OPT_STATUS,
    OPT_VERIFY,
    OPT_BUNDLE,
    OPT_CHECK,
    OPT_PUBKEY,
    OPT_VERSION,
    OPT_FOLLOW,
    OPT_STATS
};

static const struct option long_opts[] = {
    {"key", required_argument, NULL, 'k'},
    {"txn", required_argument, NULL, 't'},
    {"from", required_argument, NULL, OPT_FROM},
    {"to", required_argument, NULL, OPT_TO},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"kind", required_argument, NULL, OPT_KIND},
    {"status", required_argument, NULL, OPT_STATUS},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'}, /* alias, one release */
    {"payload", required_argument, NULL, 'p'},
    {"verify", no_argument, NULL, OPT_VERIFY},
    {"stats", no_argument, NULL, OPT_STATS},
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"check-bundle", required_argument, NULL, OPT_CHECK},
    {"pubkey", required_argument, NULL, OPT_PUBKEY},
    {"lines", required_argument, NULL, 'n'},
    {"reverse", no_argument, NULL, 'r'},
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0}};

/* One option's value into `o`; an exit code. */
static int take_option(int c, const char *arg, dump_opts *o)
{
    switch (c) {
    case 'k':
        return sfj__cli_key_opt("sfj-dump", arg, &o->key_file);
    case 't':
        if (arg[0] == '\0' || strlen(arg) > SFJ_TXN_ID_MAX) {
            dump_err("--txn: 1 to %d characters expected", SFJ_TXN_ID_MAX);
            return SFJ__EX_USAGE;
        }
        o->txn_id = arg;
        return SFJ__EX_OK;
    case OPT_FROM:
    case OPT_TO:
        if (sfj__cli_parse_u64(arg, c == OPT_FROM ? &o->from_seq
                                                  : &o->to_seq) != 0) {
            dump_err("--%s: not a seq number: %s",
                     c == OPT_FROM ? "from" : "to", arg);
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    case OPT_SINCE:
    case OPT_UNTIL:
        if (sfj__cli_parse_time(arg, c == OPT_SINCE ? &o->since_ms
                                                    : &o->until_ms) != 0) {
            dump_err("--%s: not a time (2026-11-23T10:00:00Z, "
                     "2026-11-23 10:00, today, yesterday, now, -1h): %s",
                     c == OPT_SINCE ? "since" : "until", arg);
            return SFJ__EX_USAGE;
        }
        if (c == OPT_SINCE)
            o->has_since = 1;
        else
            o->has_until = 1;
        return SFJ__EX_OK;
    case OPT_KIND:
        if (dump_kind_parse(arg, &o->kind) != 0) {
            dump_err("--kind: unknown kind: %s", arg);
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    case OPT_STATUS:
        if (dump_status_parse(arg, &o->status) != 0) {
            dump_err("--status: unknown status: %s", arg);
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    case 'o':
    case 'f':
        return sfj__cli_output_arg("sfj-dump", arg,
                                   1u << SFJ__OUT_TEXT | 1u << SFJ__OUT_JSON |
                                       1u << SFJ__OUT_CSV | 1u << SFJ__OUT_WIDE,
                                   &o->format);
    case 'p':
        o->payload_set = 1;
        o->payload_mode = sfj__cli_payload_mode_parse(arg);
        if (o->payload_mode < 0) {
            dump_err("--payload: hex, base64, text or raw expected: %s", arg);
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    case 'n':
        if (sfj__cli_parse_u64(arg, &o->lines) != 0 || o->lines == 0) {
            dump_err("--lines: a count of 1 or more expected: %s", arg);
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    case 'r':
        o->reverse = 1;
        return SFJ__EX_OK;
    case OPT_FOLLOW:
        o->follow = 1;
        return SFJ__EX_OK;
    case OPT_STATS:
        o->stats = 1;
        return SFJ__EX_OK;
    case OPT_VERIFY:
        o->verify = 1;
        return SFJ__EX_OK;
    case OPT_BUNDLE:
        o->bundle_out = arg;
        return SFJ__EX_OK;
    case OPT_CHECK:
        o->bundle_in = arg;
        return SFJ__EX_OK;
    case OPT_PUBKEY:
        if (sfj__cli_unhex(arg, o->pin, sizeof o->pin) != 0) {
            dump_err("--pubkey: 64 hex digits expected");
            return SFJ__EX_USAGE;
        }
        o->pinned = 1;
        return SFJ__EX_OK;
    default:
        return SFJ__EX_USAGE;
    }
}

/* Combinations that make no sense; an exit code. */
static int check_combination(const dump_opts *o)
{
    int modes = (o->verify != 0) + (o->bundle_out != NULL) +
                (o->bundle_in != NULL) + (o->stats != 0);

    if (modes > 1) {
        dump_err("--verify, --stats, --bundle and --check-bundle exclude "
                 "each other");
        return SFJ__EX_USAGE;
    }
    if (o->bundle_in != NULL) {
        if (o->dir != NULL) {
            dump_err("--check-bundle takes no journal directory");
            return SFJ__EX_USAGE;
        }
        return SFJ__EX_OK;
    }
    if (o->dir == NULL) {
        dump_err("no journal directory given (see --help)");
        return SFJ__EX_USAGE;
    }
    if ((o->lines != 0 || o->reverse || o->follow) &&
        (o->verify || o->stats || o->bundle_out != NULL)) {
        dump_err("-n, -r and --follow go with a listing");
        return SFJ__EX_USAGE;
    }
    if (o->follow && o->reverse) {
        dump_err("--follow lists oldest first: drop -r");
        return SFJ__EX_USAGE;
    }
    if (o->pinned && !o->verify) {
        dump_err("--pubkey goes with --verify or --check-bundle");
        return SFJ__EX_USAGE;
    }
    if ((o->txn_id != NULL || o->status >= 0) && o->key_file == NULL) {
        dump_err("--txn and --status need --key: they read encrypted fields");
        return SFJ__EX_USAGE;
    }
    if (o->bundle_out != NULL && (o->txn_id == NULL || o->key_file == NULL)) {
        dump_err("--bundle needs --txn and --key");
        return SFJ__EX_USAGE;
    }
    if (o->has_since && o->has_until && o->until_ms <= o->since_ms) {
        dump_err("--until must be later than --since");
        return SFJ__EX_USAGE;
    }
    if (o->to_seq != 0 && o->to_seq < o->from_seq) {
        dump_err("--to must not be below --from");
        return SFJ__EX_USAGE;
    }
    return SFJ__EX_OK;
}

int main(int argc, char **argv)
{
    dump_opts o;
    int c, rc = SFJ__EX_OK;

    /* It decrypts the journal: nothing of it may reach a core file. */
    sfj__cli_no_core_dumps();
    memset(&o, 0, sizeof o);
    o.status = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":k:t:o:f:p:n:rh", long_opts, NULL)) !=
           -1) {
        if (c == 'h') {
            fputs(usage_text, stdout);
            return SFJ__EX_OK;
        }
        if (c == OPT_VERSION) {
            printf("sfj-dump %s\n", sfj_version());
            return SFJ__EX_OK;
        }
        if (c == '?' || c == ':')
            return sfj__cli_bad_option("sfj-dump", c, optopt, argv[optind - 1]);
        rc = take_option(c, optarg, &o);
        if (rc != SFJ__EX_OK)
            return rc;
    }
    if (optind < argc)
        o.dir = argv[optind++];
    if (optind < argc) {
        dump_err("unexpected argument: %s (see --help)", argv[optind]);
        return SFJ__EX_USAGE;
    }
    rc = check_combination(&o);
    if (rc != SFJ__EX_OK)
        return rc;
    if (sfj_init() != 0) {
        dump_err("cannot initialise libsodium");
        return SFJ__EX_INTERNAL;
    }
    if (o.payload_mode == SFJ__PL_RAW)
        dump_err("warning: --payload raw prints card numbers unmasked");
    if (o.bundle_in != NULL)
        rc = dump_bundle_check(&o);
    else if (o.bundle_out != NULL)
        rc = dump_bundle_write(&o);
    else if (o.verify)
        rc = dump_verify(&o);
    else if (o.stats)
        rc = dump_stats(&o);
    else
        rc = dump_list(&o);
    if (fflush(stdout) != 0 && rc == SFJ__EX_OK) {
        dump_err("cannot write output");
        rc = SFJ__EX_CANTWRITE;
    }
    return rc;
}
