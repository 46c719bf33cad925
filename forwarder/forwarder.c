/* Forwarder handle: options, thread, poll, flush, stop. The state machine
 * of each sink lives in link_sink.c and callback_sink.c, the pieces both
 * sinks share in driver.c; see forwarder_impl.h for states and
 * invariants, which assert_fwd_state checks around every step. */
#include "common/check.h"

#include "common/abi.h"

#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "forwarder/forwarder_impl.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"
#include "sfj/sys/proto.h"
#include "sfj/sys/transport.h"

static int check_opts(sfj_forwarder_opts *o)
{
    if (!SFJ__VERSION_OK(o->version, SFJ_FORWARDER_OPTS_VERSION))
        return SFJ_EVERSION;
    switch (o->sink) {
    case SFJ_SINK_TCP:
    case SFJ_SINK_SERIAL:
        if (o->address == NULL || o->address[0] == '\0')
            return SFJ_EINVAL;
        if (o->sink == SFJ_SINK_TCP) {
            char host[256], port[8];

            if (sfj__tcp_split_addr(o->address, host, sizeof host, port,
                                    sizeof port) != SFJ_OK)
                return SFJ_EINVAL; /* refused now, not retried forever */
        }
        if (o->sink == SFJ_SINK_SERIAL &&
            o->serial_backend != SFJ_SERIAL_LIBSERIALPORT &&
            o->serial_backend != SFJ_SERIAL_TERMIOS)
            return SFJ_EINVAL;
        /* Checked here too, so that a bad line setting fails at once
         * rather than on every reconnect. */
        if (o->sink == SFJ_SINK_SERIAL &&
            !SFJ__VERSION_OK(o->serial.version, SFJ_SERIAL_OPTS_VERSION))
            return SFJ_EVERSION;
        break;
    case SFJ_SINK_CALLBACK:
        if (o->deliver == NULL)
            return SFJ_EINVAL;
        break;
    case SFJ_SINK_TRANSPORT:
        if (o->connect == NULL)
            return SFJ_EINVAL;
        break;
    default:
        return SFJ_EINVAL;
    }
    if (o->window == 0)
        o->window = 256; /* what sfj-host offers: replay is RTT-bound */
    if (o->window > SFJ_PROTO_WINDOW_MAX)
        return SFJ_EINVAL;
    if (o->backoff_min_ms <= 0)
        o->backoff_min_ms = 250;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = 30000;
    if (o->backoff_max_ms < o->backoff_min_ms)
        o->backoff_max_ms = o->backoff_min_ms;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 5000;
    if (o->ack_timeout_ms <= 0)
        o->ack_timeout_ms = 10000;
    if (o->ping_interval_ms <= 0)
        o->ping_interval_ms = 15000;
    if (o->ack_batch == 0)
        o->ack_batch = 256;
    if (o->ack_flush_ms <= 0)
        o->ack_flush_ms = 100;
    return SFJ_OK;
}

int sfj_forwarder_new(sfj_journal *j, const sfj_forwarder_opts *opts,
                      sfj_forwarder **out)
{
    sfj_forwarder *f = NULL;
    const sfj_keys *keys;
    int rc, locks = 0;

    if (out == NULL || j == NULL || opts == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return SFJ_ENOMEM;
    f->o = *opts;
    rc = check_opts(&f->o);
    if (rc != SFJ_OK)
        goto done;
    f->j = j;
    if (f->o.address != NULL) {
        f->address = strdup(f->o.address);
        if (f->address == NULL) {
            rc = SFJ_ENOMEM;
            goto done;
        }
        f->o.address = f->address;
    }
    keys = sfj__journal_keys(j);
    if (keys == NULL) {
        rc = SFJ_ESTATE; /* a keyless or read-only handle cannot forward */
        goto done;
    }
    rc = sfj_journal_id(j, f->journal_id);
    if (rc != SFJ_OK)
        goto done;
    if (f->o.sink != SFJ_SINK_CALLBACK) {
        f->link_key = sodium_malloc(SFJ_KEY_BYTES);
        if (f->link_key == NULL) {
            rc = SFJ_ENOMEM;
            goto done;
        }
        rc = sfj_keys_link_key(keys, f->link_key);
        if (rc != SFJ_OK)
            goto done;
        sodium_mprotect_readonly(f->link_key);
    }
    rc = sfj__journal_watermark(j, &f->persisted);
    if (rc != SFJ_OK)
        goto done;
    f->acked = f->persisted;
    f->cb_next = f->persisted + 1;
    f->info.version = SFJ_FORWARDER_INFO_VERSION;
    f->info.acked_seq = f->persisted;
    f->state = SFJ__FWD_OFFLINE;
    sfj__fwd_backoff_reset(f);
    if (pthread_mutex_init(&f->lock, NULL) != 0) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    locks = 1;
    if (pthread_cond_init(&f->cond, NULL) != 0) {
        rc = SFJ_ENOMEM;
        goto done;
    }
    locks = 2;
    *out = f;
    f = NULL;
done:
    if (f != NULL) {
        if (locks > 0)
            pthread_mutex_destroy(&f->lock);
        if (f->link_key != NULL)
            sodium_free(f->link_key);
        free(f->address);
        free(f);
    }
    return rc;
}

#ifdef SFJ_CHECKS
/* The invariants of forwarder_impl.h that hold between steps, checked by
 * the driver (the fields are its own; persisted is only written by it). */
static int assert_fwd_state(const sfj_forwarder *f)
{
    assert(f->state == SFJ__FWD_OFFLINE || f->state == SFJ__FWD_HELLO_SENT ||
           f->state == SFJ__FWD_ONLINE);
    assert(f->persisted <= f->acked);
    /* last_seq is 0 until the journal was first read. */
    assert(f->last_seq == 0 || f->acked <= f->last_seq);
    if (f->o.sink == SFJ_SINK_CALLBACK) {
        /* The callback sink settles entries strictly in order. */
        assert(f->state != SFJ__FWD_HELLO_SENT);
        assert(f->cb_next == f->acked + 1);
    } else {
        /* A transport exactly while a session is up or being set up. */
        assert((f->t == NULL) == (f->state == SFJ__FWD_OFFLINE));
    }
    return 1;
}
#endif

static int do_step(sfj_forwarder *f, int timeout_ms)
{
    if (f->o.sink == SFJ_SINK_CALLBACK)
        return sfj__callback_step(f, timeout_ms);
    return sfj__link_step(f, timeout_ms);
}

static int step(sfj_forwarder *f, int timeout_ms)
{
    unsigned gen;
    int rc;

    pthread_mutex_lock(&f->lock);
    gen = f->flush_gen;
    pthread_mutex_unlock(&f->lock);
    if (gen != f->seen_gen) {
        /* A flush wants the backlog now: no waiting out a backoff. */
        f->seen_gen = gen;
        f->retry_at = 0;
    }
    if (f->fatal)
        return f->fatal;
    assert(assert_fwd_state(f));
    rc = do_step(f, timeout_ms);
    assert(assert_fwd_state(f));
    return rc;
}

static int stop_requested(sfj_forwarder *f)
{
    int s;

    pthread_mutex_lock(&f->lock);
    s = f->stop;
    pthread_mutex_unlock(&f->lock);
    return s;
}

static void *thread_main(void *arg)
{
    sfj_forwarder *f = arg;

    while (!stop_requested(f) && step(f, SFJ__FWD_SLICE_MS) == SFJ_OK)
        ;
    return NULL;
}

int sfj_forwarder_start(sfj_forwarder *f)
{
    int rc = SFJ_OK;

    if (f == NULL)
        return SFJ_EINVAL;
    pthread_mutex_lock(&f->lock);
    if (f->running) {
        rc = SFJ_ESTATE;
    } else {
        f->stop = 0;
        if (pthread_create(&f->thread, NULL, thread_main, f) != 0) {
            rc = SFJ_ENOMEM;
        } else {
            f->running = 1;
            if (f->info.state == SFJ_LINK_IDLE)
                f->info.state = SFJ_LINK_STARTING;
        }
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int sfj_forwarder_poll(sfj_forwarder *f, int timeout_ms)
{
    int64_t deadline;
    int rc, left;

    if (f == NULL)
        return SFJ_EINVAL;
    pthread_mutex_lock(&f->lock);
    rc = f->running ? SFJ_ESTATE : SFJ_OK;
    pthread_mutex_unlock(&f->lock);
    if (rc != SFJ_OK)
        return rc;
    deadline = sfj__mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    do {
        left = (int)(deadline - sfj__mono_ms());
        if (left < 0)
            left = 0;
        rc = step(f, left < SFJ__FWD_SLICE_MS ? left : SFJ__FWD_SLICE_MS);
    } while (rc == SFJ_OK && sfj__mono_ms() < deadline);
    return rc;
}

int sfj_forwarder_flush(sfj_forwarder *f, int timeout_ms)
{
    struct timespec until;
    int64_t deadline;
    uint64_t target = 0;
    int rc, running, left;

    if (f == NULL)
        return SFJ_EINVAL;
    deadline = timeout_ms < 0 ? INT64_MAX : sfj__mono_ms() + timeout_ms;
    /* The upstream should end up holding a signed head. */
    rc = sfj__journal_checkpoint(f->j, NULL);
    if (rc != SFJ_OK && rc != SFJ_ESTATE)
        return rc;
    rc = sfj__journal_head(f->j, &target, NULL);
    if (rc != SFJ_OK)
        return rc;
    pthread_mutex_lock(&f->lock);
    f->flush_req++;
    f->flush_gen++;
    running = f->running;
    pthread_mutex_unlock(&f->lock);
    rc = SFJ_OK;
    if (!running) {
        while (f->persisted < target && rc == SFJ_OK) {
            left = (int)(deadline - sfj__mono_ms());
            if (left <= 0) {
                rc = SFJ_ETIMEDOUT;
                break;
            }
            rc = step(f, left < SFJ__FWD_SLICE_MS ? left : SFJ__FWD_SLICE_MS);
            if (rc == SFJ_OK)
                rc = sfj__fwd_persist(f, 1);
        }
    } else {
        pthread_mutex_lock(&f->lock);
        while (f->persisted < target && f->running && rc == SFJ_OK) {
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += SFJ__FWD_SLICE_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&f->cond, &f->lock, &until);
            if (sfj__mono_ms() >= deadline && f->persisted < target)
                rc = SFJ_ETIMEDOUT;
        }
        if (rc == SFJ_OK && f->persisted < target)
            rc = f->fatal ? f->fatal : SFJ_ECLOSED;
        pthread_mutex_unlock(&f->lock);
    }
    pthread_mutex_lock(&f->lock);
    f->flush_req--;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int sfj_forwarder_stop(sfj_forwarder *f)
{
    int running, rc;

    if (f == NULL)
        return SFJ_EINVAL;
    pthread_mutex_lock(&f->lock);
    running = f->running;
    f->stop = 1;
    pthread_mutex_unlock(&f->lock);
    if (running)
        pthread_join(f->thread, NULL);
    pthread_mutex_lock(&f->lock);
    f->running = 0;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    rc = sfj__fwd_persist(f, 1);
    if (f->t != NULL)
        sfj__link_close(f, SFJ_ECLOSED, "forwarder stopped");
    pthread_mutex_lock(&f->lock);
    f->info.state = SFJ_LINK_IDLE;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

int sfj_forwarder_info_get(sfj_forwarder *f, sfj_forwarder_info *out)
{
    unsigned v;

    if (f == NULL || out == NULL)
        return SFJ_EINVAL;
    if (out->version == 0 || out->version > SFJ_FORWARDER_INFO_VERSION)
        return SFJ_EVERSION;
    v = out->version;
    pthread_mutex_lock(&f->lock);
    /* A caller of version 1 gets the fields up to last_change_ms. */
    memcpy(out, &f->info,
           v == 1 ? offsetof(sfj_forwarder_info, cause_code) : sizeof *out);
    pthread_mutex_unlock(&f->lock);
    out->version = v;
    return SFJ_OK;
}

void sfj_forwarder_free(sfj_forwarder *f)
{
    if (f == NULL)
        return;
    sfj_forwarder_stop(f);
    if (f->wire_ok)
        sfj__wire_free(&f->w);
    sfj__lsess_end(&f->ls);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    if (f->link_key != NULL)
        sodium_free(f->link_key);
    free(f->address);
    free(f);
}
