/* Fault-injection shim (faultshim.c), loaded with LD_PRELOAD so that it
 * reaches the calls LMDB, zlib and libsodium make as well as sfj's own.
 * A test finds the control block with dlsym(RTLD_DEFAULT,
 * "sfj_fault_control") and sets its fields; all counters are updated
 * atomically, so a forwarder thread may run meanwhile.
 *
 * I/O faults apply only to files opened under `dir` after it was set.
 * Allocation faults apply to every allocation in the process while armed:
 * arm them around one call. */
#ifndef SFJ_TESTS_FAULTSHIM_H
#define SFJ_TESTS_FAULTSHIM_H

#include <stddef.h>

/* Operation classes (sfj_fault_ctl.ops). */
#define SFJ_FAULT_WRITE     0x1u /* write, pwrite, writev, pwritev */
#define SFJ_FAULT_FDATASYNC 0x2u
#define SFJ_FAULT_FSYNC     0x4u
#define SFJ_FAULT_SYNCS     (SFJ_FAULT_FDATASYNC | SFJ_FAULT_FSYNC)
#define SFJ_FAULT_IO        (SFJ_FAULT_WRITE | SFJ_FAULT_SYNCS)

/* `err` value that makes a write short (half its length) instead. */
#define SFJ_FAULT_SHORT (-1)

typedef struct sfj_fault_ctl {
    char dir[1024]; /* track files opened under this directory */
    /* I/O: the nth call of a class in `ops` (counted from arming) fails
     * with errno `err` without running; with `sticky`, so does every call
     * after it. EINTR is reported once per call (the retry runs). */
    unsigned ops;
    long nth; /* 0: off */
    int err;
    int sticky;
    long io_count; /* calls of the classes in `ops` seen since arming */
    long io_hits;  /* faults injected */
    /* Allocation: the nth allocation (malloc, calloc, realloc,
     * posix_memalign, aligned_alloc) after arming returns NULL / ENOMEM;
     * with alloc_sticky, so does every one after it. */
    long alloc_nth; /* 0: off */
    int alloc_sticky;
    long alloc_count;
    long alloc_hits;
    long live; /* blocks allocated and not yet freed, always counted */
} sfj_fault_ctl;

typedef sfj_fault_ctl *(*sfj_fault_control_fn)(void);

#endif
