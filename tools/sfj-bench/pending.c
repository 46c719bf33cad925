/* Benchmarks whose APIs are not in this tree yet: they report why they
 * were not measured instead of a number. */
#include <stdio.h>

#include "bench.h"

int bench_replay(const bench_opts *o, bench_results *r)
{
    (void)o;
    r->replay_eps = r->replay_drain_ms = -1;
    snprintf(r->replay_why, sizeof r->replay_why,
             "the forwarder and sfj-host (include/sfj/forwarder.h) are not "
             "in this tree");
    return SFJ_OK;
}

int bench_wire(const bench_opts *o, bench_results *r)
{
    (void)o;
    r->wire_tcp = r->wire_serial = -1;
    snprintf(r->wire_why, sizeof r->wire_why,
             "the forwarder's frame codec (include/sfj/forwarder.h) is not "
             "in this tree");
    return SFJ_OK;
}
