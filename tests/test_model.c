/* Model-based test: random sequences of append (legal and illegal), ack,
 * kill -9 mid-append, reopen, prune and recover on one journal, checked
 * after every step against a small in-memory model of the entries, the
 * txn states (sfj_txn_get of every txn, through the writing handle and a
 * read-only one) and the ack watermark. Handles and crash children use a
 * checkpoint every few entries a third of the time, so that the txn index
 * overlay is persisted often and kills fall before, during and after its
 * persists.
 *
 * SFJ_MODEL_SEED replays a run (the seed is printed), SFJ_MODEL_STEPS sets
 * its length, SFJ_SOAK=1 makes it ten times longer. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sfj/sys/internal.h"
#include "sfj/sys/verify.h"
#include "support/testutil.h"

#define DEFAULT_STEPS 1000
#define PLAN_MAX      8
#define DAY_MS        86400000ll

typedef sfj_test_fixture fixture;

/* Model txn states (not the library's: in doubt and closed are derived). */
enum { T_INTENT = 1, T_APPROVED, T_DECLINED, T_OFFLINE, T_REVERSED };

typedef struct mtxn {
    char id[24];
    int state;
    int printed;
    unsigned gen; /* open generation that wrote the intent */
    uint64_t first_seq, last_seq, offline_seq;
    int64_t amount; /* of the newest intent: an outcome must carry it */
} mtxn;

typedef struct ment {
    uint16_t kind, status;
    int txn; /* index into txns, -1 for none */
    int64_t amount;
} ment;

typedef struct plan_ev {
    uint16_t kind, status;
    char id[24];
    int64_t amount;
} plan_ev;

typedef struct model {
    ment *ents; /* indexed by seq */
    uint64_t cap, first, last, wm;
    mtxn *txns;
    int ntxn, txcap;
    unsigned gen;     /* bumped by every open, the child's included */
    unsigned next_id; /* txn ids are T<seed>-<n> */
    uint64_t seed, rng;
    /* counts for the summary */
    uint64_t appends, illegal, acks, crashes, reopens, prunes, pruned, recovers,
        cut_reports, unreported;
} model;

static uint64_t rnd(model *m)
{
    /* splitmix64 */
    uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(model *m, uint64_t n)
{
    return n == 0 ? 0 : rnd(m) % n;
}

static void put_ent(model *m, uint64_t seq, uint16_t kind, uint16_t status,
                    int txn, int64_t amount)
{
    if (seq >= m->cap) {
        uint64_t old = m->cap;

        m->cap = seq * 2 + 1024;
        m->ents = realloc(m->ents, m->cap * sizeof *m->ents);
        assert_non_null(m->ents);
        memset(m->ents + old, 0, (m->cap - old) * sizeof *m->ents);
    }
    assert_int_equal(seq, m->last + 1);
    m->ents[seq].kind = kind;
    m->ents[seq].status = status;
    m->ents[seq].txn = txn;
    m->ents[seq].amount = amount;
    m->last = seq;
    if (m->first == 0)
        m->first = seq;
}

static int find_txn(const mtxn *t, int n, const char *id)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(t[i].id, id) == 0)
            return i;
    return -1;
}

/* A txn's state after `ev` (seq 0 while planning). */
static int txn_apply(mtxn **tp, int *n, int *cap, unsigned gen,
                     const plan_ev *ev, uint64_t seq)
{
    int i;
    mtxn *t;

    if (ev->kind == SFJ_EV_NOTE)
        return -1;
    i = find_txn(*tp, *n, ev->id);
    if (i < 0) {
        if (*n == *cap) {
            *cap = *cap * 2 + 64;
            *tp = realloc(*tp, (size_t)*cap * sizeof **tp);
            assert_non_null(*tp);
        }
        i = (*n)++;
        memset(&(*tp)[i], 0, sizeof **tp);
        snprintf((*tp)[i].id, sizeof(*tp)[i].id, "%s", ev->id);
        (*tp)[i].first_seq = seq;
    }
    t = &(*tp)[i];
    t->last_seq = seq;
    switch (ev->kind) {
    case SFJ_EV_TXN_INTENT:
        t->state = T_INTENT;
        t->gen = gen;
        t->amount = ev->amount;
        break;
    case SFJ_EV_TXN_OUTCOME:
        t->state = ev->status == SFJ_ST_APPROVED ? T_APPROVED : T_DECLINED;
        break;
    case SFJ_EV_TXN_OFFLINE:
        t->state = T_OFFLINE;
        t->offline_seq = seq;
        break;
    case SFJ_EV_RECEIPT:
        t->printed = 1;
        break;
    case SFJ_EV_REVERSAL:
        t->state = T_REVERSED;
        break;
    }
    return i;
}

static void model_append(model *m, const plan_ev *ev, uint64_t seq)
{
    int i = txn_apply(&m->txns, &m->ntxn, &m->txcap, m->gen, ev, seq);

    put_ent(m, seq, ev->kind, ev->status, i, ev->amount);
}

/* Pick a txn satisfying `pred`, or -1. */
static int pick(model *m, const mtxn *t, int n, unsigned gen,
                int (*pred)(const mtxn *, unsigned))
{
    int i, cnt = 0, k;

    for (i = 0; i < n; i++)
        cnt += pred(&t[i], gen);
    if (cnt == 0)
        return -1;
    k = (int)below(m, (uint64_t)cnt);
    for (i = 0; i < n; i++)
        if (pred(&t[i], gen) && k-- == 0)
            return i;
    return -1;
}

static int waiting(const mtxn *t, unsigned gen)
{
    return t->state == T_INTENT && t->gen == gen;
}

static int in_doubt(const mtxn *t, unsigned gen)
{
    return t->state == T_INTENT && t->gen != gen;
}

static int approved_unprinted(const mtxn *t, unsigned gen)
{
    (void)gen;
    return (t->state == T_APPROVED || t->state == T_OFFLINE) && !t->printed;
}

static int decided(const mtxn *t, unsigned gen)
{
    (void)gen;
    return t->state == T_APPROVED || t->state == T_DECLINED;
}

static int intent_any(const mtxn *t, unsigned gen)
{
    (void)gen;
    return t->state == T_INTENT;
}

static void new_id(model *m, char *out)
{
    snprintf(out, 24, "T%" PRIu64 "-%u", m->seed % 100000, m->next_id++);
}

/* A legal event for the txns `t` as seen by open generation `gen`. */
static void gen_legal(model *m, const mtxn *t, int n, unsigned gen, plan_ev *ev)
{
    int i;

    memset(ev, 0, sizeof *ev);
    ev->amount = 1 + (int64_t)below(m, 100000);
    switch (below(m, 10)) {
    case 0:
        ev->kind = SFJ_EV_TXN_OFFLINE;
        ev->status = SFJ_ST_APPROVED;
        new_id(m, ev->id);
        return;
    case 1:
        ev->kind = SFJ_EV_TXN_INTENT;
        new_id(m, ev->id);
        return;
    case 2:
    case 3:
        if ((i = pick(m, t, n, gen, waiting)) >= 0) {
            ev->kind = SFJ_EV_TXN_OUTCOME;
            ev->status = below(m, 4) ? SFJ_ST_APPROVED : SFJ_ST_DECLINED;
            ev->amount = t[i].amount;
            snprintf(ev->id, sizeof ev->id, "%s", t[i].id);
            return;
        }
        break;
    case 4:
    case 5:
    case 6:
        if ((i = pick(m, t, n, gen, approved_unprinted)) >= 0) {
            ev->kind = SFJ_EV_RECEIPT;
            ev->status = SFJ_ST_PRINTED;
            snprintf(ev->id, sizeof ev->id, "%s", t[i].id);
            return;
        }
        break;
    case 7:
    case 8:
        if ((i = pick(m, t, n, gen, in_doubt)) >= 0) {
            ev->kind = SFJ_EV_REVERSAL;
            ev->status = SFJ_ST_REV_DECIDED;
            snprintf(ev->id, sizeof ev->id, "%s", t[i].id);
            return;
        }
        break;
    }
    ev->kind = SFJ_EV_NOTE;
}

static int do_append(sfj_journal *j, const plan_ev *ev, int64_t wall,
                     uint64_t *seq)
{
    sfj_event e = SFJ_EVENT_INIT;

    e.kind = ev->kind;
    e.status = ev->status;
    e.txn_id = ev->kind == SFJ_EV_NOTE ? NULL : ev->id;
    e.amount = ev->amount;
    e.currency = "EUR";
    e.copy = ev->kind == SFJ_EV_RECEIPT ? 1 : 0;
    e.wall_ms = wall;
    return sfj_append(j, &e, seq);
}

static sfj_stats stats(fixture *f)
{
    sfj_stats st = SFJ_STATS_INIT;

    assert_int_equal(sfj_stats_get(f->j, &st), SFJ_OK);
    return st;
}

/* Entries the model does not know yet must be checkpoints (written by
 * open, close or every checkpoint_every entries). */
static void absorb_checkpoints(fixture *f, model *m)
{
    sfj_stats st = stats(f);
    sfj_entry *e = NULL;
    uint64_t s;

    assert_true(st.last_seq >= m->last);
    for (s = m->last + 1; s <= st.last_seq; s++) {
        assert_int_equal(sfj_read(f->j, s, &e), SFJ_OK);
        if (e->kind != SFJ_EV_CHECKPOINT)
            fail_msg("seed %" PRIu64 ": unexpected %s at seq %" PRIu64, m->seed,
                     sfj_kind_name(e->kind), s);
        sfj_entry_free(e);
        put_ent(m, s, SFJ_EV_CHECKPOINT, 0, -1, 0);
    }
}

/* A checkpoint interval for a handle: mostly the default, sometimes a few
 * entries, so that the txn index overlay is persisted often and kills and
 * checks land before, during and after its persists. */
static uint32_t ckpt_every(model *m)
{
    return below(m, 3) == 0 ? 2 + (uint32_t)below(m, 5) : 0;
}

static void open_j(fixture *f, model *m, const sfj_journal_opts *o)
{
    sfj_journal_opts d = SFJ_JOURNAL_OPTS_INIT;
    int rc;

    sfj_journal_close(f->j);
    f->j = NULL;
    if (o == NULL) {
        d.checkpoint_every = ckpt_every(m);
        o = &d;
    }
    rc = sfj_journal_open(f->path, f->keys, o, &f->j);
    if (rc != SFJ_OK)
        fail_msg("seed %" PRIu64 ": open: %s (%s)", m->seed, sfj_strerror(rc),
                 sfj_journal_errmsg(NULL));
    m->gen++;
    absorb_checkpoints(f, m);
}

/* Would the documented retention rules keep `s`'s first-event txn? */
static int opens_txn_at(const model *m, uint64_t s)
{
    const ment *e = &m->ents[s];
    const mtxn *t;

    if (e->txn < 0)
        return 0;
    t = &m->txns[e->txn];
    if (t->first_seq != s)
        return 0;
    if (t->state == T_INTENT)
        return 1;
    if (t->state == T_APPROVED && !t->printed)
        return 1;
    return t->state == T_OFFLINE && !(t->printed && t->offline_seq <= m->wm);
}

static int public_state(const model *m, const mtxn *t)
{
    switch (t->state) {
    case T_INTENT:
        return t->gen == m->gen ? SFJ_TXN_INTENT : SFJ_TXN_IN_DOUBT;
    case T_APPROVED:
        return t->printed ? SFJ_TXN_CLOSED : SFJ_TXN_DONE;
    case T_DECLINED:
        return SFJ_TXN_DONE;
    case T_OFFLINE:
        return t->offline_seq <= m->wm ? SFJ_TXN_FORWARDED : SFJ_TXN_OFFLINE;
    default:
        return SFJ_TXN_REVERSED;
    }
}

/* One txn as handle `j` shows it (`ro`: a read-only handle, to which
 * every waiting intent is in doubt). */
static void check_txn(sfj_journal *j, model *m, const mtxn *t, int ro)
{
    sfj_txn x = SFJ_TXN_INIT;
    int rc = sfj_txn_get(j, t->id, &x), want = public_state(m, t);

    if (t->last_seq < m->first) {
        /* Every event pruned: its index record went with them. */
        if (rc != SFJ_ENOTFOUND)
            fail_msg(
                "seed %" PRIu64 ": txn %s (state %d, printed %d, seqs %" PRIu64
                "..%" PRIu64 ") still indexed below first held %" PRIu64 ": %s",
                m->seed, t->id, t->state, t->printed, t->first_seq, t->last_seq,
                m->first, sfj_strerror(rc));
        return;
    }
    if (rc != SFJ_OK)
        fail_msg("seed %" PRIu64 ": txn %s: %s", m->seed, t->id,
                 sfj_strerror(rc));
    if (ro && want == SFJ_TXN_INTENT)
        want = SFJ_TXN_IN_DOUBT;
    if ((int)x.state != want)
        fail_msg("seed %" PRIu64 ": txn %s state %d, model %d%s", m->seed,
                 t->id, x.state, want, ro ? " (read-only handle)" : "");
    assert_int_equal(x.first_seq, t->first_seq);
    assert_int_equal(x.last_seq, t->last_seq);
    assert_int_equal((x.flags & SFJ_TXN_F_PRINTED) != 0, t->printed);
    if (t->state == T_OFFLINE)
        assert_int_equal(x.offline_seq, t->offline_seq);
}

/* Everything the journal shows must equal the model. */
static void check_all(fixture *f, model *m, int deep)
{
    sfj_stats st = stats(f);
    sfj__verify_result vr;
    sfj_iter *it = NULL;
    sfj_entry *e = NULL;
    uint64_t s, n = 0;
    int rc, i;

    assert_int_equal(st.last_seq, m->last);
    assert_int_equal(st.acked_seq, m->wm);
    /* What went since the last check went by the rules. */
    assert_true(st.first_seq >= m->first);
    for (s = m->first; s < st.first_seq; s++) {
        if (s > m->wm || s >= m->last || opens_txn_at(m, s))
            fail_msg(
                "seed %" PRIu64 ": seq %" PRIu64 " pruned (watermark %" PRIu64
                ", last %" PRIu64 ", kind %s)",
                m->seed, s, m->wm, m->last, sfj_kind_name(m->ents[s].kind));
        m->pruned++;
    }
    m->first = st.first_seq;
    assert_int_equal(st.entries, m->last ? m->last - m->first + 1 : 0);
    assert_int_equal(st.unacked, m->last - m->wm);
    /* Every held entry reads back as the model has it, seqs dense. */
    assert_int_equal(sfj_iter_open(f->j, NULL, &it), SFJ_OK);
    s = m->first;
    while ((rc = sfj_iter_next(it, &e)) == SFJ_OK) {
        const ment *me = &m->ents[s];

        if (e->seq != s || e->kind != me->kind)
            fail_msg("seed %" PRIu64 ": seq %" PRIu64 " is %s at %" PRIu64
                     ", model %s",
                     m->seed, s, sfj_kind_name(e->kind), e->seq,
                     sfj_kind_name(me->kind));
        if (me->kind != SFJ_EV_CHECKPOINT) {
            assert_int_equal(e->status, me->status);
            assert_int_equal(e->amount, me->amount);
            assert_string_equal(e->txn_id,
                                me->txn >= 0 ? m->txns[me->txn].id : "");
        }
        sfj_entry_free(e);
        s++;
        n++;
    }
    assert_int_equal(rc, SFJ_ENOTFOUND);
    sfj_iter_free(it);
    assert_int_equal(n, st.entries);
    /* The chain verifies from the prune anchor. */
    assert_int_equal(sfj__verify(f->j, 0, NULL, deep, &vr), SFJ_OK);
    if (vr.bad_seq != 0)
        fail_msg("seed %" PRIu64 ": verify: bad seq %" PRIu64 ": %s", m->seed,
                 vr.bad_seq, vr.reason);
    assert_int_equal(vr.first_seq, m->first);
    assert_int_equal(vr.last_seq, m->last);
    /* Every txn's state, through this handle (its overlay) and, every
     * fourth check, through a read-only handle that replays the tail
     * after the persisted index itself. */
    for (i = 0; i < m->ntxn; i++)
        check_txn(f->j, m, &m->txns[i], 0);
    if (below(m, 4) == 0) {
        sfj_journal_opts ro = SFJ_JOURNAL_OPTS_INIT;
        sfj_journal *r = NULL;

        ro.flags = SFJ_OPEN_RDONLY;
        assert_int_equal(sfj_journal_open(f->path, f->keys, &ro, &r), SFJ_OK);
        for (i = 0; i < m->ntxn; i++)
            check_txn(r, m, &m->txns[i], 1);
        sfj_journal_close(r);
    }
}

static void step_append(fixture *f, model *m)
{
    plan_ev ev;
    uint64_t seq = 0;
    int rc;

    gen_legal(m, m->txns, m->ntxn, m->gen, &ev);
    rc = do_append(f->j, &ev, 0, &seq);
    if (rc != SFJ_OK)
        fail_msg("seed %" PRIu64 ": append %s %s: %s", m->seed,
                 sfj_kind_name(ev.kind), ev.id, sfj_strerror(rc));
    assert_int_equal(seq, m->last + 1);
    model_append(m, &ev, seq);
    absorb_checkpoints(f, m);
    m->appends++;
}

static void step_illegal(fixture *f, model *m)
{
    plan_ev ev;
    uint64_t seq = 0, last = m->last;
    int i = -1, rc;

    memset(&ev, 0, sizeof ev);
    ev.amount = 7;
    switch (below(m, 5)) {
    case 0: /* an outcome for a txn never seen */
        ev.kind = SFJ_EV_TXN_OUTCOME;
        ev.status = SFJ_ST_APPROVED;
        snprintf(ev.id, sizeof ev.id, "X%" PRIu64, rnd(m) % 1000000);
        break;
    case 1: /* a second outcome */
        i = pick(m, m->txns, m->ntxn, m->gen, decided);
        ev.kind = SFJ_EV_TXN_OUTCOME;
        ev.status = SFJ_ST_APPROVED;
        break;
    case 2: /* a receipt before any outcome */
        i = pick(m, m->txns, m->ntxn, m->gen, intent_any);
        ev.kind = SFJ_EV_RECEIPT;
        ev.status = SFJ_ST_PRINTED;
        break;
    case 3: /* an offline sale reusing an id */
        if (m->ntxn > 0)
            i = (int)below(m, (uint64_t)m->ntxn);
        ev.kind = SFJ_EV_TXN_OFFLINE;
        ev.status = SFJ_ST_APPROVED;
        break;
    default: /* an ack past the newest entry */
        assert_int_equal(sfj__journal_ack(f->j, m->last + 1, NULL, 0),
                         SFJ_EINVAL);
        m->illegal++;
        return;
    }
    if (ev.id[0] == '\0') {
        if (i < 0 || m->txns[i].last_seq < m->first)
            return; /* nothing fits, or its index record is pruned */
        snprintf(ev.id, sizeof ev.id, "%s", m->txns[i].id);
    }
    rc = do_append(f->j, &ev, 0, &seq);
    if (rc != SFJ_ESTATE)
        fail_msg("seed %" PRIu64 ": illegal %s for %s: %s", m->seed,
                 sfj_kind_name(ev.kind), ev.id, sfj_strerror(rc));
    assert_int_equal(stats(f).last_seq, last);
    m->illegal++;
}

static void step_ack(fixture *f, model *m)
{
    uint64_t upto = below(m, m->last + 1), wm = 0;

    /* Mostly forward, sometimes behind the watermark (a no-op). */
    if (upto < m->wm && below(m, 2))
        upto = m->wm + below(m, m->last - m->wm + 1);
    assert_int_equal(sfj__journal_ack(f->j, upto, NULL, 0), SFJ_OK);
    if (upto > m->wm)
        m->wm = upto;
    assert_int_equal(sfj__journal_watermark(f->j, &wm), SFJ_OK);
    assert_int_equal(wm, m->wm);
    m->acks++;
}

/* Child: open, append the plan, report each durable (index, seq), wait for
 * the kill. */
static void child_run(fixture *f, const plan_ev *plan, int n, int fd,
                      uint32_t every)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    sfj_journal *j = NULL;
    uint64_t rec[2];
    int i;

    o.checkpoint_every = every;
    if (sfj_journal_open(f->path, f->keys, &o, &j) != SFJ_OK)
        _exit(3);
    for (i = 0; i < n; i++) {
        if (do_append(j, &plan[i], 0, &rec[1]) != SFJ_OK)
            _exit(4);
        rec[0] = (uint64_t)i;
        if (write(fd, rec, sizeof rec) != sizeof rec)
            _exit(5);
    }
    for (;;)
        pause();
}

static void step_crash(fixture *f, model *m)
{
    plan_ev plan[PLAN_MAX];
    uint64_t reported[PLAN_MAX], rec[2], s;
    mtxn *pt;
    int n = 1 + (int)below(m, PLAN_MAX), np, ptcap, i, nrep = 0, next = 0;
    int fds[2], status;
    uint32_t every = ckpt_every(m);
    pid_t pid;

    /* The child's events, decided here so the parent knows them: legal
     * from the txn states as the child's open will see them. */
    ptcap = m->ntxn + PLAN_MAX;
    pt = malloc((size_t)ptcap * sizeof *pt);
    assert_non_null(pt);
    if (m->ntxn > 0) /* m->txns is NULL until the first txn */
        memcpy(pt, m->txns, (size_t)m->ntxn * sizeof *pt);
    np = m->ntxn;
    for (i = 0; i < n; i++) {
        gen_legal(m, pt, np, m->gen + 1, &plan[i]);
        txn_apply(&pt, &np, &ptcap, m->gen + 1, &plan[i], 0);
    }
    free(pt);

    assert_int_equal(sfj_journal_close(f->j), SFJ_OK);
    f->j = NULL;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        child_run(f, plan, n, fds[1], every);
    }
    close(fds[1]);
    if (below(m, 2)) {
        struct pollfd pfd = {fds[0], POLLIN, 0};

        assert_int_equal(poll(&pfd, 1, 30000), 1);
    }
    usleep((unsigned)below(m, 20000));
    kill(pid, SIGKILL);
    while (read(fds[0], rec, sizeof rec) == sizeof rec) {
        assert_int_equal(rec[0], (uint64_t)nrep);
        reported[nrep++] = rec[1];
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status))
        fail_msg("seed %" PRIu64 ": crash child exited with %d", m->seed,
                 WEXITSTATUS(status));
    m->gen++; /* the child's open */

    /* Reopen: the journal continues the model with the plan's events in
     * order (checkpoints between), at least the reported ones. */
    assert_int_equal(sfj_journal_open(f->path, f->keys, NULL, &f->j), SFJ_OK);
    m->gen++;
    {
        sfj_stats st = stats(f);
        sfj_entry *e = NULL;

        for (s = m->last + 1; s <= st.last_seq; s++) {
            assert_int_equal(sfj_read(f->j, s, &e), SFJ_OK);
            if (e->kind == SFJ_EV_CHECKPOINT) {
                put_ent(m, s, SFJ_EV_CHECKPOINT, 0, -1, 0);
            } else {
                if (next >= n)
                    fail_msg("seed %" PRIu64 ": seq %" PRIu64
                             " beyond the child's plan",
                             m->seed, s);
                if (e->kind != plan[next].kind ||
                    e->status != plan[next].status ||
                    e->amount != plan[next].amount ||
                    strcmp(e->txn_id, plan[next].kind == SFJ_EV_NOTE
                                          ? ""
                                          : plan[next].id) != 0)
                    fail_msg("seed %" PRIu64 ": seq %" PRIu64
                             " is not the child's event %d",
                             m->seed, s, next);
                if (next < nrep)
                    assert_int_equal(reported[next], s);
                /* Its txn state is as of the child's open. */
                m->gen--;
                model_append(m, &plan[next], s);
                m->gen++;
                next++;
            }
            sfj_entry_free(e);
        }
    }
    if (next < nrep)
        fail_msg("seed %" PRIu64 ": %d appends reported durable, %d found",
                 m->seed, nrep, next);
    m->unreported += (uint64_t)(next - nrep);
    m->cut_reports += next > nrep;
    m->crashes++;
}

static void step_prune(fixture *f, model *m, int64_t *future)
{
    sfj_journal_opts o = SFJ_JOURNAL_OPTS_INIT;
    plan_ev ev;
    uint64_t seq = 0;
    int64_t wall = 0;
    int i, k = 1 + (int)below(m, 3);

    if (below(m, 2)) {
        /* By age: a day's retention, and notes dated days later. */
        o.retention_days = 1;
        *future += 2 * DAY_MS;
        wall = *future;
    } else {
        /* By fill: the high-water mark far below what is used. */
        o.max_bytes = 4u << 20;
        o.high_water_pct = 1;
    }
    open_j(f, m, &o);
    for (i = 0; i < k; i++) {
        memset(&ev, 0, sizeof ev);
        ev.kind = SFJ_EV_NOTE;
        ev.amount = (int64_t)below(m, 1000);
        assert_int_equal(do_append(f->j, &ev, wall, &seq), SFJ_OK);
        assert_int_equal(seq, m->last + 1);
        model_append(m, &ev, seq);
        absorb_checkpoints(f, m);
    }
    check_all(f, m, 0);
    open_j(f, m, NULL);
    m->prunes++;
}

static void step_recover(fixture *f, model *m)
{
    sfj_report *r = NULL;
    uint64_t doubt = 0, noreceipt = 0, offline = 0;
    int i;

    for (i = 0; i < m->ntxn; i++) {
        const mtxn *t = &m->txns[i];

        doubt += in_doubt(t, m->gen);
        noreceipt += approved_unprinted(t, m->gen);
        offline += t->state == T_OFFLINE && t->offline_seq > m->wm;
    }
    assert_int_equal(sfj_recover(f->j, &r), SFJ_OK);
    if (r->status == SFJ_REPORT_CORRUPT)
        fail_msg("seed %" PRIu64 ": recover: corrupt at %" PRIu64 ": %s",
                 m->seed, r->bad_seq, r->bad_reason);
    assert_int_equal(r->status, doubt + noreceipt > 0 ? SFJ_REPORT_ACTION
                                                      : SFJ_REPORT_CLEAN);
    assert_int_equal(r->first_seq, m->first);
    assert_int_equal(r->last_seq, m->last);
    assert_int_equal(r->acked_seq, m->wm);
    if (r->n_in_doubt != doubt || r->n_no_receipt != noreceipt)
        fail_msg("seed %" PRIu64 ": recover: %zu in doubt (model %" PRIu64
                 "), %zu without receipt (model %" PRIu64 ")",
                 m->seed, r->n_in_doubt, doubt, r->n_no_receipt, noreceipt);
    assert_int_equal(r->n_print_failed, 0);
    assert_int_equal(r->n_attention, 0);
    assert_int_equal(r->unforwarded, m->last - m->wm);
    assert_int_equal(r->offline_pending, offline);
    for (i = 0; i < (int)r->n_items; i++) {
        const sfj_report_item *it = &r->items[i];
        int t = find_txn(m->txns, m->ntxn, it->txn_id);

        assert_true(t >= 0);
        if (it->type == SFJ_REPORT_IN_DOUBT)
            assert_true(in_doubt(&m->txns[t], m->gen));
        else if (it->type == SFJ_REPORT_NO_RECEIPT)
            assert_true(approved_unprinted(&m->txns[t], m->gen));
        assert_int_equal(it->first_seq, m->txns[t].first_seq);
    }
    sfj_report_free(r);
    m->recovers++;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);

    return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void test_random_sequences(void **state)
{
    fixture *f = *state;
    model m;
    uint64_t steps, step;
    int64_t future = 0;
    struct timespec t0, t1;

    memset(&m, 0, sizeof m);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    m.seed = env_u64("SFJ_MODEL_SEED", 0);
    if (m.seed == 0)
        m.seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    m.rng = m.seed;
    steps = env_u64("SFJ_MODEL_STEPS", DEFAULT_STEPS);
    if (env_u64("SFJ_SOAK", 0))
        steps *= 10;
    print_message("model: seed %" PRIu64 " (SFJ_MODEL_SEED=%" PRIu64
                  " replays), %" PRIu64 " steps\n",
                  m.seed, m.seed, steps);
    future = (int64_t)time(NULL) * 1000;

    open_j(f, &m, NULL);
    check_all(f, &m, 1);
    for (step = 0; step < steps; step++) {
        uint64_t op = below(&m, 100);

        if (op < 50)
            step_append(f, &m);
        else if (op < 60)
            step_illegal(f, &m);
        else if (op < 72)
            step_ack(f, &m);
        else if (op < 80)
            step_crash(f, &m);
        else if (op < 86)
            open_j(f, &m, NULL), m.reopens++;
        else if (op < 92)
            step_prune(f, &m, &future);
        else
            step_recover(f, &m);
        check_all(f, &m, step % 16 == 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message(
        "model: seed %" PRIu64 ", %" PRIu64 " steps in %.1f s: %" PRIu64
        " appends, %" PRIu64 " refused, %" PRIu64 " acks, %" PRIu64
        " crashes (%" PRIu64 " with a durable append unreported, %" PRIu64
        " such appends), %" PRIu64 " reopens, %" PRIu64 " prunes (%" PRIu64
        " entries pruned), %" PRIu64 " recovers; last seq %" PRIu64 "\n",
        m.seed, steps,
        (double)(t1.tv_sec - t0.tv_sec) +
            (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
        m.appends, m.illegal, m.acks, m.crashes, m.cut_reports, m.unreported,
        m.reopens, m.prunes, m.pruned, m.recovers, m.last);
    print_message("test_model: %" PRIu64 " steps run\n", steps); /* test.sh */
    /* A run long enough to mean something exercised every operation. */
    if (steps >= DEFAULT_STEPS) {
        assert_true(m.crashes > 0);
        assert_true(m.pruned > 0);
        assert_true(m.illegal > 0);
    }
    free(m.ents);
    free(m.txns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random_sequences, sfj_test_setup,
                                        sfj_test_teardown),
    };

    sfj_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
