/* sfj-dump --stats: what waits to be uploaded, for a cashier's screen or
 * a support call, read without the key ("3 sales waiting to upload, oldest
 * 42 min, EUR 128.50"). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_money.h"
#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "42 min", "5 h", "3 d": minutes up to two hours, then hours up to two
 * days. */
static void format_age(int64_t ms, char *out, size_t cap)
{
    int64_t min = ms > 0 ? ms / 60000 : 0;

    if (min < 120)
        snprintf(out, cap, "%" PRId64 " min", min);
    else if (min < 48 * 60)
        snprintf(out, cap, "%" PRId64 " h", min / 60);
    else
        snprintf(out, cap, "%" PRId64 " d", min / (24 * 60));
}

static void print_text(const sfj_stats *st, const sfj_pending *p, int known,
                       int64_t age)
{
    char amt[64], a[32];
    unsigned i;

    printf("entries   %" PRIu64 " (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
           " not yet acknowledged\n",
           st->entries, st->first_seq, st->last_seq, st->unacked);
    printf("journal format %u%s\n", (unsigned)st->journal_format,
           st->journal_format >= 2 ? " (libraries before format 2 cannot "
                                     "open it)"
                                   : "");
    if (!known) {
        printf("sales waiting to upload: unknown (written by an older "
               "library; any writable open with the key counts them)\n");
        return;
    }
    if (p->sales == 0) {
        printf("no sales waiting to upload\n");
        return;
    }
    format_age(age, a, sizeof a);
    printf("%" PRIu64 " sale%s waiting to upload, oldest %s", p->sales,
           p->sales == 1 ? "" : "s", a);
    for (i = 0; i < p->n_currencies; i++) {
        sfj__cli_format_amount(p->currencies[i].amount,
                               p->currencies[i].currency, amt, sizeof amt);
        printf(", %s", amt);
    }
    if (!p->amounts_complete)
        printf(", and other currencies");
    printf("\n");
}

static void print_json(const sfj_stats *st, const sfj_pending *p, int known,
                       int64_t age)
{
    char t[64];
    unsigned i;

    printf("{\"entries\":%" PRIu64 ",\"first_seq\":%" PRIu64
           ",\"last_seq\":%" PRIu64 ",\"unacked\":%" PRIu64
           ",\"journal_format\":%u,\"pending_known\":%s",
           st->entries, st->first_seq, st->last_seq, st->unacked,
           (unsigned)st->journal_format, known ? "true" : "false");
    if (known) {
        sfj__cli_format_time(p->oldest_ms, t, sizeof t);
        printf(",\"sales\":%" PRIu64 ",\"oldest_seq\":%" PRIu64
               ",\"oldest_time\":\"%s\",\"oldest_age_ms\":%" PRId64
               ",\"amounts_complete\":%s,\"amounts\":[",
               p->sales, p->oldest_seq, p->sales ? t : "", p->sales ? age : 0,
               p->amounts_complete ? "true" : "false");
        for (i = 0; i < p->n_currencies; i++) {
            printf("%s{\"currency\":", i ? "," : "");
            sfj__cli_json_str(stdout, p->currencies[i].currency);
            printf(",\"exponent\":%d,\"count\":%" PRIu64 ",\"amount\":%" PRId64
                   "}",
                   sfj__cli_currency_exponent(p->currencies[i].currency),
                   p->currencies[i].count, p->currencies[i].amount);
        }
        printf("]");
    }
    printf("}\n");
}

int dump_stats(const dump_opts *o)
{
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    sfj_stats st = SFJ_STATS_INIT;
    sfj_pending p = SFJ_PENDING_INIT;
    int rc, ex, known;
    int64_t age;

    ex = dump_open(o, &j, &keys);
    if (ex != SFJ__EX_OK)
        goto done;
    rc = sfj_stats_get(j, &st);
    if (rc == SFJ_OK) {
        rc = sfj_pending_get(j, &p);
        known = rc == SFJ_OK;
        if (rc == SFJ_ENOTFOUND)
            rc = SFJ_OK;
    }
    if (rc != SFJ_OK) {
        dump_err("%s: %s", o->dir, sfj_strerror(rc));
        ex = sfj__cli_exit_for(rc);
        goto done;
    }
    age = now_ms() - p.oldest_ms;
    if (o->format == SFJ__OUT_JSON)
        print_json(&st, &p, known, age);
    else
        print_text(&st, &p, known, age);
done:
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}
