/* Fuzz target: the option value parsers of the tools: those they share
 * (tools/common: decimal numbers, ISO 8601 times, hex keys, payload
 * modes) and sfj-dump's kind and status names (tools/sfj-dump/output.c).
 * The tools' getopt loops are static in their main.c and are not
 * reachable from here. The input is split at NUL bytes into argument
 * strings, as argv would hold them; each is given to every parser. The
 * whole input is also rendered as a payload in every mode, as sfj-dump
 * prints what it reads from a journal. */
#include <inttypes.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "cli_text.h"
#include "cli_time.h"
#include "dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const char *s)
{
    uint8_t key[32], *bin;
    char buf[64];
    uint64_t u = 0;
    int64_t ms = 0, again = 0;
    uint16_t kind = 0;
    int status = 0;
    size_t n = strlen(s);

    /* A number that parses prints back as itself, leading zeros aside. */
    if (sfj__cli_parse_u64(s, &u) == 0) {
        const char *p = s;

        while (p[0] == '0' && p[1] != '\0')
            p++;
        snprintf(buf, sizeof buf, "%" PRIu64, u);
        if (strcmp(buf, p) != 0)
            abort();
    }
    /* A time that parses formats to a string that parses to the same
     * instant, whenever the year still has four digits. */
    if (sfj__cli_parse_time(s, &ms) == 0) {
        sfj__cli_format_time(ms, buf, sizeof buf);
        if (strlen(buf) == 24 && buf[0] >= '0' && buf[0] <= '9' &&
            (sfj__cli_parse_time(buf, &again) != 0 || again != ms))
            abort();
    }
    (void)sfj__cli_unhex(s, key, sizeof key);
    bin = malloc(n / 2 + 1);
    if (bin != NULL) {
        (void)sfj__cli_unhex(s, bin, n / 2);
        free(bin);
    }
    (void)sfj__cli_payload_mode_parse(s);
    if (dump_kind_parse(s, &kind) == 0 && kind == 0)
        abort();
    if (dump_status_parse(s, &status) == 0 && (status < 0 || status > 0xffff))
        abort();
}

static void render(const uint8_t *data, size_t size)
{
    int mode;

    for (mode = SFJ__PL_HEX; mode <= SFJ__PL_RAW; mode++) {
        char *out = sfj__cli_payload(data, size, mode);

        if (out != NULL) {
            sodium_memzero(out, strlen(out));
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *args = malloc(size + 1);
    size_t off = 0;

    if (args == NULL)
        return 0;
    render(data, size);
    memcpy(args, data, size);
    args[size] = '\0';
    while (off <= size) {
        one(args + off);
        off += strlen(args + off) + 1;
    }
    free(args);
    return 0;
}
