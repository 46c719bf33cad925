/* One card sale journaled the way an app must do it (docs/INTEGRATION.md):
 * the intent is durable before the request leaves, the acquirer's answer
 * is durable before the app acts on it, and the receipt's fate is
 * journaled too. The README quotes terminal_start and sale; a test builds
 * and runs this file against sfj-host.
 *
 *   sfj-sale KEYFILE JOURNALDIR [HOST:PORT]
 *
 * With HOST:PORT a forwarder ships the entries to sfj-host and the program
 * waits (at most 5 s) until the host acknowledged them. */
#include <stdio.h>
#include <string.h>

#include <sfj/sfj.h>

/* Stand-ins for the app's acquirer link and printer. */
typedef struct answer {
    int approved;
    char auth_code[8];
    char msg[32];
} answer;

static void send_to_acquirer(const char *req, size_t len, answer *a)
{
    (void)req;
    (void)len;
    a->approved = 1;
    snprintf(a->auth_code, sizeof a->auth_code, "A1B2C3");
    snprintf(a->msg, sizeof a->msg, "0210|39=00|38=%s", a->auth_code);
}

static int print_receipt(void)
{
    return 1;
}

static int terminal_start(const sfj_keys *keys, const char *dir,
                          const char *host, sfj_journal **j,
                          sfj_forwarder **fwd)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_forwarder_opts fo = SFJ_FORWARDER_OPTS_INIT;
    int rc;

    opts.terminal_id = "POS-0001";
    if ((rc = sfj_journal_open(dir, keys, &opts, j)) != SFJ_OK)
        return rc;
    if (host == NULL)
        return SFJ_OK;
    fo.sink = SFJ_SINK_TCP; /* ship entries to sfj-host */
    fo.address = host;      /* "HOST:PORT" */
    if ((rc = sfj_forwarder_new(*j, &fo, fwd)) != SFJ_OK)
        return rc;
    return sfj_forwarder_start(*fwd); /* its own thread; never blocks */
}

static int sale(sfj_journal *j, int64_t amount, const char *req, size_t req_len)
{
    sfj_event ev = SFJ_EVENT_INIT;
    char txn[SFJ_TXN_ID_NEW_LEN + 1];
    answer ans;
    int rc;

    /* The intent: durable BEFORE the request leaves. The txn id is reused
     * by repeats and reversals and sent as the merchant reference. The
     * payload is the request with the PAN masked: never track data, CVV
     * or PIN. */
    sfj_txn_id_new(txn, sizeof txn);
    ev.kind = SFJ_EV_TXN_INTENT;
    ev.txn_id = txn;
    ev.amount = amount; /* minor units: 1250 is EUR 12.50 */
    ev.currency = "EUR";
    ev.payload = req;
    ev.payload_len = req_len;
    if ((rc = sfj_append(j, &ev, NULL)) != SFJ_OK)
        return rc; /* not durable: decline, send nothing */
    send_to_acquirer(req, req_len, &ans);

    /* The answer: durable before the app acts on it (prints, hands over
     * goods). Its payload is the response, not the request again. */
    ev.kind = SFJ_EV_TXN_OUTCOME;
    ev.status = ans.approved ? SFJ_ST_APPROVED : SFJ_ST_DECLINED;
    ev.auth_code = ans.auth_code;
    ev.payload = ans.msg;
    ev.payload_len = strlen(ans.msg);
    if ((rc = sfj_append(j, &ev, NULL)) != SFJ_OK)
        return rc;

    /* The receipt: the original is copy 1 (a reprint is 2, a DUPLICATE);
     * PRINT_FAILED makes recovery list a reprint. */
    ev.kind = SFJ_EV_RECEIPT;
    ev.status = print_receipt() ? SFJ_ST_PRINTED : SFJ_ST_PRINT_FAILED;
    ev.auth_code = NULL;
    ev.copy = 1;
    ev.payload = NULL;
    ev.payload_len = 0;
    return sfj_append(j, &ev, NULL);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sfj-sale: %s: %s\n", what, sfj_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    static const char req[] = "0200|2=411111******1111|4=000000001250|49=978";
    sfj_keys *keys = NULL;
    sfj_journal *j = NULL;
    sfj_forwarder *fwd = NULL;
    int rc, status = 1;

    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: sfj-sale KEYFILE JOURNALDIR [HOST:PORT]\n");
        return 64;
    }
    if ((rc = sfj_init()) != SFJ_OK)
        return fail("init", rc);
    rc = sfj_keys_generate_file(argv[1]); /* once, at installation */
    if (rc != SFJ_OK && rc != SFJ_EEXIST)
        return fail("create key", rc);
    if ((rc = sfj_keys_load_file(argv[1], &keys)) != SFJ_OK)
        return fail("load key", rc); /* the file must be mode 0600 */
    rc = terminal_start(keys, argv[2], argc == 4 ? argv[3] : NULL, &j, &fwd);
    if (rc != SFJ_OK) {
        fail("start", rc);
        goto done;
    }
    if ((rc = sale(j, 1250, req, sizeof req - 1)) != SFJ_OK) {
        fail("sale", rc);
        goto done;
    }
    printf("sale journaled: intent, outcome, receipt\n");
    if (fwd != NULL) {
        if ((rc = sfj_forwarder_flush(fwd, 5000)) != SFJ_OK) {
            fail("forward to the host", rc); /* kept; sent later */
            goto done;
        }
        printf("acknowledged by the host\n");
    }
    status = 0;
done:
    sfj_forwarder_free(fwd); /* before the journal it forwards */
    rc = sfj_journal_close(j);
    if (rc != SFJ_OK && status == 0)
        status = fail("close", rc);
    sfj_keys_free(keys);
    return status;
}
