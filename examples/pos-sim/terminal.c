/* Opening the journal, the forwarder, and error reporting. */
#include <stdio.h>
#include <string.h>

#include "sim.h"

/* The terminal's offline risk policy: at most 10 unforwarded offline
 * sales and EUR 300.00 of them, none older than a day. */
#define MAX_OFFLINE_COUNT  10
#define MAX_OFFLINE_AMOUNT 30000
#define MAX_OFFLINE_AGE_MS (24LL * 3600 * 1000)

int sim_fail(sim *s, const char *what, int rc)
{
    const char *detail = sfj_journal_errmsg(s ? s->j : NULL);

    fprintf(stderr, "pos-sim: %s: %s%s%s%s\n", what, sfj_strerror(rc),
            detail[0] ? " (" : "", detail, detail[0] ? ")" : "");
    return SIM_ERROR;
}

int sim_journal(sim *s, uint16_t kind, uint16_t status, const char *txn,
                int64_t amount, const char *auth, uint32_t copy,
                const char *msg, uint64_t *seq)
{
    sfj_event ev = SFJ_EVENT_INIT;

    ev.kind = kind;
    ev.status = status;
    ev.txn_id = txn;
    ev.amount = amount;
    ev.currency = "EUR";
    ev.auth_code = auth;
    ev.copy = copy;
    ev.payload = msg;
    ev.payload_len = msg ? strlen(msg) : 0;
    return sfj_append(s->j, &ev, seq);
}

int sim_open(sim *s)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    int rc;

    if ((rc = sfj_keys_load_file(s->key_file, &s->keys)) != SFJ_OK)
        return sim_fail(NULL, "load key", rc);
    opts.terminal_id = "POS-0001";
    opts.max_offline_count = MAX_OFFLINE_COUNT;
    opts.max_offline_amount = MAX_OFFLINE_AMOUNT;
    opts.max_offline_age_ms = MAX_OFFLINE_AGE_MS;
    if ((rc = sfj_journal_open(s->journal_dir, s->keys, &opts, &s->j)) != 0)
        return sim_fail(NULL, "open journal", rc);
    return SIM_OK;
}

static void on_status(const sfj_forwarder_status *st, void *payload)
{
    sim *s = payload;

    /* Say when the link changes, not every retry. */
    if (st->event == SFJ_FWD_ONLINE && !s->link_up) {
        s->link_up = 1;
        printf("  [forwarder] link to sfj-host is up\n");
    } else if (st->event == SFJ_FWD_OFFLINE && s->link_up) {
        s->link_up = 0;
        printf("  [forwarder] link to sfj-host is down: %s\n",
               sfj_strerror(st->error));
    } else if (st->event == SFJ_FWD_REJECTED) {
        printf("  [forwarder] seq %llu set aside: %s\n",
               (unsigned long long)st->seq, st->detail ? st->detail : "");
    }
    fflush(stdout);
}

int sim_forwarder_start(sim *s)
{
    sfj_forwarder_opts fo = SFJ_FORWARDER_OPTS_INIT;
    int rc;

    if (s->host == NULL)
        return SIM_OK;
    fo.sink = SFJ_SINK_TCP;
    fo.address = s->host;
    fo.status = on_status;
    fo.status_payload = s;
    fo.backoff_min_ms = 50;
    fo.backoff_max_ms = 500;
    fo.connect_timeout_ms = 1000;
    if ((rc = sfj_forwarder_new(s->j, &fo, &s->fwd)) != SFJ_OK)
        return sim_fail(s, "forwarder", rc);
    if ((rc = sfj_forwarder_start(s->fwd)) != SFJ_OK)
        return sim_fail(s, "forwarder start", rc);
    return SIM_OK;
}

void sim_close(sim *s)
{
    int rc;

    if (s->fwd != NULL) {
        sfj_forwarder_stop(s->fwd);
        sfj_forwarder_free(s->fwd);
        s->fwd = NULL;
    }
    if (s->j != NULL && (rc = sfj_journal_close(s->j)) != SFJ_OK)
        sim_fail(NULL, "close journal", rc);
    s->j = NULL;
    sfj_keys_free(s->keys);
    s->keys = NULL;
}
