/* Master key loading and subkey derivation. */
#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/registers.h"
#include "sfj/errors.h"
#include "sfj/sys/internal.h"

/* Key file: a fixed magic line followed by 64 hex digits and a newline,
 * so that an operator can tell it from other files without exposing it. */
#define KEYFILE_MAGIC     "sfj-master-key-v1\n"
#define KEYFILE_MAGIC_LEN (sizeof(KEYFILE_MAGIC) - 1)
#define KEYFILE_LEN       (KEYFILE_MAGIC_LEN + 2 * SFJ_KEY_BYTES + 1)

/* Never inlined: this frame lies where the frames of the caller's last
 * call lay. */
__attribute__((noinline)) void sfj__wipe_dead_stack(void)
{
    uint8_t area[SFJ__DEAD_STACK_BYTES];

    sodium_memzero(area, sizeof area);
    sfj__clear_registers();
}

/* crypto_kdf_derive_from_key, and nothing of it left behind: libsodium's
 * BLAKE2b leaves its state (the key's block, the output) in the dead
 * frames below its caller, where a core dump would find them. */
static void derive(uint8_t *out, size_t len, uint64_t id, const char *ctx,
                   const uint8_t *key)
{
    crypto_kdf_derive_from_key(out, len, id, ctx, key);
    sfj__wipe_dead_stack();
}

void sfj__epoch_key(const sfj_keys *keys, uint32_t epoch, uint8_t *out)
{
    derive(out, SFJ_KEY_BYTES, epoch, SFJ__CTX_EPOCH, keys->master);
}

void sfj__record_key(const uint8_t *epoch_key, uint64_t seq, uint8_t *out)
{
    derive(out, SFJ_KEY_BYTES, seq, SFJ__CTX_RECORD, epoch_key);
}

void sfj__amount_key(const sfj_keys *keys, uint8_t *out)
{
    derive(out, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, 1, SFJ__CTX_AMOUNT,
           keys->txnidx);
}

void sfj__keys_master(const sfj_keys *keys, uint8_t *out)
{
    memcpy(out, keys->master, SFJ_KEY_BYTES);
}

void sfj__key_check(const sfj_keys *keys, const uint8_t *journal_id,
                    uint8_t *out)
{
    crypto_generichash(out, 32, journal_id, 16, keys->check,
                       sizeof keys->check);
}

int sfj__sodium_init(void)
{
    static atomic_int ready;
    int rc;

    if (atomic_load_explicit(&ready, memory_order_acquire))
        return 1;
    rc = sodium_init();
    if (rc >= 0)
        atomic_store_explicit(&ready, 1, memory_order_release);
    return rc;
}

int sfj_keys_from_bytes(const uint8_t *master, size_t len, sfj_keys **out)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    sfj_keys *k;

    if (out == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (master == NULL || len != SFJ_KEY_BYTES)
        return SFJ_EINVAL;
    if (sfj__sodium_init() < 0)
        return SFJ_ENOMEM;
    k = sodium_malloc(sizeof *k);
    if (k == NULL)
        return SFJ_ENOMEM;
    memcpy(k->master, master, SFJ_KEY_BYTES);
    k->epoch = 0;
    k->next = NULL;
    derive(k->txnidx, SFJ_KEY_BYTES, 1, SFJ__CTX_TXNIDX, k->master);
    derive(k->link, SFJ_KEY_BYTES, 1, SFJ__CTX_LINK, k->master);
    derive(k->check, SFJ_KEY_BYTES, 1, SFJ__CTX_CHECK, k->master);
    derive(seed, sizeof seed, 1, SFJ__CTX_SIGN, k->master);
    crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_mprotect_readonly(k);
    *out = k;
    return SFJ_OK;
}

void sfj_keys_free(sfj_keys *keys)
{
    sfj_keys *next;

    /* sodium_free wipes each region before releasing it. */
    while (keys != NULL) {
        next = keys->next;
        sodium_free(keys);
        keys = next;
    }
}

void sfj__keys_seal(sfj_keys *ring)
{
    for (; ring != NULL; ring = ring->next)
        sodium_mprotect_readonly(ring);
}

void sfj__keys_unseal(sfj_keys *ring)
{
    for (; ring != NULL; ring = ring->next)
        sodium_mprotect_readwrite(ring);
}

int sfj__keys_copy(const sfj_keys *src, int head_only, sfj_keys **out)
{
    sfj_keys *head = NULL, **tail = &head, *k;
    int rc = SFJ_OK;

    *out = NULL;
    for (; src != NULL; src = head_only ? NULL : src->next) {
        k = sodium_malloc(sizeof *k);
        if (k == NULL) {
            rc = SFJ_ENOMEM;
            break;
        }
        memcpy(k, src, sizeof *k);
        k->next = NULL;
        *tail = k;
        tail = &k->next;
    }
    if (rc != SFJ_OK) {
        sfj_keys_free(head);
        return rc;
    }
    *out = head;
    return SFJ_OK;
}

static int ring_holds(const sfj_keys *ring, const sfj_keys *k)
{
    for (; ring != NULL; ring = ring->next)
        if (sodium_memcmp(ring->sign_pk, k->sign_pk, sizeof k->sign_pk) == 0)
            return 1;
    return 0;
}

int sfj_keys_add(sfj_keys *ring, const sfj_keys *more)
{
    sfj_keys *copy = NULL, *last, *k;
    const sfj_keys *m;
    size_t n = 0;
    int rc;

    if (ring == NULL || more == NULL)
        return SFJ_EINVAL;
    for (last = ring; last->next != NULL; last = last->next)
        n++;
    for (m = more; m != NULL; m = m->next)
        n += !ring_holds(ring, m);
    if (n + 1 > SFJ_KEYRING_MAX)
        return SFJ_EINVAL;
    rc = sfj__keys_copy(more, 0, &copy);
    if (rc != SFJ_OK)
        return rc;
    sodium_mprotect_readwrite(last);
    while (copy != NULL) {
        k = copy;
        copy = copy->next;
        sodium_mprotect_readwrite(k);
        k->next = NULL;
        if (ring_holds(ring, k)) {
            sodium_free(k);
            continue;
        }
        k->epoch = 0;
        last->next = k;
        sodium_mprotect_readonly(last);
        last = k;
    }
    sodium_mprotect_readonly(last);
    return SFJ_OK;
}

int sfj_keys_public_key(const sfj_keys *keys, uint8_t out[SFJ_PUBKEY_BYTES])
{
    if (keys == NULL || out == NULL)
        return SFJ_EINVAL;
    memcpy(out, keys->sign_pk, SFJ_PUBKEY_BYTES);
    return SFJ_OK;
}

int sfj_keys_link_key(const sfj_keys *keys, uint8_t out[SFJ_KEY_BYTES])
{
    const sfj_keys *k, *first;

    if (keys == NULL || out == NULL)
        return SFJ_EINVAL;
    /* A rotation does not change the link an upstream was provisioned
     * with: a ring bound to a journal links with its oldest epoch's key. */
    for (first = keys, k = keys->next; k != NULL; k = k->next)
        if (k->epoch != 0 && (first->epoch == 0 || k->epoch < first->epoch))
            first = k;
    memcpy(out, first->link, SFJ_KEY_BYTES);
    return SFJ_OK;
}

static int fsync_parent_dir(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = SFJ_OK;

    if (copy == NULL)
        return SFJ_ENOMEM;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = SFJ_EIO;
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int sfj_keys_generate_file(const char *path)
{
    uint8_t master[SFJ_KEY_BYTES];
    char text[KEYFILE_LEN + 1];
    int fd = -1, rc = SFJ_OK;

    if (path == NULL || *path == '\0')
        return SFJ_EINVAL;
    if (sfj__sodium_init() < 0)
        return SFJ_ENOMEM;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = errno == EEXIST   ? SFJ_EEXIST
             : errno == EACCES ? SFJ_EPERM
             : errno == ENOENT ? SFJ_ENOTFOUND
                               : SFJ_EIO;
        goto done;
    }
    /* The umask may have cleared bits but never adds any; make sure. */
    if (fchmod(fd, 0600) != 0) {
        rc = SFJ_EIO;
        goto done;
    }
    randombytes_buf(master, sizeof master);
    memcpy(text, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN);
    sodium_bin2hex(text + KEYFILE_MAGIC_LEN, 2 * SFJ_KEY_BYTES + 1, master,
                   sizeof master);
    text[KEYFILE_LEN - 1] = '\n';
    if (write(fd, text, KEYFILE_LEN) != (ssize_t)KEYFILE_LEN ||
        fsync(fd) != 0) {
        rc = SFJ_EIO;
        goto done;
    }
    rc = fsync_parent_dir(path);
done:
    sodium_memzero(master, sizeof master);
    sodium_memzero(text, sizeof text);
    if (fd >= 0) {
        close(fd);
        if (rc != SFJ_OK && rc != SFJ_EEXIST)
            unlink(path);
    }
    return rc;
}

int sfj_keys_load_file(const char *path, sfj_keys **out)
{
    uint8_t master[SFJ_KEY_BYTES];
    char text[KEYFILE_LEN + 1];
    struct stat st;
    size_t bin_len = 0;
    ssize_t n;
    int fd = -1, rc;

    if (out == NULL)
        return SFJ_EINVAL;
    *out = NULL;
    if (path == NULL)
        return SFJ_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        rc = errno == ENOENT   ? SFJ_ENOTFOUND
             : errno == EACCES ? SFJ_EPERM
                               : SFJ_EIO;
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        rc = SFJ_EIO;
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = SFJ_ECORRUPT;
        goto done;
    }
    /* A key anyone else can read is a key that may already be copied. */
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        rc = SFJ_EPERM;
        goto done;
    }
    n = read(fd, text, sizeof text);
    if (n != (ssize_t)KEYFILE_LEN ||
        memcmp(text, KEYFILE_MAGIC, KEYFILE_MAGIC_LEN) != 0 ||
        text[KEYFILE_LEN - 1] != '\n') {
        rc = SFJ_ECORRUPT;
        goto done;
    }
    if (sodium_hex2bin(master, sizeof master, text + KEYFILE_MAGIC_LEN,
                       2 * SFJ_KEY_BYTES, NULL, &bin_len, NULL) != 0 ||
        bin_len != SFJ_KEY_BYTES) {
        rc = SFJ_ECORRUPT;
        goto done;
    }
    rc = sfj_keys_from_bytes(master, sizeof master, out);
done:
    sodium_memzero(master, sizeof master);
    sodium_memzero(text, sizeof text);
    if (fd >= 0)
        close(fd);
    return rc;
}
