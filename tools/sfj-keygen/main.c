/* sfj-keygen: create a terminal's master key file, show its public key,
 * and export what an sfj-host needs to serve the terminal. The master
 * key itself is printed only on explicit request. */
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli_text.h"
#include "sfj/sfj.h"
#include "sfj/sys/internal.h"

/* Exit codes (documented in docs/sfj-keygen.1). */
#define KG_OK      0
#define KG_NOINPUT 2  /* key file or journal directory missing */
#define KG_KEY     3  /* key file unusable, or not this journal's key */
#define KG_EXISTS  4  /* refusing to overwrite an existing file */
#define KG_IO      5  /* cannot write the key file */
#define KG_USAGE   64 /* unknown command or option, missing argument */

static const char usage_text[] =
    "usage: sfj-keygen new FILE\n"
    "       sfj-keygen show FILE [--print-master]\n"
    "       sfj-keygen export-host FILE --journal DIR\n"
    "\n"
    "  new          create a random master key file (mode 0600); never\n"
    "               overwrites an existing file\n"
    "  show         print the checkpoint public key and its fingerprint;\n"
    "               --print-master also prints the master key (secret!)\n"
    "  export-host  print the line an sfj-host is provisioned with for this\n"
    "               terminal: sfj-terminal-v1 journal_id terminal_id\n"
    "               link_key pubkey (hex, space-separated), ready to append\n"
    "               to sfj-host's provisioning file; the link key is a secret\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit: 0 ok, 2 file or journal missing, 3 key unusable or not this\n"
    "journal's, 4 file exists, 5 write failed, 64 usage error.\n";

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
    int rc = sfj_keys_load_file(path, keys);

    if (rc == SFJ_OK)
        return KG_OK;
    if (rc == SFJ_ENOTFOUND) {
        kg_err("key file %s: not found", path);
        return KG_NOINPUT;
    }
    kg_err("key file %s: %s", path,
           rc == SFJ_EPERM      ? "readable by group or others, or not "
                                  "readable at all (chmod 600)"
           : rc == SFJ_ECORRUPT ? "not an sfj master key file"
                                : sfj_strerror(rc));
    return KG_KEY;
}

static int cmd_new(const char *path)
{
    int rc = sfj_keys_generate_file(path);

    if (rc == SFJ_OK) {
        printf("created %s (mode 0600)\n", path);
        return KG_OK;
    }
    if (rc == SFJ_EEXIST) {
        kg_err("%s: file exists; refusing to overwrite", path);
        return KG_EXISTS;
    }
    kg_err("%s: cannot create: %s", path, sfj_strerror(rc));
    return rc == SFJ_ENOTFOUND ? KG_NOINPUT : KG_IO;
}

static int cmd_show(const char *path, int print_master)
{
    uint8_t pk[SFJ_PUBKEY_BYTES];
    char hex[2 * SFJ_KEY_BYTES + 1], fpr[24];
    sfj_keys *keys = NULL;
    int ex = load(path, &keys);

    if (ex != KG_OK)
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
    sfj_journal_opts opts = SFJ_JOURNAL_OPTS_INIT;
    uint8_t jid[SFJ_JOURNAL_ID_BYTES], link[SFJ_KEY_BYTES];
    uint8_t pk[SFJ_PUBKEY_BYTES];
    char jid_hex[33], link_hex[65], pk_hex[65];
    sfj_journal *j = NULL;
    sfj_keys *keys = NULL;
    int rc, ex = load(path, &keys);

    if (ex != KG_OK)
        goto done;
    opts.flags = SFJ_OPEN_RDONLY | SFJ_OPEN_NOCREATE;
    rc = sfj_journal_open(dir, keys, &opts, &j);
    if (rc != SFJ_OK) {
        kg_err("%s: %s", dir,
               rc == SFJ_EAUTH ? "the key does not belong to this journal"
                               : "cannot open journal");
        ex = rc == SFJ_EAUTH ? KG_KEY : KG_NOINPUT;
        goto done;
    }
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
        {"print-master", no_argument, NULL, 'M'},
        {"journal", required_argument, NULL, 'j'},
        {NULL, 0, NULL, 0}};
    const char *cmd, *file, *dir = NULL;
    int c, print_master = 0;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hj:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_text, stdout);
            return KG_OK;
        case 'M':
            print_master = 1;
            break;
        case 'j':
            dir = optarg;
            break;
        default:
            kg_err("%s: %s", c == ':' ? "missing value for" : "unknown option",
                   argv[optind - 1]);
            return KG_USAGE;
        }
    }
    if (argc - optind != 2) {
        kg_err("expected a command and a key file (see --help)");
        return KG_USAGE;
    }
    cmd = argv[optind];
    file = argv[optind + 1];
    if (sfj_init() != 0) {
        kg_err("cannot initialise libsodium");
        return KG_IO;
    }
    if (strcmp(cmd, "export-host") != 0 && dir != NULL) {
        kg_err("--journal goes with export-host");
        return KG_USAGE;
    }
    if (strcmp(cmd, "show") != 0 && print_master) {
        kg_err("--print-master goes with show");
        return KG_USAGE;
    }
    if (strcmp(cmd, "new") == 0)
        return cmd_new(file);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(file, print_master);
    if (strcmp(cmd, "export-host") == 0) {
        if (dir == NULL) {
            kg_err("export-host needs --journal DIR");
            return KG_USAGE;
        }
        return cmd_export_host(file, dir);
    }
    kg_err("unknown command: %s", cmd);
    return KG_USAGE;
}
