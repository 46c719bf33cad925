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
    "       sfj-keygen export-host DIR -k FILE\n"
    "\n"
    "  new          create a random master key file (mode 0600); never\n"
    "               overwrites an existing file\n"
    "  show         print the checkpoint public key and its fingerprint;\n"
    "               --print-master also prints the master key (secret!)\n"
    "  export-host  print the line an sfj-host is provisioned with for this\n"
    "               terminal: sfj-terminal-v1 journal_id terminal_id\n"
    "               link_key pubkey (hex, space-separated), ready to append\n"
    "               to sfj-host's provisioning file; the link key is a secret\n"
    "  -k, --key FILE  the master key file (export-host; new and show take\n"
    "               it as FILE or with -k)\n"
    "  -h, --help   this text\n"
    "      --version  the version\n"
    "\n"
    "Exit: 0 ok, 64 usage, 66 key file or journal not found, 73 file\n"
    "exists or cannot be written, 77 key not this journal's, 78 key file\n"
    "too open or not a key (docs/CLI.md).\n";

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
    sfj_keys_link_key(keys, link);
    sfj_keys_public_key(keys, pk);
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
        {NULL, 0, NULL, 0}};
    const char *cmd, *file = NULL, *dir = NULL, *key = NULL;
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
            key = optarg;
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
    if (npos == 2 && strcmp(cmd, "export-host") == 0 && dir == NULL)
        dir = argv[optind + 1];
    else if (npos == 2 && key == NULL)
        key = argv[optind + 1];
    else if (npos != 1 || key == NULL) {
        kg_err("expected a command and %s (see --help)",
               strcmp(cmd, "export-host") == 0 ? "a journal and -k FILE"
                                               : "one key file");
        return SFJ__EX_USAGE;
    }
    file = key;
    if (strcmp(cmd, "new") != 0 && strcmp(cmd, "show") != 0 &&
        strcmp(cmd, "export-host") != 0) {
        kg_err("unknown command: %s (see --help)", cmd);
        return SFJ__EX_USAGE;
    }
    if (strcmp(cmd, "export-host") != 0 && dir != NULL) {
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
    return cmd_export_host(file, dir);
}
