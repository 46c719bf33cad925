/* TCP connect for the forwarder, telling why it failed. */
#ifndef SFJ_FORWARDER_TRANSPORT_TCP_H
#define SFJ_FORWARDER_TRANSPORT_TCP_H

#include "sfj/forwarder.h"
#include "sfj/sys/transport.h"

/* sfj_transport_tcp_connect, and on failure `*cause` (may be NULL):
 * SFJ_CAUSE_RESOLVE (the name did not resolve), SFJ_CAUSE_REFUSED
 * (ECONNREFUSED from every address), SFJ_CAUSE_TIMEOUT or
 * SFJ_CAUSE_LINK (unreachable, any other failure). */
int sfj__tcp_connect(const char *host_port, int timeout_ms, sfj_transport **out,
                     sfj_link_cause *cause);

#endif
