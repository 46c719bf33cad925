/* Group commit: every write to a journal goes through sfj__commit.
 *
 * States of a handle: idle (committing == 0, queue may hold ops), leading
 * (one thread took the queue and is running its LMDB write transaction
 * with `lock` released; or handing the lead on: committing stays 1 while
 * the thread of the first op queued meanwhile is woken to lead), dead (a commit
 * failed after LMDB may have written: every later write fails with SFJ_EDEAD
 * until the journal is reopened; a commit that failed for lack of space before
 * LMDB wrote its meta page does not kill the handle).
 *
 * Invariants: at most one leader per handle; an op is marked done only
 * after the transaction holding it committed (durable, default LMDB sync)
 * or failed; j->last_seq / j->head change only on a successful commit.
 * Transitions: sfj__commit enqueues and elects the leader (a caller that
 * finds no leader leads; the others sleep on their op's semaphore until
 * the leader posts it, done or handed the lead); gather lets a new leader
 * wait briefly for the callers of the previous batch; run_batch grows the
 * map ahead, fills, and on MDB_MAP_FULL grows the map, prunes or releases
 * freed pages, then commits; a failed commit (the batch's or one beside
 * it) kills the handle in sfj__commit_txn (store/commit_txn.c).
 * assert_commit_state checks the queue's part of this with `lock` held. */
#include "common/check.h"

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "crypto/keys.h"
#include "journal/format/record.h"
#include "journal/store/journal_impl.h"
#include "journal/write/retention.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_tail.h"
#include "sfj/errors.h"
#include "sfj/sys/chain.h"

#define MAP_MIN_BYTES (1u << 20)

/* Grow the map (doubling, up to the cap) or adopt a size another process
 * set (`adopt`). Returns SFJ_EFULL at the cap. */
int sfj__grow_map(sfj_journal *j, int adopt)
{
    uint64_t want;
    MDB_envinfo info;
    int rc = SFJ_OK, mrc;

    pthread_rwlock_wrlock(&j->maplock);
    if (adopt) {
        mrc = mdb_env_set_mapsize(j->env, 0);
    } else {
        want = j->map_size * 2;
        if (want < MAP_MIN_BYTES)
            want = MAP_MIN_BYTES;
        if (want > j->opts.max_bytes)
            want = j->opts.max_bytes;
        if (want <= j->map_size) {
            rc = SFJ_EFULL;
            goto done;
        }
        mrc = mdb_env_set_mapsize(j->env, (size_t)want);
    }
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, "mdb_env_set_mapsize");
        goto done;
    }
    mdb_env_info(j->env, &info);
    j->map_size = info.me_mapsize;
done:
    pthread_rwlock_unlock(&j->maplock);
    return rc;
}

int sfj__wctx_put_entry(sfj__wctx *w, const uint8_t *rec, size_t len)
{
    uint8_t kbuf[SFJ__ENTRY_KEY_MAX], leaf[SFJ_HASH_BYTES];
    MDB_val key = sfj__entry_key(w->j, kbuf, w->last_seq + 1), val;
    int mrc;

    val.mv_data = (void *)rec;
    val.mv_size = len;
    /* MDB_APPEND: seqs only grow, and a key out of order is a bug that
     * LMDB then refuses (MDB_KEYEXIST) rather than silently accepting. */
    mrc = mdb_put(w->txn, w->j->db_entries, &key, &val, MDB_APPEND);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(w->j, mrc, "mdb_put(entries)");
    sfj__chain_leaf(rec, len, leaf);
    sfj__chain_next(w->head, leaf, w->head);
    w->last_seq++;
    w->appended++;
    return SFJ_OK;
}

void sfj__wctx_next_hdr(const sfj__wctx *w, sfj__rec_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->epoch = w->j->epoch;
    h->seq = w->last_seq + 1;
    h->wall_ms = sfj__now_ms();
    memcpy(h->prev_chain, w->head, sizeof h->prev_chain);
}

int sfj__wctx_checkpoint(sfj__wctx *w)
{
    sfj_journal *j = w->j;
    uint8_t rec[SFJ_REC_HDR_BYTES + SFJ_REC_CKPT_BODY_BYTES];
    sfj__rec_hdr h;
    int rc;

    sfj__wctx_next_hdr(w, &h);
    sfj__rec_checkpoint(j->journal_id, j->keys->sign_sk, &h, j->boot, rec);
    rc = sfj__wctx_put_entry(w, rec, sizeof rec);
    if (rc == SFJ_OK)
        rc = sfj__meta_put_u64(j, w->txn, SFJ__META_CKPT, w->last_seq);
    /* The index position rides with the checkpoint over the notes since
     * the last indexed append. */
    if (rc == SFJ_OK)
        rc = sfj__txn_settle_to(j, w->txn);
    if (rc == SFJ_OK)
        w->last_ckpt = w->last_seq;
    return rc;
}

/* Bytes of the map kept back from appends, so that opening (boot
 * counter), acks, checkpoints and pruning still find free pages when the
 * journal is full of unacknowledged entries. */
uint64_t sfj__reserve_bytes(const sfj_journal *j)
{
    uint64_t r = j->opts.max_bytes / 32;

    if (r < (256u << 10))
        r = 256u << 10;
    /* Small caps (down to 64 KiB) keep half: a reserve above the cap
     * would leave no room limit at all, and appends would then take the
     * pages the closing checkpoint needs. */
    return r > j->opts.max_bytes / 2 ? j->opts.max_bytes / 2 : r;
}

/* Pages on LMDB's freelist (reusable), read as mdb_stat -f does: each
 * freelist record starts with its page count. */
static uint64_t freelist_pages(sfj_journal *j)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t pages = 0;

    if (mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return 0;
    if (mdb_cursor_open(txn, 0, &cur) == MDB_SUCCESS) {
        while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == MDB_SUCCESS) {
            if (v.mv_size >= sizeof(size_t))
                pages += *(const size_t *)v.mv_data;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return pages;
}

/* Room left for appends in this batch: cap less reserve less what is in
 * use. The freelist is only read near the cap, where it matters. */
static uint64_t append_room(sfj_journal *j)
{
    MDB_envinfo info;
    MDB_stat st;
    uint64_t used, limit = j->opts.max_bytes - sfj__reserve_bytes(j), freed;

    mdb_env_info(j->env, &info);
    mdb_env_stat(j->env, &st);
    used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    if (used + (4u << 20) <= limit)
        return limit - used;
    freed = freelist_pages(j) * st.ms_psize;
    used = used > freed ? used - freed : 0;
    return used < limit ? limit - used : 0;
}

int sfj__wctx_reserve(sfj__wctx *w, size_t bytes)
{
    /* A record costs its bytes plus node and page overhead. */
    uint64_t need = bytes + 64;

    if (need > w->room) {
        sfj__set_err(w->j, "journal is at its size cap");
        return SFJ_EFULL;
    }
    w->room -= need;
    return SFJ_OK;
}

/* Is this apply failure one that poisons the whole transaction? */
static int txn_fatal(int rc)
{
    return rc == SFJ_EFULL || rc == SFJ_EIO || rc == SFJ_ECORRUPT ||
           rc == SFJ_ENOMEM || rc == SFJ_EDEAD || rc == SFJ_EPERM;
}

/* One attempt at committing `ops` (a list of n) in one transaction, with
 * the txn index overlay held (txn_overlay.c). Returns SFJ_OK (each op's rc
 * set), SFJ_EFULL (map full: nothing written) or another error for the
 * whole batch. */
static int try_batch_locked(sfj_journal *j, sfj__op *ops, int *commit_failed)
{
    sfj__wctx w;
    sfj__op *op;
    int rc, mrc;
    size_t txnid;

    memset(&w, 0, sizeof w);
    w.j = j;
    *commit_failed = 0;
    pthread_rwlock_rdlock(&j->maplock);
    w.room = append_room(j);
    mrc = mdb_txn_begin(j->env, NULL, 0, &w.txn);
    if (mrc == MDB_MAP_RESIZED) {
        pthread_rwlock_unlock(&j->maplock);
        rc = sfj__grow_map(j, 1);
        if (rc != SFJ_OK)
            return rc;
        pthread_rwlock_rdlock(&j->maplock);
        mrc = mdb_txn_begin(j->env, NULL, 0, &w.txn);
    }
    if (mrc != MDB_SUCCESS) {
        pthread_rwlock_unlock(&j->maplock);
        return sfj__mdb_rc(j, mrc, "mdb_txn_begin(write)");
    }
    /* Unless this transaction directly follows our last commit, another
     * writer (an acks-only handle, a prune, another process) committed in
     * between: the entries database, not our copy, says where the chain
     * stands. Reading it costs the last record's chain hash. */
    rc = SFJ_OK;
    if (j->head_txnid != 0 && mdb_txn_id(w.txn) == j->head_txnid + 1) {
        w.last_seq = j->last_seq;
        memcpy(w.head, j->head, sizeof w.head);
    } else {
        rc = sfj__load_head(j, w.txn, &w.last_seq, w.head);
    }
    /* The appends' checks must see every txn state: the overlay first
     * replays whatever it lacks (after a crash or a failed commit). */
    if (rc == SFJ_OK)
        rc = sfj__txi_sync(j, w.txn, w.last_seq);
    if (rc != SFJ_OK)
        goto abort;
    w.last_ckpt = j->last_ckpt;
    for (op = ops; op != NULL; op = op->next) {
        op->rc = op->apply(&w, op->arg);
        if (txn_fatal(op->rc)) {
            rc = op->rc;
            goto abort;
        }
    }
    /* Retention once a batch, not once an event: the prune's look at the
     * front of the journal is the same for every entry of the batch. */
    if (w.events > 0) {
        rc = sfj__retention_prune_in(j, w.txn, w.last_seq, w.event_wall_ms);
        if (rc != SFJ_OK) {
            rc = txn_fatal(rc) ? rc : SFJ_ECORRUPT;
            goto abort;
        }
    }
    if (!j->mirror && w.appended > 0 &&
        w.last_seq - w.last_ckpt >= j->opts.checkpoint_every) {
        rc = sfj__wctx_checkpoint(&w);
        if (rc != SFJ_OK)
            goto abort;
    }
    rc = sfj__txi_before_commit(j, w.txn, w.last_ckpt != j->last_ckpt, 0);
    if (rc != SFJ_OK)
        goto abort;
    txnid = mdb_txn_id(w.txn);
    rc = sfj__commit_txn(j, w.txn, NULL, commit_failed);
    w.txn = NULL;
    if (rc != SFJ_OK)
        goto abort;
    pthread_mutex_lock(&j->lock);
    /* The chain only grows: a commit never moves the head back. */
    assert(w.last_seq >= j->last_seq && w.last_ckpt <= w.last_seq);
    j->last_seq = w.last_seq;
    memcpy(j->head, w.head, sizeof j->head);
    j->last_ckpt = w.last_ckpt;
    j->head_txnid = txnid;
    pthread_mutex_unlock(&j->lock);
    sfj__txi_after_commit(j, 1, w.last_seq);
    pthread_rwlock_unlock(&j->maplock);
    return SFJ_OK;
abort:
    if (w.txn != NULL)
        mdb_txn_abort(w.txn);
    j->head_txnid = 0; /* a failed commit may have written: read again */
    sfj__txi_after_commit(j, 0, 0);
    pthread_rwlock_unlock(&j->maplock);
    return rc;
}

static int try_batch(sfj_journal *j, sfj__op *ops, int *commit_failed)
{
    int rc;

    sfj__txi_lock(j);
    rc = try_batch_locked(j, ops, commit_failed);
    sfj__txi_unlock(j);
    return rc;
}

static void set_all(sfj__op *ops, int rc)
{
    for (; ops != NULL; ops = ops->next)
        ops->rc = rc;
}

/* Headroom the map keeps above the pages in use before a batch: a
 * quarter of it, and at least what a persist of the txn overlay's rows
 * (SFJ__TXI_ROWS_MAX, about 150 KiB, into leaves of a young index) with a
 * batch of entries can take. */
#define GROW_AHEAD_MIN (1u << 20)

/* Grow the map before a batch once the headroom above is gone, rather
 * than after a commit failed on MDB_MAP_FULL: a failed attempt wastes the
 * batch's work, and drops the txn index overlay, which the retry then
 * replays from the entries (up to a checkpoint interval of them). The map
 * is address space only (no MDB_WRITEMAP): growing it early writes
 * nothing to the file. A batch that still does not fit takes the retry
 * below. */
static void grow_ahead(sfj_journal *j)
{
    MDB_envinfo info;
    MDB_stat st;
    uint64_t used, map, room;

    pthread_rwlock_rdlock(&j->maplock);
    mdb_env_info(j->env, &info);
    mdb_env_stat(j->env, &st);
    map = j->map_size;
    pthread_rwlock_unlock(&j->maplock);
    used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    room = map / 4 > GROW_AHEAD_MIN ? map / 4 : GROW_AHEAD_MIN;
    if (map < j->opts.max_bytes && used + room > map)
        (void)sfj__grow_map(j, 0);
}

/* Whether the last commit freed pages (LMDB's free list, database 0,
 * holds a record under its txnid) that no release has made reusable yet.
 * LMDB opens the free list in read-only transactions only. */
static int last_commit_freed(sfj_journal *j)
{
    MDB_cursor *cur = NULL;
    MDB_txn *txn = NULL;
    size_t last, key;
    MDB_val k, v;
    int found = 0;

    if (mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn) != MDB_SUCCESS)
        return 0;
    last = mdb_txn_id(txn);
    if (last != j->released_txnid && mdb_cursor_open(txn, 0, &cur) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == MDB_SUCCESS &&
            k.mv_size == sizeof key) {
            memcpy(&key, k.mv_data, sizeof key);
            found = key == last;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return found;
}

/* LMDB gives a commit only pages freed two commits back or earlier: the
 * older meta page still names the last commit's predecessor, which a
 * crash may bring back. So the pages a prune has just freed are out of
 * reach of the next commit, and an entry that needs several contiguous
 * overflow pages may find none. Rewriting the unchanging format value
 * (the one open checked) in a commit of its own brings them within reach
 * of the one after. Once per other commit: a journal refusing appends at
 * its cap does not write on every refusal. SFJ_EFULL when there is
 * nothing to release or even this does not fit. */
static int release_freed(sfj_journal *j)
{
    MDB_txn *txn = NULL;
    size_t txnid;
    int rc = SFJ_EFULL, mrc;

    pthread_rwlock_rdlock(&j->maplock);
    if (!last_commit_freed(j))
        goto done;
    mrc = mdb_txn_begin(j->env, NULL, 0, &txn);
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, "release freed pages");
        goto done;
    }
    rc = sfj__meta_put_u64(j, txn, SFJ__META_FORMAT,
                           j->entries_in_main ? SFJ__FORMAT_MAIN
                                              : SFJ__FORMAT_NAMED);
    if (rc != SFJ_OK) {
        mdb_txn_abort(txn);
        goto done;
    }
    txnid = mdb_txn_id(txn);
    rc = sfj__commit_txn(j, txn, "release freed pages", NULL);
    if (rc == SFJ_OK)
        j->released_txnid = txnid;
done:
    pthread_rwlock_unlock(&j->maplock);
    return rc;
}

/* Commit a batch, growing the map, pruning acked entries or releasing
 * freed pages on MDB_MAP_FULL. At the cap, ops run one per transaction so that
 * an ack (or anything that fits) still succeeds while the appends that cannot
 * fit get SFJ_EFULL. */
static void run_batch(sfj_journal *j, sfj__op *ops)
{
    sfj__op *op, *next;
    int rc, n, commit_failed, released = 0;

    grow_ahead(j);
    for (;;) {
        rc = try_batch(j, ops, &commit_failed);
        if (rc != SFJ_EFULL || commit_failed)
            break;
        if (sfj__grow_map(j, 0) == SFJ_OK)
            continue;
        n = sfj__retention_make_room(j);
        if (n > 0)
            continue;
        /* Nothing left to prune, but the last prune's pages (or an
         * earlier batch's) may still be out of LMDB's reach. */
        if (n == 0 && !released++ && (n = release_freed(j)) == SFJ_OK)
            continue;
        /* A prune or release that failed otherwise than for room (a
         * failed sync kills the handle): its error, not the batch's. */
        if (n < 0 && n != SFJ_EFULL)
            rc = n;
        break;
    }
    if (rc == SFJ_OK)
        return;
    if (rc != SFJ_EFULL || commit_failed || ops->next == NULL) {
        set_all(ops, rc);
        return;
    }
    for (op = ops; op != NULL; op = next) {
        next = op->next;
        op->next = NULL;
        rc = try_batch(j, op, &commit_failed);
        if (rc != SFJ_OK)
            op->rc = rc;
        op->next = next;
        if (commit_failed) {
            set_all(next, SFJ_EIO);
            break;
        }
    }
}

#ifdef SFJ_CHECKS
/* The queue and leader invariants; `lock` held. Queued ops are not done,
 * the tail ends the list, a gathering thread is the leader, and the last
 * checkpoint is never past the last entry. */
static int assert_commit_state(const sfj_journal *j)
{
    const sfj__op *op, *last = NULL;

    assert(j->committing == 0 || j->committing == 1);
    assert(j->dead == 0 || j->dead == 1);
    assert(!j->gathering || j->committing);
    assert((j->queue_head == NULL) == (j->queue_tail == NULL));
    for (op = j->queue_head; op != NULL; op = op->next) {
        assert(!op->done);
        last = op;
    }
    assert(last == j->queue_tail);
    assert(j->last_ckpt <= j->last_seq);
    return 1;
}
#endif

/* Longest a new leader waits for the callers of the previous batch. */
#define GATHER_US 200

static unsigned queue_len(const sfj_journal *j)
{
    const sfj__op *op;
    unsigned n = 0;

    for (op = j->queue_head; op != NULL; op = op->next)
        n++;
    return n;
}

/* Called by a new leader with `lock` held. Without it, N threads appending
 * back to back split into two alternating half batches: the callers of a
 * batch are still returning (and packing their next entry) when the next
 * leader takes the queue, so each commit carries only the others. When the
 * previous batch held several ops and fewer are queued now, wait up to
 * GATHER_US for the rest, then commit them together. A lone caller (last
 * batch of one) never waits. */
static void gather(sfj_journal *j)
{
    pthread_condattr_t attr;
    struct timespec until;

    if (j->last_batch < 2 || queue_len(j) >= j->last_batch)
        return;
    if (!j->gather_ready) {
        /* Made on first use, so that only this file knows of it; a
         * condition variable without waiters holds no resources, so the
         * handle's close need not destroy it. */
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (pthread_cond_init(&j->gather_cond, &attr) != 0) {
            pthread_condattr_destroy(&attr);
            return;
        }
        pthread_condattr_destroy(&attr);
        j->gather_ready = 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += GATHER_US * 1000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    j->gathering = 1;
    while (queue_len(j) < j->last_batch &&
           pthread_cond_timedwait(&j->gather_cond, &j->lock, &until) == 0)
        ;
    j->gathering = 0;
}

/* Sleep until the leader posts `op` (its batch committed, or the lead
 * handed to it). */
static void wait_posted(sfj__op *op)
{
    while (sem_wait(&op->wake) != 0 && errno == EINTR)
        ;
}

/* Lead one batch: everything queued, the leader's own op among it. Called
 * and returns with `lock` held and `committing` set; returns the batch,
 * each op's rc set. */
static sfj__op *lead(sfj_journal *j)
{
    sfj__op *batch;

    gather(j);
    batch = j->queue_head;
    j->last_batch = queue_len(j);
    j->queue_head = j->queue_tail = NULL;
    assert(assert_commit_state(j));
    if (j->dead) {
        set_all(batch, SFJ_EDEAD);
    } else {
        pthread_mutex_unlock(&j->lock);
        run_batch(j, batch);
        pthread_mutex_lock(&j->lock);
    }
    return batch;
}

int sfj__commit(sfj_journal *j, sfj__apply_fn fn, void *arg)
{
    sfj__op op, *batch, *it, *next, *heir = NULL;

    memset(&op, 0, sizeof op);
    op.apply = fn;
    op.arg = arg;
    sem_init(&op.wake, 0, 0);
    pthread_mutex_lock(&j->lock);
    if (j->dead) {
        pthread_mutex_unlock(&j->lock);
        sem_destroy(&op.wake);
        return SFJ_EDEAD;
    }
    if (j->queue_tail != NULL)
        j->queue_tail->next = &op;
    else
        j->queue_head = &op;
    j->queue_tail = &op;
    assert(assert_commit_state(j));
    /* A gathering leader waits for the queue to reach the size of the
     * last batch: waking it for each arrival before that would only cost
     * a context switch each, on the CPUs the arriving callers pack on. */
    if (j->gathering && queue_len(j) >= j->last_batch)
        pthread_cond_signal(&j->gather_cond);
    if (j->committing) {
        /* Another thread leads: it posts this op when the batch holding
         * it committed, or hands this thread the lead (op.lead) when the
         * op heads the queue after its batch. Waiting on the op's own
         * semaphore, not on `lock`, lets the callers of a batch return
         * at once, in parallel, instead of taking `lock` one after the
         * other. */
        pthread_mutex_unlock(&j->lock);
        wait_posted(&op);
        if (op.done)
            goto out;
        pthread_mutex_lock(&j->lock);
        assert(op.lead && j->committing);
    }
    j->committing = 1;
    batch = lead(j);
    for (it = batch; it != NULL; it = it->next)
        it->done = 1;
    /* Ops queued during the commit: the first one's thread leads them
     * (`committing` stays set, so that nobody else does). */
    heir = j->queue_head;
    if (heir != NULL)
        heir->lead = 1;
    else
        j->committing = 0;
    assert(assert_commit_state(j));
    /* sfj__journal_wait's waiters (new entries). */
    pthread_cond_broadcast(&j->cond);
    pthread_mutex_unlock(&j->lock);
    /* Posting is the leader's last touch of an op: its thread may return
     * (and its stack go) as soon as it is posted, so `next` is read first.
     * The heir first: it has a batch to lead. */
    if (heir != NULL)
        sem_post(&heir->wake);
    for (it = batch; it != NULL; it = next) {
        next = it->next;
        if (it != &op)
            sem_post(&it->wake);
    }
out:
    sem_destroy(&op.wake);
    return op.rc;
}
