/* Opening and closing a journal.
 *
 * open: directory (created 0700, parent fsynced) -> writer.lock taken
 * (writable terminal journals: exclusive flock, held until close, else
 * SFJ_EBUSY) -> LMDB environment
 * (default sync flags) -> stale readers cleared -> databases -> meta
 * created or checked (format, key check, terminal) -> boot counter bumped
 * -> chain head loaded -> an unsealed tail from a crash gets a checkpoint.
 * close: closing checkpoint when anything was appended since the last one,
 * then every resource is released (LMDB before the writer lock) and the
 * keys wiped. An SFJ_OPEN_ACKS handle takes no lock, bumps no boot
 * counter, writes no checkpoint and never creates a journal. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "crypto/keys.h"
#include "journal/format/compress.h"
#include "journal/store/journal_impl.h"
#include "journal/store/lmdb_check.h"
#include "journal/store/lmdb_walk.h"
#include "journal/write/pending.h"
#include "journal/write/txn_overlay.h"
#include "journal/write/txn_rebuild.h"
#include "common/abi.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

#define DEFAULT_MAX_BYTES        (256ull << 20)
#define DEFAULT_CHECKPOINT_EVERY 1000
#define DEFAULT_RETENTION_DAYS   400
#define DEFAULT_HIGH_WATER_PCT   80
#define INITIAL_MAP_BYTES        (1ull << 20)

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = SFJ_OK;

    if (fd < 0)
        return SFJ_EIO;
    if (fsync(fd) != 0)
        rc = SFJ_EIO;
    close(fd);
    return rc;
}

/* Create `dir` if needed; refuse a directory others may write to. */
static int prepare_dir(sfj_journal *j, const char *dir, int *created)
{
    struct stat st;
    char *copy;
    int rc;

    *created = 0;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || j->rdonly ||
            (j->opts.flags & SFJ_OPEN_NOCREATE)) {
            sfj__set_err(j, "journal directory %s: %s", dir, strerror(errno));
            return errno == ENOENT ? SFJ_ENOTFOUND : SFJ_EIO;
        }
        if (mkdir(dir, 0700) != 0) {
            sfj__set_err(j, "mkdir %s: %s", dir, strerror(errno));
            return errno == EACCES ? SFJ_EPERM : SFJ_EIO;
        }
        copy = strdup(dir);
        if (copy == NULL)
            return SFJ_ENOMEM;
        rc = fsync_path(dirname(copy));
        free(copy);
        if (rc != SFJ_OK)
            return rc;
        *created = 1;
        return SFJ_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        sfj__set_err(j, "%s is not a directory", dir);
        return SFJ_EINVAL;
    }
    if (!j->rdonly && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        sfj__set_err(j, "journal directory %s is writable by others", dir);
        return SFJ_EPERM;
    }
    return SFJ_OK;
}

/* One writer at a time: hold writer.lock exclusively for the handle's
 * life. flock belongs to the open file description, so a second open in
 * this same process conflicts too, and the kernel releases it when the
 * holder dies: a crash never leaves the journal locked. */
static int take_writer_lock(sfj_journal *j, const char *dir)
{
    char path[4096], pid[32];
    ssize_t n;
    int fd, rc = SFJ_OK;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, SFJ__WRITER_LOCK) >=
        sizeof path)
        return SFJ_EINVAL;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        sfj__set_err(j, "%s: %s", path, strerror(errno));
        return errno == EACCES ? SFJ_EPERM : SFJ_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            sfj__set_err(j, "flock %s: %s", path, strerror(errno));
            rc = SFJ_EIO;
            goto done;
        }
        n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (pid[0] != '\0')
            sfj__set_err(j, "journal %s is open for writing by pid %s", dir,
                         pid);
        else
            sfj__set_err(j, "journal %s is open for writing elsewhere", dir);
        rc = SFJ_EBUSY;
        goto done;
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        sfj__set_err(j, "%s: %s", path, strerror(errno));
        rc = SFJ_EIO;
        goto done;
    }
    j->lock_fd = fd;
    fd = -1;
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

static int open_dbs(sfj_journal *j, MDB_txn *txn)
{
    unsigned f = j->rdonly ? 0 : MDB_CREATE;
    /* In the order of sfj__db_names. */
    MDB_dbi *dbs[SFJ__NAMED_DBS] = {&j->db_txns, &j->db_acked, &j->db_attn,
                                    &j->db_meta};
    size_t i;
    int mrc;

    /* A format 1 journal keeps its entries in a named database; any other
     * keeps them in the main database (meta_load checks the two agree). */
    mrc = mdb_dbi_open(txn, "entries", 0, &j->db_entries);
    j->entries_in_main = mrc == MDB_NOTFOUND;
    if (j->entries_in_main)
        mrc = mdb_dbi_open(txn, NULL, 0, &j->db_entries);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_dbi_open");
    for (i = 0; i < SFJ__NAMED_DBS; i++) {
        mrc = mdb_dbi_open(txn, sfj__db_names[i], f, dbs[i]);
        if (mrc == MDB_NOTFOUND) {
            sfj__set_err(j, "not an sfj journal (no %s database)",
                         sfj__db_names[i]);
            return SFJ_ENOTFOUND;
        }
        if (mrc != MDB_SUCCESS)
            return sfj__mdb_rc(j, mrc, "mdb_dbi_open");
    }
    return SFJ_OK;
}

static int meta_get(sfj_journal *j, MDB_txn *txn, const char *name, MDB_val *v)
{
    MDB_val k;
    int mrc;

    k.mv_data = (void *)name;
    k.mv_size = strlen(name);
    mrc = mdb_get(txn, j->db_meta, &k, v);
    if (mrc == MDB_NOTFOUND) {
        sfj__set_err(j, "journal meta lacks %s", name);
        return SFJ_ECORRUPT;
    }
    return mrc == MDB_SUCCESS ? SFJ_OK : sfj__mdb_rc(j, mrc, name);
}

/* A new journal: fresh id, format, terminal, key check or mirror data. */
static int meta_create(sfj_journal *j, MDB_txn *txn)
{
    uint8_t check[32];
    MDB_stat st;
    int rc;

    /* The main database of a new format 2 journal holds the named
     * databases' records alone: another program's data there would read
     * as damaged entries. */
    if (j->entries_in_main &&
        (sfj__entries_stat(j, txn, &st) != MDB_SUCCESS || st.ms_entries != 0)) {
        sfj__set_err(j,
                     "not an sfj journal (the LMDB database in %s holds "
                     "other data)",
                     j->dir);
        return SFJ_ENOTFOUND;
    }
    if (!j->mirror)
        randombytes_buf(j->journal_id, sizeof j->journal_id);
    rc = sfj__meta_put_u64(j, txn, SFJ__META_FORMAT,
                           j->entries_in_main ? SFJ__FORMAT_MAIN
                                              : SFJ__FORMAT_NAMED);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_JOURNAL_ID, j->journal_id,
                           sizeof j->journal_id);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_TERMINAL_ID, j->terminal_id,
                           strlen(j->terminal_id));
    if (rc == SFJ_OK)
        rc = sfj__meta_put_u64(j, txn, SFJ__META_EPOCH, 1);
    j->epoch = 1;
    if (rc == SFJ_OK)
        rc = sfj__meta_put_u64(j, txn, SFJ__META_MIRROR, (uint64_t)j->mirror);
    if (rc == SFJ_OK && !j->mirror)
        memcpy(j->pubkey, j->keys->sign_pk, sizeof j->pubkey);
    if (rc == SFJ_OK)
        rc = sfj__meta_put(j, txn, SFJ__META_PUBKEY, j->pubkey,
                           sizeof j->pubkey);
    if (rc == SFJ_OK && !j->mirror) {
        sfj__key_check(j->keys, j->journal_id, check);
        rc = sfj__meta_put(j, txn, SFJ__META_KEYCHECK, check, sizeof check);
    }
    return rc;
}

/* An existing journal: check its format, that it is what the caller
 * expects (mirror or not, this journal id), and that the key is right. */
static int meta_load(sfj_journal *j, MDB_txn *txn)
{
    uint64_t format = 0, epoch = 0, mirror = 0;
    MDB_val v;
    int rc;

    rc = sfj__meta_get_u64(j, txn, SFJ__META_FORMAT, &format);
    if (rc != SFJ_OK)
        return rc;
    if (format != SFJ__FORMAT_NAMED && format != SFJ__FORMAT_MAIN) {
        sfj__set_err(j, "journal format %llu, this library reads %d to %d",
                     (unsigned long long)format, SFJ__FORMAT_NAMED,
                     SFJ__FORMAT_VERSION);
        return format == 0 ? SFJ_ECORRUPT : SFJ_EVERSION;
    }
    if ((format == SFJ__FORMAT_MAIN) != j->entries_in_main) {
        sfj__set_err(j, format == SFJ__FORMAT_MAIN
                            ? "journal format 2 has an entries database"
                            : "not an sfj journal (no entries database)");
        return format == SFJ__FORMAT_MAIN ? SFJ_ECORRUPT : SFJ_ENOTFOUND;
    }
    rc = meta_get(j, txn, SFJ__META_JOURNAL_ID, &v);
    if (rc != SFJ_OK)
        return rc;
    if (v.mv_size != SFJ_JOURNAL_ID_BYTES)
        return SFJ_ECORRUPT;
    if (j->mirror && memcmp(j->journal_id, v.mv_data, v.mv_size) != 0) {
        sfj__set_err(j, "mirror holds another terminal's journal");
        return SFJ_EAUTH;
    }
    memcpy(j->journal_id, v.mv_data, v.mv_size);
    rc = meta_get(j, txn, SFJ__META_TERMINAL_ID, &v);
    if (rc != SFJ_OK)
        return rc;
    if (v.mv_size > SFJ_TERMINAL_ID_MAX)
        return SFJ_ECORRUPT;
    if (j->opts.terminal_id != NULL &&
        (strlen(j->opts.terminal_id) != v.mv_size ||
         memcmp(j->opts.terminal_id, v.mv_data, v.mv_size) != 0)) {
        sfj__set_err(j, "journal belongs to terminal %.*s", (int)v.mv_size,
                     (const char *)v.mv_data);
        return SFJ_ESTATE;
    }
    memcpy(j->terminal_id, v.mv_data, v.mv_size);
    j->terminal_id[v.mv_size] = '\0';
    rc = meta_get(j, txn, SFJ__META_PUBKEY, &v);
    if (rc != SFJ_OK)
        return rc;
    if (v.mv_size != sizeof j->pubkey)
        return SFJ_ECORRUPT;
    memcpy(j->pubkey, v.mv_data, v.mv_size);
    rc = sfj__meta_get_u64(j, txn, SFJ__META_EPOCH, &epoch);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_MIRROR, &mirror);
    if (rc != SFJ_OK)
        return rc;
    if (epoch == 0 || epoch > UINT32_MAX)
        return SFJ_ECORRUPT;
    j->epoch = (uint32_t)epoch;
    if ((int)mirror != j->mirror && !j->rdonly) {
        sfj__set_err(j, mirror ? "this is a host mirror, not a terminal "
                                 "journal"
                               : "this is a terminal journal, not a mirror");
        return SFJ_ESTATE;
    }
    if (mirror)
        j->mirror = 1;
    return SFJ_OK;
}

/* The epoch whose public key `k` has in the key history, or 0. The
 * newest epoch only with `newest`: a terminal's journal binds its newest
 * key by the key check instead. */
static uint32_t epoch_of_key(const sfj_journal *j, const sfj_keys *k,
                             int newest)
{
    size_t i, n = j->keyhist_n - (newest || j->keyhist_n == 0 ? 0 : 1);

    for (i = 0; i < n; i++)
        if (memcmp(j->keyhist + i * SFJ__KEYHIST_ENTRY + 4, k->sign_pk, 32) ==
            0)
            return sfj__get_u32(j->keyhist + i * SFJ__KEYHIST_ENTRY);
    return 0;
}

/* Move `cur`, a key of the handle's ring, to its head. */
static void to_head(sfj_journal *j, sfj_keys *cur)
{
    sfj_keys **pp;

    if (cur == NULL || cur == j->keys)
        return;
    for (pp = &j->keys; *pp != cur; pp = &(*pp)->next)
        ;
    *pp = cur->next;
    cur->next = j->keys;
    j->keys = cur;
}

/* Drop from the handle's ring (unsealed) every key bound to no epoch: it
 * is another journal's and opens nothing here. Left in, it would be tried
 * on the records of an epoch whose key was not given (entry.c), which
 * would then read as failing authentication, damage, rather than as a key
 * not given. */
static void drop_unbound(sfj_journal *j)
{
    sfj_keys **pp = &j->keys, *k;

    while ((k = *pp) != NULL) {
        if (k->epoch != 0) {
            pp = &k->next;
            continue;
        }
        *pp = k->next;
        k->next = NULL;
        sfj_keys_free(k);
    }
}

/* A mirror has no key check (a host holds no terminal's key): each key
 * reads the epoch whose public key it has, the newest included, and a key
 * of the epoch in force heads the ring and gives the handle its epoch key.
 * Without one, that epoch's records go through the ring as older epochs'
 * do (read.c): a key not given, not damage. A key of no epoch is
 * dropped; with no key of any epoch the keys are another journal's,
 * refused as a terminal's journal refuses them. */
static int bind_mirror_keys(sfj_journal *j)
{
    sfj_keys *k, *cur = NULL;
    int bound = 0;

    sfj__keys_unseal(j->keys);
    for (k = j->keys; k != NULL; k = k->next) {
        k->epoch = epoch_of_key(j, k, 1);
        bound |= k->epoch != 0;
        if (cur == NULL && k->epoch == j->epoch)
            cur = k;
    }
    if (bound)
        drop_unbound(j);
    to_head(j, cur);
    sfj__keys_seal(j->keys);
    if (cur == NULL) {
        sodium_free(j->epoch_key);
        j->epoch_key = NULL;
    }
    if (!bound) {
        sfj__set_err(j, "the key does not belong to this journal");
        return SFJ_EAUTH;
    }
    return SFJ_OK;
}

/* Bind the handle's keys to this journal's epochs: the key its
 * `keycheck` names seals and signs (it becomes the head of the ring),
 * each other key reads the epoch whose public key it has; a key of no
 * epoch is dropped. */
static int bind_keys(sfj_journal *j, MDB_txn *txn)
{
    uint8_t check[32];
    sfj_keys *k, *cur = NULL;
    MDB_val v;
    int rc, old = 0;

    if (j->keys == NULL)
        return SFJ_OK;
    if (j->mirror)
        return bind_mirror_keys(j);
    rc = meta_get(j, txn, SFJ__META_KEYCHECK, &v);
    if (rc != SFJ_OK)
        return rc;
    sfj__keys_unseal(j->keys);
    for (k = j->keys; k != NULL; k = k->next) {
        sfj__key_check(k, j->journal_id, check);
        if (cur == NULL && v.mv_size == sizeof check &&
            sodium_memcmp(check, v.mv_data, sizeof check) == 0) {
            cur = k;
            k->epoch = j->epoch;
            continue;
        }
        k->epoch = epoch_of_key(j, k, 0);
        old |= k->epoch != 0;
    }
    if (cur != NULL)
        drop_unbound(j);
    to_head(j, cur);
    sfj__keys_seal(j->keys);
    sodium_memzero(check, sizeof check);
    if (cur == NULL) {
        if (old)
            sfj__set_err(j,
                         "the key is of an earlier key epoch: since a key "
                         "rotation this journal needs its newest key (epoch "
                         "%u) as well",
                         (unsigned)j->epoch);
        else
            sfj__set_err(j, "the key does not belong to this journal");
        return SFJ_EAUTH;
    }
    return SFJ_OK;
}

static int setup_env(sfj_journal *j, const char *dir)
{
    unsigned flags = MDB_NOTLS | (j->rdonly ? MDB_RDONLY : 0);
    MDB_envinfo info;
    int mrc, rc, dead = 0;

    rc = sfj__lmdb_precheck(j, dir);
    if (rc != SFJ_OK)
        return rc;
    mrc = mdb_env_create(&j->env);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_env_create");
    mdb_env_set_maxdbs(j->env, 8);
    /* LMDB raises the size to what the file already uses. */
    mdb_env_set_mapsize(j->env, (size_t)(INITIAL_MAP_BYTES < j->opts.max_bytes
                                             ? INITIAL_MAP_BYTES
                                             : j->opts.max_bytes));
    mrc = mdb_env_open(j->env, dir, flags, 0600);
    if (mrc != MDB_SUCCESS) {
        mdb_env_close(j->env);
        j->env = NULL;
        return sfj__mdb_rc(j, mrc, "mdb_env_open");
    }
    mdb_env_info(j->env, &info);
    j->map_size = info.me_mapsize;
    /* Slots of crashed processes would pin old pages forever. */
    mdb_reader_check(j->env, &dead);
    j->stale_readers = dead > 0 ? (unsigned)dead : 0;
    return SFJ_OK;
}

/* Receipts not tracked: recorded for good by a writable open with the
 * flag, followed by every open after. */
static int receipts_mode(sfj_journal *j, MDB_txn *txn)
{
    uint64_t off = 0;
    int want = (j->opts.flags & SFJ_OPEN_NO_RECEIPTS) != 0;
    int rc = sfj__meta_get_u64(j, txn, SFJ__META_NO_RECEIPTS, &off);

    if (rc != SFJ_OK)
        return rc;
    if (want && off == 0 && !j->rdonly && !j->acks_only && !j->mirror)
        rc = sfj__meta_put_u64(j, txn, SFJ__META_NO_RECEIPTS, 1);
    j->no_receipts = off != 0 || want;
    return rc;
}

static int apply_open_checkpoint(sfj__wctx *w, void *arg)
{
    (void)arg;
    if (w->last_seq == 0 || w->last_ckpt == w->last_seq)
        return SFJ_OK;
    return sfj__wctx_checkpoint(w);
}

/* Begin the open's transaction; a map another process grew since this
 * handle sized its own is adopted. */
static int begin_open_txn(sfj_journal *j, MDB_txn **txn)
{
    int mrc = mdb_txn_begin(j->env, NULL, j->rdonly ? MDB_RDONLY : 0, txn);

    if (mrc == MDB_MAP_RESIZED && mdb_env_set_mapsize(j->env, 0) == 0) {
        MDB_envinfo info;

        mdb_env_info(j->env, &info);
        j->map_size = info.me_mapsize;
        mrc = mdb_txn_begin(j->env, NULL, j->rdonly ? MDB_RDONLY : 0, txn);
    }
    return mrc;
}

/* Persist the txn index overlay on close when no closing checkpoint does
 * (txn_overlay.c). */
static int apply_index_flush(sfj__wctx *w, void *arg)
{
    (void)arg;
    sfj__txi_want_flush(w->j);
    return SFJ_OK;
}

static int init_state(sfj_journal *j, int created)
{
    MDB_txn *txn = NULL;
    uint64_t boot = 0, ckpt = 0;
    int mrc, rc, tries;

    mrc = begin_open_txn(j, &txn);
    if (mrc != MDB_SUCCESS)
        return sfj__mdb_rc(j, mrc, "mdb_txn_begin(open)");
    /* Before LMDB reads any tree page, make sure none would lead it
     * astray: it trusts every page it reads. */
    rc = sfj__lmdb_walk(j, txn, (j->opts.flags & SFJ_OPEN_CHECK) != 0);
    for (tries = 0; rc == SFJ_ESTATE && tries < 100; tries++) {
        /* Busy writers elsewhere: check a newer snapshot. */
        mdb_txn_abort(txn);
        txn = NULL;
        mrc = begin_open_txn(j, &txn);
        if (mrc != MDB_SUCCESS)
            return sfj__mdb_rc(j, mrc, "mdb_txn_begin(open)");
        rc = sfj__lmdb_walk(j, txn, (j->opts.flags & SFJ_OPEN_CHECK) != 0);
    }
    if (rc == SFJ_OK)
        rc = open_dbs(j, txn);
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_FORMAT, &boot);
    if (rc != SFJ_OK)
        goto done;
    if (boot == 0 && j->acks_only) {
        sfj__set_err(j, "no journal in %s to record acks in", j->dir);
        rc = SFJ_ENOTFOUND;
    } else if (boot == 0 && !j->rdonly)
        rc = meta_create(j, txn);
    else
        rc = meta_load(j, txn);
    if (rc == SFJ_OK)
        rc = sfj__keyhist_load(j, txn);
    if (rc == SFJ_OK)
        rc = bind_keys(j, txn);
    if (rc == SFJ_OK)
        rc = sfj__dict_load(j, txn);
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__meta_get_u64(j, txn, SFJ__META_BOOT, &boot);
    if (rc == SFJ_OK)
        rc = sfj__meta_get_u64(j, txn, SFJ__META_CKPT, &ckpt);
    if (rc != SFJ_OK)
        goto done;
    if (!j->rdonly && !j->acks_only) {
        boot++;
        rc = sfj__meta_put_u64(j, txn, SFJ__META_BOOT, boot);
        if (rc != SFJ_OK)
            goto done;
    }
    j->boot = (uint32_t)boot;
    j->last_ckpt = ckpt;
    rc = receipts_mode(j, txn);
    if (rc != SFJ_OK)
        goto done;
    rc = sfj__load_head(j, txn, &j->last_seq, j->head);
    if (rc != SFJ_OK)
        goto done;
    /* Entries at the end can vanish without a trace in the entries
     * database (a damaged page); the checkpoint seq in meta still names
     * one of them. Appending would reuse seqs the upstream already holds,
     * so only a read-only handle may look at such a journal. */
    if (!j->rdonly && ckpt > j->last_seq) {
        sfj__set_err(j,
                     "entries after seq %llu are missing: the last "
                     "checkpoint (seq %llu) is gone",
                     (unsigned long long)j->last_seq, (unsigned long long)ckpt);
        rc = SFJ_ECORRUPT;
        goto done;
    }
    /* Commit even a read-only transaction: aborting it would close the
     * database handles it opened. */
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != MDB_SUCCESS) {
        rc = sfj__mdb_rc(j, mrc, "mdb_txn_commit(open)");
        goto done;
    }
    if (created) {
        rc = fsync_path(j->dir);
        if (rc != SFJ_OK)
            goto done;
    }
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

static int check_opts(const sfj_journal_opts *opts)
{
    if (opts == NULL)
        return SFJ_OK;
    if (!SFJ__VERSION_OK(opts->version, SFJ_JOURNAL_OPTS_VERSION))
        return SFJ_EVERSION;
    if ((opts->flags & ~(SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK |
                         SFJ_OPEN_ACKS | SFJ_OPEN_NO_RECEIPTS)) != 0)
        return SFJ_EINVAL;
    if ((opts->flags & SFJ_OPEN_RDONLY) && (opts->flags & SFJ_OPEN_ACKS))
        return SFJ_EINVAL;
    if (opts->terminal_id != NULL &&
        (opts->terminal_id[0] == '\0' ||
         strlen(opts->terminal_id) > SFJ_TERMINAL_ID_MAX))
        return SFJ_EINVAL;
    if (opts->max_bytes != 0 && opts->max_bytes < SFJ_JOURNAL_MIN_BYTES)
        return SFJ_EINVAL;
    if (opts->high_water_pct > 100)
        return SFJ_EINVAL;
    /* Refused before anything is created. */
    if (opts->version >= 2 &&
        ((opts->dictionary == NULL) != (opts->dictionary_len == 0) ||
         opts->dictionary_len > SFJ_DICTIONARY_MAX))
        return SFJ_EINVAL;
    return SFJ_OK;
}

static sfj_journal *alloc_handle(const char *dir, const sfj_journal_opts *o)
{
    sfj_journal *j = calloc(1, sizeof *j);

    if (j == NULL)
        return NULL;
    /* A caller of an older version has a shorter struct. */
    if (o != NULL)
        memcpy(&j->opts, o,
               o->version == 1 ? offsetof(sfj_journal_opts, dictionary)
                               : sizeof j->opts);
    j->opts.version = SFJ_JOURNAL_OPTS_VERSION;
    if (j->opts.max_bytes == 0)
        j->opts.max_bytes = DEFAULT_MAX_BYTES;
    if (j->opts.checkpoint_every == 0)
        j->opts.checkpoint_every = DEFAULT_CHECKPOINT_EVERY;
    if (j->opts.retention_days == 0)
        j->opts.retention_days = DEFAULT_RETENTION_DAYS;
    if (j->opts.high_water_pct == 0)
        j->opts.high_water_pct = DEFAULT_HIGH_WATER_PCT;
    j->rdonly = (j->opts.flags & SFJ_OPEN_RDONLY) != 0;
    j->acks_only = (j->opts.flags & SFJ_OPEN_ACKS) != 0;
    if (j->acks_only)
        j->opts.flags |= SFJ_OPEN_NOCREATE;
    j->lock_fd = -1;
    if (j->opts.terminal_id != NULL)
        strcpy(j->terminal_id, j->opts.terminal_id);
    else
        strcpy(j->terminal_id, "terminal");
    /* The caller's string need not outlive the call. */
    j->opts.terminal_id = NULL;
    if (o != NULL && o->terminal_id != NULL)
        j->opts.terminal_id = j->terminal_id;
    j->dir = strdup(dir);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    pthread_rwlock_init(&j->maplock, NULL);
    if (j->dir == NULL) {
        sfj_journal_close(j);
        return NULL;
    }
    return j;
}

static int copy_keys(sfj_journal *j, const sfj_keys *keys)
{
    int rc = sfj__keys_copy(keys, 0, &j->keys);

    if (rc != SFJ_OK)
        return rc;
    j->epoch_key = sodium_malloc(SFJ_KEY_BYTES);
    return j->epoch_key == NULL ? SFJ_ENOMEM : SFJ_OK;
}

/* Shared by sfj_journal_open and sfj__mirror_open. */
static int open_common(sfj_journal **out, const char *dir, const sfj_keys *keys,
                       const sfj_journal_opts *opts, int mirror,
                       const uint8_t *journal_id, const uint8_t *pubkey)
{
    sfj_journal *j = NULL;
    int rc, created = 0, tries;

    if (out == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (dir == NULL || *dir == '\0')
        return SFJ_EINVAL;
    rc = check_opts(opts);
    if (rc != SFJ_OK)
        return rc;
    if (keys == NULL && !mirror && !(opts && (opts->flags & SFJ_OPEN_RDONLY)))
        return SFJ_EINVAL;
    if (sfj__sodium_init() < 0)
        return SFJ_ENOMEM;
    j = alloc_handle(dir, opts);
    if (j == NULL)
        return SFJ_ENOMEM;
    j->mirror = mirror;
    if (mirror) {
        memcpy(j->journal_id, journal_id, SFJ_JOURNAL_ID_BYTES);
        memcpy(j->pubkey, pubkey, sizeof j->pubkey);
    } else if (keys != NULL) {
        rc = copy_keys(j, keys);
        if (rc != SFJ_OK)
            goto done;
    }
    rc = prepare_dir(j, dir, &created);
    /* Mirrors have one writer by construction (the host's session of
     * that terminal); a terminal journal needs the lock. */
    if (rc == SFJ_OK && !j->rdonly && !j->acks_only && !mirror)
        rc = take_writer_lock(j, dir);
    if (rc == SFJ_OK)
        rc = setup_env(j, dir);
    if (rc == SFJ_OK)
        rc = init_state(j, created);
    /* LMDB sizes the map of a journal above the initial size to exactly
     * the pages in use. The open's commit (boot counter) then needs a new
     * page whenever no freed page may be reused yet (a reader elsewhere
     * pins them): grow the map as an append would, up to the cap, within
     * which the reserve keeps room for this commit. */
    for (tries = 0; rc == SFJ_EFULL && !j->rdonly && tries < 64; tries++) {
        if (sfj__grow_map(j, 0) != SFJ_OK)
            break;
        j->errmsg[0] = '\0';
        rc = init_state(j, created);
    }
    if (rc == SFJ_OK)
        rc = sfj__txi_attach(j);
    if (rc != SFJ_OK)
        goto done;
    if (j->epoch_key != NULL) {
        sfj__epoch_key(j->keys, j->epoch, j->epoch_key);
        sodium_mprotect_readonly(j->epoch_key);
    }
    /* A tail left unsealed by a crash gets its checkpoint now, so that
     * what survived is signed before anything new is added. */
    if (!j->rdonly && !j->mirror && !j->acks_only &&
        j->last_seq > j->last_ckpt) {
        rc = sfj__commit(j, apply_open_checkpoint, NULL);
        if (rc != SFJ_OK)
            goto done;
    }
    /* The cheap part of recovery: bring the txn index level with the
     * entries (a few header reads when it already is). */
    rc = sfj__txn_open(j);
    if (rc == SFJ_OK)
        rc = sfj__pending_open(j);
    /* A journal's dictionary is its first entry, or it has none. */
    if (rc == SFJ_OK && j->opts.dictionary != NULL && !j->rdonly &&
        !j->mirror && !j->acks_only && j->last_seq == 0 && j->dict == NULL)
        rc = sfj__dict_create(j, j->opts.dictionary, j->opts.dictionary_len);
    /* The caller's bytes need not outlive the call. */
    j->opts.dictionary = NULL;
    j->opts.dictionary_len = 0;
done:
    if (rc != SFJ_OK) {
        /* Keep the detail for the caller's log, then release. */
        if (j->errmsg[0] == '\0')
            sfj__set_err(j, "%s", sfj_strerror(rc));
        sfj__keep_open_err(j);
        j->rdonly = 1;
        sfj_journal_close(j);
        return rc;
    }
    *out = j;
    return SFJ_OK;
}

int sfj_journal_open(const char *dir, const sfj_keys *keys,
                     const sfj_journal_opts *opts, sfj_journal **out)
{
    return open_common(out, dir, keys, opts, 0, NULL, NULL);
}

int sfj__mirror_open(sfj_journal **out, const char *dir,
                     const uint8_t *journal_id, const char *terminal_id,
                     const uint8_t *pubkey, uint64_t max_bytes)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;

    if (journal_id == NULL || pubkey == NULL)
        return SFJ_EINVAL;
    opts.terminal_id = terminal_id;
    opts.max_bytes = max_bytes;
    return open_common(out, dir, NULL, &opts, 1, journal_id, pubkey);
}

int sfj_journal_close(sfj_journal *j)
{
    int rc = SFJ_OK;

    if (j == NULL)
        return SFJ_OK;
    if (j->env != NULL && !j->rdonly && !j->mirror && !j->acks_only &&
        !j->dead && j->last_seq > j->last_ckpt)
        rc = sfj__commit(j, apply_open_checkpoint, NULL);
    if (j->env != NULL && !j->rdonly && !j->dead && rc == SFJ_OK &&
        sfj__txi_dirty(j))
        rc = sfj__commit(j, apply_index_flush, NULL);
    sfj__journal_wake_all(j);
    if (j->env != NULL)
        mdb_env_close(j->env);
    /* Only after LMDB is closed may another writer start. */
    if (j->lock_fd >= 0)
        close(j->lock_fd);
    sfj__txi_detach(j);
    sfj_keys_free(j->keys);
    free(j->keyhist);
    sfj__dict_free(j->dict);
    if (j->epoch_key != NULL)
        sodium_free(j->epoch_key);
    pthread_rwlock_destroy(&j->maplock);
    pthread_cond_destroy(&j->cond);
    pthread_mutex_destroy(&j->lock);
    free(j->dir);
    free(j);
    return rc;
}
