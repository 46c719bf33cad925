/* Host, pty and counting-transport helpers for the replay benchmarks. */
#ifndef SFJ_BENCH_LINK_H
#define SFJ_BENCH_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sfj/forwarder.h"
#include "sfj/sfj.h"

typedef struct bench_host {
    char *dir;         /* mirror directory */
    const char *store; /* or a PostgreSQL connection string */
    char *prov;        /* provisioning file */
    char *log;         /* its stderr */
    pid_t pid;
    int port;
} bench_host;

typedef struct bench_ptys {
    char *a, *b; /* the two pty links socat makes */
    char *log;
    pid_t pid;
} bench_ptys;

typedef struct bench_wire_count {
    uint64_t sent, received;
} bench_wire_count;

/* What bench_connect connects to: TCP 127.0.0.1:port, or the serial
 * line `serial` (termios backend). Counts bytes both ways. */
typedef struct bench_link {
    int port;
    const char *serial;
    bench_wire_count count;
    unsigned connects;
    int v1; /* the upstream speaks wire protocol version 1 */
    /* Connect to the first ACK of the first link (TCP only): the stream
     * from the host is split into frames to find it. */
    double t_connect, t_first_ack;
    uint8_t hdr[6];
    size_t hdr_have;
    uint64_t skip;
} bench_link;

/* Path of a tool built next to sfj-bench; 0 when it is executable. */
int bench_tool_path(const char *name, char *out, size_t cap);
int bench_provision(const char *path, sfj_journal *j, const sfj_keys *keys,
                    const char *tid);
/* Terminal i's journal id and terminal id, for bench_provision_n. */
typedef void (*bench_term_fn)(void *ctx, size_t i, const uint8_t **jid,
                              const char **tid);
/* A provisioning file (mode 0600) of `n` terminals that share the link
 * key and public key of `keys`. 0 or -1. */
int bench_provision_n(const char *path, const sfj_keys *keys, size_t n,
                      bench_term_fn term, void *ctx);
/* Start sfj-host on TCP (serial == NULL, port picked by the host) or on
 * the serial line `serial`. */
int bench_host_start(bench_host *h, const char *serial, int allow_v1);
void bench_host_stop(bench_host *h);
int bench_ptys_start(bench_ptys *p);
void bench_ptys_stop(bench_ptys *p);
/* sfj_connect_cb for SFJ_SINK_TRANSPORT; payload is a bench_link. */
int bench_connect(sfj_transport **out, void *payload);

#endif
