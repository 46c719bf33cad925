/* sfj-keygen: create a terminal's master key file, show its public key,
 * and export what an sfj-host needs to serve the terminal. The master
 * key itself is printed only on explicit request. */
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_exit.h"
#include "cli_file.h"
#include "cli_text.h"
#include "sfj/sfj.h"
#include "sfj/sys/internal.h"

/* Exit codes: cli_exit.h (docs/CLI.md). */

static const char usage_text[] =
    "usage: sfj-keygen new FILE\n"
    "       sfj-keygen show FILE [--print-master]\n"
    "       sfj-keygen export-host DIR -k FILE [-k FILE]...\n"
    "       sfj-keygen rotate DIR -k FILE [-k FILE]... --new-key NEWFILE\n"
    "\n"
    "  new          create a random master key file (mode 0600); never\n"
    "               overwrites an existing file\n"
    "  show         print the checkpoint public key and its fingerprint;\n"
    "               --print-master also prints the master key (secret!)\n"
    "  export-host  print the line an sfj-host is provisioned with for this\n"
    "               terminal: sfj-terminal-v1 journal_id terminal_id\n"
    "               link_key pubkey (hex, space-separated), ready to append\n"
    "               to sfj-host's provisioning file; the link key is a secret\n"
    "               (after key rotations: the first epoch's public key, from\n"
    "               which a host follows the signed rotations)\n"
    "  rotate       move the journal DIR to a new master key: NEWFILE is\n"
    "               created (durably) unless it exists, then one commit\n"
    "               writes a rotation record signed by the current key;\n"
    "               keep every old key file: records sealed before need it\n"
    "               (give each with another -k); run with the app stopped\n"
    "      --new-key FILE  the new master key file (rotate)\n"
    "  -k, --key FILE  the master key file (export-host, rotate: repeat for\n"
    "               the keys of earlier epochs; new and show take it as\n"
    "               FILE or with -k)\n"
    "  -h, --help   this text\n"
    "      --version  the version\n"
    "\n"
    "Exit: 0 ok, 64 usage, 66 key file or journal not found, 73 file\n"
    "exists or cannot be written, 75 journal open for writing elsewhere,\n"
    "77 key not this journal's, 78 key file too open or not a key\n"
    "(docs/CLI.md).\n";

static void kg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void kg_err(const char *fmt, ...)
{
    va_list ap;

    fputs("sfj-keygen: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int load(const char *path, sfj_keys **keys)
{
    return sfj__cli_load_key("sfj-keygen", path, keys);
}

static int cmd_new(const char *path)
{
    int rc = sfj_keys_generate_file(path);

    if (rc == SFJ_OK) {
        printf("created %s (mode 0600)\n", path);
        return SFJ__EX_OK;
    }
    if (rc == SFJ_EEXIST) {
        kg_err("%s: file exists; refusing to overwrite", path);
        return SFJ__EX_CANTWRITE;
    }
    kg_err("%s: cannot create: %s", path, sfj_strerror(rc));
    return rc == SFJ_ENOTFOUND ? SFJ__EX_NOTFOUND : SFJ__EX_CANTWRITE;
}

static int cmd_show(const char *path, int print_master)
{
    uint8_t pk[SFJ_PUBKEY_BYTES];
    char hex[2 * SFJ_KEY_BYTES + 1], fpr[24];
    sfj_keys *keys = NULL;
    int ex = load(path, &keys);

    if (ex != SFJ__EX_OK)
        goto done;
    sfj_keys_public_key(keys, pk);
    sfj__cli_hex(pk, sizeof pk, hex);
    sfj__cli_fingerprint(pk, fpr, sizeof fpr);
    printf("public key   %s\n", hex);
    printf("fingerprint  %s\n", fpr);
    if (print_master) {
        uint8_t master[SFJ_KEY_BYTES];

        sfj__keys_master(keys, master);
        sfj__cli_hex(master, sizeof master, hex);
        sodium_memzero(master, sizeof master);
        printf("master key   %s\n", hex);
        sodium_memzero(hex, sizeof hex);
    }
done:
    sfj_keys_free(keys);
    return ex;
}

static int cmd_rotate(const char *path, const char *dir, const char *new_path)
{
    uint8_t cur[SFJ_PUBKEY_BYTES], pk[SFJ_PUBKEY_BYTES];
    char hex[2 * SFJ_PUBKEY_BYTES + 1], fpr[24];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL, *fresh = NULL;
    uint64_t seq = 0;
    int ex, rc;

    ex = load(path, &keys);
    if (ex != SFJ__EX_OK)
        goto done;
    /* The new key is on disk, fsynced, before any record names it: a
     * crash then leaves at worst an unused key file, and a second run
     * with the same --new-key finishes the job. */
    rc = sfj_keys_generate_file(new_path);
    if (rc != SFJ_OK && rc != SFJ_EEXIST) {
        kg_err("%s: cannot create: %s", new_path, sfj_strerror(rc));
        ex = rc == SFJ_ENOTFOUND ? SFJ__EX_NOTFOUND : SFJ__EX_CANTWRITE;
        goto done;
    }
    ex = load(new_path, &fresh);
    if (ex != SFJ__EX_OK)
        goto done;
    if (sfj_keys_add(keys, fresh) != SFJ_OK) {
        kg_err("too many key files");
        ex = SFJ__EX_USAGE;
        goto done;
    }
    ex = sfj__cli_open_journal("sfj-keygen", dir, keys, 0, &j);
    if (ex != SFJ__EX_OK)
        goto done;
    sfj_keys_public_key(fresh, pk);
    sfj__cli_hex(pk, sizeof pk, hex);
    sfj__cli_fingerprint(pk, fpr, sizeof fpr);
    sfj__journal_pubkey(j, cur);
    if (sodium_memcmp(cur, pk, sizeof pk) == 0) {
        printf("%s already seals under %s (fingerprint %s)\n", dir, new_path,
               fpr);
        goto done;
    }
    rc = sfj_journal_rotate_keys(j, fresh, &seq);
    if (rc != SFJ_OK) {
        kg_err("%s: cannot rotate: %s (%s)", dir, sfj_strerror(rc),
               sfj_journal_errmsg(j));
        ex = rc == SFJ_EINVAL ? SFJ__EX_USAGE : sfj__cli_exit_for(rc);
        goto done;
    }
    printf("rotated %s at seq %llu: new public key %s\n", dir,
           (unsigned long long)seq, hex);
    printf("fingerprint  %s\n", fpr);
    printf("keep %s: records before seq %llu need it (-k %s -k %s)\n", path,
           (unsigned long long)seq, new_path, path);
done:
    sfj_journal_close(j);
    sfj_keys_free(fresh);
    sfj_keys_free(keys);
    return ex;
}

static int cmd_export_host(const char *path, const char *dir)
{
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], link[SFJ_KEY_BYTES];
    uint8_t pk[SFJ_PUBKEY_BYTES];
    char jid_hex[33], link_hex[65], pk_hex[65];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    int ex = load(path, &keys);

    if (ex != SFJ__EX_OK)
        goto done;
    ex = sfj__cli_open_journal("sfj-keygen", dir, keys, SFJ_OPEN_RDONLY, &j);
    if (ex != SFJ__EX_OK)
        goto done;
    sfj_journal_id(j, jid);
    /* The journal's copy of the keys knows their epochs: the link stays
     * the first epoch's, and a host starts from the first public key. */
    sfj_keys_link_key(sfj__journal_keys(j), link);
    if (sfj__journal_pubkey_of(j, 1, pk) != SFJ_OK) {
        kg_err("%s: the key history does not name epoch 1", dir);
        ex = SFJ__EX_DAMAGED;
        goto done;
    }
    sfj__cli_hex(jid, sizeof jid, jid_hex);
    sfj__cli_hex(link, sizeof link, link_hex);
    sfj__cli_hex(pk, sizeof pk, pk_hex);
    printf("sfj-terminal-v1 %s %s %s %s\n", jid_hex,
           sfj__journal_terminal_id(j), link_hex, pk_hex);
done:
    sodium_memzero(link, sizeof link);
    sodium_memzero(link_hex, sizeof link_hex);
    sfj_journal_close(j);
    sfj_keys_free(keys);
    return ex;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"print-master", no_argument, NULL, 'M'},
        {"key", required_argument, NULL, 'k'},
        {"journal", required_argument, NULL, 'j'}, /* alias, one release */
        {"new-key", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0}};
    const char *cmd, *file = NULL, *dir = NULL, *key = NULL, *new_key = NULL;
    int c, print_master = 0, npos;

    /* It holds master keys: none may reach a core file. */
    sfj__cli_no_core_dumps();
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hk:j:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return SFJ__EX_OK;
        case 'V':
            printf("sfj-keygen %s\n", sfj_version());
            return SFJ__EX_OK;
        case 'M':
            print_master = 1;
            break;
        case 'k':
            if (sfj__cli_key_opt("sfj-keygen", optarg, &key) != SFJ__EX_OK)
                return SFJ__EX_USAGE;
            break;
        case 'N':
            new_key = optarg;
            break;
        case 'j':
            dir = optarg;
            break;
        default:
            return sfj__cli_bad_option("sfj-keygen", c, optopt,
                                       argv[optind - 1]);
        }
    }
    npos = argc - optind;
    if (npos < 1) {
        kg_err("expected a command: new, show or export-host (see --help)");
        return SFJ__EX_USAGE;
    }
    cmd = argv[optind];
    /* The one operand is the journal for export-host with -k (the
     * convention), the key file otherwise (new, show, and the old
     * export-host FILE --journal DIR). */
    if (npos == 2 && dir == NULL &&
        (strcmp(cmd, "export-host") == 0 || strcmp(cmd, "rotate") == 0))
        dir = argv[optind + 1];
    else if (npos == 2 && key == NULL)
        key = argv[optind + 1];
    else if (npos != 1 || key == NULL) {
        kg_err("expected a command and %s (see --help)",
               strcmp(cmd, "export-host") == 0 || strcmp(cmd, "rotate") == 0
                   ? "a journal and -k FILE"
                   : "one key file");
        return SFJ__EX_USAGE;
    }
    file = key;
    if (strcmp(cmd, "new") != 0 && strcmp(cmd, "show") != 0 &&
        strcmp(cmd, "export-host") != 0 && strcmp(cmd, "rotate") != 0) {
        kg_err("unknown command: %s (see --help)", cmd);
        return SFJ__EX_USAGE;
    }
    if ((strcmp(cmd, "rotate") == 0) != (new_key != NULL)) {
        kg_err(new_key != NULL ? "--new-key goes with rotate"
                               : "rotate needs --new-key FILE (see --help)");
        return SFJ__EX_USAGE;
    }
    if (strcmp(cmd, "export-host") != 0 && strcmp(cmd, "rotate") != 0 &&
        dir != NULL) {
        kg_err("--journal goes with export-host");
        return SFJ__EX_USAGE;
    }
    if (strcmp(cmd, "show") != 0 && print_master) {
        kg_err("--print-master goes with show");
        return SFJ__EX_USAGE;
    }
    if (strcmp(cmd, "export-host") == 0 && (dir == NULL || file == NULL)) {
        kg_err("export-host needs a journal and -k FILE (see --help)");
        return SFJ__EX_USAGE;
    }
    if (sfj_init() != 0) {
        kg_err("cannot initialise libsodium");
        return SFJ__EX_INTERNAL;
    }
    if (strcmp(cmd, "new") == 0)
        return cmd_new(file);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(file, print_master);
    if (strcmp(cmd, "rotate") == 0)
        return dir == NULL || file == NULL ? SFJ__EX_USAGE
                                           : cmd_rotate(file, dir, new_key);
    return cmd_export_host(file, dir);
}
