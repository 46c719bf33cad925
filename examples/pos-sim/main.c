/* pos-sim: a simulated payment terminal, driven phase by phase.
 *
 *   pos-sim PHASE --journal DIR --key FILE [--host HOST:PORT] [options]
 *
 * Phases: init, online, outage, powercut, recover, summary. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static const char usage[] =
    "usage: pos-sim PHASE --journal DIR -k FILE [--host HOST:PORT]\n"
    "               [--sales N] [--mirror DIR] [--require-story]\n"
    "       pos-sim -h|--help|--version\n"
    "\n"
    "A simulated payment terminal using sfj's public API.\n"
    "  init      create the key (if missing) and the journal\n"
    "  online    sales through the acquirer; the 3rd receipt jams\n"
    "  outage    the acquirer is unreachable: offline sales within the\n"
    "            risk limits, declines above them\n"
    "  powercut  a sale whose answer is lost to a power cut (kill -9)\n"
    "  recover   reprint what recovery lists, send decided reversals,\n"
    "            settle, and forward the backlog to --host\n"
    "  summary   compare the journal with the host's --mirror and print\n"
    "            what happened; exit 1 if anything was lost or doubled\n"
    "Exit: 0 ok, 1 the story did not hold, 64 usage, 70 sfj error\n"
    "(docs/CLI.md).\n";

static const int64_t online_amounts[] = {1250, 3499, 2300, 899, 15000};
static const int64_t outage_amounts[] = {2500,  4200, 1800, 9900,
                                         12000, 3000, 7500, 2200};

static int run_sales(sim *s, int offline)
{
    const int64_t *amounts = offline ? outage_amounts : online_amounts;
    int n = offline ? 8 : 5, i, rc = SIM_OK;

    if (s->sales > 0 && s->sales < n)
        n = s->sales;
    acq_set_up(!offline);
    for (i = 0; i < n && rc == SIM_OK; i++)
        rc = offline ? sale_offline(s, amounts[i])
                     : sale_online(s, amounts[i], i == 2);
    return rc;
}

static int run_phase(sim *s, const char *phase)
{
    int rc;

    if (strcmp(phase, "summary") == 0)
        return phase_summary(s);
    if (strcmp(phase, "init") == 0) {
        rc = sfj_keys_generate_file(s->key_file);
        if (rc != SFJ_OK && rc != SFJ_EEXIST)
            return sim_fail(NULL, "create key", rc);
    }
    rc = sim_open(s);
    if (rc != SIM_OK)
        return rc;
    if (strcmp(phase, "init") == 0) {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = SFJ_EV_NOTE;
        ev.payload = "terminal installed";
        ev.payload_len = strlen(ev.payload);
        rc = sfj_append(s->j, &ev, NULL);
        rc = rc == SFJ_OK ? SIM_OK : sim_fail(s, "journal note", rc);
    } else if (strcmp(phase, "recover") == 0) {
        rc = phase_recover(s);
    } else {
        rc = sim_forwarder_start(s);
        if (rc == SIM_OK && strcmp(phase, "online") == 0) {
            rc = run_sales(s, 0);
            if (rc == SIM_OK && s->fwd != NULL &&
                (rc = sfj_forwarder_flush(s->fwd, 10000)) != SFJ_OK)
                rc = sim_fail(s, "flush", rc);
        } else if (rc == SIM_OK && strcmp(phase, "outage") == 0) {
            rc = run_sales(s, 1);
        } else if (rc == SIM_OK && strcmp(phase, "powercut") == 0) {
            rc = sale_power_cut(s, 6400);
        } else if (rc == SIM_OK) {
            fprintf(stderr, "pos-sim: unknown phase %s\n", phase);
            rc = SIM_USAGE;
        }
    }
    sim_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"journal", required_argument, NULL, 'j'},
        {"key", required_argument, NULL, 'k'},
        {"host", required_argument, NULL, 'H'},
        {"mirror", required_argument, NULL, 'm'},
        {"sales", required_argument, NULL, 'n'},
        {"require-story", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    sim s;
    char *end;
    long v;
    int c;

    memset(&s, 0, sizeof s);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hk:", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            s.journal_dir = optarg;
            break;
        case 'k':
            s.key_file = optarg;
            break;
        case 'H':
            s.host = optarg;
            break;
        case 'm':
            s.mirror_dir = optarg;
            break;
        case 'n':
            v = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v < 1 || v > 1000) {
                fprintf(stderr, "pos-sim: --sales: 1..1000 expected: %s\n",
                        optarg);
                return SIM_USAGE;
            }
            s.sales = (int)v;
            break;
        case 'r':
            s.require_story = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return SIM_OK;
        case 'V':
            printf("pos-sim %s\n", sfj_version());
            return SIM_OK;
        default:
            fprintf(stderr, "pos-sim: %s %s (see --help)\n",
                    c == ':' ? "missing value for" : "unknown option",
                    argv[optind - 1]);
            return SIM_USAGE;
        }
    }
    if (optind != argc - 1 || s.journal_dir == NULL || s.key_file == NULL) {
        fprintf(stderr, "pos-sim: expected PHASE, --journal DIR and -k FILE "
                        "(see --help)\n");
        return SIM_USAGE;
    }
    if (strcmp(argv[optind], "summary") == 0 && s.mirror_dir == NULL) {
        fprintf(stderr, "pos-sim: summary needs --mirror DIR\n");
        return SIM_USAGE;
    }
    if (sfj_init() != SFJ_OK) {
        fprintf(stderr, "pos-sim: cannot initialise sfj\n");
        return SIM_ERROR;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    return run_phase(&s, argv[optind]);
}
