/* Baseline: the disk's own limit for a per-entry durable write: write()
 * the 256-byte payload to the end of a plain file, then fdatasync(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

typedef struct ctx {
    int fd;
} ctx;

static int one(void *arg, int tid, uint64_t i)
{
    ctx *c = arg;
    uint8_t payload[BENCH_PAYLOAD_BYTES];

    (void)tid;
    bench_payload(payload, i);
    if (write(c->fd, payload, sizeof payload) != (ssize_t)sizeof payload ||
        fdatasync(c->fd) != 0) {
        bench_fail("write+fdatasync", strerror(errno));
        return -1;
    }
    return 0;
}

int bench_append_fdatasync(const bench_opts *o, bench_rate *out)
{
    char *path = bench_path(o->dir, "append-fdatasync.log");
    ctx c;
    uint64_t i;
    int rc = 0;

    c.fd =
        open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (c.fd < 0) {
        bench_fail(path, strerror(errno));
        free(path);
        return -1;
    }
    for (i = 0; i < 20 && rc == 0; i++)
        rc = one(&c, 0, i);
    if (rc == 0)
        rc = bench_run(1, bench_seconds(o), o->ops, one, &c, out);
    close(c.fd);
    if (!o->keep)
        unlink(path);
    free(path);
    return rc;
}
