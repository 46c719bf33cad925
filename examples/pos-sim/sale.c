/* The sale flows, in the order the rules of docs/INTEGRATION.md demand:
 * journal first, then talk to the outside world. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

/* The app's request message: an ISO 8583-like line with the PAN already
 * truncated (never track data, CVV or PIN). */
static void request(char *out, size_t cap, const char *mti, int64_t amount)
{
    char pan[24];

    sfj_mask_pan("4111111111111111", pan, sizeof pan);
    snprintf(out, cap, "%s|2=%s|3=000000|4=%012lld|49=978|22=071", mti, pan,
             (long long)amount);
}

static int print_receipt(sim *s, const char *txn, int64_t amount, int jam)
{
    uint64_t seq;
    int rc;

    rc = sim_journal(s, SFJ_EV_RECEIPT,
                     jam ? SFJ_ST_PRINT_FAILED : SFJ_ST_PRINTED, txn, amount,
                     NULL, 1, jam ? "printer: paper jam" : NULL, &seq);
    if (rc != SFJ_OK)
        return sim_fail(s, "journal receipt", rc);
    printf("  receipt %s (seq %llu)\n",
           jam ? "FAILED: printer jammed" : "printed", (unsigned long long)seq);
    return SIM_OK;
}

/* Make a txn id, build the request and journal the intent: after this
 * returns SIM_OK the request may leave. */
static int begin_online(sim *s, int64_t amount, char *txn, char *msg,
                        size_t cap)
{
    uint64_t seq;
    int rc;

    sfj_txn_id_new(txn, SFJ_TXN_ID_NEW_LEN + 1);
    request(msg, cap, "0200", amount);
    rc = sim_journal(s, SFJ_EV_TXN_INTENT, SFJ_ST_NONE, txn, amount, NULL, 0,
                     msg, &seq);
    if (rc != SFJ_OK)
        return sim_fail(s, "journal intent", rc);
    printf("sale %s EUR %lld.%02lld online: intent seq %llu\n", txn,
           (long long)(amount / 100), (long long)(amount % 100),
           (unsigned long long)seq);
    return SIM_OK;
}

int sale_online(sim *s, int64_t amount, int jam_printer)
{
    char txn[SFJ_TXN_ID_NEW_LEN + 1], msg[128];
    acq_answer ans;
    uint64_t seq;
    int rc;

    if ((rc = begin_online(s, amount, txn, msg, sizeof msg)) != SIM_OK)
        return rc;
    acq_authorize(txn, amount, &ans);
    snprintf(msg, sizeof msg, "0210|39=%s|38=%s", ans.response, ans.auth_code);
    if ((rc = sim_journal(s, SFJ_EV_TXN_OUTCOME,
                          ans.approved ? SFJ_ST_APPROVED : SFJ_ST_DECLINED, txn,
                          amount, ans.approved ? ans.auth_code : NULL, 0, msg,
                          &seq)) != SFJ_OK)
        return sim_fail(s, "journal outcome", rc);
    printf("  %s by the acquirer (seq %llu)\n",
           ans.approved ? "approved" : "declined", (unsigned long long)seq);
    return ans.approved ? print_receipt(s, txn, amount, jam_printer) : SIM_OK;
}

int sale_offline(sim *s, int64_t amount)
{
    char txn[SFJ_TXN_ID_NEW_LEN + 1], msg[128];
    uint64_t seq;
    int rc;

    sfj_txn_id_new(txn, sizeof txn);
    request(msg, sizeof msg, "0220", amount);
    printf("sale %s EUR %lld.%02lld: acquirer unreachable, offline ", txn,
           (long long)(amount / 100), (long long)(amount % 100));
    rc = sim_journal(s, SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, txn, amount, NULL,
                     0, msg, &seq);
    if (rc == SFJ_ELIMIT) {
        /* Over the risk limits: decline, and keep a record of it. */
        rc = sim_journal(s, SFJ_EV_TXN_OFFLINE, SFJ_ST_DECLINED, txn, amount,
                         NULL, 0, "declined: offline risk limit", &seq);
        if (rc != SFJ_OK)
            return sim_fail(s, "journal offline decline", rc);
        printf("DECLINED over the risk limit (seq %llu)\n",
               (unsigned long long)seq);
        return SIM_OK;
    }
    if (rc != SFJ_OK)
        return sim_fail(s, "journal offline sale", rc);
    printf("approved within the risk limits (seq %llu)\n",
           (unsigned long long)seq);
    return print_receipt(s, txn, amount, 0);
}

int sale_power_cut(sim *s, int64_t amount)
{
    char txn[SFJ_TXN_ID_NEW_LEN + 1], msg[128];
    acq_answer ans;
    int rc;

    if ((rc = begin_online(s, amount, txn, msg, sizeof msg)) != SIM_OK)
        return rc;
    acq_authorize(txn, amount, &ans);
    printf("  the acquirer approved it (the card is charged) ... POWER CUT "
           "before the answer is journaled\n");
    fflush(stdout);
    /* No cleanup, no close: exactly what a power cut leaves. */
    kill(getpid(), SIGKILL);
    return SIM_ERROR;
}
