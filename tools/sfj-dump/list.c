/* Opening the journal, and the listing: passes over the sealed records
 * with constant memory, each opened with its own record key when a key
 * is given. A damaged record is reported on stderr and the listing goes
 * on; the exit code then says damage was found. -r walks from the newest
 * seq down; -n N without -r walks down to the Nth match and lists from
 * there; --follow then lists new entries as their commits become visible
 * (durable: the writer's commit is synchronous). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_exit.h"
#include "cli_progress.h"
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

/* Print one record (when `print`; else only look, and say nothing of
 * damage) if it passes the filters; returns 2 when it matches, 1 when it
 * was damaged, 3 when no key given opens its epoch, 0 when filtered out,
 * -1 when out of memory. */
static int list_one(const dump_opts *o, const sfj_keys *keys,
                    const struct sfj__dict *dict, const uint8_t *jid,
                    uint64_t seq, const uint8_t *rec, size_t len, int print)
{
    sfj_entry *e = NULL, h;
    dump_row r;
    int rc;

    memset(&r, 0, sizeof r);
    rc = sfj__record_peek(rec, len, &h);
    if (rc != SFJ_OK || h.seq != seq) {
        if (print)
            dump_err("seq %llu: damaged record header",
                     (unsigned long long)seq);
        return 1;
    }
    if ((o->has_since && h.wall_ms < o->since_ms) ||
        (o->has_until && h.wall_ms >= o->until_ms) ||
        (o->kind != 0 && h.kind != o->kind))
        return 0;
    r.seq = seq;
    r.kind = h.kind;
    r.epoch = h.epoch;
    r.wall_ms = h.wall_ms;
    r.size = len;
    if (h.kind == SFJ_EV_CHECKPOINT || h.kind == SFJ_EV_KEY_ROTATION) {
        if (o->txn_id != NULL || o->status >= 0)
            return 0;
        r.has_boot = h.kind == SFJ_EV_CHECKPOINT;
        r.boot = h.boot;
    } else if (keys != NULL) {
        rc = sfj__record_open_keys(keys, jid, dict, rec, len, &e);
        if (rc == SFJ_ENOMEM)
            return -1;
        if (rc == SFJ_ENOKEY)
            return 3; /* not damage: a key file not given */
        if (rc != SFJ_OK) {
            if (print)
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
    rc = print ? dump_print_row(o, &r) : 0;
    sfj_entry_free(e);
    return rc < 0 ? -1 : 2;
}

typedef struct list_ctx {
    const dump_opts *o;
    sfj_journal *j;
    sfj_keys *keys;
    const sfj_keys *bound; /* the journal's copy, bound to its epochs */
    uint8_t jid[SFJ_JOURNAL_ID_BYTES];
    uint64_t damaged, shown;
    uint64_t nokey;         /* records of key epochs whose key was not given */
    uint64_t next;          /* the first seq not yet examined */
    sfj__progress progress; /* of the first pass, on a TTY */
} list_ctx;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Count one examined record; an exit code. */
static int tally(list_ctx *c, int rc)
{
    if (rc < 0) {
        dump_err("out of memory");
        return SFJ__EX_INTERNAL;
    }
    c->damaged += rc == 1;
    c->shown += rc == 2;
    c->nokey += rc == 3;
    return SFJ__EX_OK;
}

/* List the matches from seq `from` on, in seq order; an exit code. */
static int forward(list_ctx *c, uint64_t from)
{
    sfj_query q = SFJ_QUERY_INIT;
    sfj_iter *it = NULL;
    const uint8_t *rec;
    uint64_t seq;
    size_t len;
    int rc, ex = SFJ__EX_OK;

    q.from_seq = from > c->o->from_seq ? from : c->o->from_seq;
    q.to_seq = c->o->to_seq;
    q.since_ms = c->o->since_ms;
    q.until_ms = c->o->until_ms;
    q.kind = c->o->kind;
    if (q.to_seq != 0 && q.from_seq > q.to_seq)
        return SFJ__EX_OK;
    rc = sfj_iter_open(c->j, &q, &it);
    if (rc != SFJ_OK) {
        dump_err("%s: %s", c->o->dir, sfj_strerror(rc));
        return sfj__cli_exit_for(rc);
    }
    while (ex == SFJ__EX_OK &&
           (rc = sfj__iter_next_sealed(it, &seq, &rec, &len)) == SFJ_OK) {
        ex = tally(c, list_one(c->o, c->bound, sfj__journal_dict(c->j), c->jid,
                               seq, rec, len, 1));
        c->next = seq + 1;
        if (seq >= q.from_seq && q.from_seq > 0)
            sfj__progress_step(&c->progress, seq - q.from_seq + 1);
        else
            sfj__progress_step(&c->progress, seq);
    }
    sfj__progress_end(&c->progress);
    if (ex == SFJ__EX_OK && rc != SFJ_ENOTFOUND) {
        dump_err("%s: reading entries: %s", c->o->dir, sfj_strerror(rc));
        ex = sfj__cli_exit_for(rc);
    }
    sfj_iter_free(it);
    return ex;
}

/* Walk from the newest seq down: print the matches (-r), at most
 * o->lines of them, or (without -r) find the seq of the o->lines-th
 * newest match into *start. An exit code. */
static int backward(list_ctx *c, uint64_t *start)
{
    sfj_stats st = SFJ_STATS_INIT;
    uint64_t lo, hi, seq, found = 0;
    uint8_t *rec = NULL;
    size_t len = 0;
    int rc, ex = SFJ__EX_OK;

    rc = sfj_stats_get(c->j, &st);
    if (rc != SFJ_OK) {
        dump_err("%s: %s", c->o->dir, sfj_strerror(rc));
        return sfj__cli_exit_for(rc);
    }
    lo = st.first_seq > c->o->from_seq ? st.first_seq : c->o->from_seq;
    hi = c->o->to_seq != 0 && c->o->to_seq < st.last_seq ? c->o->to_seq
                                                         : st.last_seq;
    *start = hi + 1;
    c->next = st.last_seq + 1;
    for (seq = hi; seq >= lo && seq > 0 && ex == SFJ__EX_OK; seq--) {
        rc = sfj__journal_read_sealed(c->j, seq, &rec, &len);
        if (rc == SFJ_ENOTFOUND)
            continue;
        if (rc != SFJ_OK) {
            dump_err("%s: seq %llu: %s", c->o->dir, (unsigned long long)seq,
                     sfj_strerror(rc));
            return sfj__cli_exit_for(rc);
        }
        rc = list_one(c->o, c->bound, sfj__journal_dict(c->j), c->jid, seq, rec,
                      len, c->o->reverse);
        free(rec);
        rec = NULL;
        if (!c->o->reverse) {
            /* Only looking: the forward pass reports what it lists. */
            if (rc < 0)
                ex = tally(c, rc);
            if (rc != 2)
                continue;
            *start = seq;
            if (c->o->lines != 0 && ++found == c->o->lines)
                break;
            continue;
        }
        ex = tally(c, rc);
        if (c->o->lines != 0 && c->shown == c->o->lines)
            break;
    }
    return ex;
}

/* New entries until SIGINT or SIGTERM; an exit code. */
static int follow(list_ctx *c)
{
    struct timespec nap = {0, 200 * 1000 * 1000};
    int ex = SFJ__EX_OK;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!g_stop && ex == SFJ__EX_OK) {
        if (fflush(stdout) != 0) {
            dump_err("cannot write output");
            return SFJ__EX_CANTWRITE;
        }
        nanosleep(&nap, NULL);
        ex = forward(c, c->next);
    }
    return ex;
}

int dump_list(const dump_opts *o)
{
    list_ctx c;
    uint64_t start = 0;
    int ex;

    memset(&c, 0, sizeof c);
    c.o = o;
    ex = dump_open(o, &c.j, &c.keys);
    if (ex != SFJ__EX_OK)
        goto done;
    sfj_journal_id(c.j, c.jid);
    c.bound = c.keys != NULL ? sfj__journal_keys(c.j) : NULL;
    {
        uint64_t base = o->from_seq > 0 ? o->from_seq : 1;
        sfj_stats st = SFJ_STATS_INIT;

        if (sfj_stats_get(c.j, &st) != SFJ_OK)
            st.last_seq = 0;
        sfj__progress_start(&c.progress, "sfj-dump", "listing", "entries",
                            st.last_seq >= base ? st.last_seq - base + 1 : 0);
    }
    dump_print_header(o);
    if (o->reverse || o->lines != 0) {
        ex = backward(&c, &start);
        if (ex == SFJ__EX_OK && !o->reverse)
            ex = forward(&c, start);
    } else {
        ex = forward(&c, 0);
    }
    c.progress.on = 0; /* the first pass only */
    if (ex == SFJ__EX_OK && o->follow)
        ex = follow(&c);
    if (ex != SFJ__EX_OK)
        goto done;
    if (c.damaged > 0) {
        dump_err("%llu damaged record(s); run sfj-dump --verify",
                 (unsigned long long)c.damaged);
        ex = SFJ__EX_DAMAGED;
    } else if (c.nokey > 0) {
        dump_err("%llu record(s) sealed under an earlier key epoch: give that "
                 "epoch's key file with another -k",
                 (unsigned long long)c.nokey);
        ex = SFJ__EX_WRONGKEY;
    } else if (c.shown == 0 && !o->follow) {
        dump_err("no entries match");
        ex = SFJ__EX_NOMATCH;
    }
done:
    sfj_journal_close(c.j);
    sfj_keys_free(c.keys);
    return ex;
}
