/* Provisioning file: one "sfj-terminal-v1 <journal_id> <terminal_id>
 * <link_key> <pubkey>" line per terminal (docs/PROTOCOL.md section 8).
 * The file holds link keys, so it must not be readable by others. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host.h"
#include "cli_text.h"

#define LINE_TAG "sfj-terminal-v1"

static int parse_line(char *line, host_terminal *t)
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
    t->link_key = sodium_malloc(SFJ_KEY_BYTES);
    if (t->link_key == NULL)
        goto done;
    if (sfj__cli_unhex(tok[3], t->link_key, SFJ_KEY_BYTES) != 0 ||
        sfj__cli_unhex(tok[4], t->pubkey, sizeof t->pubkey) != 0) {
        sodium_free(t->link_key);
        t->link_key = NULL;
        goto done;
    }
    sodium_mprotect_readonly(t->link_key);
    rc = 0;
done:
    /* The line held a key in hex. */
    sodium_memzero(line, strlen(line));
    return rc;
}

int host_provision_load(host_config *cfg, const char *path)
{
    FILE *fp = NULL;
    struct stat st;
    char line[512];
    host_terminal *grown;
    size_t lineno = 0, i;
    int rc = HOST_EXIT_OK;

    fp = fopen(path, "r");
    if (fp == NULL) {
        host_log("cannot read provisioning file %s: %s", path, strerror(errno));
        rc = HOST_EXIT_NOINPUT;
        goto done;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        host_log("provisioning file %s is not a regular file", path);
        rc = HOST_EXIT_NOINPUT;
        goto done;
    }
    if ((st.st_mode & 077) != 0) {
        host_log("provisioning file %s holds link keys but is accessible "
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
            rc = HOST_EXIT_NOINPUT;
            goto done;
        }
        cfg->terms = grown;
        memset(&cfg->terms[cfg->nterms], 0, sizeof *grown);
        if (parse_line(line, &cfg->terms[cfg->nterms]) != 0) {
            host_log("%s:%zu: not a valid \"" LINE_TAG
                     " <journal_id> <terminal_id> <link_key> <pubkey>\" line",
                     path, lineno);
            rc = HOST_EXIT_NOINPUT;
            goto done;
        }
        for (i = 0; i < cfg->nterms; i++) {
            if (memcmp(cfg->terms[i].journal_id,
                       cfg->terms[cfg->nterms].journal_id,
                       SFJ_JOURNAL_ID_BYTES) == 0) {
                host_log("%s:%zu: journal_id listed twice", path, lineno);
                cfg->nterms++;
                rc = HOST_EXIT_NOINPUT;
                goto done;
            }
        }
        cfg->nterms++;
    }
    if (cfg->nterms == 0) {
        host_log("provisioning file %s names no terminal", path);
        rc = HOST_EXIT_NOINPUT;
    }
done:
    sodium_memzero(line, sizeof line);
    if (fp != NULL)
        fclose(fp);
    return rc;
}

void host_provision_free(host_config *cfg)
{
    size_t i;

    for (i = 0; i < cfg->nterms; i++) {
        sfj_journal_close(cfg->terms[i].mirror);
        if (cfg->terms[i].link_key != NULL)
            sodium_free(cfg->terms[i].link_key);
    }
    free(cfg->terms);
    cfg->terms = NULL;
    cfg->nterms = 0;
}
