/* sfj-host: the reference upstream. Shared types of its files.
 *
 * One process serves many terminals from one poll loop. Each provisioned
 * terminal has at most one mirror journal open (opened on its first
 * HELLO, kept until exit) and at most one session owning it: a new
 * session for the same journal_id takes it over from the old one once it
 * has authenticated (version 2: its first sealed frame opened). */
#ifndef SFJ_HOST_H
#define SFJ_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "cli_exit.h"
#include "sfj/sys/link_session.h"
#include "sfj/journal.h"
#include "sfj/sys/transport.h"
#include "sfj/sys/wire.h"

/* Exit codes: cli_exit.h (docs/CLI.md). */
#define HOST_EXIT_OK    SFJ__EX_OK
#define HOST_EXIT_USAGE SFJ__EX_USAGE
#define HOST_EXIT_NOINPUT                                                      \
    SFJ__EX_NOTFOUND /* provisioning file missing                              \
                        or invalid */
#define HOST_EXIT_UNAVAIL                                                      \
    SFJ__EX_UNAVAILABLE                       /* cannot listen or open the     \
                                                 serial device */
#define HOST_EXIT_CANTCREAT SFJ__EX_CANTWRITE /* mirror directory */
#define HOST_EXIT_IOERR     SFJ__EX_IO        /* a mirror failed for good */
#define HOST_EXIT_NOPERM                                                       \
    SFJ__EX_KEYFILE /* provisioning file readable by                           \
                       others */

typedef struct host_terminal {
    uint8_t journal_id[SFJ_JOURNAL_ID_BYTES];
    char terminal_id[SFJ_TERMINAL_ID_MAX + 1];
    uint8_t *link_key; /* sodium_malloc'd, read-only */
    uint8_t pubkey[32];
    sfj_journal *mirror;
    struct host_session *owner;
} host_terminal;

typedef struct host_config {
    const char *dir;
    uint64_t max_bytes;
    unsigned window;
    int verbose;
    int allow_v1; /* --allow-v1: serve protocol version 1 (fleet migration) */
    host_terminal *terms;
    size_t nterms;
} host_config;

/* Session states. */
#define SESS_AWAIT_HELLO 0
#define SESS_ONLINE      1
#define SESS_CLOSED      2 /* to be freed by the loop (stream links) */

#define SESS_BATCH_MAX 256

typedef struct host_session {
    host_config *cfg;
    sfj_transport *t;
    sfj__wire w;
    int serial; /* a serial line is never closed, only reset */
    int state;
    int v1;          /* this session speaks protocol version 1 */
    sfj__lsess live; /* version 2: the authenticated session */
    sfj__lsess pend; /* version 2: message 2 sent, not yet confirmed */
    host_terminal *pend_term;
    uint8_t *plain; /* an opened sealed frame */
    long long opened_ms;
    char peer[96];
    host_terminal *term;
    uint64_t next; /* mirror head + 1 */
    int gap_naked; /* an OUT_OF_ORDER NAK went out for this gap */
    int bad_streak;
    int need_ack;
    /* Entries received in order, waiting for one durable commit. */
    uint8_t *batch;
    size_t batch_used;
    size_t nrec;
    size_t offs[SESS_BATCH_MAX];
    size_t lens[SESS_BATCH_MAX];
} host_session;

/* Log one line to stderr: "sfj-host: <text>". Never keys or plaintext. */
void host_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* From now on every log line starts with its RFC 3339 time. */
void host_log_serving(void);

/* Provisioning (provision.c). Returns an exit code; logs the reason. */
int host_provision_load(host_config *cfg, const char *path);
void host_provision_free(host_config *cfg);

/* Sessions (session.c). */
int host_session_new(host_session **out, host_config *cfg, sfj_transport *t,
                     int serial, const char *peer);
/* Handle readable input. Returns 0, or HOST_EXIT_IOERR when a mirror
 * died. */
int host_session_input(host_session *s);
/* Timers: HELLO timeout. */
void host_session_tick(host_session *s, long long now);
void host_session_close(host_session *s, const char *why);
void host_session_free(host_session *s);

#endif
