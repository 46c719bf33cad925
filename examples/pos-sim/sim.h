/* pos-sim: a simulated payment terminal built on sfj's public API. */
#ifndef POS_SIM_H
#define POS_SIM_H

#include <stdint.h>

#include <sfj/sfj.h>

/* Exit codes. */
#define SIM_OK     0
#define SIM_FAILED 1 /* the story did not hold (lost, doubled, ...) */
#define SIM_USAGE  64
#define SIM_ERROR  70 /* sfj refused something it should not have */

typedef struct sim {
    const char *journal_dir;
    const char *key_file;
    const char *host;       /* "HOST:PORT" of sfj-host, or NULL */
    const char *mirror_dir; /* summary: the host's mirror of this journal */
    int sales;
    int require_story;
    sfj_keys *keys;
    sfj_journal *j;
    sfj_forwarder *fwd;
    int link_up; /* last status the forwarder reported */
} sim;

/* The app's own acquirer, simulated: answers online requests when up. */
typedef struct acq_answer {
    int approved;
    char auth_code[8];
    char response[3]; /* ISO 8583 field 39 */
} acq_answer;

int acq_is_up(void);
void acq_set_up(int up);
void acq_authorize(const char *txn_id, int64_t amount, acq_answer *out);

/* Open the journal with the terminal's options (risk limits). */
int sim_open(sim *s);
/* Start the forwarder towards s->host (if any) in its own thread. */
int sim_forwarder_start(sim *s);
/* Stop the forwarder and close the journal. */
void sim_close(sim *s);
/* Append one EUR event (payload `msg`, may be NULL); an sfj code. */
int sim_journal(sim *s, uint16_t kind, uint16_t status, const char *txn,
                int64_t amount, const char *auth, uint32_t copy,
                const char *msg, uint64_t *seq);
/* One-line error for an sfj call that failed. */
int sim_fail(sim *s, const char *what, int rc);

/* Sales. `amount` in cents. */
int sale_online(sim *s, int64_t amount, int jam_printer);
int sale_offline(sim *s, int64_t amount);
/* Journal the intent, get the acquirer's approval, then cut the power
 * (kill -9 of this process) before the outcome is journaled. */
int sale_power_cut(sim *s, int64_t amount);

/* Phases. */
int phase_recover(sim *s);
int phase_summary(sim *s);

#endif
