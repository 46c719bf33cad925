/* Crash states from a power-cut shim log (powercut_log.h).
 *
 * Replaying the log over the files' images from before the run gives, per
 * file, the last durable image (every write and truncation up to the
 * file's last successful fsync/fdatasync, plus every O_DSYNC write) and the
 * list of pending operations after it. A crash state is the durable image
 * with some of the pending operations applied, chosen by a mode. */
#ifndef SFJ_TESTS_CRASHSTATE_H
#define SFJ_TESTS_CRASHSTATE_H

#include <stddef.h>
#include <stdint.h>

/* How the pending operations reach the disk in a crash state. */
enum sfj_cs_mode {
    SFJ_CS_DURABLE, /* none: every unsynced write lost */
    SFJ_CS_ALL,     /* all of them, in order (what kill -9 leaves) */
    SFJ_CS_SUBSET,  /* a random subset, applied in random order */
    SFJ_CS_TORN,    /* all in order, but the last write torn: only some of
                       its 512-byte sectors reach the disk */
    SFJ_CS_SECTORS, /* every pending write cut into 512-byte sectors; a
                       random subset of all sectors, in random order */
    SFJ_CS_MODES
};

typedef struct sfj_cs sfj_cs;

/* Replay `log_path` over the images held in `init_dir` (files missing
 * there start empty). Returns 0, or -1 for an unreadable or malformed
 * log. */
int sfj_cs_load(sfj_cs **out, const char *log_path, const char *init_dir);

/* Pending (not yet durable) operations at the end of the log. */
size_t sfj_cs_pending(const sfj_cs *cs);

/* Operations the shim saw but cannot model (writable shared mappings,
 * msync); a correct run has none. */
size_t sfj_cs_unmodelled(const sfj_cs *cs);

/* Did the log end with a cut? */
int sfj_cs_was_cut(const sfj_cs *cs);

/* Write the files of one crash state into the existing directory
 * `out_dir`. `seed` drives the random choices; the same seed gives the
 * same state. Returns 0 or -1 on an I/O failure. */
int sfj_cs_build(const sfj_cs *cs, int mode, uint64_t seed,
                 const char *out_dir);

const char *sfj_cs_mode_name(int mode);

void sfj_cs_free(sfj_cs *cs);

#endif
