/* The write log of the power-cut shim (powercut_shim.c), read back by the
 * crash-state builder (crashstate.c). Host byte order: both ends run on the
 * same machine.
 *
 * A log is a sequence of records, each a fixed header optionally followed
 * by `len` data bytes (opens: the file name; writes: the bytes written). */
#ifndef SFJ_TESTS_POWERCUT_LOG_H
#define SFJ_TESTS_POWERCUT_LOG_H

#include <stdint.h>

#define SFJ_PC_MAGIC 0x53464a50u /* "SFJP" */

enum sfj_pc_type {
    SFJ_PC_OPEN = 1,    /* file id `file` is the name that follows */
    SFJ_PC_WRITE = 2,   /* `len` bytes at `off` (data follows) */
    SFJ_PC_TRUNC = 3,   /* size set to `off` */
    SFJ_PC_SYNC = 4,    /* fsync/fdatasync returned 0: all earlier writes
                           and truncations of the file are durable */
    SFJ_PC_SYNCALL = 5, /* sync()/syncfs(): every file is durable */
    SFJ_PC_MMAP = 6,    /* a shared writable mapping of a tracked file:
                           writes through it are invisible to the shim */
    SFJ_PC_MSYNC = 7,   /* msync was called (same caveat) */
    SFJ_PC_CUT = 8      /* the process was cut here (kill point reached) */
};

/* Record flags. */
#define SFJ_PC_F_DURABLE 0x1u /* written through an O_DSYNC/O_SYNC fd */
#define SFJ_PC_F_INFLIGHT                                                      \
    0x2u /* the call was cut before it ran: any part of it may or may not      \
            have reached the disk */

typedef struct sfj_pc_rec {
    uint32_t magic;
    uint16_t type;
    uint16_t flags;
    uint32_t file;
    uint32_t pad;
    uint64_t off;
    uint64_t len;
} sfj_pc_rec;

#endif
