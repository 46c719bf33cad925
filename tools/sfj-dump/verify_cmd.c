/* --verify: one sfj__verify walk, then a report that keeps three ranges
 * apart: verified (chain intact and signed by a checkpoint), unsealed
 * (chain intact but after the last checkpoint: nothing outside vouches
 * for it yet) and, past any damage, not examined. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"
#include "sfj/sys/internal.h"
#include "cli_progress.h"
#include "sfj/sys/verify.h"

typedef struct report {
    char jid[33];
    char pk[65];
    char fpr[24];
    const char *terminal;
    int decrypted;
    int pinned;
    sfj__verify_result r;
    uint64_t unsealed_from, unsealed_to; /* 0: none */
    uint64_t missing_ckpt;               /* meta names a lost checkpoint */
    int ok;
} report;

static void print_text(const report *p)
{
    const sfj__verify_result *r = &p->r;
    char t1[40], t2[40];

    printf("journal     %s  terminal %s\n", p->jid, p->terminal);
    printf("public key  %s  fingerprint %s  (%s)\n", p->pk, p->fpr,
           p->pinned ? "pinned with --pubkey" : "as stored in the journal");
    if (r->entries == 0) {
        printf("entries     none\n");
    } else {
        sfj__cli_format_time(r->first_wall_ms, t1, sizeof t1);
        sfj__cli_format_time(r->last_wall_ms, t2, sizeof t2);
        printf("entries     %" PRIu64 "..%" PRIu64 "  (%" PRIu64
               " examined, %" PRIu64 " valid checkpoints)\n",
               r->first_seq, r->last_seq, r->entries, r->checkpoints);
        printf("time span   %s .. %s\n", t1, t2);
    }
    printf("records     %s\n",
           p->decrypted ? "every record decrypted and authenticated"
                        : "not decrypted (no key): chain and signatures only");
    if (r->verified_to != 0) {
        sfj__cli_format_time(r->checkpoint_wall_ms, t1, sizeof t1);
        printf("verified    %" PRIu64 "..%" PRIu64
               "  chain intact, signed by checkpoint %" PRIu64 " at %s\n",
               r->first_seq, r->verified_to, r->verified_to, t1);
    } else {
        printf("verified    none: no valid signed checkpoint\n");
    }
    if (p->unsealed_from != 0)
        printf("unsealed    %" PRIu64 "..%" PRIu64 "  %" PRIu64
               " entries after the last checkpoint: chain intact but NOT "
               "signed, not verified\n",
               p->unsealed_from, p->unsealed_to,
               p->unsealed_to - p->unsealed_from + 1);
    /* A broken link at seq N means record N-1 changed (its hash no longer
     * matches) or N's own header did. */
    if (r->bad_seq != 0 && strstr(r->reason, "chain broken") != NULL &&
        r->bad_seq > r->first_seq)
        printf("damage      seq %" PRIu64 ": %s (record %" PRIu64
               " was altered, or this record's header); later entries not "
               "examined\n",
               r->bad_seq, r->reason, r->bad_seq - 1);
    else if (r->bad_seq != 0)
        printf("damage      seq %" PRIu64 ": %s; later entries not "
               "examined\n",
               r->bad_seq, r->reason);
    if (p->missing_ckpt != 0)
        printf("damage      checkpoint %" PRIu64
               " recorded in the journal's meta is missing: entries were "
               "removed from the tail\n",
               p->missing_ckpt);
    if (p->ok && r->unsigned_anchor)
        printf("warning     the chain starts at an UNSIGNED prune anchor "
               "(seq %" PRIu64 ", written before anchors were signed): "
               "nothing vouches that the entries before it were pruned on "
               "purpose\n",
               r->first_seq - 1);
    printf("result      %s\n", p->ok ? "OK" : "FAILED");
}

static void print_json(const report *p)
{
    const sfj__verify_result *r = &p->r;
    char t[40];

    printf("{\"journal_id\":\"%s\",\"terminal_id\":", p->jid);
    sfj__cli_json_str(stdout, p->terminal);
    printf(",\"pubkey\":\"%s\",\"fingerprint\":\"%s\","
           "\"pinned\":%s,\"decrypted\":%s,\"entries\":%" PRIu64
           ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
           ",\"checkpoints\":%" PRIu64 ",",
           p->pk, p->fpr, p->pinned ? "true" : "false",
           p->decrypted ? "true" : "false", r->entries, r->first_seq,
           r->last_seq, r->checkpoints);
    sfj__cli_format_time(r->first_wall_ms, t, sizeof t);
    printf("\"first_time\":\"%s\",", t);
    sfj__cli_format_time(r->last_wall_ms, t, sizeof t);
    printf("\"last_time\":\"%s\",\"verified_to\":%" PRIu64 ",", t,
           r->verified_to);
    sfj__cli_format_time(r->checkpoint_wall_ms, t, sizeof t);
    printf("\"checkpoint_time\":\"%s\",\"unsealed_from\":%" PRIu64
           ",\"unsealed_to\":%" PRIu64 ",\"bad_seq\":%" PRIu64 ",\"reason\":",
           t, p->unsealed_from, p->unsealed_to, r->bad_seq);
    sfj__cli_json_str(stdout, r->bad_seq ? r->reason
                              : p->missing_ckpt
                                  ? "a recorded checkpoint is missing"
                                  : "");
    printf(",\"missing_checkpoint\":%" PRIu64
           ",\"unsigned_anchor\":%s,\"ok\":%s}\n",
           p->missing_ckpt, r->unsigned_anchor ? "true" : "false",
           p->ok ? "true" : "false");
}

static void on_progress(uint64_t entries, void *payload)
{
    sfj__progress_step(payload, entries);
}

int dump_verify(const dump_opts *o)
{
    sfj__progress prog;
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], pk[32];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    report p;
    uint64_t clean_to;
    int rc, ex;

    memset(&p, 0, sizeof p);
    ex = dump_open(o, &j, &keys);
    if (ex != SFJ__EX_OK)
        goto done;
    /* Stats first: whatever checkpoint the meta names now must be among
     * the entries the walk will see (the journal only grows). */
    rc = sfj_stats_get(j, &st);
    if (rc == SFJ_OK) {
        sfj__progress_start(&prog, "sfj-dump",
                            keys != NULL ? "verifying (decrypting)"
                                         : "verifying",
                            "entries", st.entries);
        rc = sfj__verify_watch(j, 0, o->pinned ? o->pin : NULL, keys != NULL,
                               on_progress, &prog, &p.r);
        sfj__progress_end(&prog);
    }
    if (rc == SFJ_ECORRUPT || rc == SFJ_EAUTH) {
        /* LMDB itself met a damaged page the walk cannot step past. */
        dump_err("%s: DAMAGED: the journal cannot be read past the damage: "
                 "%s (%s)",
                 o->dir, sfj_strerror(rc), sfj_journal_errmsg(j));
        ex = SFJ__EX_DAMAGED;
        goto done;
    }
    if (rc != SFJ_OK) {
        dump_err("%s: verification could not run: %s", o->dir,
                 sfj_strerror(rc));
        ex = SFJ__EX_INTERNAL;
        goto done;
    }
    sfj_journal_id(j, jid);
    sfj__journal_pubkey(j, pk);
    sfj__cli_hex(jid, sizeof jid, p.jid);
    sfj__cli_hex(o->pinned ? o->pin : pk, 32, p.pk);
    sfj__cli_fingerprint(o->pinned ? o->pin : pk, p.fpr, sizeof p.fpr);
    p.terminal = sfj__journal_terminal_id(j);
    p.decrypted = keys != NULL;
    p.pinned = o->pinned;
    /* Entries whose chain checked out: up to the damage, or all. */
    clean_to = p.r.bad_seq != 0 ? p.r.bad_seq - 1 : p.r.last_seq;
    if (p.r.entries > 0 && clean_to > p.r.verified_to &&
        clean_to >= p.r.first_seq) {
        p.unsealed_from =
            p.r.verified_to != 0 ? p.r.verified_to + 1 : p.r.first_seq;
        p.unsealed_to = clean_to;
    }
    if (p.r.bad_seq == 0 && st.last_checkpoint > p.r.last_seq)
        p.missing_ckpt = st.last_checkpoint;
    p.ok = p.r.bad_seq == 0 && p.missing_ckpt == 0;
    if (o->format == SFJ__OUT_JSON)
        print_json(&p);
    else
        print_text(&p);
    if (!p.ok)
        dump_err("%s: verification FAILED", o->dir);
    else if (p.r.unsigned_anchor)
        dump_err("%s: warning: the prune anchor is unsigned (pruned before "
                 "signed anchors; the next prune signs one)",
                 o->dir);
    ex = !p.ok                 ? SFJ__EX_DAMAGED
         : p.r.unsigned_anchor ? SFJ__EX_ATTENTION
                               : SFJ__EX_OK;
done:
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}
