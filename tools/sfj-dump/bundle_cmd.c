/* --bundle and --check-bundle: the commands around the evidence bundle
 * functions of sfj/sys/bundle.h. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"
#include "sfj/sys/bundle.h"

/* Largest bundle file read: far above any real transaction's span. */
#define BUNDLE_FILE_MAX (256u << 20)

int dump_bundle_write(const dump_opts *o)
{
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    char reason[256];
    int rc, ex;

    ex = dump_open(o, &j, &keys);
    if (ex != SFJ__EX_OK)
        goto done;
    rc = sfj__bundle_build(j, o->txn_id, &buf, &len, reason, sizeof reason);
    if (rc != SFJ_OK) {
        dump_err("bundle for txn %s: %s", o->txn_id,
                 reason[0] ? reason : sfj_strerror(rc));
        ex = rc == SFJ_ENOTFOUND || rc == SFJ_ESTATE ? SFJ__EX_NOMATCH
             : rc == SFJ_ECORRUPT || rc == SFJ_EAUTH ? SFJ__EX_DAMAGED
             : rc == SFJ_ENOKEY ? SFJ__EX_WRONGKEY /* as listings say */
                                : SFJ__EX_INTERNAL;
        goto done;
    }
    rc = sfj__cli_write_new_file(o->bundle_out, buf, len);
    if (rc != 0) {
        dump_err("%s: %s", o->bundle_out,
                 rc == -17 ? "file exists; refusing to overwrite"
                           : "cannot write the bundle");
        ex = SFJ__EX_CANTWRITE;
        goto done;
    }
    printf("bundle %s: txn %s, %zu bytes\n", o->bundle_out, o->txn_id, len);
done:
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}

static void print_summary(FILE *f, const dump_opts *o, const sfj__bundle *b)
{
    char jid[33], pk[65], fpr[24], t[40];

    sfj__cli_hex(b->journal_id, sizeof b->journal_id, jid);
    sfj__cli_hex(b->pubkey, sizeof b->pubkey, pk);
    sfj__cli_fingerprint(b->pubkey, fpr, sizeof fpr);
    sfj__cli_format_time(b->ckpt_wall_ms, t, sizeof t);
    fprintf(f,
            "bundle      OK: txn %s, %zu record(s) disclosed, %" PRIu64
            " other record(s) shown only as hashes\n",
            b->txn_id, b->n_events, b->hidden);
    fprintf(f, "journal     %s  seqs %" PRIu64 "..%" PRIu64 "\n", jid,
            b->first_seq, b->ckpt_seq);
    if (b->dict_len > 0)
        fprintf(f,
                "dictionary  the journal's own, %zu bytes, carried to read "
                "the records\n",
                b->dict_len);
    fprintf(f, "sealed by   checkpoint %" PRIu64 " at %s (boot %" PRIu32 ")\n",
            b->ckpt_seq, t, b->ckpt_boot);
    fprintf(f, "public key  %s  fingerprint %s\n", pk, fpr);
    fprintf(f, "key check   %s\n",
            o->pinned ? "matches the key given with --pubkey"
                      : "NOT pinned: compare the fingerprint with the "
                        "terminal's (sfj-keygen show) or pass --pubkey");
}

int dump_bundle_check(const dump_opts *o)
{
    uint8_t *buf = NULL;
    size_t len = 0, i;
    sfj__bundle b;
    dump_row r;
    int rc, human, ex = SFJ__EX_OK;

    memset(&b, 0, sizeof b);
    rc = sfj__cli_read_file(o->bundle_in, BUNDLE_FILE_MAX, &buf, &len);
    if (rc != 0) {
        dump_err("%s: %s", o->bundle_in,
                 rc == -2   ? "no such file"
                 : rc == -3 ? "not a regular file of a plausible size"
                            : "cannot read");
        ex = SFJ__EX_NOTFOUND;
        goto done;
    }
    rc = sfj__bundle_check(buf, len, o->pinned ? o->pin : NULL, &b);
    if (rc != SFJ_OK) {
        dump_err("%s: bundle REJECTED: %s (byte offset %zu)", o->bundle_in,
                 b.reason, b.bad_offset);
        ex = rc == SFJ_ENOMEM ? SFJ__EX_INTERNAL : SFJ__EX_DAMAGED;
        goto done;
    }
    /* Machine formats keep stdout to the events alone. */
    human = o->format == SFJ__OUT_TEXT || o->format == SFJ__OUT_WIDE;
    print_summary(human ? stdout : stderr, o, &b);
    if (human)
        printf("\n");
    dump_print_header(o);
    for (i = 0; i < b.n_events; i++) {
        memset(&r, 0, sizeof r);
        r.seq = b.events[i]->seq;
        r.kind = b.events[i]->kind;
        r.epoch = b.events[i]->epoch;
        r.wall_ms = b.events[i]->wall_ms;
        r.e = b.events[i];
        if (dump_print_row(o, &r) != 0) {
            dump_err("out of memory");
            ex = SFJ__EX_INTERNAL;
            goto done;
        }
    }
done:
    sfj__bundle_clear(&b);
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    return ex;
}
