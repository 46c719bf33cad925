/* sfj quickstart: create a key and a journal, append one event of each
 * kind, read everything back and print the journal's statistics.
 *
 *   sfj-quickstart KEYFILE JOURNALDIR */
#include <stdio.h>
#include <string.h>

#include <sfj/sfj.h>

static int fail(const char *what, int rc)
{
    fprintf(stderr, "sfj-quickstart: %s: %s\n", what, sfj_strerror(rc));
    return 1;
}

int main(int argc, char **argv)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    sfj_keys *keys = NULL;
    sfj_journal *j = NULL;
    sfj_entry *e = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    char pan[20];
    uint64_t seq, last = 0;
    int rc, status = 1;
    size_t i;
    struct {
        sfj_kind kind;
        sfj_status status;
        const char *txn;
        int64_t amount;
        const char *payload;
    } events[] = {
        {SFJ_EV_TXN_INTENT, SFJ_ST_NONE, "T0001", 1250, "0200 sale"},
        {SFJ_EV_TXN_OUTCOME, SFJ_ST_APPROVED, "T0001", 1250, "0210 00"},
        {SFJ_EV_RECEIPT, SFJ_ST_PRINTED, "T0001", 1250, "receipt 1"},
        {SFJ_EV_TXN_OFFLINE, SFJ_ST_APPROVED, "T0002", 800, "offline"},
        {SFJ_EV_REVERSAL, SFJ_ST_REV_SENT, "T0001", 1250, "0400 void"},
        {SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, 2050, "batch 1"},
        {SFJ_EV_NOTE, SFJ_ST_NONE, NULL, 0, "shift closed"},
    };

    if (argc != 3) {
        fprintf(stderr, "usage: sfj-quickstart KEYFILE JOURNALDIR\n");
        return 64;
    }
    if ((rc = sfj_init()) != SFJ_OK)
        return fail("init", rc);
    rc = sfj_keys_generate_file(argv[1]);
    if (rc != SFJ_OK && rc != SFJ_EEXIST)
        return fail("create key", rc);
    if ((rc = sfj_keys_load_file(argv[1], &keys)) != SFJ_OK)
        return fail("load key", rc);
    opts.terminal_id = "DEMO-0001";
    if ((rc = sfj_journal_open(argv[2], keys, &opts, &j)) != SFJ_OK) {
        fail("open journal", rc);
        goto done;
    }
    /* Never journal a full PAN: truncate it first. */
    sfj_mask_pan("4111111111111111", pan, sizeof pan);
    printf("journal %s, card %s\n", argv[2], pan);
    for (i = 0; i < sizeof events / sizeof events[0]; i++) {
        sfj_event ev = SFJ_EVENT_INIT;

        ev.kind = (uint16_t)events[i].kind;
        ev.status = (uint16_t)events[i].status;
        ev.txn_id = events[i].txn;
        ev.amount = events[i].amount;
        ev.currency = "EUR";
        ev.copy = events[i].kind == SFJ_EV_RECEIPT ? 1 : 0;
        ev.payload = events[i].payload;
        ev.payload_len = strlen(events[i].payload);
        if ((rc = sfj_append(j, &ev, &seq)) != SFJ_OK) {
            fail("append", rc);
            goto done;
        }
        last = seq;
        printf("appended seq %llu (%s), durable\n", (unsigned long long)seq,
               sfj_kind_name(ev.kind));
    }
    for (seq = 1; seq <= last; seq++) {
        if ((rc = sfj_read(j, seq, &e)) != SFJ_OK) {
            fail("read", rc);
            goto done;
        }
        printf("  %3llu %-10s txn=%-6s %6lld %s  %.*s\n",
               (unsigned long long)e->seq, sfj_kind_name(e->kind),
               e->txn_id[0] ? e->txn_id : "-", (long long)e->amount,
               e->currency, (int)e->payload_len,
               e->payload ? (const char *)e->payload : "");
        sfj_entry_free(e);
    }
    if ((rc = sfj_stats_get(j, &st)) != SFJ_OK) {
        fail("stats", rc);
        goto done;
    }
    printf("stats: entries %llu (seq %llu..%llu), unacked %llu, last "
           "checkpoint %llu, boot %u, map %llu KiB of %llu KiB\n",
           (unsigned long long)st.entries, (unsigned long long)st.first_seq,
           (unsigned long long)st.last_seq, (unsigned long long)st.unacked,
           (unsigned long long)st.last_checkpoint, st.boot,
           (unsigned long long)(st.map_bytes >> 10),
           (unsigned long long)(st.max_bytes >> 10));
    status = 0;
done:
    rc = sfj_journal_close(j);
    if (rc != SFJ_OK && status == 0)
        status = fail("close", rc);
    sfj_keys_free(keys);
    sfj_shutdown(); /* wipes and frees the pooled compression streams */
    return status;
}
