/* sfj keys: the 32-byte master key and the subkeys derived from it.
 *
 * A terminal has one master key, kept in a key file (mode 0600) or handed
 * over by the app (e.g. from a secure element). Every other key is derived
 * from it by purpose: record encryption per epoch and per record, the
 * txn-id index, link authentication and checkpoint signing. */
#ifndef SFJ_KEYS_H
#define SFJ_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the master key and of every symmetric subkey. */
#define SFJ_KEY_BYTES 32
/** Size of the checkpoint signing public key (Ed25519). */
#define SFJ_PUBKEY_BYTES 32

/** Opaque key set. Lives in guarded memory; wiped by sfj_keys_free. */
typedef struct sfj_keys sfj_keys;

/** Create a new random master key file at `path` with mode 0600.
 *  Fails with SFJ_EEXIST if the file exists (never overwrites), SFJ_EIO on
 *  write or fsync failure. The file is fsynced, and its directory too. */
SFJ_EXTERN int sfj_keys_generate_file(const char *path);

/** Load the master key from `path`. Refuses (SFJ_EPERM) a file that is
 *  readable or writable by group or others, SFJ_ENOTFOUND if missing,
 *  SFJ_ECORRUPT if it is not a key file. `*out` belongs to the caller and is
 *  freed with sfj_keys_free. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_keys_load_file(const char *path,
                                                  sfj_keys **out);

/** Build a key set from `len` == SFJ_KEY_BYTES master key bytes held by the
 *  app. The bytes are copied; the caller should wipe its own copy. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_keys_from_bytes(const uint8_t *master,
                                                   size_t len, sfj_keys **out);

/** Add every key of `more` to the key set `ring` (copied: the caller
 *  still frees `more`), so that one set can read a journal across key
 *  rotations (sfj_journal_rotate_keys). The key `ring` was made with stays
 *  its first; order does not matter to a journal, which uses the key its
 *  meta `keycheck` names for new records and each other key for the epoch
 *  whose public key it has. At most SFJ_KEYRING_MAX keys (SFJ_EINVAL);
 *  a key already held is skipped. Not thread-safe against other use of
 *  `ring`. */
SFJ_EXTERN SFJ_WARN_UNUSED int sfj_keys_add(sfj_keys *ring,
                                            const sfj_keys *more);

/** Most keys one key set holds. */
#define SFJ_KEYRING_MAX 64

/** Wipe and free a key set (every key it holds). Accepts NULL. */
SFJ_EXTERN void sfj_keys_free(sfj_keys *keys);

/** Copy the checkpoint-signing public key (SFJ_PUBKEY_BYTES) into `out`. */
SFJ_EXTERN int sfj_keys_public_key(const sfj_keys *keys,
                                   uint8_t out[SFJ_PUBKEY_BYTES]);

/** Copy the link authentication key (SFJ_KEY_BYTES) into `out`: the secret
 *  an sfj-host is provisioned with to authenticate acks for this terminal.
 *  For a key set a journal holds (after sfj_keys_add and a key rotation)
 *  it is the link key of the oldest key epoch the set holds: a rotation
 *  leaves the link alone. The caller must wipe `out` after use. */
SFJ_EXTERN int sfj_keys_link_key(const sfj_keys *keys,
                                 uint8_t out[SFJ_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
