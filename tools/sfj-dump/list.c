/* Opening the journal, and the listing: one pass over the sealed records
 * with constant memory, each opened with its own record key when a key
 * is given. A damaged record is reported on stderr and the listing goes
 * on; the exit code then says damage was found. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_exit.h"
#include "dump.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/internal.h"

int dump_open(const dump_opts *o, sfj_journal **j, sfj_keys **keys)
{
    int ex;

    *j = NULL;
    *keys = NULL;
    if (o->key_file != NULL) {
        ex = sfj__cli_load_key("sfj-dump", o->key_file, keys);
        if (ex != SFJ__EX_OK)
            return ex;
    }
    return sfj__cli_open_journal("sfj-dump", o->dir, *keys, SFJ_OPEN_RDONLY, j);
}

/* Print one record if it passes the encrypted-field filters; returns 2
 * when printed, 1 when it was damaged, 0 when filtered out, -1 when out
 * of memory. */
static int list_one(const dump_opts *o, const sfj_keys *keys,
                    const uint8_t *jid, uint64_t seq, const uint8_t *rec,
                    size_t len)
{
    sfj_entry *e = NULL, h;
    dump_row r;
    int rc;

    memset(&r, 0, sizeof r);
    rc = sfj__record_peek(rec, len, &h);
    if (rc != SFJ_OK || h.seq != seq) {
        dump_err("seq %llu: damaged record header", (unsigned long long)seq);
        return 1;
    }
    r.seq = seq;
    r.kind = h.kind;
    r.epoch = h.epoch;
    r.wall_ms = h.wall_ms;
    r.size = len;
    if (h.kind == SFJ_EV_CHECKPOINT) {
        if (o->txn_id != NULL || o->status >= 0)
            return 0;
        r.has_boot = 1;
        r.boot = h.boot;
    } else if (keys != NULL) {
        rc = sfj__record_open_keys(keys, jid, rec, len, &e);
        if (rc == SFJ_ENOMEM)
            return -1;
        if (rc != SFJ_OK) {
            dump_err("seq %llu: %s", (unsigned long long)seq,
                     rc == SFJ_EAUTH ? "record fails authentication"
                                     : "record cannot be decoded");
            return 1;
        }
        if ((o->txn_id != NULL && strcmp(e->txn_id, o->txn_id) != 0) ||
            (o->status >= 0 && (int)e->status != o->status)) {
            sfj_entry_free(e);
            return 0;
        }
        r.e = e;
    }
    rc = dump_print_row(o, &r);
    sfj_entry_free(e);
    return rc < 0 ? -1 : 2;
}

int dump_list(const dump_opts *o)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    sfj_query q = SFJ_QUERY_INIT;
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    uint64_t seq, damaged = 0, shown = 0;
    size_t len;
    int rc, ex;

    ex = dump_open(o, &j, &keys);
    if (ex != SFJ__EX_OK)
        goto done;
    sfj_journal_id(j, jid);
    q.from_seq = o->from_seq;
    q.to_seq = o->to_seq;
    q.since_ms = o->since_ms;
    q.until_ms = o->until_ms;
    q.kind = o->kind;
    rc = sfj_iter_open(j, &q, &it);
    if (rc != SFJ_OK) {
        dump_err("%s: %s", o->dir, sfj_strerror(rc));
        ex = SFJ__EX_INTERNAL;
        goto done;
    }
    dump_print_header(o);
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        rc = list_one(o, keys, jid, seq, rec, len);
        if (rc < 0) {
            dump_err("out of memory");
            ex = SFJ__EX_INTERNAL;
            goto done;
        }
        damaged += rc == 1;
        shown += rc == 2;
    }
    if (rc != SFJ_ENOTFOUND) {
        dump_err("%s: reading entries: %s", o->dir, sfj_strerror(rc));
        ex = SFJ__EX_INTERNAL;
        goto done;
    }
    if (damaged > 0) {
        dump_err("%llu damaged record(s); run sfj-dump --verify",
                 (unsigned long long)damaged);
        ex = SFJ__EX_DAMAGED;
    } else if (shown == 0) {
        dump_err("no entries match");
        ex = SFJ__EX_NOMATCH;
    }
done:
    sfj_iter_free(it);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}
