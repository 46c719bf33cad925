/* Provisioning file: one "sfj-terminal-v1 <journal_id> <terminal_id>
 * <link_key> <pubkey>" line per terminal (docs/PROTOCOL.md section 8).
 * The file holds link keys, so it must not be readable by others. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_file.h"
#include "cli_text.h"
#include "host.h"

#define LINE_TAG "sfj-terminal-v1"

/* A line into `t`; its link key into `key` (SFJ_KEY_BYTES of the
 * key block). */
static int parse_line(char *line, host_terminal *t, uint8_t *key)
{
    char *tok[6], *save = NULL, *p;
    size_t n = 0, i;
    int rc = -1;

    for (p = strtok_r(line, " \t\r\n", &save); p != NULL && n < 6;
         p = strtok_r(NULL, " \t\r\n", &save))
        tok[n++] = p;
    if (n != 5 || strcmp(tok[0], LINE_TAG) != 0)
        goto done;
    if (sfj__cli_unhex(tok[1], t->journal_id, SFJ_JOURNAL_ID_BYTES) != 0)
        goto done;
    if (strlen(tok[2]) < 1 || strlen(tok[2]) > SFJ_TERMINAL_ID_MAX)
        goto done;
    for (i = 0; tok[2][i] != '\0'; i++) {
        if (tok[2][i] < 0x21 || tok[2][i] > 0x7e)
            goto done;
    }
    strcpy(t->terminal_id, tok[2]);
    if (sfj__cli_unhex(tok[3], key, SFJ_KEY_BYTES) != 0 ||
        sfj__cli_unhex(tok[4], t->pubkey, sizeof t->pubkey) != 0) {
        sodium_memzero(key, SFJ_KEY_BYTES);
        goto done;
    }
    rc = 0;
done:
    /* The line held a key in hex. */
    sodium_memzero(line, strlen(line));
    return rc;
}

/* Room in the key block for one more link key. The file's keys share
 * one sodium_malloc'd block: one allocation per key would cost each
 * terminal two resident pages and four mappings (guard pages), 80 MiB
 * and 40,000 mappings for 10,000 terminals. Grown by doubling; the old
 * block is wiped by sodium_free. */
static int key_room(host_config *cfg, size_t *kcap)
{
    uint8_t *grown;
    size_t ncap = *kcap ? 2 * *kcap : 64;

    if (cfg->nterms < *kcap)
        return 0;
    grown = sodium_malloc(ncap * SFJ_KEY_BYTES);
    if (grown == NULL)
        return -1;
    if (cfg->key_block != NULL) {
        memcpy(grown, cfg->key_block, cfg->nterms * SFJ_KEY_BYTES);
        sodium_free(cfg->key_block);
    }
    cfg->key_block = grown;
    *kcap = ncap;
    return 0;
}

/* Read the provisioning file `path` into cfg->terms, their link keys
 * into cfg->key_block. Returns an exit code; on failure `why` says what
 * is wrong in one line. */
static int provision_parse(host_config *cfg, const char *path, char *why,
                           size_t cap)
{
    FILE *fp = NULL;
    struct stat st;
    char line[512];
    host_terminal *grown;
    size_t lineno = 0, i, kcap = 0;
    int rc = HOST_EXIT_OK;

    fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(why, cap, "cannot read provisioning file %s: %s", path,
                 strerror(errno));
        rc = HOST_EXIT_NOINPUT;
        goto done;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "provisioning file %s is not a regular file", path);
        rc = HOST_EXIT_NOINPUT;
        goto done;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(why, cap,
                 "provisioning file %s holds link keys but is accessible "
                 "by group or others (chmod 600 it)",
                 path);
        rc = HOST_EXIT_NOPERM;
        goto done;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0' ||
            line[strspn(line, " \t")] == '#')
            continue;
        grown = realloc(cfg->terms, (cfg->nterms + 1) * sizeof *grown);
        if (grown == NULL) {
            snprintf(why, cap, "out of memory");
            rc = HOST_EXIT_NOINPUT;
            goto done;
        }
        cfg->terms = grown;
        memset(&cfg->terms[cfg->nterms], 0, sizeof *grown);
        if (key_room(cfg, &kcap) != 0) {
            snprintf(why, cap, "out of memory");
            rc = HOST_EXIT_NOINPUT;
            goto done;
        }
        if (parse_line(line, &cfg->terms[cfg->nterms],
                       cfg->key_block + cfg->nterms * SFJ_KEY_BYTES) != 0) {
            snprintf(why, cap,
                     "%s:%zu: not a valid \"" LINE_TAG
                     " <journal_id> <terminal_id> <link_key> <pubkey>\" line",
                     path, lineno);
            rc = HOST_EXIT_NOINPUT;
            goto done;
        }
        for (i = 0; i < cfg->nterms; i++) {
            if (memcmp(cfg->terms[i].journal_id,
                       cfg->terms[cfg->nterms].journal_id,
                       SFJ_JOURNAL_ID_BYTES) == 0) {
                snprintf(why, cap, "%s:%zu: journal_id listed twice", path,
                         lineno);
                cfg->nterms++;
                rc = HOST_EXIT_NOINPUT;
                goto done;
            }
        }
        cfg->nterms++;
    }
    if (cfg->nterms == 0) {
        snprintf(why, cap, "provisioning file %s names no terminal", path);
        rc = HOST_EXIT_NOINPUT;
    }
done:
    /* The block no longer moves: point the terminals into it. */
    for (i = 0; i < cfg->nterms; i++) {
        cfg->terms[i].link_key = cfg->key_block + i * SFJ_KEY_BYTES;
        cfg->terms[i].in_block = 1;
    }
    if (cfg->key_block != NULL)
        sodium_mprotect_readonly(cfg->key_block);
    sodium_memzero(line, sizeof line);
    if (fp != NULL)
        fclose(fp);
    return rc;
}

int host_provision_load(host_config *cfg, const char *path)
{
    char why[600];
    int rc = provision_parse(cfg, path, why, sizeof why);

    if (rc != HOST_EXIT_OK)
        host_log("%s", why);
    return rc;
}

/* Call `fn` on every terminal that came from the provisioning file and
 * is still served. */
static void each_file_term(host_config *cfg,
                           void (*fn)(host_terminal *t, void *arg), void *arg)
{
    host_terminal *t;
    size_t i;

    for (i = 0; i < cfg->nterms; i++) {
        if (!cfg->terms[i].retired)
            fn(&cfg->terms[i], arg);
    }
    for (t = cfg->dyn; t != NULL; t = t->next) {
        if (t->from_file && !t->retired)
            fn(t, arg);
    }
}

typedef struct reload_pass {
    host_config *fresh;
    unsigned char *used; /* per terminal of `fresh`: kept as it was */
    size_t kept, removed, changed;
} reload_pass;

/* An old terminal against the file read again: kept when its line is the
 * same, else retired (its session ends; a changed line comes back as a
 * new terminal). */
static void reload_one(host_terminal *t, void *arg)
{
    reload_pass *r = arg;
    size_t i;

    for (i = 0; i < r->fresh->nterms; i++) {
        if (memcmp(r->fresh->terms[i].journal_id, t->journal_id,
                   SFJ_JOURNAL_ID_BYTES) == 0)
            break;
    }
    if (i < r->fresh->nterms && host_terminal_same(t, &r->fresh->terms[i])) {
        r->used[i] = 1;
        r->kept++;
        return;
    }
    if (i < r->fresh->nterms)
        r->changed++;
    else
        r->removed++;
    host_terminal_retire(t, i < r->fresh->nterms
                                ? "provisioning changed (SIGHUP)"
                                : "no longer provisioned (SIGHUP)");
}

int host_provision_reload(host_config *cfg, const char *path)
{
    host_config fresh;
    reload_pass r;
    host_terminal *t;
    char why[600];
    size_t i, added = 0;
    int rc = -1;

    memset(&fresh, 0, sizeof fresh);
    memset(&r, 0, sizeof r);
    /* Terminals taken from the provisioning table are looked up again at
     * their next HELLO: a row deleted since is refused then. */
    for (t = cfg->dyn; t != NULL; t = t->next) {
        if (!t->from_file)
            t->stale = 1;
    }
    if (path == NULL) {
        host_log("SIGHUP: terminals of the provisioning table are looked up "
                 "again at their next HELLO");
        host_metrics_reload(1);
        return 0;
    }
    if (provision_parse(&fresh, path, why, sizeof why) != HOST_EXIT_OK) {
        host_log("SIGHUP: provisioning not reloaded, the terminals loaded "
                 "before are kept: %s",
                 why);
        host_metrics_reload(0);
        goto done;
    }
    r.fresh = &fresh;
    r.used = calloc(fresh.nterms, 1);
    if (r.used == NULL) {
        host_log("SIGHUP: provisioning not reloaded, the terminals loaded "
                 "before are kept: out of memory");
        host_metrics_reload(0);
        goto done;
    }
    each_file_term(cfg, reload_one, &r);
    /* New lines, and changed ones, become terminals of their own: the
     * array's entries stay where sessions point at them. */
    for (i = 0; i < fresh.nterms; i++) {
        if (r.used[i] || (t = calloc(1, sizeof *t)) == NULL)
            continue;
        *t = fresh.terms[i];
        /* Its key leaves the fresh block, which goes below. */
        t->in_block = 0;
        t->link_key = sodium_malloc(SFJ_KEY_BYTES);
        if (t->link_key == NULL) {
            free(t);
            continue;
        }
        memcpy(t->link_key, fresh.terms[i].link_key, SFJ_KEY_BYTES);
        sodium_mprotect_readonly(t->link_key);
        t->from_file = 1;
        t->next = cfg->dyn;
        cfg->dyn = t;
        added++;
    }
    host_log("SIGHUP: provisioning file %s reloaded: %zu added, %zu changed, "
             "%zu removed, %zu unchanged",
             path, added - r.changed, r.changed, r.removed, r.kept);
    host_metrics_reload(1);
    rc = 0;
done:
    free(r.used);
    host_provision_free(&fresh);
    return rc;
}

int host_key_load(host_config *cfg, const char *path, int create)
{
    uint8_t *buf = NULL, fresh[SFJ_KEY_BYTES];
    struct stat st;
    size_t len = 0;
    int rc = HOST_EXIT_NOINPUT;

    if (create && stat(path, &st) != 0 && errno == ENOENT) {
        randombytes_buf(fresh, sizeof fresh);
        if (sfj__cli_write_new_file(path, fresh, sizeof fresh) != 0) {
            host_log("cannot create host key file %s", path);
            rc = HOST_EXIT_CANTCREAT;
            goto done;
        }
        host_log("created host key file %s (keep it: the link keys in the "
                 "database open only with it)",
                 path);
    }
    if (stat(path, &st) != 0) {
        host_log("cannot read host key file %s: %s", path, strerror(errno));
        goto done;
    }
    if ((st.st_mode & 077) != 0) {
        host_log("host key file %s is accessible by group or others (chmod "
                 "600 it)",
                 path);
        rc = HOST_EXIT_NOPERM;
        goto done;
    }
    if (sfj__cli_read_file(path, 64, &buf, &len) != 0 || len != SFJ_KEY_BYTES) {
        host_log("host key file %s is not %d bytes", path, SFJ_KEY_BYTES);
        goto done;
    }
    cfg->host_key = sodium_malloc(SFJ_KEY_BYTES);
    if (cfg->host_key == NULL) {
        host_log("out of memory");
        rc = HOST_EXIT_UNAVAIL;
        goto done;
    }
    memcpy(cfg->host_key, buf, SFJ_KEY_BYTES);
    sodium_mprotect_readonly(cfg->host_key);
    rc = HOST_EXIT_OK;
done:
    sodium_memzero(fresh, sizeof fresh);
    if (buf != NULL) {
        sodium_memzero(buf, len);
        free(buf);
    }
    return rc;
}

void host_provision_free(host_config *cfg)
{
    host_terminal *t;
    size_t i;

    while ((t = cfg->dyn) != NULL) {
        cfg->dyn = t->next;
        sfj_journal_close(t->mirror);
        if (t->link_key != NULL)
            sodium_free(t->link_key);
        free(t);
    }
    if (cfg->host_key != NULL)
        sodium_free(cfg->host_key);
    cfg->host_key = NULL;
    for (i = 0; i < cfg->nterms; i++)
        sfj_journal_close(cfg->terms[i].mirror);
    if (cfg->key_block != NULL)
        sodium_free(cfg->key_block);
    cfg->key_block = NULL;
    free(cfg->terms);
    cfg->terms = NULL;
    cfg->nterms = 0;
}

int host_provision_import(host_config *cfg, const char *file)
{
    host_store *st;
    int rc, src;

    rc = host_provision_load(cfg, file);
    if (rc == HOST_EXIT_OK)
        rc = host_store_open(cfg);
    if (rc != HOST_EXIT_OK)
        return rc;
    st = cfg->store;
    if (st->ops->import == NULL) {
        host_log("provision import needs --store URL or --shards MAP");
        return HOST_EXIT_USAGE;
    }
    /* With a shard map each terminal goes to its own shard's table. */
    src = st->ops->import(st, cfg->terms, cfg->nterms);
    if (src != SFJ_OK) {
        host_log("import failed: %s", st->ops->errmsg(st, NULL));
        return HOST_EXIT_DBDOWN;
    }
    printf("imported %zu terminals\n", cfg->nterms);
    return HOST_EXIT_OK;
}
