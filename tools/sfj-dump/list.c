/* Opening the journal, and the listing: one pass over the sealed records
 * with constant memory, each opened with its own record key when a key
 * is given. A damaged record is reported on stderr and the listing goes
 * on; the exit code then says damage was found. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"
#include "sfj/sys/bundle.h"
#include "sfj/sys/internal.h"

static int key_error(const char *path, int rc)
{
    switch (rc) {
    case SFJ_ENOTFOUND:
        dump_err("key file %s: not found", path);
        break;
    case SFJ_EPERM:
        dump_err("key file %s: readable by group or others, or not "
                 "readable at all (chmod 600)",
                 path);
        break;
    case SFJ_ECORRUPT:
        dump_err("key file %s: not an sfj master key file", path);
        break;
    default:
        dump_err("key file %s: %s", path, sfj_strerror(rc));
        break;
    }
    return DUMP_KEY;
}

int dump_open(const dump_opts *o, sfj_journal **j, sfj_keys **keys)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t stored[32], mine[32];
    int rc;

    *j = NULL;
    *keys = NULL;
    if (o->key_file != NULL) {
        rc = sfj_keys_load_file(o->key_file, keys);
        if (rc != SFJ_OK)
            return key_error(o->key_file, rc);
    }
    opts.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK;
    rc = sfj_journal_open(o->dir, *keys, &opts, j);
    if (rc == SFJ_EAUTH) {
        dump_err("%s: the key does not belong to this journal", o->dir);
        return DUMP_KEY;
    }
    if (rc != SFJ_OK) {
        dump_err("%s: cannot open journal: %s", o->dir,
                 rc == SFJ_ENOTFOUND || rc == SFJ_EIO ? "no such sfj journal"
                                                      : sfj_strerror(rc));
        return DUMP_NOINPUT;
    }
    /* A mirror holds no key check value; its stored public key tells
     * whether the key is the terminal's. */
    if (*keys != NULL) {
        sfj__journal_pubkey(*j, stored);
        sfj_keys_public_key(*keys, mine);
        if (memcmp(stored, mine, sizeof mine) != 0) {
            dump_err("%s: the key does not belong to this journal", o->dir);
            return DUMP_KEY;
        }
    }
    return DUMP_OK;
}

/* Print one record if it passes the encrypted-field filters; returns 1
 * when it was damaged, -1 when out of memory. */
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
    return rc;
}

int dump_list(const dump_opts *o)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    sfj_query q = SFJ_QUERY_INIT;
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    uint64_t seq, damaged = 0;
    size_t len;
    int rc, ex;

    ex = dump_open(o, &j, &keys);
    if (ex != DUMP_OK)
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
        ex = DUMP_INTERNAL;
        goto done;
    }
    dump_print_header(o);
    while ((rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        rc = list_one(o, keys, jid, seq, rec, len);
        if (rc < 0) {
            dump_err("out of memory");
            ex = DUMP_INTERNAL;
            goto done;
        }
        damaged += (uint64_t)rc;
    }
    if (rc != SFJ_ENOTFOUND) {
        dump_err("%s: reading entries: %s", o->dir, sfj_strerror(rc));
        ex = DUMP_INTERNAL;
        goto done;
    }
    if (damaged > 0) {
        dump_err("%llu damaged record(s); run sfj-dump --verify",
                 (unsigned long long)damaged);
        ex = DUMP_DAMAGED;
    }
done:
    sfj_iter_free(it);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}
