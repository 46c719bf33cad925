/* After the power cut: what sfj says must be done, done by the app. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_progress.h"
#include "sim.h"

/* Journal an event the recovery steps need; a SIM_* code. */
static int journal_event(sim *s, uint16_t kind, uint16_t status,
                         const char *txn, int64_t amount, uint32_t copy,
                         const char *msg)
{
    int rc = sim_journal(s, kind, status, txn, amount, NULL, copy, msg, NULL);

    return rc == SFJ_OK ? SIM_OK : sim_fail(s, "journal", rc);
}

/* Reprint every receipt recovery lists, marked DUPLICATE (or print the
 * original of a sale that never had one). */
static int reprint(sim *s, const sfj_report *r)
{
    sfj_txn t = SFJ_TXN_INIT;
    size_t i;
    int rc;

    for (i = 0; i < r->n_items; i++) {
        const sfj_report_item *it = &r->items[i];
        uint32_t copy;

        if (it->type != SFJ_REPORT_NO_RECEIPT &&
            it->type != SFJ_REPORT_PRINT_FAILED)
            continue;
        if ((rc = sfj_txn_get(s->j, it->txn_id, &t)) != SFJ_OK)
            return sim_fail(s, "txn lookup", rc);
        if (!(t.flags & (SFJ_TXN_F_PRINTED | SFJ_TXN_F_PRINT_FAILED))) {
            /* Nothing was ever printed (an in-doubt sale the acquirer's
             * report approved): this is the original. */
            printf("print %s EUR %lld.%02lld (original, approved by the "
                   "acquirer's report)\n",
                   it->txn_id, (long long)(it->amount / 100),
                   (long long)(it->amount % 100));
            rc = journal_event(s, SFJ_EV_RECEIPT, SFJ_ST_PRINTED, it->txn_id,
                               it->amount, 1, "ORIGINAL");
            if (rc != SIM_OK)
                return rc;
            continue;
        }
        copy = t.copies + 1 < 2 ? 2 : t.copies + 1;
        printf("reprint %s EUR %lld.%02lld as DUPLICATE copy %u\n", it->txn_id,
               (long long)(it->amount / 100), (long long)(it->amount % 100),
               copy);
        rc = journal_event(s, SFJ_EV_RECEIPT, SFJ_ST_REPRINTED, it->txn_id,
                           it->amount, copy, "DUPLICATE");
        if (rc != SIM_OK)
            return rc;
    }
    return SIM_OK;
}

/* Send every reversal that recovery decided (sfj-recover
 * --mark-reversals) to the acquirer, journaling each step. */
static int send_reversals(sim *s)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    sfj_entry *e;
    sfj_txn t = SFJ_TXN_INIT;
    int rc, status = SIM_OK;

    q.kind = SFJ_EV_REVERSAL;
    if ((rc = sfj_iter_open(s->j, &q, &it)) != SFJ_OK)
        return sim_fail(s, "iterate", rc);
    while (status == SIM_OK && sfj_iter_next(it, &e) == SFJ_OK) {
        if (e->status == SFJ_ST_REV_DECIDED &&
            sfj_txn_get(s->j, e->txn_id, &t) == SFJ_OK &&
            t.reversal == SFJ_ST_REV_DECIDED) {
            printf("reversal of %s EUR %lld.%02lld: sent, approved by the "
                   "acquirer\n",
                   e->txn_id, (long long)(e->amount / 100),
                   (long long)(e->amount % 100));
            status = journal_event(s, SFJ_EV_REVERSAL, SFJ_ST_REV_SENT,
                                   e->txn_id, e->amount, 0, "0400");
            if (status == SIM_OK)
                status = journal_event(s, SFJ_EV_REVERSAL, SFJ_ST_APPROVED,
                                       e->txn_id, e->amount, 0, "0410|39=00");
        }
        sfj_entry_free(e);
    }
    sfj_iter_free(it);
    return status;
}

/* Close the batch with the local totals; the acquirer accepts it. */
static int settle(sim *s)
{
    sfj_batch *b = NULL;
    int64_t net = 0;
    uint64_t count = 0;
    size_t i;
    int rc;

    if ((rc = sfj_batch_totals(s->j, &b)) != SFJ_OK)
        return sim_fail(s, "batch totals", rc);
    for (i = 0; i < b->n; i++) {
        int64_t sign = b->totals[i].kind == SFJ_EV_REVERSAL ? -1 : 1;

        net += sign * b->totals[i].amount;
        count += b->totals[i].count;
    }
    sfj_batch_free(b);
    printf("settlement: %llu entries, net EUR %lld.%02lld\n",
           (unsigned long long)count, (long long)(net / 100),
           (long long)(net % 100));
    rc = journal_event(s, SFJ_EV_SETTLEMENT, SFJ_ST_NONE, NULL, net, 0,
                       "batch close");
    if (rc == SIM_OK)
        rc = journal_event(s, SFJ_EV_SETTLEMENT, SFJ_ST_APPROVED, NULL, net, 0,
                           "batch accepted");
    return rc;
}

/* Let the forwarder drain the backlog: its progress on a TTY (stderr),
 * the size of the backlog once in the story. */
static int drain(sim *s)
{
    sfj_stats st = SFJ_STATS_INIT;
    sfj__progress pr;
    uint64_t total;
    int tick = 0, rc;

    if ((rc = sfj_stats_get(s->j, &st)) != SFJ_OK)
        return sim_fail(s, "stats", rc);
    total = st.unacked;
    printf("  forwarding backlog: %llu entries\n", (unsigned long long)total);
    fflush(stdout);
    sfj__progress_start(&pr, "pos-sim", "forwarding backlog", "entries", total);
    while (st.unacked > 0) {
        if (++tick > 600) {
            sfj__progress_end(&pr);
            fprintf(stderr, "pos-sim: backlog not drained after 60 s\n");
            return SIM_FAILED;
        }
        usleep(100 * 1000);
        if ((rc = sfj_stats_get(s->j, &st)) != SFJ_OK) {
            sfj__progress_end(&pr);
            return sim_fail(s, "stats", rc);
        }
        sfj__progress_step(&pr, total > st.unacked ? total - st.unacked : 0);
    }
    sfj__progress_end(&pr);
    /* A signed checkpoint goes last, so the host holds the final head. */
    if ((rc = sfj_forwarder_flush(s->fwd, 10000)) != SFJ_OK)
        return sim_fail(s, "flush", rc);
    if ((rc = sfj_stats_get(s->j, &st)) != SFJ_OK)
        return sim_fail(s, "stats", rc);
    printf("backlog drained: everything up to seq %llu is on the host\n",
           (unsigned long long)st.acked_seq);
    return SIM_OK;
}

int phase_recover(sim *s)
{
    sfj_report *r = NULL;
    int rc;

    if ((rc = sfj_recover(s->j, &r)) != SFJ_OK)
        return sim_fail(s, "recover", rc);
    printf("recovery: %zu in doubt, %zu without receipt, %zu failed prints, "
           "%llu entries to forward\n",
           r->n_in_doubt, r->n_no_receipt, r->n_print_failed,
           (unsigned long long)r->unforwarded);
    if (r->status == SFJ_REPORT_CORRUPT) {
        fprintf(stderr, "pos-sim: journal damaged at seq %llu\n",
                (unsigned long long)r->bad_seq);
        sfj_report_free(r);
        return SIM_FAILED;
    }
    rc = reprint(s, r);
    sfj_report_free(r);
    if (rc == SIM_OK)
        rc = send_reversals(s);
    if (rc == SIM_OK)
        rc = settle(s);
    if (rc == SIM_OK)
        rc = sim_forwarder_start(s);
    if (rc == SIM_OK && s->fwd != NULL)
        rc = drain(s);
    return rc;
}
