/* Exit codes, output formats and the key and journal opening every tool
 * shares, each failure told in one line (docs/CLI.md). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_exit.h"
#include "cli_text.h"
#include "sfj/sys/internal.h"

static void say(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(const char *prog, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sfj__cli_vsay(prog, fmt, ap);
    va_end(ap);
}

int sfj__cli_exit_for(int rc)
{
    switch (rc) {
    case SFJ_OK:
        return SFJ__EX_OK;
    case SFJ_ENOTFOUND:
        return SFJ__EX_NOTFOUND;
    case SFJ_ECORRUPT:
        return SFJ__EX_DAMAGED;
    case SFJ_EAUTH:
        return SFJ__EX_WRONGKEY;
    case SFJ_EPERM:
    case SFJ_ENOKEY:
        return SFJ__EX_WRONGKEY;
    case SFJ_EIO:
    case SFJ_EDEAD:
        return SFJ__EX_IO;
    case SFJ_EBUSY:
        return SFJ__EX_BUSY;
    case SFJ_EVERSION:
        return SFJ__EX_VERSION;
    case SFJ_EEXIST:
    case SFJ_EFULL:
        return SFJ__EX_CANTWRITE;
    default:
        return SFJ__EX_INTERNAL;
    }
}

int sfj__cli_output_arg(const char *prog, const char *arg, unsigned allowed,
                        int *out)
{
    static const char *const names[] = {"text", "json", "csv", "wide"};
    char list[64] = "";
    int i, f = strcmp(arg, "table") == 0 ? SFJ__OUT_TEXT : -1;

    for (i = 0; i < 4; i++) {
        if (!(allowed & (1u << i)))
            continue;
        if (strcmp(arg, names[i]) == 0)
            f = i;
        if (list[0] != '\0')
            strcat(list, ", ");
        strcat(list, names[i]);
    }
    if (f >= 0 && (allowed & (1u << f))) {
        *out = f;
        return SFJ__EX_OK;
    }
    say(prog, "--output: one of %s expected: %s", list, arg);
    return SFJ__EX_USAGE;
}

int sfj__cli_bad_option(const char *prog, int c, int optopt_c, const char *arg)
{
    char shortopt[3] = {'-', (char)optopt_c, '\0'};
    const char *name =
        arg != NULL && strncmp(arg, "--", 2) == 0 ? arg : shortopt;

    say(prog, "%s %s (see --help)",
        c == ':' ? "missing value for" : "unknown option", name);
    return SFJ__EX_USAGE;
}

/* The -k/--key files given after the first (sfj__cli_key_opt). */
static const char *more_keys[SFJ__CLI_KEYS_MAX];
static size_t n_more_keys;

int sfj__cli_key_opt(const char *prog, const char *arg, const char **first)
{
    if (*first == NULL) {
        *first = arg;
        return SFJ__EX_OK;
    }
    if (n_more_keys + 1 >= SFJ__CLI_KEYS_MAX) {
        say(prog, "-k/--key: at most %d key files", SFJ__CLI_KEYS_MAX);
        return SFJ__EX_USAGE;
    }
    more_keys[n_more_keys++] = arg;
    return SFJ__EX_OK;
}

static int load_one(const char *prog, const char *path, sfj_keys **out)
{
    int rc = sfj_keys_load_file(path, out);

    switch (rc) {
    case SFJ_OK:
        return SFJ__EX_OK;
    case SFJ_ENOTFOUND:
        say(prog, "key file %s: not found", path);
        return SFJ__EX_NOTFOUND;
    case SFJ_EPERM:
        say(prog,
            "key file %s: readable by group or others, or not readable at "
            "all (chmod 600)",
            path);
        return SFJ__EX_KEYFILE;
    case SFJ_ECORRUPT:
        say(prog, "key file %s: not an sfj master key file", path);
        return SFJ__EX_KEYFILE;
    default:
        say(prog, "key file %s: %s", path, sfj_strerror(rc));
        return sfj__cli_exit_for(rc);
    }
}

int sfj__cli_load_key(const char *prog, const char *path, sfj_keys **out)
{
    sfj_keys *more = NULL;
    size_t i;
    int ex = load_one(prog, path, out), rc;

    for (i = 0; ex == SFJ__EX_OK && i < n_more_keys; i++) {
        ex = load_one(prog, more_keys[i], &more);
        if (ex != SFJ__EX_OK)
            break;
        rc = sfj_keys_add(*out, more);
        sfj_keys_free(more);
        more = NULL;
        if (rc != SFJ_OK) {
            say(prog, "key file %s: %s", more_keys[i], sfj_strerror(rc));
            ex = sfj__cli_exit_for(rc);
        }
    }
    if (ex != SFJ__EX_OK) {
        sfj_keys_free(*out);
        *out = NULL;
    }
    return ex;
}

int sfj__cli_open_journal(const char *prog, const char *dir,
                          const sfj_keys *keys, unsigned flags,
                          sfj_journal **out)
{
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t stored[32], mine[32];
    struct stat st;
    int rc;

    *out = NULL;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        say(prog, "%s: no such journal directory", dir);
        return SFJ__EX_NOTFOUND;
    }
    opts.flags = flags | SFJ_OPEN_NOCREATE | SFJ_OPEN_CHECK;
    rc = sfj_journal_open(dir, keys, &opts, out);
    if (rc == SFJ_EAUTH) {
        /* The library tells a key of an earlier epoch from a stranger. */
        say(prog, "%s: %s", dir,
            strstr(sfj_journal_errmsg(NULL), "epoch") != NULL
                ? sfj_journal_errmsg(NULL)
                : "the key does not belong to this journal");
        return SFJ__EX_WRONGKEY;
    }
    if (rc == SFJ_ENOTFOUND) {
        say(prog, "%s: not an sfj journal", dir);
        return SFJ__EX_NOTFOUND;
    }
    if (rc != SFJ_OK) {
        say(prog, "%s: cannot open journal: %s (%s)", dir, sfj_strerror(rc),
            sfj_journal_errmsg(NULL));
        return sfj__cli_exit_for(rc);
    }
    /* A mirror holds no key check value; the public keys of its epochs
     * tell whether the key is the terminal's. */
    if (keys != NULL && sfj__journal_is_mirror(*out)) {
        uint32_t e;

        sfj_keys_public_key(keys, mine);
        for (e = 1; sfj__journal_pubkey_of(*out, e, stored) == SFJ_OK; e++)
            if (memcmp(stored, mine, sizeof mine) == 0)
                break;
        if (memcmp(stored, mine, sizeof mine) != 0) {
            say(prog, "%s: the key does not belong to this journal", dir);
            sfj_journal_close(*out);
            *out = NULL;
            return SFJ__EX_WRONGKEY;
        }
    }
    return SFJ__EX_OK;
}
