/* The closing summary: every number counted from the terminal's journal
 * and the host's mirror of it, never assumed. The mirror holds the sealed
 * records exactly as the terminal wrote them, so the terminal's key opens
 * them too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

typedef struct txn_seen {
    char id[SFJ_TXN_ID_MAX + 1];
    int approvals_on_host; /* approved OUTCOME / OFFLINE events mirrored */
} txn_seen;

typedef struct tally {
    uint64_t entries, online_approved, online_declined, offline_approved,
        offline_declined, in_doubt_reversed, in_doubt_reconciled, printed,
        print_failed, reprinted, txns;
} tally;

static int same_entry(const sfj_entry *a, const sfj_entry *b)
{
    return a->seq == b->seq && a->kind == b->kind && a->status == b->status &&
           a->epoch == b->epoch && a->boot == b->boot &&
           a->wall_ms == b->wall_ms && a->amount == b->amount &&
           a->copy == b->copy && strcmp(a->txn_id, b->txn_id) == 0 &&
           strcmp(a->currency, b->currency) == 0 &&
           strcmp(a->auth_code, b->auth_code) == 0 &&
           a->payload_len == b->payload_len &&
           (a->payload_len == 0 ||
            memcmp(a->payload, b->payload, a->payload_len) == 0);
}

static txn_seen *find_txn(txn_seen **v, size_t *n, const char *id)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*v)[i].id, id) == 0)
            return &(*v)[i];
    }
    *v = realloc(*v, (*n + 1) * sizeof **v);
    if (*v == NULL)
        abort();
    memset(&(*v)[*n], 0, sizeof **v);
    strcpy((*v)[*n].id, id);
    return &(*v)[(*n)++];
}

static void count(tally *t, const sfj_entry *e)
{
    t->entries++;
    switch (e->kind) {
    case SFJ_EV_TXN_OUTCOME:
        if (e->status == SFJ_ST_APPROVED)
            t->online_approved++;
        else if (e->status == SFJ_ST_DECLINED)
            t->online_declined++;
        break;
    case SFJ_EV_TXN_OFFLINE:
        if (e->status == SFJ_ST_DECLINED)
            t->offline_declined++;
        else
            t->offline_approved++;
        break;
    case SFJ_EV_RECEIPT:
        if (e->status == SFJ_ST_PRINTED)
            t->printed++;
        else if (e->status == SFJ_ST_PRINT_FAILED)
            t->print_failed++;
        else if (e->status == SFJ_ST_REPRINTED)
            t->reprinted++;
        break;
    default:
        break;
    }
}

static int open_ro(sim *s, const char *dir, sfj_journal **out)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    int rc;

    opts.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    rc = sfj_journal_open(dir, s->keys, &opts, out);
    return rc == SFJ_OK ? SIM_OK : sim_fail(NULL, dir, rc);
}

/* In-doubt txns the terminal reversed: an intent, no outcome, a reversal. */
static uint64_t count_reversed_in_doubt(sfj_journal *j, txn_seen *v, size_t n)
{
    uint64_t k = 0;
    sfj_txn t = SFJ_TXN_INIT;
    size_t i;

    for (i = 0; i < n; i++) {
        if (sfj_txn_get(j, v[i].id, &t) == SFJ_OK &&
            t.state == SFJ_TXN_REVERSED && t.outcome_seq == 0 &&
            t.intent_seq != 0)
            k++;
    }
    return k;
}

/* In-doubt txns settled by reconciliation: their outcome came from the
 * acquirer's report (sfj-reconcile --apply). */
static uint64_t count_reconciled(sfj_journal *j, txn_seen *v, size_t n)
{
    uint64_t k = 0;
    sfj_entry *e = NULL;
    sfj_txn t = SFJ_TXN_INIT;
    size_t i;

    for (i = 0; i < n; i++) {
        if (sfj_txn_get(j, v[i].id, &t) != SFJ_OK || t.outcome_seq == 0 ||
            sfj_read(j, t.outcome_seq, &e) != SFJ_OK)
            continue;
        k += (e->flags & SFJ_EVF_RECONCILED) != 0;
        sfj_entry_free(e);
        e = NULL;
    }
    return k;
}

static int check(const char *what, int ok, int *failed)
{
    printf("  %-52s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok)
        *failed = 1;
    return ok;
}

int phase_summary(sim *s)
{
    sfj_journal *term = NULL, *mirror = NULL;
    sfj_iter *ti = NULL, *mi = NULL;
    sfj_entry *te = NULL, *me = NULL;
    txn_seen *txns = NULL;
    size_t n_txns = 0, i;
    tally t, h;
    uint64_t lost = 0, extra = 0, doubled = 0;
    sfj_stats tst = SFJ_STATS_INIT;
    sfj_stats mst = SFJ_STATS_INIT;
    sfj_report *rep = NULL;
    int rc, failed = 0, status = SIM_ERROR;

    memset(&t, 0, sizeof t);
    memset(&h, 0, sizeof h);
    if ((rc = sfj_keys_load_file(s->key_file, &s->keys)) != SFJ_OK)
        return sim_fail(NULL, "load key", rc);
    if (open_ro(s, s->journal_dir, &term) != SIM_OK ||
        open_ro(s, s->mirror_dir, &mirror) != SIM_OK)
        goto done;
    if (sfj_iter_open(term, NULL, &ti) != SFJ_OK ||
        sfj_iter_open(mirror, NULL, &mi) != SFJ_OK)
        goto done;
    /* Walk both in seq order: every terminal entry must be on the host,
     * the same event; nothing may be there twice or extra. */
    rc = sfj_iter_next(mi, &me);
    while (sfj_iter_next(ti, &te) == SFJ_OK) {
        count(&t, te);
        if (te->txn_id[0] != '\0')
            find_txn(&txns, &n_txns, te->txn_id);
        while (rc == SFJ_OK && me->seq < te->seq) {
            extra++; /* on the host, not in the terminal */
            sfj_entry_free(me);
            rc = sfj_iter_next(mi, &me);
        }
        if (rc == SFJ_OK && me->seq == te->seq && same_entry(te, me)) {
            count(&h, me);
            if (me->txn_id[0] != '\0' && me->status == SFJ_ST_APPROVED &&
                (me->kind == SFJ_EV_TXN_OUTCOME ||
                 me->kind == SFJ_EV_TXN_OFFLINE))
                find_txn(&txns, &n_txns, me->txn_id)->approvals_on_host++;
            sfj_entry_free(me);
            rc = sfj_iter_next(mi, &me);
        } else {
            lost++;
        }
        sfj_entry_free(te);
    }
    for (; rc == SFJ_OK; rc = sfj_iter_next(mi, &me)) {
        extra++;
        sfj_entry_free(me);
    }
    for (i = 0; i < n_txns; i++)
        doubled += txns[i].approvals_on_host > 1;
    t.txns = n_txns;
    t.in_doubt_reversed = count_reversed_in_doubt(term, txns, n_txns);
    t.in_doubt_reconciled = count_reconciled(term, txns, n_txns);
    if (sfj_stats_get(term, &tst) != SFJ_OK ||
        sfj_stats_get(mirror, &mst) != SFJ_OK ||
        sfj_recover(term, &rep) != SFJ_OK)
        goto done;

    printf("\n================ sfj demo summary ================\n");
    printf("transactions taken            %6llu\n", (unsigned long long)t.txns);
    printf("  online approved / declined  %6llu / %llu\n",
           (unsigned long long)t.online_approved,
           (unsigned long long)t.online_declined);
    printf("  offline approved / declined %6llu / %llu (risk limit)\n",
           (unsigned long long)t.offline_approved,
           (unsigned long long)t.offline_declined);
    printf("  in doubt, then reversed     %6llu\n",
           (unsigned long long)t.in_doubt_reversed);
    printf("  in doubt, acquirer approved %6llu (reconciled)\n",
           (unsigned long long)t.in_doubt_reconciled);
    printf("receipts printed / failed     %6llu / %llu\n",
           (unsigned long long)t.printed, (unsigned long long)t.print_failed);
    printf("receipts reprinted (DUPLICATE)%6llu\n",
           (unsigned long long)t.reprinted);
    printf("journal entries (terminal)    %6llu\n",
           (unsigned long long)t.entries);
    printf("entries forwarded to the host %6llu\n",
           (unsigned long long)h.entries);
    printf("lost                          %6llu\n", (unsigned long long)lost);
    printf("duplicated                    %6llu (txns approved twice on the "
           "host: %llu, extra host entries: %llu)\n",
           (unsigned long long)(doubled + extra), (unsigned long long)doubled,
           (unsigned long long)extra);
    printf("checks:\n");
    check("every terminal entry is on the host, identical", lost == 0, &failed);
    check("nothing doubled on the host", doubled == 0 && extra == 0, &failed);
    check("nothing left to forward", tst.unacked == 0, &failed);
    check("host holds the terminal's newest seq", mst.last_seq == tst.last_seq,
          &failed);
    check("recovery has nothing left to do", rep->status == SFJ_REPORT_CLEAN,
          &failed);
    if (s->require_story) {
        check("the story happened: an in-doubt txn was reconciled",
              t.in_doubt_reversed + t.in_doubt_reconciled >= 1, &failed);
        check("the story happened: a jammed receipt was reprinted",
              t.print_failed >= 1 && t.reprinted >= 1, &failed);
        check("the story happened: offline sales approved and declined",
              t.offline_approved >= 1 && t.offline_declined >= 1, &failed);
    }
    printf("==================================================\n");
    status = failed ? SIM_FAILED : SIM_OK;
done:
    sfj_report_free(rep);
    sfj_entry_free(te);
    sfj_iter_free(ti);
    sfj_iter_free(mi);
    sfj_journal_close(term);
    sfj_journal_close(mirror);
    free(txns);
    return status;
}
